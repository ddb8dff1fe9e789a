"""Answering-machine and beep detector (native/amd.c), called through the cffi lib.

Beeps are synthesised here with NumPy (pure sines over the whole 400-2000 Hz
range, tone sequences, square-ish tones made of odd harmonics, tones that
drift and decay like a tape machine's), over white line noise; G.711 comes
from tests/dsp/dtmf_signals.py (written from G.711 independently of the
core). Four short recorded calls from the dev corpus (tests/fixtures/amd)
check the decisions on real speech.

Event protocol: one LG_EVENT_AMD decision per call (flags END, start = end =
the decision's sample); a beep is LG_EVENT_BEEP with BEGIN (end = -1) when
recognised and END (same start) when it stops or at flush.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gateway.dsp.native import ffi, lib
from tests.dsp import dtmf_signals as sig
from tests.dsp.wav_writer import read_pcm16

FS = 8000
BLOCK = 160  # 20 ms, the media tick
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amd"
LABELS = {json.loads(line)["id"]: json.loads(line) for line in (FIXTURES / "labels.jsonl").read_text().splitlines()}

# A beep is recognised after beep_min_ms (100 ms) of steady tone; its start is
# placed from the 10 ms frame levels.
BEEP_START_TOL = (-0.015, 0.025)
BEEP_LATENCY = 0.25


# --------------------------------------------------------------------------
# Driver

class Amd:
    """One bank of `channels` channels with the given parameter overrides."""

    def __init__(self, channels: int = 1, **overrides):
        self.params = ffi.new("lg_amd_params *")
        lib.lg_amd_params_default(self.params)
        for k, v in overrides.items():
            setattr(self.params, k, v)
        self.desc = ffi.new("lg_amd_desc *")
        assert lib.lg_amd_desc_init(self.desc, self.params) == lib.LG_OK
        self.channels = channels
        self.bank = ffi.new("lg_amd_bank *")
        self.lanes = ffi.new("lg_amd_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
        self.states = ffi.new("lg_amd_state[]", channels)
        assert lib.lg_amd_bank_init(self.bank, self.lanes, self.states, channels) == lib.LG_OK

    def feed(self, block: np.ndarray, encoding: int = lib.LG_ENC_S16) -> list[tuple]:
        """block: [channels][n] int16 (or uint8 codes)."""
        block = np.ascontiguousarray(block)
        n = block.shape[1]
        room = lib.lg_amd_max_events(self.channels, n)
        events = ffi.new("lg_event[]", room)
        rv = lib.lg_amd_feed(self.desc, self.bank, self.lanes, self.states, ffi.from_buffer(block), encoding,
                             block.shape[1], n, events, room)
        assert rv >= 0
        return [_tuple(e) for e in events[0:rv]]

    def flush(self) -> list[tuple]:
        events = ffi.new("lg_event[]", 2 * self.channels)
        rv = lib.lg_amd_flush(self.desc, self.bank, self.lanes, self.states, events, 2 * self.channels)
        assert rv >= 0
        return [_tuple(e) for e in events[0:rv]]

    def run(self, signals: np.ndarray, block: int = BLOCK, encoding: int = lib.LG_ENC_S16) -> list[tuple]:
        signals = np.atleast_2d(signals)
        out = []
        for i in range(0, signals.shape[1], block):
            out += self.feed(signals[:, i:i + block], encoding)
        return out + self.flush()


def _tuple(e) -> tuple:
    return (e.channel, e.kind, e.value, e.flags, e.start, e.end, e.reason, round(e.confidence, 4))


def decision(events, channel: int = 0) -> tuple:
    found = [e for e in events if e[1] == lib.LG_EVENT_AMD and e[0] == channel]
    assert len(found) == 1, events
    return found[0]


def beeps(events, channel: int = 0, flags: int = lib.LG_EVENT_BEGIN) -> list[tuple]:
    return [e for e in events if e[1] == lib.LG_EVENT_BEEP and e[0] == channel and e[3] == flags]


def detect(x: np.ndarray, **kw) -> list[tuple]:
    return Amd(**kw).run(sig.quantize(x)[None, :])


def fixture(name: str) -> np.ndarray:
    x, rate = read_pcm16(FIXTURES / f"{name}.wav")
    assert rate == FS
    return x


# --------------------------------------------------------------------------
# Signals

def silence_then(x: np.ndarray, lead: float, tail: float, rng, noise_dbm0: float = -65.0) -> tuple[np.ndarray, int]:
    """`lead` s of line noise, x, `tail` s of noise; returns the signal and x's first sample."""
    a, b = int(lead * FS), int(tail * FS)
    y = np.concatenate([np.zeros(a), x, np.zeros(b)])
    return y + sig.white_noise(len(y), noise_dbm0, rng), a


