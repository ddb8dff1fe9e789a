"""The API contract of gateway.dsp.DetectorBank: arguments, shapes, dtypes, defaults.

Misuse raises gateway.errors.UsageError with a message that names what was
wrong; the receiver's behaviour on audio is tested in test_dtmf_rx.py.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dsp import DetectorBank, DetectorEvent, DtmfParams
from gateway.errors import LinegateError, UsageError
from gateway.dsp import tone_plan
from tests.dsp import dtmf_signals as sig


# --- construction ---

@pytest.mark.parametrize("channels", [0, -1, 1.5, "2", None])
def test_bad_channel_count(channels):
    with pytest.raises(UsageError, match="channels"):
        DetectorBank(channels)


def test_channel_count_may_be_a_numpy_integer():
    assert DetectorBank(np.int64(3)).channels == 3


@pytest.mark.parametrize("detect", [("mf",), ("dtmf", "fax"), (), "beep"])
def test_unknown_detector(detect):
    with pytest.raises(UsageError, match="dtmf"):  # the message lists the known detectors
        DetectorBank(1, detect=detect)


def test_detect_as_a_string():
    assert DetectorBank(1, detect="dtmf").detect == ("dtmf",)


@pytest.mark.parametrize("rate", [16000, 8001, 0])
def test_other_sample_rates_are_refused(rate):
    with pytest.raises(UsageError, match="8000"):
        DetectorBank(1, rate=rate)


@pytest.mark.parametrize("encoding", ["pcm", "ULAW", "mulaw", "", None])
def test_unknown_encoding(encoding):
    with pytest.raises(UsageError, match="linear.*ulaw.*alaw"):
        DetectorBank(1, encoding=encoding)


def test_usage_error_is_a_linegate_error_not_a_value_error():
    # UsageError: the caller misused the API; ValueError is kept for bad outside input.
    assert issubclass(UsageError, LinegateError)
    assert not issubclass(UsageError, ValueError)


# --- DtmfParams ---

def test_dtmf_params_defaults_meet_the_specification():
    p = DtmfParams()
    assert p.min_level_dbm0 <= -29.0            # -3 .. -29 dBm0 per tone accepted
    assert p.max_normal_twist_db >= 8.0          # up to and including 8 dB
    assert p.max_reverse_twist_db >= 4.0         # up to and including 4 dB
    assert 1.5 <= p.max_freq_dev_pct < 3.5       # accept 1.5 %, reject 3.5 %
    assert 19 < p.min_on_ms <= 40                # never <= 19 ms, always >= 40 ms
    assert p.min_off_ms <= 45                    # 45 ms pauses separate digits
    assert 0.0 < p.min_tone_fraction < 1.0
    assert p.min_peak_ratio_db > 0.0


def test_should_dtmf_params_defaults_meet_the_should_lines():
    p = DtmfParams()
    assert p.min_level_dbm0 <= -31.0             # -31 dBm0 should pass
    assert p.min_on_ms >= 24                     # 20..23 ms should not be reported
    assert p.min_off_ms <= 40                    # 40 ms pauses should separate digits


def test_dtmf_params_are_frozen_values():
    p = DtmfParams()
    assert p == DtmfParams()
    assert dataclasses.replace(p, min_level_dbm0=-20.0).min_level_dbm0 == -20.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.min_level_dbm0 = -20.0  # type: ignore[misc]


def test_bank_uses_default_or_given_params():
    assert DetectorBank(1).dtmf_params == DtmfParams()
    custom = DtmfParams(min_level_dbm0=-20.0)
    assert DetectorBank(1, dtmf=custom).dtmf_params is custom


@pytest.mark.parametrize("field, value", [
    ("min_on_ms", -5),
    ("min_off_ms", -5),
    ("max_freq_dev_pct", -1.0),
    ("max_normal_twist_db", -3.0),
    ("min_tone_fraction", 1.5),
])
def test_impossible_params_are_refused(field, value):
    with pytest.raises(UsageError, match=rf"DtmfParams\.{field}={value!r}"):
        DetectorBank(1, dtmf=DtmfParams(**{field: value}))


# --- feed: shapes and dtypes ---

@pytest.mark.parametrize("shape", [(3, 10), (1, 10), (2,), (2, 1, 10), (10,)])
def test_bad_block_shape(shape):
    bank = DetectorBank(2)
    with pytest.raises(UsageError, match=r"shape \(2, samples\)"):
        bank.feed(np.zeros(shape, np.int16))


def test_one_channel_accepts_a_1d_block():
    bank = DetectorBank(1)
    assert bank.feed(np.zeros(160, np.int16)) == []
    assert bank.feed(np.zeros((1, 160), np.int16)) == []


@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.float64, np.uint8, np.uint16, np.int8])
def test_bad_linear_dtype(dtype):
    bank = DetectorBank(2)
    with pytest.raises(UsageError, match="int16"):
        bank.feed(np.zeros((2, 160), dtype))


@pytest.mark.parametrize("encoding", ["ulaw", "alaw"])
@pytest.mark.parametrize("dtype", [np.int16, np.int8, np.float32])
def test_bad_g711_dtype(encoding, dtype):
    bank = DetectorBank(2, encoding=encoding)
    with pytest.raises(UsageError, match="uint8"):
        bank.feed(np.zeros((2, 160), dtype))


def test_a_list_is_not_silently_cast():
    # np.asarray([[0, 1]]) is int64: refused rather than converted behind the caller's back.
    with pytest.raises(UsageError, match="int16"):
        DetectorBank(1).feed([[0, 1, 2]])


# --- feed: empty blocks, strides ---

def _digit_tape(channels):
    rng = sig.rng_for("contract")
    rows = []
    for ch in range(channels):
        tape = sig.Tape(rng).silence(sig.ms(20) + 17 * ch).digit(sig.KEYS[ch], sig.ms(80)).silence(sig.ms(100))
        rows.append(sig.quantize(tape.signal()))
    n = min(len(r) for r in rows)
    return np.stack([r[:n] for r in rows])


@pytest.mark.parametrize("encoding", ["linear", "ulaw", "alaw"])
def test_feed_of_an_empty_block(encoding):
    dtype = np.int16 if encoding == "linear" else np.uint8
    bank = DetectorBank(3, encoding=encoding)
    assert bank.feed(np.zeros((3, 0), dtype)) == []
    # An empty block neither advances the clock nor changes what follows.
    data = _digit_tape(3)
    if encoding != "linear":
        data = sig.G711_ENCODERS[encoding](data)
    reference_bank = DetectorBank(3, encoding=encoding)
    reference = reference_bank.feed(data) + reference_bank.flush()
    events = []
    for i in range(0, data.shape[1], 160):
        events += bank.feed(data[:, i:i + 160])
        events += bank.feed(data[:, i:i])
    events += bank.flush()
    assert sorted(events, key=_order) == sorted(reference, key=_order)
    assert reference, "the tape has digits, the receiver reported none"


def _order(ev):
    return (ev.channel, ev.start, ev.end is not None)


def test_non_contiguous_blocks_are_read_correctly():
    data = _digit_tape(4)
    bank = DetectorBank(4)
    reference = bank.feed(data) + bank.flush()
    assert reference, "the tape has digits, the receiver reported none"
    # Every other channel of an 8-row array, and a Fortran-ordered copy.
    wide = np.zeros((8, data.shape[1]), np.int16)
    wide[::2] = data
    bank = DetectorBank(4)
    assert sorted(bank.feed(wide[::2]) + bank.flush(), key=_order) == sorted(reference, key=_order)
    bank = DetectorBank(4)
    assert sorted(bank.feed(np.asfortranarray(data)) + bank.flush(), key=_order) == sorted(reference, key=_order)


def test_flush_of_a_fresh_bank_is_empty():
    bank = DetectorBank(5)
    assert bank.flush() == []
    assert bank.flush() == []


def test_flush_twice_reports_each_digit_once():
    bank = DetectorBank(1)
    rng = sig.rng_for("flush-twice")
    x = sig.quantize(sig.Tape(rng).silence(100).digit("5", sig.ms(100)).signal())  # ends mid-tone
    events = bank.feed(x) + bank.flush()
    assert [(e.value, e.ended) for e in events] == [("5", False), ("5", True)], events
    assert bank.flush() == []


# --- reset ---

@pytest.mark.parametrize("channel", [-1, 3, 100])
def test_reset_of_a_channel_out_of_range(channel):
    bank = DetectorBank(3)
    with pytest.raises(UsageError, match=r"channel .*0\.\.2"):
        bank.reset(channel)


@pytest.mark.parametrize("channel", [1.5, "1", None])
def test_reset_with_a_channel_that_is_not_an_integer(channel):
    bank = DetectorBank(3)
    with pytest.raises(UsageError, match="channel"):
        bank.reset(channel)


def test_reset_accepts_a_numpy_integer():
    DetectorBank(3).reset(np.int64(2))


# --- events ---

def test_detector_event_is_a_frozen_value():
    begin = DetectorEvent(0, "dtmf", "5", 100, None)
    end = DetectorEvent(0, "dtmf", "5", 100, 500)
    assert not begin.ended and end.ended
    assert end == DetectorEvent(0, "dtmf", "5", 100, 500)
    with pytest.raises(dataclasses.FrozenInstanceError):
        end.end = 3  # type: ignore[misc]


def test_events_are_plain_python_values():
    bank = DetectorBank(2)
    events = bank.feed(_digit_tape(2)) + bank.flush()
    assert events
    for ev in events:
        assert type(ev.channel) is int and type(ev.start) is int and type(ev.value) is str
        assert ev.end is None or type(ev.end) is int
        assert ev.kind == "dtmf"


# --- several detectors in one bank ---

CPT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cpt"


def _fixture(name):
    from tests.dsp.wav_writer import read_pcm16

    samples, rate = read_pcm16(CPT_FIXTURES / name)
    assert rate == 8000
    return samples


def _run(bank, audio, block=160):
    events = []
    for at in range(0, audio.shape[1], block):
        events += bank.feed(np.ascontiguousarray(audio[:, at:at + block]))
    return events + bank.flush()


@pytest.mark.parametrize("name, first, last", [
    ("dev-cpt-0111.wav", "CED", "CED"),
    ("dev-cpt-0112.wav", "ANS_PR", "ANS_PR"),
    ("dev-cpt-0114.wav", "ANSAM", "ANSAM_PR"),
])
def test_modem_tones_through_the_bank(name, first, last):
    audio = _fixture(name)[np.newaxis, :]
    events = [e for e in _run(DetectorBank(1, detect=("dtmf", "modem")), audio) if e.kind == "modem"]
    begins = [e.value for e in events if not e.ended]
    ends = [e for e in events if e.ended]
    assert begins[0] == first and len(ends) == 1 and ends[0].value == last
    assert len({e.start for e in events}) == 1  # a refined report keeps its start


def test_each_channel_gets_its_own_detectors():
    ced = _fixture("dev-cpt-0111.wav")
    keys = np.zeros_like(ced)
    keys[4000:4000 + 480] = np.round(sig.dual_tone("7", 480, row_dbm0=-10, col_dbm0=-8, row_phase=0.3,
                                                   col_phase=1.1)).astype(np.int16)
    events = _run(DetectorBank(2, detect=("dtmf", "modem")), np.stack([ced, keys]))
    assert {(e.channel, e.kind, e.value) for e in events if e.ended} == {(0, "modem", "CED"), (1, "dtmf", "7")}


def test_only_the_asked_detectors_run():
    audio = _fixture("dev-cpt-0111.wav")[np.newaxis, :]
    assert _run(DetectorBank(1, detect=("dtmf",)), audio) == []


def test_modem_params_are_checked_by_name():
    from gateway.dsp import ModemToneParams

    with pytest.raises(UsageError, match=r"ModemToneParams\.ans_max_dev_hz=500"):
        DetectorBank(1, detect=("modem",), modem=ModemToneParams(ans_max_dev_hz=500))


def test_unknown_detector_lists_the_known_ones():
    with pytest.raises(UsageError, match="dtmf, modem"):
        DetectorBank(1, detect=("dtmf", "fax"))


# --- any audio, any block sizes ---


@settings(max_examples=60, deadline=None)
@given(channels=st.integers(1, 11), encoding=st.sampled_from(["linear", "ulaw", "alaw"]),
       sizes=st.lists(st.integers(0, 700), min_size=1, max_size=12), seed=st.integers(0, 2**32 - 1),
       loud=st.booleans())
def test_any_audio_gives_well_formed_events(channels, encoding, sizes, seed, loud):
    rng = np.random.default_rng(seed)
    bank = DetectorBank(channels, detect=("dtmf", "modem"), encoding=encoding)
    fed = 0
    events = []
    for n in sizes:
        if encoding == "linear":
            scale = 30000 if loud else rng.uniform(1, 3000)
            block = np.clip(rng.standard_normal((channels, n)) * scale, -32768, 32767).astype(np.int16)
        else:
            block = rng.integers(0, 256, (channels, n), dtype=np.uint8)
        events += bank.feed(block)
        fed += n
    events += bank.flush()
    keys = set("0123456789*#ABCD")
    for e in events:
        assert 0 <= e.channel < channels
        assert 0 <= e.start <= fed
        assert e.end is None or e.start <= e.end <= fed
        assert (e.kind == "dtmf" and e.value in keys) or (e.kind == "modem" and e.value in
                                                           {"CNG", "CED", "ANS_PR", "ANSAM", "ANSAM_PR", "BELL_2225"})


# --- active detectors per channel (set_active) ---
#
# Tests that switch "cpt" or "amd" off on a channel need lg_cpt_set_active /
# lg_amd_set_active in the core; until those units have them, they skip,
# saying so.

from gateway.dsp.native import lib  # noqa: E402

needs_cpt_switch = pytest.mark.skipif(not hasattr(lib, "lg_cpt_set_active"),
                                      reason="waits on lg_cpt_set_active in the core")
needs_amd_switch = pytest.mark.skipif(not hasattr(lib, "lg_amd_set_active"),
                                      reason="waits on lg_amd_set_active in the core")
TIME_TOL = sig.ms(10)


def _keyed_tapes(channels, seconds, tag, *, digits_every=0.25):
    """Every channel: a digit every `digits_every` s or so (phases, keys and gaps vary by
    channel), silence between; returns (int16 array, per-channel bursts)."""
    rng = sig.rng_for("active", tag)
    n = int(seconds * sig.FS)
    rows, bursts = [], []
    for ch in range(channels):
        tape = sig.Tape(rng).silence(int(rng.integers(sig.ms(20), sig.ms(120))))
        while tape.n + sig.ms(200) < n:
            tape.digit(sig.KEYS[int(rng.integers(16))], int(rng.integers(sig.ms(50), sig.ms(90))),
                       dbm0=float(rng.uniform(-20, -6)))
            tape.silence(int(rng.integers(sig.ms(60), sig.ms(1000 * digits_every))))
        tape.silence(max(0, n - tape.n))
        rows.append(sig.quantize(tape.signal()[:n]))
        bursts.append([b for b in tape.bursts if b.end <= n])
    return np.stack(rows), bursts


def _by_channel(events, channels):
    out = [[] for _ in range(channels)]
    for e in events:
        out[e.channel].append(e)
    return out


def _feed_with(bank, audio, block, actions=None):
    """Feeds `audio` in blocks of `block`, then flushes. Before the block that starts at
    sample s, calls each of actions[s] (a function of the bank)."""
    events = []
    for at in range(0, audio.shape[1], block):
        for action in (actions or {}).get(at, ()):
            action(bank)
        events += bank.feed(np.ascontiguousarray(audio[:, at:at + block]))
    return events + bank.flush()


def test_every_detector_starts_active():
    bank = DetectorBank(3, detect=("modem", "dtmf"))
    assert [bank.active(ch) for ch in range(3)] == [("modem", "dtmf")] * 3


def test_channels_turned_off_report_nothing_while_the_others_do():
    """20 channels (three lanes): a whole lane (8..15) and two channels of other lanes off
    from the start. The others report exactly what a bank without any switching does."""
    channels = 20
    audio, _ = _keyed_tapes(channels, 1.5, "off")
    reference = _by_channel(_feed_with(DetectorBank(channels), audio, 160), channels)
    assert all(reference), "every channel has digits"
    off = {3, 17} | set(range(8, 16))
    bank = DetectorBank(channels)
    for ch in off:
        bank.set_active(ch, ())
        assert bank.active(ch) == ()
    got = _by_channel(_feed_with(bank, audio, 160), channels)
    for ch in range(channels):
        assert got[ch] == ([] if ch in off else reference[ch]), ch


def test_a_channel_turned_on_again_keeps_its_clock():
    """Channel 1 goes off at 0.5 s and on again at 1.0 s (block boundaries that fall inside
    sub-blocks: 77-sample blocks); the digit it hears at 1.3 s is timed on the channel's time
    line, exactly as a bank that never switched reports it, and the one it heard while off is
    not reported. Channel 0, on all along, is not disturbed."""
    rng = sig.rng_for("active", "clock")
    tape = sig.Tape(rng).silence(sig.ms(100)).digit("1", sig.ms(80)).silence(sig.ms(520))
    tape.digit("2", sig.ms(80)).silence(sig.ms(600)).digit("3", sig.ms(80)).silence(sig.ms(300))
    audio = np.stack([sig.quantize(tape.signal())] * 2)
    block = 77
    reference = _feed_with(DetectorBank(2), audio, block)
    off_at, on_at = 6 * block * 9, 13 * block * 9  # 0.52 s, 1.13 s
    bank = DetectorBank(2)
    events = _feed_with(bank, audio, block, {off_at: [lambda b: b.set_active(1, ())],
                                             on_at: [lambda b: b.set_active(1, ("dtmf",))]})
    ref0 = [e for e in reference if e.channel == 0]
    assert [e for e in events if e.channel == 0] == ref0
    got1 = [(e.value, e.start, e.end) for e in events if e.channel == 1]
    want1 = [(e.value, e.start, e.end) for e in ref0 if e.value in "13"]
    assert got1 == want1
    three = tape.bursts[2]
    assert abs(got1[-1][1] - three.start) <= TIME_TOL and abs(got1[-1][2] - three.end) <= TIME_TOL


def test_a_reset_while_off_restarts_the_clock_and_keeps_the_channel_off():
    rng = sig.rng_for("active", "reset-off")
    tape = sig.Tape(rng).silence(sig.ms(200)).digit("5", sig.ms(80)).silence(sig.ms(420))
    tape.digit("6", sig.ms(80)).silence(sig.ms(220))
    audio = sig.quantize(tape.signal())[np.newaxis, :]
    reset_at = 3200  # 0.4 s, after the "5"
    bank = DetectorBank(1, detect=("dtmf", "modem"))
    bank.set_active(0, ("modem",))
    events = _feed_with(bank, audio, 160, {reset_at: [lambda b: b.reset(0)],
                                            reset_at + 1600: [lambda b: b.set_active(0, ("dtmf", "modem"))]})
    assert bank.active(0) == ("dtmf", "modem")
    assert [e.value for e in events] == ["6", "6"]  # the "5" came while dtmf was off
    six = tape.bursts[1]
    assert abs(events[0].start - (six.start - reset_at)) <= TIME_TOL


def test_reset_keeps_the_active_set():
    bank = DetectorBank(3, detect=("dtmf", "modem"))
    bank.set_active(2, ("modem",))
    bank.set_active(1, ())
    for ch in range(3):
        bank.reset(ch)
    assert [bank.active(ch) for ch in range(3)] == [("dtmf", "modem"), (), ("modem",)]
    audio, _ = _keyed_tapes(3, 1.0, "reset-keeps")
    assert {e.channel for e in _feed_with(bank, audio, 160)} == {0}


def test_turning_off_drops_a_digit_under_way_without_its_end_and_on_again_changes_nothing():
    """Channel 1 goes off in the middle of a digit: neither its end nor, at flush, anything
    else comes. Channel 2 is told to be on (it is) in the middle of one: nothing changes."""
    rng = sig.rng_for("active", "mid-digit")
    tape = sig.Tape(rng).silence(sig.ms(100)).digit("8", sig.ms(300)).silence(sig.ms(100))
    audio = np.stack([sig.quantize(tape.signal())] * 3)
    reference = _feed_with(DetectorBank(3), audio, 160)
    mid = sig.ms(100) + sig.ms(160)
    bank = DetectorBank(3)
    events = _feed_with(bank, audio, 160, {mid: [lambda b: b.set_active(1, ()),
                                                 lambda b: b.set_active(2, ("dtmf",))]})
    ref0 = [e for e in reference if e.channel == 0]
    assert [(e.value, e.ended) for e in ref0] == [("8", False), ("8", True)]
    assert [(e.value, e.ended) for e in events if e.channel == 1] == [("8", False)]
    assert [e for e in events if e.channel == 2] == [e for e in reference if e.channel == 2]


def test_flush_ends_only_the_tones_of_active_channels():
    """The tape ends in the middle of a digit on four channels: channel 1 off from the start,
    2 turned off during the digit, 3 off and on again before it. Flush ends 0's and 3's only."""
    rng = sig.rng_for("active", "flush")
    tape = sig.Tape(rng).silence(sig.ms(300)).digit("#", sig.ms(200))
    audio = np.stack([sig.quantize(tape.signal())] * 4)
    bank = DetectorBank(4)
    bank.set_active(1, ())
    events = _feed_with(bank, audio, 160, {sig.ms(100): [lambda b: b.set_active(3, ())],
                                            sig.ms(200): [lambda b: b.set_active(3, ("dtmf",))],
                                            sig.ms(400): [lambda b: b.set_active(2, ())]})
    got = {(e.channel, e.ended) for e in events}
    assert got == {(0, False), (0, True), (2, False), (3, False), (3, True)}
    assert bank.flush() == []


def _ced_and_keys(channels):
    ced = _fixture("dev-cpt-0111.wav")
    return np.stack([ced] * channels)


def test_a_unit_serving_one_detector_stops_with_it():
    """("dtmf", "modem") bank: "modem" off on channel 1 turns the fax/modem unit off there."""
    audio = _ced_and_keys(2)
    bank = DetectorBank(2, detect=("dtmf", "modem"))
    bank.set_active(1, ("dtmf",))
    events = _run(bank, audio)
    assert {e.value for e in events if e.channel == 0 and e.kind == "modem"} == {"CED"}
    assert [e for e in events if e.channel == 1] == []


def test_fax_and_modem_tones_are_reported_under_the_active_names_only():
    """The fax/modem unit serves "modem" and "cpt": with only "cpt" active on channel 1 it
    runs, and its tones come as call-progress classes only; channel 0 has both."""
    audio = _ced_and_keys(2)
    bank = DetectorBank(2, detect=("modem", "cpt"))
    bank.set_active(1, ("cpt",))
    assert bank.active(1) == ("cpt",)
    events = _run(bank, audio)
    both = [e for e in events if e.channel == 0]
    only_cpt = [e for e in events if e.channel == 1]
    assert {e.kind for e in both} == {"modem", "cpt"}
    assert {(e.kind, e.value) for e in only_cpt} == {("cpt", "fax_ced")}
    assert [(e.value, e.start, e.end, e.reason) for e in only_cpt] == \
           [(e.value, e.start, e.end, e.reason) for e in both if e.kind == "cpt"]


@needs_cpt_switch
def test_fax_and_modem_tones_with_cpt_off():
    """Only "modem" on channel 1 (the cpt unit off, the fax/modem unit on): its tones as
    modem tones only; nothing at all on channel 2."""
    audio = _ced_and_keys(3)
    bank = DetectorBank(3, detect=("modem", "cpt"))
    bank.set_active(1, ("modem",))
    bank.set_active(2, ())
    events = _run(bank, audio)
    both = [e for e in events if e.channel == 0]
    only_modem = [e for e in events if e.channel == 1]
    assert {e.kind for e in only_modem} == {"modem"}
    assert [(e.value, e.start, e.end) for e in only_modem] == \
           [(e.value, e.start, e.end) for e in both if e.kind == "modem"]
    assert [e for e in events if e.channel == 2] == []


@needs_cpt_switch
def test_call_progress_off_on_a_channel():
    """A busy tone on two channels; call progress off on channel 1 reports nothing there."""
    from tests.dsp.test_cpt import line, synth

    rng = sig.rng_for("active", "busy")
    busy = line(synth(tone_plan.load_plan("de")["busy"], 4.0, rng), rng)
    bank = DetectorBank(2, detect=("cpt",), country="de")
    bank.set_active(1, ())
    events = _run(bank, np.stack([busy, busy]))
    assert "busy" in {e.value for e in events if e.channel == 0}
    assert [e for e in events if e.channel == 1] == []


@needs_amd_switch
def test_amd_off_on_a_channel_decides_nothing_even_at_flush():
    from tests.dsp.wav_writer import read_pcm16

    call, _ = read_pcm16(Path(__file__).resolve().parents[1] / "fixtures" / "amd" / "dev-amd-0002.wav")
    bank = DetectorBank(2, detect=("dtmf", "amd"))
    bank.set_active(1, ("dtmf",))
    events = _run(bank, np.stack([call, call]))
    assert [e.kind for e in events if e.channel == 0 and e.kind == "amd"] == ["amd"]
    assert [e for e in events if e.channel == 1] == []


@needs_cpt_switch
@needs_amd_switch
def test_a_dialer_turns_call_progress_on_while_dialing_and_amd_on_at_answer():
    """The issue's example: ("dtmf", "cpt", "amd") with country "de"; channel 0 hears
    ringback while cpt is on (amd off), then, answered (reset) with amd on and cpt off, a
    recorded call: a ringback report first, then one AMD decision timed from the answer."""
    from tests.dsp.test_cpt import line, synth
    from tests.dsp.wav_writer import read_pcm16

    rng = sig.rng_for("active", "dialer")
    ringback = line(synth(tone_plan.load_plan("de")["ringback"], 6.0, rng), rng)
    call, _ = read_pcm16(Path(__file__).resolve().parents[1] / "fixtures" / "amd" / "dev-amd-0002.wav")
    audio = np.concatenate([ringback, call])[np.newaxis, :]
    bank = DetectorBank(1, detect=("dtmf", "cpt", "amd"), country="de")
    bank.set_active(0, ("dtmf", "cpt"))
    answer = len(ringback) // 160 * 160

    def answered(b):
        b.reset(0)
        b.set_active(0, ("dtmf", "amd"))

    events = _feed_with(bank, audio, 160, {answer: [answered]})
    kinds = [e.kind for e in events]
    assert "cpt" in kinds and kinds.count("amd") == 1
    assert kinds.index("cpt") < kinds.index("amd")
    decision = next(e for e in events if e.kind == "amd")
    assert 0 < decision.start <= audio.shape[1] - answer


# --- set_active: misuse ---

@pytest.mark.parametrize("names, named", [
    (("fax",), "'fax'"),
    (("dtmf", "cpt"), "'cpt'"),          # a known detector this bank does not run
    (("dtmf", 3), "3"),
    ((None,), "None"),
])
def test_set_active_names_what_it_does_not_know(names, named):
    bank = DetectorBank(2, detect=("dtmf", "modem"))
    bank.set_active(1, ("modem",))
    with pytest.raises(UsageError, match=named) as info:
        bank.set_active(1, names)
    assert "dtmf, modem" in str(info.value)  # and lists the bank's own
    assert bank.active(1) == ("modem",)  # refused: nothing changed


@pytest.mark.parametrize("detectors", [None, 3, 1.5])
def test_set_active_needs_an_iterable_of_names(detectors):
    with pytest.raises(UsageError, match="iterable"):
        DetectorBank(1).set_active(0, detectors)


@pytest.mark.parametrize("channel", [-1, 2, 1.0, "0", None, True])
def test_set_active_and_active_check_the_channel(channel):
    bank = DetectorBank(2)
    with pytest.raises(UsageError, match="channel"):
        bank.set_active(channel, ())
    with pytest.raises(UsageError, match="channel"):
        bank.active(channel)


def test_set_active_takes_any_iterable_and_a_single_name():
    bank = DetectorBank(2, detect=("dtmf", "modem"))
    bank.set_active(np.int64(0), "modem")
    assert bank.active(0) == ("modem",)
    bank.set_active(0, ["dtmf", "dtmf"])
    assert bank.active(0) == ("dtmf",)
    bank.set_active(0, (name for name in ("modem", "dtmf")))
    assert bank.active(0) == ("dtmf", "modem")
    bank.set_active(1, set())
    assert bank.active(1) == ()


# --- switching never disturbs the channels left alone: a differential test ---

_DIFF_CHANNELS = 19  # three lanes, the last one short
_DIFF_TONE_CHANNELS = (2, 9, 13, 18)


def _differential_audio():
    audio, _ = _keyed_tapes(_DIFF_CHANNELS, 2.0, "differential", digits_every=0.3)
    tones = [_fixture(name) for name in ("dev-cpt-0111.wav", "dev-cpt-0112.wav", "dev-cpt-0114.wav")]
    for k, ch in enumerate(_DIFF_TONE_CHANNELS):  # fax/modem tones instead of digits on some channels
        tone = tones[k % 3][:audio.shape[1]]
        audio[ch] = 0
        audio[ch, :len(tone)] = tone
    return audio


_DIFF_AUDIO = None


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kept_lane=st.integers(0, 2))
def test_switching_some_channels_leaves_the_others_exactly_as_they_were(seed, kept_lane):
    """A bank where random channels are switched (random subsets of ("dtmf", "modem"),
    all off included, whole lanes at times) and sometimes reset, at random block
    boundaries with random block sizes, reports for the channels never touched exactly
    the events of a bank where nothing was switched; a switched channel reports a kind
    only from feeds during which it was active."""
    global _DIFF_AUDIO
    if _DIFF_AUDIO is None:
        _DIFF_AUDIO = _differential_audio()
    audio = _DIFF_AUDIO
    rng = np.random.default_rng(seed)
    lanes = [list(range(0, 8)), list(range(8, 16)), list(range(16, _DIFF_CHANNELS))]
    # Left alone: two channels of one lane (which keeps computing the others), one with
    # digits, one with a fax/modem tone.
    tone_channel = int(rng.choice([ch for ch in _DIFF_TONE_CHANNELS if ch in lanes[kept_lane]]))
    other = int(rng.choice([ch for ch in lanes[kept_lane] if ch not in _DIFF_TONE_CHANNELS]))
    kept = {tone_channel, other}
    touched = [ch for ch in range(_DIFF_CHANNELS) if ch not in kept]
    detect = ("dtmf", "modem")
    reference, switched = DetectorBank(_DIFF_CHANNELS, detect=detect), DetectorBank(_DIFF_CHANNELS, detect=detect)
    ref_events, got_events = [], []
    at = 0
    while at < audio.shape[1]:
        if rng.random() < 0.3:
            group = lanes[int(rng.integers(3))] if rng.random() < 0.3 else [int(rng.choice(touched))]
            names = tuple(name for name in detect if rng.random() < 0.5)
            for ch in group:
                if ch not in kept:
                    switched.set_active(ch, names)
        if rng.random() < 0.05:
            ch = int(rng.choice(touched))
            before = switched.active(ch)
            switched.reset(ch)
            assert switched.active(ch) == before
        n = int(rng.integers(1, 400))
        block = np.ascontiguousarray(audio[:, at:at + n])
        ref_events += reference.feed(block)
        active_now = [set(switched.active(ch)) for ch in range(_DIFF_CHANNELS)]
        for e in switched.feed(block):
            assert e.kind in active_now[e.channel], (e, active_now[e.channel])
            got_events.append(e)
        at += n
    ref_events += reference.flush()
    got_events += switched.flush()
    want = [e for e in ref_events if e.channel in kept]
    assert [e for e in got_events if e.channel in kept] == want
    assert {"dtmf", "modem"} <= {e.kind for e in want}, "the channels left alone heard digits and tones"
