"""The AMD phrase model's training tools (tools/amd_training): how calls are
run through the native unit and scored, and calls heard from their first
sound on. Synthetic calls only (no espeak-ng or Asterisk sounds needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "amd_training"))

import generate  # noqa: E402
import train  # noqa: E402
from gateway.dsp.native import lib  # noqa: E402

FS = generate.FS


def speechlike(seconds: float, dbm0: float, rng) -> np.ndarray:
    """Noise modulated at a syllable rate, at about `dbm0`."""
    n = int(seconds * FS)
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * np.arange(n) / FS)
    return rng.normal(0, 1, n) * env * generate.PEAK_0DBM0 / np.sqrt(2) * 10 ** (dbm0 / 20)


def call(parts, cls="human", scenario="short", rng=None) -> generate.Call:
    """parts: [(kind, seconds)] with kind "quiet" or "speech"; line noise at -65 dBm0."""
    rng = rng or np.random.default_rng(1)
    pieces, utterances, t = [], [], 0.0
    for kind, seconds in parts:
        if kind == "speech":
            pieces.append(speechlike(seconds, -20, rng))
            utterances.append((t, t + seconds))
        else:
            pieces.append(np.zeros(int(seconds * FS)))
        t += seconds
    y = np.concatenate(pieces)
    y += rng.normal(0, 1, len(y)) * generate.PEAK_0DBM0 / np.sqrt(2) * 10 ** (-65 / 20)
    return generate.Call(np.clip(np.round(y), -32768, 32767).astype(np.int16), cls, scenario, "test", utterances)


def test_a_call_that_ends_undecided_is_decided_as_the_unit_flushes_it():
    # Speech, then less silence than after_greeting_silence_ms: no rule fires
    # before the audio ends. The unit's flush calls such a call human; a
    # call where nobody spoke, not sure. Scores must count them so, with or
    # without the checkpoints' features taken, and whatever the bank's
    # longest call (shorter calls are padded).
    spoke = call([("quiet", 0.5), ("speech", 0.6), ("quiet", 0.5)])
    silent = call([("quiet", 1.2)])
    longest = call([("quiet", 0.5), ("speech", 4.0), ("quiet", 2.0)])
    for features in (True, False):
        runs = train.run_unit([spoke, silent, longest], features=features)
        (cls0, reason0, t0), (cls1, reason1, t1) = runs[0][0], runs[1][0]
        assert (cls0, reason0) == (lib.LG_AMD_HUMAN, lib.LG_AMD_REASON_END_OF_AUDIO)
        assert abs(t0 - len(spoke.audio) / FS) < 1e-9
        assert (cls1, reason1) == (lib.LG_AMD_NOTSURE, lib.LG_AMD_REASON_END_OF_AUDIO)
        assert train.decisions(runs)[0][0] == "human"


def test_on_voice_starts_the_call_at_its_first_sound():
    c = call([("quiet", 1.0), ("speech", 0.8), ("quiet", 1.0), ("speech", 0.5), ("quiet", 0.5)])
    c.beep_start, c.beep_end = 3.5, 3.7
    cut = generate.on_voice(c, np.random.default_rng(2))
    shift = (len(c.audio) - len(cut.audio)) / FS
    assert 0.97 <= shift <= 1.0  # 0-30 ms before the first word
    assert np.array_equal(cut.audio, c.audio[len(c.audio) - len(cut.audio):])
    assert cut.utterances == [(a - shift, b - shift) for a, b in c.utterances]
    assert (cut.beep_start, cut.beep_end) == (c.beep_start - shift, c.beep_end - shift)
    # A machine's first sound is found from the audio (music has no utterance).
    m = call([("quiet", 0.7), ("speech", 2.0), ("quiet", 0.5)], cls="machine", scenario="music-intro")
    m.utterances = []
    assert abs(generate.first_sound(m) - 0.7) <= 0.02
    # Nothing before the beep: the call is left as it is.
    beep_only = call([("quiet", 2.0)], cls="machine", scenario="no-greeting")
    assert generate.on_voice(beep_only, np.random.default_rng(3)) is beep_only


def test_with_on_voice_keeps_the_calls_of_the_seed():
    calls = [call([("quiet", 0.3 + 0.1 * i), ("speech", 0.5), ("quiet", 0.3)]) for i in range(20)]
    mixed = generate.with_on_voice(calls, 7, 0.5)
    assert all(m is c for m, c in zip(generate.with_on_voice(calls, 7, 0.0), calls))
    changed = [m is not c for m, c in zip(mixed, calls)]
    assert 3 <= sum(changed) <= 17
    assert [m is not c for m, c in zip(generate.with_on_voice(calls, 7, 0.5), calls)] == changed
