"""Acceptance suite of the DTMF receiver (native/dtmf_rx.c through gateway.dsp.DetectorBank).

Written from the specification alone, on audio synthesised here with NumPy
(tests/dsp/dtmf_signals.py), not with the project's tone generator. The
structure follows the Mitel/Bellcore test tape: frequency tolerance, twist,
level, duration (tone and pause), interruption, noise, dial tone, timing,
then the many-channel and G.711 properties of the bank.

Every case draws its tone phases and its leading silence (the digit's position
against block and internal frame boundaries) from a generator seeded by the
case's name, so results are repeatable and alignment luck cannot pass a test.

A case that must see digits checks that each expected key is reported exactly
once, in order, with nothing else; a failing test lists every failing case
(key, condition, what was reported) rather than stopping at the first.

"Should" lines of the specification are separate tests with ``should`` in
their names.

Event protocol (gateway.dsp.detector_bank): a key is reported once with
``end=None`` when recognised and once with ``end`` set (same ``start``) when it
ends; ``flush()`` ends keys in progress. Times are samples since the channel's
last reset.
"""

from __future__ import annotations

import numpy as np
import pytest

from gateway.dsp import DetectorBank, DtmfParams
from tests.dsp import dtmf_signals as sig
from tests.dsp.dtmf_signals import KEYS, Burst, Tape, ms, rng_for

TOL = ms(10)       # reported start and end within 10 ms of the true tone
LATENCY = ms(45)   # a digit is reported no later than 45 ms after it began
LEVEL = -10.0      # dBm0 per tone where the condition under test is not the level


# --------------------------------------------------------------------------
# Harness

class ProtocolError(AssertionError):
    pass


def feed_blocks(bank, data, block):
    """Feed ``data`` ((channels, n) or (n,)) in blocks of ``block`` samples, then flush.

    Returns (fed, event) pairs: ``fed`` is the number of samples fed when the
    event came out of ``feed``, or None for events from ``flush``.
    """
    out = []
    n = data.shape[-1]
    for i in range(0, n, block):
        chunk = data[..., i:i + block]
        fed = i + chunk.shape[-1]
        out += [(fed, ev) for ev in bank.feed(chunk)]
    out += [(None, ev) for ev in bank.flush()]
    return out


def run(data, *, block=160, encoding="linear", params=None):
    """All events of one channel fed ``data`` in blocks, flushed at the end."""
    bank = DetectorBank(1, encoding=encoding, dtmf=params)
    return [ev for _, ev in feed_blocks(bank, data, block)]


def digits_of(events, channel=0):
    """Check the event protocol of one channel; return its digits as (key, start, end)."""
    digits = []
    open_ = None
    for ev in events:
        if ev.channel != channel:
            raise ProtocolError(f"event for channel {ev.channel} among channel {channel}'s: {ev}")
        if ev.kind != "dtmf" or ev.value not in KEYS:
            raise ProtocolError(f"not a DTMF key event: {ev}")
        if ev.end is None:
            if open_ is not None:
                raise ProtocolError(f"begin {ev.value!r}@{ev.start} while {open_.value!r}@{open_.start} is open")
            if digits and ev.start < digits[-1][2]:
                raise ProtocolError(f"{ev.value!r} begins at {ev.start}, before the previous digit ended "
                                    f"({digits[-1]})")
            open_ = ev
        else:
            if open_ is None or (open_.value, open_.start) != (ev.value, ev.start):
                raise ProtocolError(f"end event {ev.value!r}@{ev.start}-{ev.end} does not match the open "
                                    f"digit {open_}")
            if ev.end <= ev.start:
                raise ProtocolError(f"digit ends before it starts: {ev}")
            digits.append((ev.value, ev.start, ev.end))
            open_ = None
    if open_ is not None:
        raise ProtocolError(f"flush() left {open_.value!r}@{open_.start} without an end event")
    return digits


def show(digits):
    return "[" + ", ".join(f"{k}@{s}-{e}" for k, s, e in digits) + "]" if digits else "nothing"


def show_bursts(bursts):
    return "[" + ", ".join(f"{b.key}@{b.start}-{b.end}" for b in bursts) + "]" if bursts else "nothing"


def problem(events, bursts, *, timing=False, channel=0):
    """None if ``events`` report exactly ``bursts`` (and, with ``timing``, within TOL); else why not."""
    try:
        got = digits_of(events, channel)
    except ProtocolError as exc:
        return f"protocol: {exc}"
    if [d[0] for d in got] != [b.key for b in bursts]:
        return f"sent {show_bursts(bursts)}, reported {show(got)}"
    if timing:
        for b, (key, start, end) in zip(bursts, got):
            if abs(start - b.start) > TOL or abs(end - b.end) > TOL:
                return (f"{key!r} sent {b.start}-{b.end}, reported {start}-{end}: start {start - b.start:+d}, "
                        f"end {end - b.end:+d} samples (limit +-{TOL})")
    return None