def sine(freq: float, seconds: float, dbm0: float, rng) -> np.ndarray:
    return sig.sine(freq, dbm0, int(seconds * FS), rng.uniform(0, 2 * np.pi))


def square_ish(freq: float, seconds: float, dbm0: float, rng) -> np.ndarray:
    """Odd harmonics 1/k below 3400 Hz: a band-limited square wave."""
    t = np.arange(int(seconds * FS)) / FS
    x = sum(np.sin(2 * np.pi * k * freq * t) / k for k in range(1, 40, 2) if k * freq < 3400)
    return x / np.sqrt(np.mean(x ** 2)) * sig.dbm0_to_peak(dbm0) / np.sqrt(2)


def drifting(freq: float, seconds: float, dbm0: float, drift_pct: float, decay_db_s: float) -> np.ndarray:
    """Frequency gliding by drift_pct over the beep, level decaying."""
    t = np.arange(int(seconds * FS)) / FS
    f = freq * (1 + drift_pct / 100 * t / seconds)
    phase = 2 * np.pi * np.cumsum(f) / FS
    return sig.dbm0_to_peak(dbm0) * 10 ** (-decay_db_s * t / 20) * np.sin(phase)


# --------------------------------------------------------------------------
# Parameters

def test_defaults_are_valid_and_documented_values():
    p = ffi.new("lg_amd_params *")
    lib.lg_amd_params_default(p)
    assert lib.lg_amd_params_bad_field(p) == -1
    assert (p.initial_silence_ms, p.max_greeting_ms, p.after_greeting_silence_ms, p.total_analysis_ms,
            p.beep_search_ms) == (5000, 3500, 1450, 7000, 30000)
    assert 0 < p.model_human_pct < 50 < p.model_machine_pct <= 100
    assert 0 < p.model_human_later_pct < 50


FIELDS = [("initial_silence_ms", 50), ("max_greeting_ms", 0), ("after_greeting_silence_ms", 10),
          ("total_analysis_ms", 99), ("beep_search_ms", -1), ("word_gap_ms", 0), ("phrase_gap_ms", 6000),
          ("density_window_ms", 50), ("density_pct", 0), ("continuous_min_word_ms", -1), ("short_greeting_ms", -5), ("chatty_words", -1),
          ("chatty_max_word_ms", 5), ("chatty_max_gap_ms", 0), ("chatty_silence_ms", 0),
          ("min_speech_dbm0", 1.0), ("vad_threshold_db", 0.5), ("relative_db", 2.0),
          ("floor_rise_db_per_s", -1.0), ("beep_min_ms", 200), ("beep_min_dbm0", float("nan")),
          ("beep_min_hz", 50.0), ("beep_max_hz", 250.0), ("beep_onset_db", -1.0),
          ("model_human_pct", 50.0), ("model_machine_pct", float("nan")), ("model_human_later_pct", -1.0)]


@pytest.mark.parametrize("index,field", list(enumerate(FIELDS)), ids=[f for f, _ in FIELDS])
def test_bad_field_is_named(index, field):
    name, value = field
    p = ffi.new("lg_amd_params *")
    lib.lg_amd_params_default(p)
    setattr(p, name, value)
    assert lib.lg_amd_params_bad_field(p) == index
    d = ffi.new("lg_amd_desc *")
    assert lib.lg_amd_desc_init(d, p) == lib.LG_E_RANGE


