"""Fax and modem tone detector (native/modem_tone.c), called through the cffi lib.

Signals are synthesised here with NumPy from the recommendations (T.30 CNG
1100 Hz 0.5 s on / 3 s off and CED 2100 Hz; V.25 ANS with 180 degree phase
reversals every 450 ms; V.8 ANSam, 2100 Hz amplitude-modulated at 15 Hz by
20 %; Bell 103 answer 2225 Hz), not with the project's tone generator. Noise
and the G.711 codecs come from tests/dsp/dtmf_signals.py (written from G.711
independently of the core).

Structure of the DTMF suite: frequency tolerance, level, noise, codec, timing,
then talk-off (speech, music, DTMF digits) and recorded corpus files. Many
cases run as the channels of one bank, as the media engine feeds them.

Event protocol: a tone is reported with end = -1 when recognised and again
with LG_EVENT_END, the same start and its end; a 2100 Hz tone may be refined
(a new begin, same start, higher value: CED -> ANS_PR / ANSAM -> ANSAM_PR).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gateway.dsp.native import check, ffi, lib
from tests.dsp import dtmf_signals as sig
from tests.dsp.wav_writer import read_pcm16

FS = 8000
BLOCK = 160  # 20 ms, the media tick
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NAMES = {lib.LG_MODEM_TONE_CNG: "CNG", lib.LG_MODEM_TONE_CED: "CED", lib.LG_MODEM_TONE_ANS_PR: "ANS_PR",
         lib.LG_MODEM_TONE_ANSAM: "ANSAM", lib.LG_MODEM_TONE_ANSAM_PR: "ANSAM_PR",
         lib.LG_MODEM_TONE_BELL_2225: "BELL_2225"}
ENCODINGS = {"linear": lib.LG_ENC_S16, "ulaw": lib.LG_ENC_ULAW, "alaw": lib.LG_ENC_ALAW}

# Latest report after the tone begins (seconds): CNG within its 0.5 s burst,
# CED/ANS within 1 s, reversals just after the first one (450 ms), the
# modulation after about three of its cycles, Bell 103 at its minimum.
LATENCY = {"CNG": 0.48, "CED": 0.70, "ANS_PR": 0.55, "ANSAM": 0.36, "ANSAM_PR": 0.55, "BELL_2225": 0.60}
EDGE_TOL = 0.016  # start and end within two sub-blocks


# --------------------------------------------------------------------------
# Signals

def tone(kind: str, seconds: float, dbm0: float, offset_pct: float, rng) -> np.ndarray:
    """One fax/modem tone as float samples (no quantisation)."""
    nominal = {"CNG": 1100.0, "BELL_2225": 2225.0}.get(kind, 2100.0)
    t = np.arange(int(round(seconds * FS))) / FS
    phase = 2 * np.pi * nominal * (1 + offset_pct / 100) * t + rng.uniform(0, 2 * np.pi)
    if kind in ("ANS_PR", "ANSAM_PR"):
        phase = phase + np.pi * np.floor(t / 0.45)  # V.25: reversal every 450 ms
    x = sig.dbm0_to_peak(dbm0) * np.sin(phase)
    if kind in ("ANSAM", "ANSAM_PR"):
        # V.8: (1 + 0.2 sin(2 pi 15 t)) sin(2 pi 2100 t); the level is the carrier's.
        x *= 1 + 0.2 * np.sin(2 * np.pi * 15 * t + rng.uniform(0, 2 * np.pi))
    return x


def tape(kind: str, dbm0: float, offset_pct: float, snr_db: float | None, rng):
    """Silence, the tone (CNG: two bursts of its cadence), silence; with the
    true on-intervals in seconds."""
    lead = rng.uniform(0.2, 0.3)
    parts, on, at = [np.zeros(int(lead * FS))], [], lead
    bursts = [(0.5, 3.0), (0.5, 0.3)] if kind == "CNG" else [(2.0, 0.3)]
    for length, pause in bursts:
        parts += [tone(kind, length, dbm0, offset_pct, rng), np.zeros(int(pause * FS))]
        on.append((at, at + length))
        at += length + pause
    x = np.concatenate(parts)
    if snr_db is not None:
        x = x + sig.white_noise(len(x), dbm0 - snr_db, rng)
    return x, on


def encode(x: np.ndarray, encoding: str) -> np.ndarray:
    pcm = sig.quantize(x, clip=True)
    if encoding == "ulaw":
        return sig.ulaw_encode(pcm)
    if encoding == "alaw":
        return sig.alaw_encode(pcm)
    return pcm


# --------------------------------------------------------------------------
# Harness: the C entry points, as the DetectorBank will call them

class Bank:
    def __init__(self, channels: int, params: dict | None = None):
        p = ffi.new("lg_modem_tone_params *")
        lib.lg_modem_tone_params_default(p)
        for name, value in (params or {}).items():
            setattr(p, name, value)
        self.desc = ffi.new("lg_modem_tone_desc *")
        check(lib.lg_modem_tone_desc_init(self.desc, p), "modem tone parameters")
        self.bank = ffi.new("lg_modem_tone_bank *")
        self.lanes = ffi.new("lg_modem_tone_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
        self.states = ffi.new("lg_modem_tone_state[]", channels)
        check(lib.lg_modem_tone_bank_init(self.bank, self.lanes, self.states, channels), "modem tone bank")
        self.channels = channels

    def _collect(self, events, count, fed):
        out = []
        for k in range(count):
            e = events[k]
            assert e.kind == lib.LG_EVENT_MODEM_TONE
            out.append((e.channel, NAMES[e.value], e.flags, e.start, e.end, fed))
        return out

    def set_active(self, channel: int, active: bool) -> int:
        return lib.lg_modem_tone_set_active(self.bank, self.lanes, self.states, channel, int(active))

    def run(self, audio: np.ndarray, encoding: str = "linear", block: int = BLOCK, switches=None):
        """Feed (channels, n) in blocks, then flush: [(channel, value, flags, start, end, fed)].
        switches: {sample: [(channel, active), ...]} applied before the block starting there."""
        capacity = lib.lg_modem_tone_max_events(self.channels, block)
        events = ffi.new("lg_event[]", capacity)
        out = []
        for at in range(0, audio.shape[1], block):
            for channel, active in (switches or {}).get(at, ()):
                check(self.set_active(channel, active), "set_active")
            chunk = np.ascontiguousarray(audio[:, at:at + block])
            n = chunk.shape[1]
            count = check(lib.lg_modem_tone_feed(self.desc, self.bank, self.lanes, self.states,
                                                 ffi.from_buffer(chunk), ENCODINGS[encoding], n, n,
                                                 events, capacity), "feed")
            out += self._collect(events, count, at + n)
        count = check(lib.lg_modem_tone_flush(self.desc, self.bank, self.lanes, self.states, events, capacity),
                      "flush")
        return out + self._collect(events, count, None)


def tones_of(events, channel):
    """Check the protocol of one channel; return its tones as
    (values reported in order, start, end, fed when first reported)."""
    tones, open_ = [], None
    for ch, value, flags, start, end, fed in events:
        if ch != channel:
            continue
        if flags == lib.LG_EVENT_BEGIN:
            assert end == -1
            if open_ is None:
                open_ = ([value], start, fed)
            else:  # a refinement: same start, a higher value
                assert start == open_[1], (value, start, open_)
                assert value not in open_[0] and \
                    list(NAMES.values()).index(value) > list(NAMES.values()).index(open_[0][-1])
                open_[0].append(value)
        else:
            assert flags == lib.LG_EVENT_END and open_ is not None and start == open_[1]
            assert value == open_[0][-1] and end >= start
            tones.append((open_[0], start, end, open_[2]))
            open_ = None
    assert open_ is None, "flush must end every tone"
    return tones


def run_channels(signals, encoding="linear", block=BLOCK, params=None):
    n = max(len(x) for x in signals)
    n += -n % block
    audio = np.zeros((len(signals), n), dtype=np.int16 if encoding == "linear" else np.uint8)
    if encoding != "linear":
        audio[:] = encode(np.zeros(1), encoding)[0]
    for i, x in enumerate(signals):
        audio[i, :len(x)] = x
    events = Bank(len(signals), params).run(audio, encoding, block)
    return [tones_of(events, c) for c in range(len(signals))]


ALLOWED = {  # the sequences of values a tone may be reported with
    "CNG": [["CNG"]], "CED": [["CED"]], "BELL_2225": [["BELL_2225"]],
    "ANS_PR": [["ANS_PR"], ["CED", "ANS_PR"]],
    "ANSAM": [["ANSAM"]],
    "ANSAM_PR": [["ANSAM", "ANSAM_PR"], ["ANSAM_PR"]],
}


def check_cases(cases, encoding="linear", block=BLOCK):
    """cases: [(label, kind, samples, on-intervals)]; every failure is listed."""
    found = run_channels([encode(x, encoding) for _, _, x, _ in cases], encoding, block)
    failures = []
    for (label, kind, _, on), tones in zip(cases, found):
        problem = None
        if len(tones) != len(on):
            problem = f"{len(tones)} tones for {len(on)}"
        else:
            for (values, start, end, fed), (t0, t1) in zip(tones, on):
                if values not in ALLOWED[kind]:
                    problem = f"reported {values}"
                elif abs(start / FS - t0) > EDGE_TOL or abs(end / FS - t1) > EDGE_TOL:
                    problem = f"edges {start / FS:.3f}-{end / FS:.3f} for {t0:.3f}-{t1:.3f}"
                elif fed is None or fed / FS - t0 > LATENCY[kind] + block / FS:
                    problem = f"reported {None if fed is None else fed / FS - t0} s after the start"
                if problem:
                    break
        if problem:
            failures.append(f"{label}: {problem}: {tones}")
    assert not failures, "\n".join(failures)


KINDS = ["CNG", "CED", "ANS_PR", "ANSAM", "ANSAM_PR", "BELL_2225"]


# --------------------------------------------------------------------------
# Acceptance

@pytest.mark.parametrize("encoding", ["linear", "ulaw", "alaw"])
def test_every_tone_at_every_level_offset_and_noise(encoding):
    """-3 ... -43 dBm0, +-2.5 % (CNG also +-38 Hz, T.30's tolerance), clean
    and at 10 dB SNR in white noise: one bank, one channel per case."""
    cases = []
    for kind in KINDS:
        offsets = [-2.5, 0.0, 2.5] + ([-3.45, 3.45] if kind == "CNG" else [])
        for dbm0 in (-3.0, -13.0, -23.0, -33.0, -43.0):
            for offset in offsets:
                for snr in (None, 10.0):
                    rng = sig.rng_for("modem", encoding, kind, dbm0, offset, snr)
                    x, on = tape(kind, dbm0, offset, snr, rng)
                    cases.append((f"{kind} {dbm0} dBm0 {offset:+} % snr={snr}", kind, x, on))
    check_cases(cases, encoding)


def test_block_sizes_and_partial_lanes():
    """The same answers whatever the block length (not a multiple of the
    8 ms sub-block) and with a partly filled last lane."""
    cases = []
    for k, kind in enumerate(KINDS + KINDS[:5]):  # 11 channels
        rng = sig.rng_for("blocks", k)
        x, on = tape(kind, -20.0, 0.0, 20.0, rng)
        cases.append((f"{kind} #{k}", kind, x, on))
    for block in (37, 160, 1000):
        check_cases(cases, block=block)


def test_out_of_tolerance_and_too_short_are_not_reported():
    rng = sig.rng_for("reject")
    signals = [
        tone("CED", 2.0, -10, 60 / 21, rng),    # 2160 Hz: between 2100 + 56 and 2225 - 60
        tone("CED", 2.0, -10, -4.0, rng),       # 2016 Hz
        tone("BELL_2225", 2.0, -10, 3.0, rng),  # 2291.75 Hz
        tone("CNG", 2.0, -10, 6.0, rng),        # 1166 Hz
        tone("CNG", 2.0, -10, -6.0, rng),       # 1034 Hz
        tone("CNG", 0.3, -10, 0.0, rng),        # a 300 ms 1100 Hz beep
        tone("CED", 0.45, -10, 0.0, rng),       # 450 ms of 2100 Hz
        tone("CED", 2.0, -50, 0.0, rng),        # under the level floor
        sig.white_noise(16000, -10, rng),
    ]
    found = run_channels([sig.quantize(np.concatenate([np.zeros(800), x, np.zeros(800)])) for x in signals])
    assert found == [[] for _ in signals]


def test_plain_2100_with_15hz_am_of_other_depth_is_ced():
    """5 % modulation is not ANSam's 20 %: a plain CED."""
    rng = sig.rng_for("depth")
    t = np.arange(2 * FS) / FS
    x = sig.dbm0_to_peak(-12) * np.sin(2 * np.pi * 2100 * t) * (1 + 0.05 * np.sin(2 * np.pi * 15 * t))
    x = np.concatenate([np.zeros(800), x + sig.white_noise(len(x), -25, rng), np.zeros(800)])
    [tones] = run_channels([sig.quantize(x)])
    assert [v for v, *_ in tones] == [["CED"]]


def test_talkoff_fixtures_and_dtmf_digits_give_nothing():
    signals = [read_pcm16(FIXTURES / "talkoff" / name)[0] for name in
               ("talkoff-speech.wav", "talkoff-music.wav", "talkoff-speech-music.wav", "talkoff-hot.wav")]
    rng = sig.rng_for("dtmf")
    digits = []
    for key in sig.KEYS:  # every key, held 1 s, then 100 ms ones
        digits += [sig.dual_tone(key, FS, row_dbm0=-8, col_dbm0=-6, row_phase=rng.uniform(0, 6.3)),
                   np.zeros(400)]
    for key in sig.KEYS * 2:
        digits += [sig.dual_tone(key, 800, row_dbm0=-8, col_dbm0=-6), np.zeros(400)]
    signals.append(sig.quantize(np.concatenate(digits)))
    assert run_channels(signals) == [[] for _ in signals]


def test_corpus_fixtures():
    labels = [json.loads(line) for line in (FIXTURES / "cpt" / "labels.jsonl").read_text().splitlines()]
    expected = {"fax_cng": [["CNG"]], "fax_ced": [["CED"]], "ans_pr": [["ANS_PR"]],
                "ansam_pr": [["ANSAM", "ANSAM_PR"], ["ANSAM_PR"]]}
    signals = [read_pcm16(FIXTURES / "cpt" / label["file"])[0] for label in labels]
    for label, tones in zip(labels, run_channels(signals)):
        kind = label.get("subtype") if label["class"] == "modem" else label["class"]
        on = label["on_intervals"][0]
        assert len(tones) >= 1, label["id"]
        values, start, end, fed = tones[0]
        assert values in expected[kind], (label["id"], tones)
        assert abs(start / FS - on[0]) <= EDGE_TOL and abs(end / FS - on[1]) <= EDGE_TOL, (label["id"], tones)
        # A CNG burst cut to 217 ms by the end of the file is not reported.
        assert len(tones) == 1, (label["id"], tones)


# --------------------------------------------------------------------------
# API

def test_reset_restarts_one_channel_clock():
    rng = sig.rng_for("reset")
    x, on = tape("CED", -15, 0, None, rng)
    audio = np.tile(sig.quantize(x), (3, 1))
    b = Bank(3)
    n = len(x) // 2 // BLOCK * BLOCK
    first = b.run(audio[:, :n])  # also flushes: the tone in progress ends
    assert sorted({c for c, *_ in first}) == [0, 1, 2]
    check(lib.lg_modem_tone_reset(b.bank, b.lanes, b.states, 1), "reset")
    rest = np.ascontiguousarray(np.tile(sig.quantize(tone("CNG", 0.5, -15, 0, rng)), (3, 1)))
    events = b.run(rest)
    ch1 = tones_of(events, 1)
    assert [v for v, *_ in ch1] == [["CNG"]] and ch1[0][1] < 80  # channel 1's clock restarted
    assert tones_of(events, 0)[0][1] >= n


def test_params_are_checked_and_space_is_checked():
    p = ffi.new("lg_modem_tone_params *")
    lib.lg_modem_tone_params_default(p)
    assert lib.lg_modem_tone_params_bad_field(p) == -1
    assert (p.min_level_dbm0, p.cng_min_on_ms, p.ced_min_on_ms) == (-46.0, 400, 600)
    p.ans_max_dev_hz = 70
    assert ffi.typeof("lg_modem_tone_params").fields[lib.lg_modem_tone_params_bad_field(p)][0] == "ans_max_dev_hz"
    desc = ffi.new("lg_modem_tone_desc *")
    assert lib.lg_modem_tone_desc_init(desc, p) == lib.LG_E_RANGE
    b = Bank(9)
    need = lib.lg_modem_tone_max_events(9, BLOCK)
    events = ffi.new("lg_event[]", need)
    audio = np.zeros((9, BLOCK), dtype=np.int16)
    assert lib.lg_modem_tone_feed(b.desc, b.bank, b.lanes, b.states, ffi.from_buffer(audio), lib.LG_ENC_S16,
                                  BLOCK, BLOCK, events, need - 1) == lib.LG_E_SPACE
    assert lib.lg_modem_tone_feed(b.desc, b.bank, b.lanes, b.states, ffi.from_buffer(audio), 7,
                                  BLOCK, BLOCK, events, need) == lib.LG_E_ARG


# --------------------------------------------------------------------------
# Channels on and off (lg_modem_tone_set_active)

def test_set_active_checks_its_arguments():
    b = Bank(3)
    assert b.set_active(-1, False) == lib.LG_E_RANGE
    assert b.set_active(3, False) == lib.LG_E_RANGE
    assert lib.lg_modem_tone_set_active(ffi.NULL, b.lanes, b.states, 0, 0) == lib.LG_E_ARG
    assert b.set_active(2, False) == lib.LG_OK and b.set_active(2, False) == lib.LG_OK
    assert b.set_active(2, True) == lib.LG_OK and b.set_active(2, True) == lib.LG_OK


def test_switching_channels_off_and_on():
    """Ten channels, each a CED tone (0.25 s silence, 2 s tone) then a CNG burst later.
    Channel 1: off from the start: nothing. Channel 2: off during the CED: its begin only,
    no end, not even at flush. Channel 3: off before the CED, on again after it: the CNG
    only, on the channel's clock (as a bank that never switched times it). Channel 4: told
    it is on during the CED: unchanged. Channels 8 and 9 (a whole lane) off, then on before
    the CNG: the CNG only. The others: as without switching."""
    rng = sig.rng_for("modem", "switch")
    x, _ = tape("CED", -15, 0, None, rng)
    x = np.concatenate([x, np.zeros(FS), tone("CNG", 0.5, -15, 0, rng), np.zeros(FS // 2)])
    audio = np.tile(sig.quantize(x), (10, 1))
    block = 104  # not a multiple of the 64-sample sub-block
    reference = Bank(10).run(audio, block=block)
    ced_mid, after_ced = 96 * block, 230 * block  # 1.25 s, 2.99 s (the CED ends by 2.6 s, the CNG begins at 3.5 s)
    switches = {0: [(1, False), (3, False), (8, False), (9, False)],
                ced_mid: [(2, False), (4, True)],
                after_ced: [(3, True), (8, True), (9, True)]}
    events = Bank(10).run(audio, block=block, switches=switches)

    def of(evs, channel):
        return [(value, flags, start, end) for c, value, flags, start, end, _ in evs if c == channel]

    ref = of(reference, 0)
    assert [(v, f) for v, f, *_ in ref] == [("CED", lib.LG_EVENT_BEGIN), ("CED", lib.LG_EVENT_END),
                                             ("CNG", lib.LG_EVENT_BEGIN), ("CNG", lib.LG_EVENT_END)]
    assert of(events, 1) == []
    assert of(events, 2) == ref[:1]
    for channel in (3, 8, 9):
        assert of(events, channel) == ref[2:], channel
    for channel in (0, 4, 5, 6, 7):
        assert of(events, channel) == ref, channel


def test_a_tones_confidence_is_how_much_of_what_was_heard_it_was():
    from gateway.dsp import DetectorBank

    t = np.arange(4 * FS) / FS
    rng = np.random.default_rng(41)
    seen = {}
    for noise_rms in (0.0, 1500.0, 4000.0):  # a quiet line, then noise 11.5 and 3 dB under the tone
        x = 8000 * np.sin(2 * np.pi * 2100 * t) + rng.normal(0, noise_rms, len(t))
        bank = DetectorBank(1, detect=("modem",))
        events = bank.feed(np.clip(np.round(x), -32768, 32767).astype(np.int16)) + bank.flush()
        assert [(ev.value, ev.ended) for ev in events] == [("CED", False), ("CED", True)]
        assert events[0].confidence == events[1].confidence
        seen[noise_rms] = events[0].confidence
    assert seen[0.0] >= 0.98 and 0.85 <= seen[1500.0] < 0.98 and 0.4 <= seen[4000.0] < seen[1500.0]