class Cases:
    """Collects the outcome of many cases; fails once, listing every failing case."""

    def __init__(self):
        self.failures = []
        self.count = 0

    def check(self, label, message):
        self.count += 1
        if message:
            self.failures.append(f"{label}: {message}")

    def assert_ok(self):
        shown = self.failures[:30]
        more = f"\n... and {len(self.failures) - len(shown)} more" if len(self.failures) > len(shown) else ""
        assert not self.failures, (f"{len(self.failures)} of {self.count} cases failed:\n  "
                                   + "\n  ".join(shown) + more)


def lead_in(rng):
    """Random leading silence of 5 to 55 ms, so the digit's alignment against blocks and
    internal frames is random. (Digits in the first 5 ms of a stream have their own test,
    test_digit_at_the_very_start_of_the_stream, so that one cause fails one test.)"""
    return int(rng.integers(ms(5), ms(55)))


def one_digit(rng, key, n_on, *, tail=ms(80), **tone):
    tape = Tape(rng)
    tape.silence(lead_in(rng))
    tape.digit(key, n_on, **tone)
    tape.silence(tail)
    return tape


def check_one_tape(cases, label, make_tape, *, expect=True, timing=False, **run_kw):
    tape = make_tape()
    events = run(sig.quantize(tape.signal()), **run_kw)
    cases.check(label, problem(events, tape.bursts if expect else [], timing=timing))


# --------------------------------------------------------------------------
# Frequency tolerance

ACCEPT_DEVS = [(r, c) for r in (-1.5, 0.0, 1.5) for c in (-1.5, 0.0, 1.5)]
REJECT_DEVS = ([(r, c) for r in (-3.5, 3.5) for c in (-1.5, 0.0, 1.5, -3.5, 3.5)]
               + [(r, c) for r in (-1.5, 0.0, 1.5) for c in (-3.5, 3.5)])


@pytest.mark.parametrize("dbm0", [-6.0, -24.0])
def test_frequency_deviation_1_5pct_on_both_tones_accepted(dbm0):
    """All 16 keys x every sign combination of +-1.5 % (and 0) on row and column at once."""
    cases = Cases()
    for key in KEYS:
        for row_dev, col_dev in ACCEPT_DEVS:
            rng = rng_for("freq-accept", dbm0, key, row_dev, col_dev)
            check_one_tape(
                cases, f"key {key} row {row_dev:+.1f}% col {col_dev:+.1f}% ({dbm0} dBm0/tone)",
                lambda: one_digit(rng, key, ms(50), dbm0=dbm0, row_dev_pct=row_dev, col_dev_pct=col_dev))
    cases.assert_ok()


@pytest.mark.parametrize("dbm0", [-6.0, -24.0])
def test_frequency_deviation_3_5pct_on_either_tone_rejected(dbm0):
    """+-3.5 % on either tone (the other at 0, +-1.5 % or also off): no digit, even from a 100 ms tone."""
    cases = Cases()
    for key in KEYS:
        for row_dev, col_dev in REJECT_DEVS:
            rng = rng_for("freq-reject", dbm0, key, row_dev, col_dev)
            check_one_tape(
                cases, f"key {key} row {row_dev:+.1f}% col {col_dev:+.1f}% ({dbm0} dBm0/tone)",
                lambda: one_digit(rng, key, ms(100), dbm0=dbm0, row_dev_pct=row_dev, col_dev_pct=col_dev),
                expect=False)
    cases.assert_ok()


# --------------------------------------------------------------------------
# Twist

TWISTS = [("normal", t) for t in (2.0, 4.0, 6.0, 8.0)] + [("reverse", t) for t in (2.0, 4.0)]


@pytest.mark.parametrize("loud_dbm0", [-6.0, -20.0])
def test_twist_normal_up_to_8db_and_reverse_up_to_4db_accepted(loud_dbm0):
    """Normal twist: row tone louder by up to and including 8 dB; reverse: column louder by up to 4 dB."""
    cases = Cases()
    for key in KEYS:
        for kind, twist in TWISTS:
            row, col = (loud_dbm0, loud_dbm0 - twist) if kind == "normal" else (loud_dbm0 - twist, loud_dbm0)
            rng = rng_for("twist", loud_dbm0, key, kind, twist)
            check_one_tape(
                cases, f"key {key} {kind} twist {twist:g} dB (row {row:g}, col {col:g} dBm0)",
                lambda: one_digit(rng, key, ms(50), row_dbm0=row, col_dbm0=col))
    cases.assert_ok()


# --------------------------------------------------------------------------
# Level

def _level_cases(levels, tag):
    cases = Cases()
    for dbm0 in levels:
        for key in KEYS:
            for rep in range(2):
                rng = rng_for(tag, dbm0, key, rep)
                check_one_tape(cases, f"key {key} at {dbm0:g} dBm0/tone (#{rep})",
                                    lambda: one_digit(rng, key, ms(50), dbm0=dbm0))
    cases.assert_ok()


