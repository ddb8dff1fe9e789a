"""DTMF talk-off: speech and music must not be heard as digits.

The counterpart of the Bellcore/Mitel talk-off tape (see CONVENTIONS.md, tests):
every digit reported on these recordings is a false detection.

- tests/fixtures/talkoff/: two minutes cut from the evaluation corpus (speech,
  music, speech over music, a loud clipping file); source, windows and licence
  in tests/fixtures/talkoff/README.md. Always run.
- The whole dev talk-off set (31 minutes, ``<corpus>/dev/talkoff``, where
  ``<corpus>`` is ``$LINEGATE_CORPUS`` or ``../shared/corpus`` beside the
  checkout) when it is there; CI may not have it.
- spandsp's receiver on the same audio is the bar (tests/reference/spandsp.py);
  those tests skip, saying why, when libspandsp-dev is not installed.
"""

from __future__ import annotations

import json
import os
import wave
from pathlib import Path

import numpy as np
import pytest

from gateway.dsp import DetectorBank
from tests.reference import spandsp

FS = 8000
BLOCK = 160  # 20 ms, the media tick
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "talkoff"
FIXTURE_FILES = ["talkoff-speech.wav", "talkoff-music.wav", "talkoff-speech-music.wav", "talkoff-hot.wav"]
CORPUS = Path(os.environ.get("LINEGATE_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus"))
CORPUS_TALKOFF = CORPUS / "dev" / "talkoff"


def read_wav(path: Path) -> np.ndarray:
    """An 8 kHz mono 16-bit PCM WAV file as int16 samples."""
    with wave.open(str(path), "rb") as w:
        shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        assert shape == (1, 2, FS), f"{path}: expected 8 kHz mono 16-bit PCM, got {shape}"
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


def linegate_digits(signals: list[np.ndarray]) -> list[list[tuple[str, float, float]]]:
    """Digits Linegate reports on each signal, fed together in 20 ms blocks as the
    media engine does: per signal, [(key, start s, end s), ...]."""
    n = max(len(x) for x in signals)
    n += -n % BLOCK
    audio = np.zeros((len(signals), n), dtype=np.int16)
    for i, x in enumerate(signals):
        audio[i, :len(x)] = x
    bank = DetectorBank(channels=len(signals), detect=("dtmf",))
    events = []
    for at in range(0, n, BLOCK):
        events += bank.feed(audio[:, at:at + BLOCK])
    events += bank.flush()
    found: list[list] = [[] for _ in signals]
    for ev in events:
        if ev.end is not None:  # each key is reported when recognised and when it ends
            found[ev.channel].append((ev.value, ev.start / FS, ev.end / FS))
    return found


def spandsp_digits(x: np.ndarray) -> list[tuple[str, float]]:
    return [(digit, pos / FS) for digit, pos in spandsp.detect_digits(x)]


def require_spandsp():
    if not spandsp.available():
        pytest.skip(f"spandsp reference not available: {spandsp.unavailable_reason()}")


@pytest.fixture(scope="module")
def fixture_audio() -> dict[str, np.ndarray]:
    return {name: read_wav(FIXTURES / name) for name in FIXTURE_FILES}


@pytest.fixture(scope="module")
def fixture_linegate(fixture_audio) -> dict[str, list]:
    names = list(fixture_audio)
    return dict(zip(names, linegate_digits([fixture_audio[n] for n in names])))


def test_fixtures_are_the_documented_two_minutes(fixture_audio):
    # tests/fixtures/talkoff/README.md: four 30 s cuts.
    assert sorted(p.name for p in FIXTURES.glob("*.wav")) == sorted(FIXTURE_FILES)
    for name, x in fixture_audio.items():
        assert len(x) == 30 * FS, name
        assert np.abs(x.astype(np.int32)).max() > 1000, f"{name} is (nearly) silent"


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_no_digit_on_talkoff_fixture(name, fixture_linegate):
    assert fixture_linegate[name] == [], f"false digits (key, start s, end s) on {name}"


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_no_more_false_digits_than_spandsp(name, fixture_audio, fixture_linegate):
    require_spandsp()
    ours = fixture_linegate[name]
    theirs = spandsp_digits(fixture_audio[name])
    assert len(ours) <= len(theirs), (
        f"{name}: Linegate {len(ours)} false digits {ours}, spandsp {len(theirs)} {theirs}")


def corpus_files() -> list[Path]:
    labels = CORPUS_TALKOFF / "labels.jsonl"
    with open(labels, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    assert rows, f"{labels} is empty"
    for row in rows:
        assert row["digits"] == "" and not row["events"], f"{row['id']} is not a talk-off file"
    return [CORPUS_TALKOFF / row["file"] for row in rows]


@pytest.mark.skipif(not (CORPUS_TALKOFF / "labels.jsonl").exists(),
                    reason=f"corpus talk-off set not found at {CORPUS_TALKOFF} (set LINEGATE_CORPUS)")
def test_no_digit_on_corpus_talkoff_set():
    files = corpus_files()
    signals = [read_wav(p) for p in files]
    found = linegate_digits(signals)
    false = {p.name: digits for p, digits in zip(files, found) if digits}
    minutes = sum(map(len, signals)) / FS / 60
    assert not false, (
        f"{sum(map(len, false.values()))} false digits in {minutes:.1f} min of talk-off audio: {false}")