def test_bad_calls_are_refused():
    amd = Amd(channels=2)
    x = np.zeros((2, 160), np.int16)
    room = lib.lg_amd_max_events(2, 160)
    ev = ffi.new("lg_event[]", room)
    args = (amd.desc, amd.bank, amd.lanes, amd.states)
    assert lib.lg_amd_feed(*args, ffi.from_buffer(x), 7, 160, 160, ev, room) == lib.LG_E_ARG
    assert lib.lg_amd_feed(*args, ffi.from_buffer(x), lib.LG_ENC_S16, 100, 160, ev, room) == lib.LG_E_ARG
    assert lib.lg_amd_feed(*args, ffi.from_buffer(x), lib.LG_ENC_S16, 160, 160, ev, room - 1) == lib.LG_E_SPACE
    assert lib.lg_amd_flush(*args, ev, 3) == lib.LG_E_SPACE
    assert lib.lg_amd_reset(amd.bank, amd.lanes, amd.states, 2) == lib.LG_E_ARG
    assert lib.lg_amd_max_events(0, 10) == lib.LG_E_ARG


# --------------------------------------------------------------------------
# Beeps

def check_beep(events, onset: int, freq: float | None, freq_tol: float = 0.02, latency: float = BEEP_LATENCY):
    begins = beeps(events)
    assert len(begins) >= 1, events
    first = begins[0]
    assert BEEP_START_TOL[0] <= (first[4] - onset) / FS <= BEEP_START_TOL[1], (first, onset)
    if freq is not None:
        assert abs(first[2] - freq) <= freq_tol * freq, first
    ends = beeps(events, flags=lib.LG_EVENT_END)
    assert ends and ends[0][4] == first[4] and ends[0][5] > first[4]
    # The decision is taken when the beep is recognised.
    d = decision(events)
    assert (d[2], d[6]) == (lib.LG_AMD_MACHINE, lib.LG_AMD_REASON_BEEP)
    assert 0 <= (d[4] - onset) / FS <= latency
    assert d[4] == d[5]


@pytest.mark.parametrize("freq", [400, 440, 500, 650, 800, 1000, 1150, 1400, 1700, 2000])
@pytest.mark.parametrize("dbm0", [-12.0, -35.0])
def test_sine_beep(freq, dbm0):
    rng = sig.rng_for("amd-sine", freq, dbm0)
    x, onset = silence_then(sine(freq, 0.4, dbm0, rng), 1.5, 0.5, rng)
    ev = detect(x)
    check_beep(ev, onset, freq)
    end = beeps(ev, flags=lib.LG_EVENT_END)[0][5]
    assert abs((end - onset) / FS - 0.4) <= 0.03


@pytest.mark.parametrize("tone_s", [0.15, 0.12])
def test_tone_sequence_beep_is_one_beep(tone_s):
    """Two or three tones back to back, each perhaps too short to be a beep
    alone: one beep from the first tone's onset."""
    rng = sig.rng_for("amd-multi", tone_s)
    x = np.concatenate([sine(1000, tone_s, -20, rng), sine(1800, tone_s, -20, rng), sine(1400, 0.15, -20, rng)])
    y, onset = silence_then(x, 1.2, 0.5, rng)
    ev = detect(y)
    b = beeps(ev)
    assert len(b) == 1
    if tone_s >= 0.15:
        check_beep(ev, onset, 1000)
    else:
        # Recognised on the third tone, its start placed at the first one's onset.
        check_beep(ev, onset, None, latency=2 * tone_s + 0.15)
    end = beeps(ev, flags=lib.LG_EVENT_END)[0][5]
    assert abs((end - onset) / FS - (2 * tone_s + 0.15)) <= 0.03


@pytest.mark.parametrize("freq", [450, 555, 700, 1000])
def test_square_ish_beep(freq):
    rng = sig.rng_for("amd-square", freq)
    x, onset = silence_then(square_ish(freq, 0.3, -18, rng), 1.0, 0.4, rng)
    # The reported frequency is a 2nd-order predictor's: between the
    # fundamental and its harmonics.
    ev = detect(x)
    check_beep(ev, onset, None)
    assert freq * 0.95 <= beeps(ev)[0][2] <= 3 * freq


@pytest.mark.parametrize("freq,drift,decay", [(600, 3.0, 6.0), (900, -4.0, 10.0), (1300, 2.0, 3.0)])
def test_drifting_decaying_beep(freq, drift, decay):
    rng = sig.rng_for("amd-drift", freq)
    x, onset = silence_then(drifting(freq, 0.5, -20, drift, decay), 2.0, 0.4, rng)
    check_beep(detect(x), onset, freq, freq_tol=0.05)