def test_level_minus3_to_minus29_dbm0_accepted():
    _level_cases([-3.0, -5.0, -10.0, -15.0, -20.0, -25.0, -27.0, -29.0], "level")


def test_should_level_minus31_dbm0_accepted():
    _level_cases([-31.0], "level-should")


@pytest.mark.parametrize("threshold", [-10.0, -20.0])
def test_level_threshold_is_configurable(threshold):
    """DtmfParams(min_level_dbm0=T): 3 dB above T accepted; 3 dB below T rejected; the
    threshold holds per tone (one tone below it rejects the digit, twist within limits)."""
    params = DtmfParams(min_level_dbm0=threshold)
    conditions = [
        ("both tones 3 dB above", threshold + 3, threshold + 3, True),
        ("both tones 3 dB below", threshold - 3, threshold - 3, False),
        ("row 3 dB above, column 3 dB below (normal twist 6 dB)", threshold + 3, threshold - 3, False),
        ("column 1 dB above, row 3 dB below (reverse twist 4 dB)", threshold - 3, threshold + 1, False),
    ]
    cases = Cases()
    for label, row, col, expect in conditions:
        for key in KEYS:
            rng = rng_for("threshold", threshold, label, key)
            check_one_tape(cases, f"min_level_dbm0={threshold:g}, key {key}, {label}",
                                lambda: one_digit(rng, key, ms(60), row_dbm0=row, col_dbm0=col),
                                expect=expect, params=params)
    cases.assert_ok()


# --------------------------------------------------------------------------
# Duration

@pytest.mark.parametrize("dbm0", [-10.0, -25.0])
def test_duration_40ms_and_longer_accepted_once(dbm0):
    """Tones of 40 ms and longer are reported, each exactly once (a 1 s tone is one digit)."""
    cases = Cases()
    for key in KEYS:
        for on_ms in (40, 41, 45, 60, 100, 1000):
            for rep in range(2 if on_ms < 1000 else 1):
                rng = rng_for("duration-accept", dbm0, key, on_ms, rep)
                check_one_tape(cases, f"key {key}, {on_ms} ms at {dbm0:g} dBm0/tone (#{rep})",
                                    lambda: one_digit(rng, key, ms(on_ms), dbm0=dbm0))
    cases.assert_ok()


@pytest.mark.parametrize("after_reset", [False, True], ids=["fresh bank", "after reset"])
def test_digit_at_the_very_start_of_the_stream(after_reset):
    """A tone that begins 0..5 ms after the channel's time 0 (a fresh bank, or reset() of a
    channel that was fed before) is a digit like any other: reported once, timed from 0."""
    cases = Cases()
    for lead in (0, 1, 3, 8, 13, 21, 30, 40):
        for key in KEYS:
            for on_ms in (60, 1000):
                rng = rng_for("stream-start", lead, key, on_ms)
                tape = Tape(rng).silence(lead).digit(key, ms(on_ms)).silence(ms(80))
                bank = DetectorBank(1)
                if after_reset:
                    bank.feed(sig.quantize(sig.white_noise(1003, -45.0, rng)))
                    bank.reset(0)
                events = [ev for _, ev in feed_blocks(bank, sig.quantize(tape.signal()), 160)]
                cases.check(f"key {key}, {on_ms} ms, starting at sample {lead}",
                            problem(events, tape.bursts, timing=True))
    cases.assert_ok()


def _short_tone_cases(durations, tag, dbm0):
    cases = Cases()
    for key in KEYS:
        for on_ms in durations:
            for rep in range(3):
                rng = rng_for(tag, dbm0, key, on_ms, rep)
                check_one_tape(cases, f"key {key}, {on_ms} ms at {dbm0:g} dBm0/tone (#{rep})",
                                    lambda: one_digit(rng, key, ms(on_ms), dbm0=dbm0), expect=False)
    cases.assert_ok()


@pytest.mark.parametrize("dbm0", [-3.0, -15.0])
def test_duration_19ms_or_shorter_never_reported(dbm0):
    _short_tone_cases((2, 5, 10, 15, 18, 19), "duration-reject", dbm0)


@pytest.mark.parametrize("dbm0", [-3.0, -15.0])
def test_should_duration_20_to_23ms_not_reported(dbm0):
    _short_tone_cases((20, 21, 22, 23), "duration-reject-should", dbm0)


# --------------------------------------------------------------------------
# Pause (inter-digit silence)

