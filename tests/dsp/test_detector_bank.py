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