def test_beep_after_greeting_like_noise_and_after_decision():
    """A beep 9 s into the call, after a machine decision, is still reported."""
    rng = sig.rng_for("amd-late-beep")
    # Modulated noise at speech level for 8 s (a "greeting"): decided machine
    # (a phrase reaches max_greeting_ms) long before the beep.
    n = 8 * FS
    env = 1 + 0.5 * np.sin(2 * np.pi * 3 * np.arange(n) / FS)
    talk = sig.white_noise(n, -20, rng) * env
    x, onset = silence_then(np.concatenate([talk, np.zeros(FS // 2), sine(850, 0.3, -15, rng)]), 0.5, 0.5, rng)
    ev = detect(x)
    d = decision(ev)
    assert d[2] == lib.LG_AMD_MACHINE and d[6] in (lib.LG_AMD_REASON_LONG_GREETING, lib.LG_AMD_REASON_CONTINUOUS_SPEECH,
                                                   lib.LG_AMD_REASON_GREETING_VOICE)
    b = beeps(ev)
    assert len(b) == 1
    assert abs((b[0][4] - (onset + n + FS // 2)) / FS) <= 0.02


def test_no_beep_search_after_beep_search_ms():
    rng = sig.rng_for("amd-search")
    x, onset = silence_then(sine(1000, 0.4, -15, rng), 2.0, 0.3, rng)
    assert beeps(detect(x, beep_search_ms=1500)) == []
    assert len(beeps(detect(x, beep_search_ms=3000))) == 1


def test_no_beep_in_noise_silence_or_speech_like_sound():
    rng = sig.rng_for("amd-nobeep")
    n = 6 * FS
    for x in (np.zeros(n), sig.white_noise(n, -30, rng), sig.white_noise(n, -65, rng)):
        assert beeps(detect(x)) == []
    # A sound that starts at a steady level (a tone already there at answer,
    # e.g. a dial tone on a line) is not a beep: nothing is quieter before it.
    assert beeps(detect(sine(425, 6.0, -15, rng))) == []
    # A steady tone that rises out of louder sound does not stand clear of it.
    loud = sig.white_noise(FS, -10, rng)
    assert beeps(detect(np.concatenate([loud, sine(1000, 0.3, -14, rng), loud]))) == []


def vowel(f0: float, seconds: float, dbm0: float) -> np.ndarray:
    """A steady synthetic vowel: a pulse train at f0 through two resonances
    (700 Hz, 1200 Hz), like a monotone speech synthesiser's."""
    n = int(seconds * FS)
    y = np.zeros(n)
    y[::int(round(FS / f0))] = 1.0
    for f, bw in ((700, 80), (1200, 100)):
        r = np.exp(-np.pi * bw / FS)
        a1, a2 = 2 * r * np.cos(2 * np.pi * f / FS), -r * r
        out = np.zeros(n)
        for i in range(n):
            out[i] = y[i] + a1 * (out[i - 1] if i else 0.0) + a2 * (out[i - 2] if i > 1 else 0.0)
        y = out
    return y / np.sqrt(np.mean(y ** 2)) * sig.dbm0_to_peak(dbm0) / np.sqrt(2)


@pytest.mark.parametrize("f0", [125.0, 100.0])
def test_steady_vowel_is_not_a_beep(f0):
    """At 125 Hz (100 Hz) a 40 ms window holds exactly 5 (4) pitch periods: the
    window's spectrum and level are as steady as a tone's, but the 10 ms
    frames jitter in level with the pulses that fall in each."""
    rng = sig.rng_for("amd-vowel", f0)
    x, _ = silence_then(vowel(f0, 0.6, -18), 1.0, 1.0, rng)
    assert beeps(detect(x)) == []


# --------------------------------------------------------------------------
# Decisions on synthesised timing

def burst(seconds: float, dbm0: float, rng) -> np.ndarray:
    """Speech-like: noise modulated at a syllable rate."""
    n = int(seconds * FS)
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * np.arange(n) / FS + rng.uniform(0, 6.28))
    return sig.white_noise(n, dbm0, rng) * env


def test_silence_gives_initial_silence_machine():
    ev = detect(np.zeros(6 * FS))
    d = decision(ev)
    assert (d[2], d[6], d[4]) == (lib.LG_AMD_MACHINE, lib.LG_AMD_REASON_INITIAL_SILENCE, 5000 * 8 + 80)


def test_short_audio_without_speech_is_notsure_at_flush():
    ev = detect(np.zeros(2 * FS + 17))
    d = decision(ev)
    assert (d[2], d[6], d[4]) == (lib.LG_AMD_NOTSURE, lib.LG_AMD_REASON_END_OF_AUDIO, 2 * FS + 17)


RULES_ONLY = {"model_human_pct": 0.0, "model_machine_pct": 100.0}


def test_hello_then_silence_is_human():
    rng = sig.rng_for("amd-hello")
    x, onset = silence_then(burst(0.6, -20, rng), 0.8, 3.0, rng)
    # A person, by the phrase model in the pause or by the silence rule at the
    # latest (the model is strict in the first pause: a machine's "Hello?"
    # before its greeting sounds the same).
    d = decision(detect(x))
    assert d[2] == lib.LG_AMD_HUMAN and d[6] in (lib.LG_AMD_REASON_HUMAN_VOICE,
                                                 lib.LG_AMD_REASON_SHORT_GREETING_THEN_SILENCE)
    assert 0.25 <= (d[4] - onset) / FS - 0.6 <= 1.5
    # The rules alone: after after_greeting_silence_ms.
    d = decision(detect(x, **RULES_ONLY))
    assert (d[2], d[6]) == (lib.LG_AMD_HUMAN, lib.LG_AMD_REASON_SHORT_GREETING_THEN_SILENCE)
    # Decided 1.45 s (after_greeting_silence_ms) after the end of the word, give or take a frame or two.
    assert abs((d[4] - onset) / FS - 0.6 - 1.45) <= 0.03


def test_a_call_fed_from_its_first_word_on_is_still_heard():
    # No quiet before the first word (an answer known only from the voice):
    # the noise floor must not start at the word's level, or the word and
    # all speech at that level go unheard (before: no speech at all, then
    # `machine` by initial silence at 5 s).
    rng = sig.rng_for("amd-on-voice")
    hello = burst(0.6, -20, rng)
    x = np.concatenate([hello, np.zeros(3 * FS)]) + sig.white_noise(len(hello) + 3 * FS, -65.0, rng)
    d = decision(detect(x, **RULES_ONLY))
    assert (d[2], d[6]) == (lib.LG_AMD_HUMAN, lib.LG_AMD_REASON_SHORT_GREETING_THEN_SILENCE)
    assert abs(d[4] / FS - 0.6 - 1.45) <= 0.03
    amd = Amd()
    amd.run(sig.quantize(x)[None, :FS])
    feats = np.zeros((1, lib.LG_AMD_FEATURES), np.float32)
    chk, p = np.zeros(1, np.int32), np.zeros(1, np.float32)
    lib.lg_amd_features(amd.desc, amd.bank, amd.states, ffi.from_buffer("float[]", feats),
                        ffi.from_buffer("int32_t[]", chk), ffi.from_buffer("float[]", p))
    assert feats[0, 9] == 0.0       # speech from the first frame
    assert feats[0, 10] >= 30.0     # the loudest speech over the floor (the line's noise, not the word)


def test_background_feature_hears_a_room_that_fills_the_pauses():
    # Feature 18: the quietest frame of the last 0.5 s against the loudest
    # speech; a quiet room's pauses fall to its noise, a television under
    # the talker fills them.
    rng = sig.rng_for("amd-background")
    words = np.concatenate([burst(0.4, -20, rng), np.zeros(int(0.3 * FS)), burst(0.4, -20, rng)])
    quiet = words + sig.white_noise(len(words), -65.0, rng)
    tv = words + burst(len(words) / FS, -32, rng)
    out = []
    for x in (quiet, tv):
        x = np.concatenate([sig.white_noise(int(0.5 * FS), -65.0, rng), x])
        amd = Amd(**RULES_ONLY)
        amd.run(sig.quantize(x)[None, :])
        feats = np.zeros((1, lib.LG_AMD_FEATURES), np.float32)
        chk, p = np.zeros(1, np.int32), np.zeros(1, np.float32)
        lib.lg_amd_features(amd.desc, amd.bank, amd.states, ffi.from_buffer("float[]", feats),
                            ffi.from_buffer("int32_t[]", chk), ffi.from_buffer("float[]", p))
        out.append(feats[0, 18])
    assert out[0] <= -35.0 and -20.0 >= out[1] >= -25.0


def test_long_speech_is_machine():
    rng = sig.rng_for("amd-long")
    x, onset = silence_then(burst(4.0, -20, rng), 0.5, 1.0, rng)
    d = decision(detect(x))
    assert d[2] == lib.LG_AMD_MACHINE and d[6] in (lib.LG_AMD_REASON_LONG_GREETING,
                                                   lib.LG_AMD_REASON_CONTINUOUS_SPEECH,
                                                   lib.LG_AMD_REASON_GREETING_VOICE)
    assert (d[4] - onset) / FS <= 3.6


def test_after_greeting_silence_parameter_moves_the_decision():
    rng = sig.rng_for("amd-param")
    x, onset = silence_then(burst(0.5, -20, rng), 0.5, 3.0, rng)
    t1 = decision(detect(x, after_greeting_silence_ms=800, **RULES_ONLY))[4]
    t2 = decision(detect(x, after_greeting_silence_ms=1600, **RULES_ONLY))[4]
    assert abs((t2 - t1) / FS - 0.8) <= 0.02


# --------------------------------------------------------------------------
# Recorded calls (tests/fixtures/amd)

@pytest.mark.parametrize("name", sorted(LABELS))
def test_fixture_decision_and_beep(name):
    label = LABELS[name]
    ev = Amd().run(fixture(name)[None, :])
    d = decision(ev)
    assert d[2] == {"human": lib.LG_AMD_HUMAN, "machine": lib.LG_AMD_MACHINE}[label["class"]]
    b = beeps(ev)
    if label["beep"]:
        assert b, ev
        assert -0.1 <= b[0][4] / FS - label["beep_start"] <= 0.1
        assert d[6] == lib.LG_AMD_REASON_BEEP
    else:
        assert b == []
        # Decided within 1.5 s of the end of the speech.
        assert 0 < d[4] / FS - label["speech_end"] <= 1.5


def all_fixtures(length: int | None = None) -> np.ndarray:
    xs = [fixture(n) for n in sorted(LABELS)]
    n = length or min(len(x) for x in xs)
    return np.stack([x[:n] for x in xs])


@pytest.mark.parametrize("block", [1, 7, 80, 333, 4000, 100000])
def test_block_size_does_not_matter(block):
    x = all_fixtures()
    reference = Amd(channels=len(x)).run(x, block=BLOCK)
    got = Amd(channels=len(x)).run(x, block=block)
    # A feed reports channel by channel: compare each channel's events in order.
    assert len(got) == len(reference)
    for c in range(len(x)):
        assert [e for e in got if e[0] == c] == [e for e in reference if e[0] == c]


def test_many_channels_equal_each_alone():
    base = all_fixtures()
    rng = sig.rng_for("amd-many")
    extra = [silence_then(sine(f, 0.3, -18, rng), 1.0 + 0.1 * i, 0, rng)[0] for i, f in enumerate((500, 900, 1300))]
    extra = [np.concatenate([e, np.zeros(base.shape[1] - len(e))])[:base.shape[1]] for e in extra]
    signals = np.concatenate([base, sig.quantize(np.stack(extra)), base[::-1], base[:2]])  # 13 channels: two lanes
    together = Amd(channels=len(signals)).run(signals)
    for c in range(len(signals)):
        alone = Amd().run(signals[c:c + 1])
        mine = [e for e in together if e[0] == c]
        assert [e[1:] for e in mine] == [e[1:] for e in alone]


def test_stride_larger_than_block():
    x = all_fixtures()
    wide = np.zeros((x.shape[0], x.shape[1] + 37), np.int16)
    wide[:, :x.shape[1]] = x
    amd = Amd(channels=len(x))
    room = lib.lg_amd_max_events(len(x), x.shape[1])
    ev = ffi.new("lg_event[]", room)
    rv = lib.lg_amd_feed(amd.desc, amd.bank, amd.lanes, amd.states, ffi.from_buffer(wide), lib.LG_ENC_S16,
                         wide.shape[1], x.shape[1], ev, room)
    got = [_tuple(e) for e in ev[0:rv]] + amd.flush()
    reference = Amd(channels=len(x)).run(x, block=BLOCK)
    for c in range(len(x)):
        assert [e for e in got if e[0] == c] == [e for e in reference if e[0] == c]


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_input(law):
    x = all_fixtures()
    codes = np.stack([(sig.ulaw_encode if law == "ulaw" else sig.alaw_encode)(c) for c in x]).astype(np.uint8)
    enc = lib.LG_ENC_ULAW if law == "ulaw" else lib.LG_ENC_ALAW
    got = Amd(channels=len(x)).run(codes, encoding=enc)
    linear = Amd(channels=len(x)).run(x)
    for c in range(len(x)):
        dg, dl = decision(got, c), decision(linear, c)
        assert dg[2] == dl[2] and dg[6] == dl[6] and abs(dg[4] - dl[4]) <= 3 * 80
        bg, bl = beeps(got, c), beeps(linear, c)
        assert len(bg) == len(bl)
        for a, b in zip(bg, bl):
            assert abs(a[4] - b[4]) <= 160 and abs(a[2] - b[2]) <= 0.02 * b[2]


def test_reset_starts_a_new_call():
    machine, human = fixture("dev-amd-0081"), fixture("dev-amd-0002")
    n = min(len(machine) - FS, len(human))
    amd = Amd(channels=2)
    amd.feed(np.stack([machine[:FS], machine[:FS]]))  # one second of a machine's call on both channels
    assert lib.lg_amd_reset(amd.bank, amd.lanes, amd.states, 1) == lib.LG_OK
    # Channel 1 now hears the human call from its start: the same events as a fresh channel.
    rest = np.stack([machine[FS:FS + n], human[:n]])
    got = []
    for i in range(0, n, BLOCK):
        got += amd.feed(rest[:, i:i + BLOCK])
    got += amd.flush()
    fresh = Amd().run(human[None, :n])
    # Channel 0 was not disturbed by the reset of its neighbour.
    assert [e[1:] for e in got if e[0] == 0] == [e[1:] for e in Amd().run(machine[None, :FS + n])]
    assert [e[1:] for e in got if e[0] == 1] == [e[1:] for e in fresh]


def test_one_decision_per_call_and_event_bound():
    x = all_fixtures()
    amd = Amd(channels=len(x))
    ev = amd.run(x, block=1)
    for c in range(len(x)):
        assert len([e for e in ev if e[0] == c and e[1] == lib.LG_EVENT_AMD]) == 1
        begins = beeps(ev, c)
        ends = beeps(ev, c, lib.LG_EVENT_END)
        assert [b[4] for b in begins] == [e[4] for e in ends]
    # A second flush has nothing more to say.
    assert amd.flush() == []


# --------------------------------------------------------------------------
# On/off per channel (lg_amd_set_active)

def set_active(amd: Amd, channel: int, active: int) -> int:
    return lib.lg_amd_set_active(amd.bank, amd.lanes, amd.states, channel, active)


def beep_call(rng, beep_at: float, seconds: float) -> np.ndarray:
    """Line noise with a 1 kHz beep at `beep_at` s."""
    x, _ = silence_then(sine(1000, 0.4, -15, rng), beep_at, seconds - beep_at - 0.4, rng)
    return sig.quantize(x)


def test_set_active_bad_channel_is_a_range_error():
    amd = Amd(channels=3)
    assert set_active(amd, 3, 0) == lib.LG_E_RANGE
    assert set_active(amd, -1, 1) == lib.LG_E_RANGE
    assert set_active(amd, 2, 0) == lib.LG_OK


def test_off_channel_reports_nothing_and_on_again_keeps_its_clock():
    rng = sig.rng_for("amd-active")
    # Channel 1 hears a beep at 0.5 s while off, and another at 3.5 s, 1.5 s
    # after it was turned back on at 2.0 s. Channel 0 is on throughout.
    x = beep_call(rng, 0.5, 6.0)
    x[int(3.5 * FS):int(3.9 * FS)] = beep_call(rng, 0.0, 0.4)[:int(0.4 * FS)]
    amd = Amd(channels=2)
    assert set_active(amd, 1, 0) == lib.LG_OK
    assert set_active(amd, 1, 0) == lib.LG_OK  # off when off: nothing changes
    both = np.stack([x, x])
    ev = []
    for i in range(0, both.shape[1], BLOCK):
        if i == 2 * FS:
            assert set_active(amd, 1, 1) == lib.LG_OK
        ev += amd.feed(both[:, i:i + BLOCK])
    ev += amd.flush()
    # Channel 0: both beeps, the first one deciding.
    assert len(beeps(ev, 0)) == 2
    # Channel 1: nothing while off; after, the events of a fresh channel fed
    # the audio from 2.0 s, on the channel's own time line (2.0 s later).
    fresh = Amd().run(x[None, 2 * FS:])
    mine = [e[1:] for e in ev if e[0] == 1]
    shifted = [e[1:4] + (e[4] + 2 * FS, e[5] + 2 * FS if e[5] >= 0 else e[5]) + e[6:] for e in fresh]
    assert mine == shifted
    b = beeps(ev, 1)
    assert len(b) == 1 and abs(b[0][4] / FS - 3.5) <= 0.03
    assert decision(ev, 1)[4] / FS > 3.5


def test_turning_off_drops_a_beep_and_a_decision_under_way():
    rng = sig.rng_for("amd-off")
    x = beep_call(rng, 1.0, 3.0)
    amd = Amd()
    ev = []
    for i in range(0, int(1.3 * FS), BLOCK):  # the beep is recognised, not ended
        ev += amd.feed(x[None, i:i + BLOCK])
    assert len(beeps(ev)) == 1 and beeps(ev, flags=lib.LG_EVENT_END) == []
    assert set_active(amd, 0, 0) == lib.LG_OK
    for i in range(int(1.3 * FS) // BLOCK * BLOCK + BLOCK, len(x), BLOCK):
        assert amd.feed(x[None, i:i + BLOCK]) == []
    assert amd.flush() == []  # no beep end, no decision
    # Undecided (silence so far) and turned off: no decision at flush either.
    quiet = Amd()
    quiet.feed(np.zeros((1, FS), np.int16))
    assert set_active(quiet, 0, 0) == lib.LG_OK
    assert quiet.flush() == []


def test_on_when_on_changes_nothing_and_reset_keeps_off():
    rng = sig.rng_for("amd-on-on")
    x = beep_call(rng, 1.0, 3.0)
    amd = Amd()
    ev = amd.feed(x[None, :FS])
    assert set_active(amd, 0, 1) == lib.LG_OK
    ev += amd.feed(x[None, FS:]) + amd.flush()
    assert ev == Amd().run(x[None, :])
    # A reset (a new call) on a channel turned off leaves it off.
    off = Amd()
    assert set_active(off, 0, 0) == lib.LG_OK
    assert lib.lg_amd_reset(off.bank, off.lanes, off.states, 0) == lib.LG_OK
    assert off.run(x[None, :]) == []


def test_features_shape_and_bad_arguments():
    amd = Amd(channels=2)
    feats = np.zeros((2, lib.LG_AMD_FEATURES), np.float32)
    chk = np.zeros(2, np.int32)
    p = np.zeros(2, np.float32)
    args = (ffi.from_buffer("float[]", feats), ffi.from_buffer("int32_t[]", chk), ffi.from_buffer("float[]", p))
    assert lib.lg_amd_features(amd.desc, amd.bank, amd.states, *args) == 2
    assert list(p) == [-1.0, -1.0]  # nobody spoke yet
    rng = sig.rng_for("amd-features")
    x, _ = silence_then(burst(0.6, -20, rng), 0.3, 0.5, rng)
    amd.run(np.stack([sig.quantize(x), np.zeros(len(x), np.int16)]))
    assert lib.lg_amd_features(amd.desc, amd.bank, amd.states, *args) == 2
    assert 0.0 <= p[0] <= 1.0 and p[1] == -1.0
    assert 0.5 <= feats[0, 3] <= 0.8  # the first word's length, s
    assert lib.lg_amd_features(amd.desc, amd.bank, amd.states, ffi.NULL, args[1], args[2]) == lib.LG_E_ARG


def test_model_reasons_have_amd_conf_names():
    from gateway.dsp.detector_bank import AMD_REASONS
    assert AMD_REASONS[lib.LG_AMD_REASON_HUMAN_VOICE] == "human-voice"
    assert AMD_REASONS[lib.LG_AMD_REASON_GREETING_VOICE] == "greeting-voice"