def _pause_cases(pause_ms, on_ms, tag):
    cases = Cases()
    # The same key twice: only the pause can separate them.
    for key in KEYS:
        for rep in range(2):
            rng = rng_for(tag, pause_ms, on_ms, key, rep)
            tape = Tape(rng).silence(lead_in(rng))
            tape.digit(key, ms(on_ms)).silence(ms(pause_ms)).digit(key, ms(on_ms)).silence(ms(80))
            events = run(sig.quantize(tape.signal()))
            cases.check(f"{key}{key}, {on_ms} ms tones, {pause_ms} ms pause (#{rep})",
                        problem(events, tape.bursts, timing=True))
    # All sixteen keys in a row.
    rng = rng_for(tag, pause_ms, on_ms, "sequence")
    tape = Tape(rng).silence(lead_in(rng))
    for key in KEYS:
        tape.digit(key, ms(on_ms)).silence(ms(pause_ms))
    tape.silence(ms(80))
    events = run(sig.quantize(tape.signal()))
    cases.check(f"sequence {KEYS}, {on_ms} ms tones, {pause_ms} ms pauses",
                problem(events, tape.bursts, timing=True))
    cases.assert_ok()


@pytest.mark.parametrize("on_ms", [40, 50])
@pytest.mark.parametrize("pause_ms", [45, 60])
def test_pause_of_45ms_or_more_separates_digits(pause_ms, on_ms):
    _pause_cases(pause_ms, on_ms, "pause")


@pytest.mark.parametrize("on_ms", [40, 50])
def test_should_pause_of_40ms_separates_digits(on_ms):
    _pause_cases(40, on_ms, "pause-should")


# --------------------------------------------------------------------------
# Interruption

@pytest.mark.parametrize("gap_ms", [5, 10, 15, 19])
def test_dropout_shorter_than_20ms_does_not_split_a_digit(gap_ms):
    """A digit with a dropout (silence, tones keep their phase) of < 20 ms somewhere in its
    middle is one digit, spanning the whole burst (start and end within 10 ms)."""
    cases = Cases()
    for key in KEYS:
        for rep in range(2):
            rng = rng_for("dropout", gap_ms, key, rep)
            first, second = int(rng.integers(ms(50), ms(70))), int(rng.integers(ms(50), ms(70)))
            tape = Tape(rng).silence(lead_in(rng))
            tape.digit(key, first + ms(gap_ms) + second, dropouts=[(first, ms(gap_ms))]).silence(ms(80))
            events = run(sig.quantize(tape.signal()))
            cases.check(f"key {key}, {first / 8:g} ms + {gap_ms} ms dropout + {second / 8:g} ms (#{rep})",
                        problem(events, tape.bursts, timing=True))
    cases.assert_ok()


# --------------------------------------------------------------------------
# Noise

def _noise_cases(snr_db, dbm0, tag, seeds=4):
    """Each key ``seeds`` times at ``snr_db``: SNR = power of both tones over the noise power
    (white, 0..4 kHz); the noise runs over the whole tape, before and after the digit too."""
    noise_dbm0 = sig.sum_dbm0(dbm0, dbm0) - snr_db
    cases = Cases()
    for key in KEYS:
        for seed in range(seeds):
            rng = rng_for(tag, snr_db, dbm0, key, seed)
            tape = one_digit(rng, key, ms(50), dbm0=dbm0)
            x = tape.signal()
            x = x + sig.white_noise(len(x), noise_dbm0, rng)
            events = run(sig.quantize(x))
            cases.check(f"key {key} at {dbm0:g} dBm0/tone, {snr_db:g} dB SNR (noise {noise_dbm0:.1f} dBm0, "
                        f"seed {seed})", problem(events, tape.bursts))
    cases.assert_ok()


@pytest.mark.parametrize("dbm0", [-10.0, -20.0])
def test_noise_all_digits_at_15db_snr(dbm0):
    _noise_cases(15.0, dbm0, "noise")


@pytest.mark.parametrize("dbm0", [-10.0, -20.0])
def test_should_noise_all_digits_at_12db_snr(dbm0):
    _noise_cases(12.0, dbm0, "noise-should")


def test_noise_alone_gives_no_digit():
    """White noise alone, 4 s at each level from -6 to -50 dBm0: no digit at all."""
    cases = Cases()
    for dbm0 in (-6.0, -10.0, -15.0, -20.0, -25.0, -30.0, -40.0, -50.0):
        rng = rng_for("noise-alone", dbm0)
        x = sig.quantize(sig.white_noise(4 * sig.FS, dbm0, rng), clip=True)
        events = run(x, block=1000)
        cases.check(f"noise at {dbm0:g} dBm0", problem(events, []))
    cases.assert_ok()


# --------------------------------------------------------------------------
# Dial tone

