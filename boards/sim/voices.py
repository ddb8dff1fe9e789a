"""The recorded voices of the simulated network (package data under ``voices/``,
sources and licence in voices/README.md).

A voice is named by its file without ``.wav``; its kind is the first word:
``person-...`` (what a person says: "Hello?"), ``greeting-...`` (an answering
machine's greeting) and ``announcement-...`` (the network's recorded
announcement after a special information tone).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from gateway.dsp.wav import open_wav
from gateway.errors import UsageError

VOICE_DIR = Path(__file__).resolve().parent / "voices"
KINDS = ("person", "greeting", "announcement")

_lock = threading.Lock()
_cache: dict[str, np.ndarray] = {}


_names: tuple[str, ...] | None = None


def voice_names(kind: str | None = None) -> tuple[str, ...]:
    """The names of the packaged voices (of one kind), sorted."""
    global _names
    if kind is not None and kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if _names is None:
        _names = tuple(sorted(p.stem for p in VOICE_DIR.glob("*.wav")))
    return tuple(n for n in _names if kind is None or voice_kind(n) == kind)


def voice_kind(name: str) -> str:
    return name.split("-", 1)[0]


def voice(name: str) -> np.ndarray:
    """The samples (int16, 8 kHz) of a packaged voice; read once per process."""
    with _lock:
        samples = _cache.get(name)
        if samples is None:
            if name not in voice_names():
                raise UsageError(f"no voice {name!r}; the voices are: {', '.join(voice_names())}")
            wav = open_wav(VOICE_DIR / f"{name}.wav")
            if wav.rate != 8000 or wav.channels != 1:
                raise UsageError(f"voice {name}: {wav.rate} Hz, {wav.channels} channels; 8000 Hz mono is expected")
            samples = _cache[name] = wav.read_all()
        return samples