def _dial_tone_cases(margin_db, dbm0, tag):
    """Digits ``margin_db`` above a continuous 350 + 440 Hz dial tone (both pairs have equal
    tones, so the margin is per tone and in total power alike); no filter. The dial tone
    sounds alone for 100..150 ms before each digit and 80 ms after."""
    cases = Cases()
    for key in KEYS:
        for seed in range(2):
            rng = rng_for(tag, margin_db, dbm0, key, seed)
            tape = Tape(rng).silence(ms(100) + lead_in(rng)).digit(key, ms(50), dbm0=dbm0).silence(ms(80))
            x = tape.signal() + sig.dial_tone(tape.n, dbm0 - margin_db, rng)
            events = run(sig.quantize(x))
            cases.check(f"key {key} at {dbm0:g} dBm0/tone over dial tone at {dbm0 - margin_db:g} dBm0/tone "
                        f"(seed {seed})", problem(events, tape.bursts))
    cases.assert_ok()


@pytest.mark.parametrize("dbm0", [-10.0, -20.0])
def test_dial_tone_11db_below_digits(dbm0):
    _dial_tone_cases(11.0, dbm0, "dial")


@pytest.mark.parametrize("dbm0", [-10.0, -20.0])
def test_should_dial_tone_6db_below_digits(dbm0):
    _dial_tone_cases(6.0, dbm0, "dial-should")


# --------------------------------------------------------------------------
# Timing and latency

@pytest.mark.parametrize("dbm0", [-3.0, -15.0, -29.0])
def test_timing_start_and_end_within_10ms(dbm0):
    """Each digit's start and end (ended event) within 10 ms of the true burst; tones of
    random length 40..300 ms at random positions. The end event must come from feed()
    (100 ms of silence follow), not only from flush()."""
    cases = Cases()
    for key in KEYS:
        for rep in range(3):
            rng = rng_for("timing", dbm0, key, rep)
            tape = one_digit(rng, key, int(rng.integers(ms(40), ms(300))), dbm0=dbm0, tail=ms(100))
            bank = DetectorBank(1)
            pairs = feed_blocks(bank, sig.quantize(tape.signal()), 160)
            label = f"key {key} {tape.bursts[0].end - tape.bursts[0].start} samples at {dbm0:g} dBm0/tone (#{rep})"
            message = problem([ev for _, ev in pairs], tape.bursts, timing=True)
            if not message and any(fed is None for fed, _ in pairs):
                message = "the end event came only from flush(), although 100 ms of silence followed the tone"
            cases.check(label, message)
    cases.assert_ok()


@pytest.mark.parametrize("dbm0", [-10.0, -29.0])
@pytest.mark.parametrize("on_ms", [40, 100])
def test_digit_reported_no_later_than_45ms_after_it_began(on_ms, dbm0):
    """Fed 8 samples at a time, the begin event (end None) of the digit comes out of feed()
    once at most 45 ms of the digit's audio have been fed."""
    cases = Cases()
    for key in KEYS:
        for rep in range(2):
            rng = rng_for("latency", on_ms, dbm0, key, rep)
            tape = one_digit(rng, key, ms(on_ms), dbm0=dbm0)
            burst = tape.bursts[0]
            bank = DetectorBank(1)
            pairs = feed_blocks(bank, sig.quantize(tape.signal()), 8)
            label = f"key {key}, {on_ms} ms at {dbm0:g} dBm0/tone (#{rep})"
            message = problem([ev for _, ev in pairs], tape.bursts)
            if not message:
                fed = next(fed for fed, ev in pairs if ev.end is None)
                if fed is None:
                    message = "begin event came only from flush()"
                elif fed - burst.start > LATENCY:
                    message = (f"begin event after {fed - burst.start} samples "
                               f"({(fed - burst.start) / 8:g} ms) of the digit; limit {LATENCY}")
            cases.check(label, message)
    cases.assert_ok()


# --------------------------------------------------------------------------
# Many channels

def random_tapes(channels, n, seed, *, silent=(), noise=()):
    """One tape per channel, ``n`` samples each: random keys, 45..120 ms tones, 60..150 ms
    pauses, -25..-5 dBm0 per tone with twist within +-3 dB; channels in ``silent`` stay
    silent, those in ``noise`` carry only noise at -30 dBm0."""
    rows, bursts = [], []
    for ch in range(channels):
        rng = rng_for("channels", seed, ch)
        tape = Tape(rng).silence(lead_in(rng))
        if ch not in silent and ch not in noise:
            while True:
                on, off = int(rng.integers(ms(45), ms(120))), int(rng.integers(ms(60), ms(150)))
                if tape.n + on + ms(80) > n:
                    break
                level, twist = rng.uniform(-25, -5), rng.uniform(-3, 3)
                tape.digit(str(rng.choice(list(KEYS))), on, row_dbm0=level, col_dbm0=level - twist)
                tape.silence(off)
        x = np.zeros(n)
        body = tape.signal()[:n]
        x[:len(body)] = body
        if ch in noise:
            x += sig.white_noise(n, -30.0, rng)
        rows.append(sig.quantize(x))
        bursts.append(tape.bursts)
    return np.stack(rows), bursts


def by_channel(events, channels):
    out = {ch: [] for ch in range(channels)}
    for ev in events:
        assert 0 <= ev.channel < channels, f"event for a channel that does not exist: {ev}"
        out[ev.channel].append(ev)
    return out


def check_channels(cases, label, events, bursts, *, timing=True):
    for ch, evs in by_channel(events, len(bursts)).items():
        cases.check(f"{label}, channel {ch}", problem(evs, bursts[ch], timing=timing, channel=ch))


def feed_in_chunks(bank, data, sizes):
    """Feed ``data`` in chunks whose sizes cycle through ``sizes``; then flush."""
    events, i, k = [], 0, 0
    n = data.shape[1]
    while i < n:
        size = sizes[k % len(sizes)]
        events += bank.feed(data[:, i:i + size])
        i += size
        k += 1
    return events + bank.flush()


@pytest.mark.parametrize("channels", [1, 3, 8, 11])
def test_any_block_size_gives_the_same_events_as_one_call(channels):
    data, bursts = random_tapes(channels, sig.FS, seed=channels, silent=(1,) if channels > 2 else ())
    bank = DetectorBank(channels)
    reference = bank.feed(data) + bank.flush()
    cases = Cases()
    check_channels(cases, "one call", reference, bursts)
    want = by_channel(reference, channels)
    rng = rng_for("chunks", channels)
    schedules = {"1": [1], "7": [7], "160": [160], "1000": [1000],
                 "random 0..400": [int(v) for v in rng.integers(0, 400, 100)]}
    for name, sizes in schedules.items():
        got = by_channel(feed_in_chunks(DetectorBank(channels), data, sizes), channels)
        for ch in range(channels):
            if got[ch] != want[ch]:
                cases.check(f"blocks of {name}, channel {ch}",
                            f"one call gave {want[ch]}, blocks gave {got[ch]}")
            else:
                cases.check(f"blocks of {name}, channel {ch}", None)
    cases.assert_ok()


class _CountingLib:
    """Passes every attribute through to the real cffi lib, counting calls of its functions."""

    def __init__(self, lib):
        self._lib = lib
        self.calls = []

    def __getattr__(self, name):
        attr = getattr(self._lib, name)
        if not callable(attr):
            return attr

        def counted(*args):
            self.calls.append(name)
            return attr(*args)
        return counted


@pytest.mark.parametrize("channels", [1, 8, 64])
def test_python_crosses_into_c_once_per_block(channels, monkeypatch):
    """feed() of an (N, samples) block makes one call into the core (lg_detector_set_feed, which
    runs lg_dtmf_rx_feed) whatever N is, and the number of calls per feed does not grow with N."""
    import gateway.dsp.detector_bank as detector_bank

    counting = _CountingLib(detector_bank.lib)
    monkeypatch.setattr(detector_bank, "lib", counting)
    bank = DetectorBank(channels)
    data, _ = random_tapes(channels, 1600, seed=99)
    per_feed = []
    for i in range(0, 1600, 160):
        counting.calls.clear()
        bank.feed(data[:, i:i + 160])
        per_feed.append(list(counting.calls))
    for calls in per_feed:
        assert calls.count("lg_detector_set_feed") == 1, calls
        # lg_detector_set_max_events may size the event buffer; nothing may run per channel.
        assert len(calls) <= 2, f"{channels} channels, calls into C for one block: {calls}"


def test_reset_restarts_one_channel_without_disturbing_the_others():
    """Ten channels (two SIMD lane groups). At a block boundary that is not a multiple of any
    frame size, channel 3 (silent at that moment) and channel 9 (mid-digit) are reset while
    the other channels have digits in progress. Other channels: events identical to a run
    without reset. Channels 3 and 9: their clocks restart at 0 (later digits are timed from
    the reset), and what follows the reset is a well-formed event stream of its own."""
    channels, n, cut = 10, 2 * sig.FS, 7777
    rng = rng_for("reset")
    rows, bursts = [], []
    for ch in range(channels):
        tape = Tape(rng)
        if ch == 3:    # silent around the reset, digits before and after
            tape.silence(ms(100)).digit("1", ms(80)).silence(cut - tape.n + ms(200))
            tape.digit("2", ms(70)).silence(ms(100)).digit("2", ms(60))
        elif ch == 9:  # a digit 150 ms old at the reset, lasting 100 ms after it
            tape.silence(cut - ms(150)).digit("9", ms(250)).silence(ms(200)).digit("#", ms(80))
        else:          # a digit in progress at the reset
            tape.silence(cut - ms(60) - 13 * ch).digit(KEYS[ch], ms(150) + 7 * ch)
            tape.silence(ms(100)).digit(KEYS[15 - ch], ms(60))
        tape.silence(n - tape.n)
        rows.append(sig.quantize(tape.signal()))
        bursts.append(tape.bursts)
    data = np.stack(rows)

    bank = DetectorBank(channels)
    reference = by_channel(bank.feed(data) + bank.flush(), channels)

    bank = DetectorBank(channels)
    before = []
    for i in range(0, cut, 160):
        before += bank.feed(data[:, i:min(i + 160, cut)])
    bank.reset(3)
    bank.reset(9)
    after = []
    for i in range(cut, n, 160):
        after += bank.feed(data[:, i:i + 160])
    after += bank.flush()
    got_before, got_after = by_channel(before, channels), by_channel(after, channels)

    cases = Cases()
    for ch in range(channels):
        if ch in (3, 9):
            continue
        got = got_before[ch] + got_after[ch]
        cases.check(f"channel {ch} (not reset)",
                    None if got == reference[ch] else f"without reset {reference[ch]}, with reset {got}")
    # Channel 3: digit '1' before the reset; two '2' after it, timed from the reset.
    cases.check("channel 3 before reset", problem(got_before[3], [bursts[3][0]], timing=True, channel=3))
    later3 = [Burst(b.key, b.start - cut, b.end - cut) for b in bursts[3][1:]]
    cases.check("channel 3 after reset", problem(got_after[3], later3, timing=True, channel=3))
    # Channel 9: the remainder of '9' (100 ms) may be reported anew from about 0, or not at all.
    later9 = [Burst(b.key, b.start - cut, b.end - cut) for b in bursts[9][1:]]
    try:
        digits9 = digits_of(got_after[9], channel=9)
    except ProtocolError as exc:
        cases.check("channel 9 after reset", f"protocol: {exc}")
    else:
        if digits9 and digits9[0][0] == "9" and digits9[0][1] <= TOL:
            remainder = Burst("9", 0, bursts[9][0].end - cut)
            cases.check("channel 9 after reset",
                        problem(got_after[9], [remainder] + later9, timing=True, channel=9))
        else:
            cases.check("channel 9 after reset", problem(got_after[9], later9, timing=True, channel=9))
    cases.assert_ok()


def test_reset_of_every_channel_restarts_each_clock():
    """After reset of every channel at an odd sample count, a digit fed next is timed from 0."""
    channels = 4
    bank = DetectorBank(channels)
    rng = rng_for("reset-all")
    noise = np.stack([sig.quantize(sig.white_noise(1235, -40.0, rng)) for _ in range(channels)])
    bank.feed(noise)
    for ch in range(channels):
        bank.reset(ch)
    tapes = [one_digit(rng, KEYS[5 * ch], ms(60)) for ch in range(channels)]
    n = max(t.n for t in tapes)
    data = np.stack([sig.quantize(np.pad(t.signal(), (0, n - t.n))) for t in tapes])
    events = bank.feed(data) + bank.flush()
    cases = Cases()
    check_channels(cases, "after reset", events, [t.bursts for t in tapes])
    cases.assert_ok()


def test_channels_are_independent():
    """A digit on one channel never shows on another: (a) channel 0 plays all 16 keys at
    -3 dBm0 while the other 16 channels are silent or carry noise; (b) 17 channels play
    different keys at the same moments."""
    channels = 17
    cases = Cases()

    rng = rng_for("independent-a")
    loud = Tape(rng).silence(lead_in(rng))
    for key in KEYS:
        loud.digit(key, ms(60), dbm0=-3.0).silence(ms(60))
    n = loud.n
    rows = [sig.quantize(loud.signal())]
    for ch in range(1, channels):
        rows.append(sig.quantize(sig.white_noise(n, -35.0, rng)) if ch % 4 == 0 else np.zeros(n, np.int16))
    bank = DetectorBank(channels)
    events = feed_in_chunks(bank, np.stack(rows), [160])
    check_channels(cases, "(a)", events, [loud.bursts] + [[]] * (channels - 1))

    rng = rng_for("independent-b")
    tapes = []
    for ch in range(channels):
        tape = Tape(rng).silence(ms(20))
        for slot in range(4):
            tape.digit(KEYS[(ch + 5 * slot) % 16], ms(60), dbm0=-5.0 - (ch % 5) * 5).silence(ms(60))
        tapes.append(tape)
    bank = DetectorBank(channels)
    events = feed_in_chunks(bank, np.stack([sig.quantize(t.signal()) for t in tapes]), [160])
    check_channels(cases, "(b)", events, [t.bursts for t in tapes])
    cases.assert_ok()


# --------------------------------------------------------------------------
# G.711

@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_input_gives_the_same_digits_as_linear(law):
    """All 16 keys at -3, -10, -20 and -29 dBm0/tone, encoded with the suite's own G.711
    encoder (ITU-T G.191 style): the same digits as the linear input, both as sent."""
    rng = rng_for("g711", law)
    tape = Tape(rng)
    for dbm0 in (-3.0, -10.0, -20.0, -29.0):
        for key in KEYS:
            tape.silence(int(rng.integers(ms(60), ms(100))))
            tape.digit(key, int(rng.integers(ms(50), ms(80))), dbm0=dbm0)
    tape.silence(ms(80))
    linear = sig.quantize(tape.signal())
    codes = sig.G711_ENCODERS[law](linear)
    assert codes.dtype == np.uint8
    lin_events = run(linear)
    law_events = run(codes, encoding=law)
    cases = Cases()
    cases.check("linear", problem(lin_events, tape.bursts, timing=True))
    cases.check(law, problem(law_events, tape.bursts, timing=True))
    try:
        lin_keys = "".join(d[0] for d in digits_of(lin_events))
        law_keys = "".join(d[0] for d in digits_of(law_events))
    except ProtocolError:
        pass
    else:
        cases.check(f"{law} vs linear", None if lin_keys == law_keys else f"linear {lin_keys}, {law} {law_keys}")
    cases.assert_ok()


# --------------------------------------------------------------------------
# Channels on and off: the C entry point (the behaviour through
# DetectorBank.set_active is in test_detector_bank.py)

def _native_bank(channels):
    from gateway.dsp.native import check, ffi, lib

    params = ffi.new("lg_dtmf_rx_params *")
    lib.lg_dtmf_rx_params_default(params)
    desc = ffi.new("lg_dtmf_rx_desc *")
    check(lib.lg_dtmf_rx_desc_init(desc, params), "desc")
    bank = ffi.new("lg_dtmf_rx_bank *")
    lanes = ffi.new("lg_dtmf_rx_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
    states = ffi.new("lg_dtmf_rx_state[]", channels)
    check(lib.lg_dtmf_rx_bank_init(bank, lanes, states, channels), "bank")
    return lib, ffi, desc, bank, lanes, states


def test_set_active_checks_its_arguments():
    lib, ffi, desc, bank, lanes, states = _native_bank(9)
    assert lib.lg_dtmf_rx_set_active(bank, lanes, states, -1, 0) == lib.LG_E_RANGE
    assert lib.lg_dtmf_rx_set_active(bank, lanes, states, 9, 0) == lib.LG_E_RANGE
    assert lib.lg_dtmf_rx_set_active(ffi.NULL, lanes, states, 0, 0) == lib.LG_E_ARG
    assert lib.lg_dtmf_rx_set_active(bank, ffi.NULL, states, 0, 0) == lib.LG_E_ARG
    for active in (0, 0, 1, 1, 7):  # twice the same: nothing changes; any nonzero is on
        assert lib.lg_dtmf_rx_set_active(bank, lanes, states, 8, active) == lib.LG_OK


def test_a_digit_on_a_whole_lane_switched_off_is_not_reported_and_the_other_lane_is_not_disturbed():
    """Sixteen channels, the same digit on all; the second lane (8..15) off: no events
    there, the first lane's events those of a bank where all are on."""
    lib, ffi, desc, bank, lanes, states = _native_bank(16)
    rng = rng_for("native-switch")
    tape = one_digit(rng, "7", ms(80))
    data = np.ascontiguousarray(np.stack([sig.quantize(tape.signal())] * 16))
    reference = feed_blocks(DetectorBank(16), data, 160)
    for ch in range(8, 16):
        assert lib.lg_dtmf_rx_set_active(bank, lanes, states, ch, 0) == lib.LG_OK
    room = lib.lg_dtmf_rx_max_events(16, data.shape[1])
    events = ffi.new("lg_event[]", room)
    n = lib.lg_dtmf_rx_feed(desc, bank, lanes, states, ffi.from_buffer(data), lib.LG_ENC_S16, data.shape[1],
                            data.shape[1], events, room)
    assert n >= 0
    n += lib.lg_dtmf_rx_flush(desc, bank, lanes, states, events + n, room - n)
    got = sorted((e.channel, chr(e.value), e.start, e.end) for e in events[0:n])
    want = sorted((ev.channel, ev.value, ev.start, -1 if ev.end is None else ev.end)
                  for _, ev in reference if ev.channel < 8)
    assert got == want and len(want) == 16


def test_a_keys_confidence_is_how_much_of_what_was_heard_it_was():
    rng = sig.rng_for("confidence")
    n = sig.ms(400)
    seen = {}
    for snr_db in (None, 10, 2):  # a quiet line, then noise 10 and 2 dB under the key
        x = np.zeros(n)
        x[sig.ms(100):sig.ms(180)] += sig.dual_tone("5", sig.ms(80), row_dbm0=-12, col_dbm0=-10)
        if snr_db is not None:
            x += sig.white_noise(n, sig.sum_dbm0(-12, -10) - snr_db, rng)
        bank = DetectorBank(1, detect=("dtmf",))
        events = bank.feed(sig.quantize(x)) + bank.flush()
        assert [(ev.value, ev.ended) for ev in events] == [("5", False), ("5", True)]
        assert events[0].confidence == events[1].confidence
        seen[snr_db] = events[0].confidence
    assert seen[None] >= 0.98 and 0.85 <= seen[10] < 0.97 and 0.3 <= seen[2] < seen[10]
