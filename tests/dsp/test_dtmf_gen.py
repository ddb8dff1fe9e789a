"""DTMF generator (gateway.dsp.dtmf over native/dtmf_gen.c): each key's two
frequencies and levels, twist, on/off timing, and bad input.

Known answers: the frequency plan and key layout of ITU-T Q.23; levels in
dBm0 with 0 dBm0 a sine of peak 22826 (lg_common.h, G.711's convention).
"""

import numpy as np
import pytest

from gateway.dsp.dtmf import COL_HZ, KEYS, MAX_DIGITS, ROW_HZ, DtmfGenerator, key_frequencies
from gateway.dsp.native import ffi, lib
from gateway.errors import UsageError
from tests.dsp.measure import amplitudes

RATE = 8000
DBM0_PEAK = 22826.0
ALL_DTMF_HZ = [697, 770, 852, 941, 1209, 1336, 1477, 1633]


def peak(dbm0):
    return DBM0_PEAK * 10 ** (dbm0 / 20)


def db(ratio):
    return 20 * np.log10(ratio)


def expected_key(key, on_ms, off_ms, low_dbm0, high_dbm0):
    """One key as Q.23 defines it: both tones from phase 0, then silence."""
    row, col = key_frequencies(key)
    t = np.arange(on_ms * 8)
    on = peak(low_dbm0) * np.sin(2 * np.pi * row * t / RATE) + peak(high_dbm0) * np.sin(2 * np.pi * col * t / RATE)
    return np.concatenate([np.round(on), np.zeros(off_ms * 8)])


def test_frequency_plan_is_q23():
    assert ROW_HZ == (697.0, 770.0, 852.0, 941.0)
    assert COL_HZ == (1209.0, 1336.0, 1477.0, 1633.0)
    assert KEYS == "123A456B789C*0#D"
    assert key_frequencies("5") == (770.0, 1336.0)
    assert key_frequencies("d") == key_frequencies("D") == (941.0, 1633.0)


@pytest.mark.parametrize("key", list(KEYS))
def test_each_key_has_its_two_frequencies_at_their_levels(key):
    x = DtmfGenerator(key, on_ms=100, off_ms=0, level_dbm0=-10.0).all()
    assert len(x) == 800
    found = dict(zip(ALL_DTMF_HZ, amplitudes(x, ALL_DTMF_HZ)))
    row, col = key_frequencies(key)
    assert db(found.pop(row) / peak(-10.0)) == pytest.approx(0.0, abs=0.02)
    assert db(found.pop(col) / peak(-10.0)) == pytest.approx(0.0, abs=0.02)
    assert max(found.values()) < 1e-3 * peak(-10.0)  # the other six frequencies are absent


@pytest.mark.parametrize("twist_db", [4.0, -6.0, 0.0])
def test_twist_is_high_group_minus_low_group(twist_db):
    x = DtmfGenerator("8", on_ms=200, off_ms=0, level_dbm0=-12.0, twist_db=twist_db).all()
    low, high = amplitudes(x, key_frequencies("8"))
    assert db(low / peak(-12.0)) == pytest.approx(0.0, abs=0.02)
    assert db(high / low) == pytest.approx(twist_db, abs=0.02)


@pytest.mark.parametrize("on_ms, off_ms", [(50, 50), (60, 40), (40, 0), (1, 7)])
def test_on_off_timing_to_the_sample(on_ms, off_ms):
    digits = "159#0"
    x = DtmfGenerator(digits, on_ms=on_ms, off_ms=off_ms, level_dbm0=-7.0).all()
    expected = np.concatenate([expected_key(k, on_ms, off_ms, -7.0, -7.0) for k in digits])
    assert len(x) == len(expected) == len(digits) * (on_ms + off_ms) * 8
    np.testing.assert_allclose(x, expected, atol=1)
    if off_ms:
        per_key = x.reshape(len(digits), (on_ms + off_ms) * 8)
        assert not np.any(per_key[:, on_ms * 8:])


def test_lowercase_is_uppercase():
    np.testing.assert_array_equal(DtmfGenerator("abcd").all(), DtmfGenerator("ABCD").all())


def test_streaming_equals_all():
    generator = DtmfGenerator("0123456789*#ABCD", on_ms=45, off_ms=55, level_dbm0=-4.0, twist_db=2.0)
    whole = generator.all()
    rng = np.random.default_rng(3)
    pieces = []
    while not generator.finished:
        pieces.append(generator.generate(int(rng.integers(0, 900))))
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    assert generator.position == len(whole) == generator.total_samples
    assert len(generator.generate(100)) == 0
    np.testing.assert_array_equal(generator.all(), whole)  # all() starts from the beginning


def test_the_end_of_the_string_returns_fewer_samples():
    generator = DtmfGenerator("12", on_ms=50, off_ms=50)
    assert [len(generator.generate(1000)) for _ in range(3)] == [1000, 600, 0]


def test_empty_string_is_no_signal():
    assert len(DtmfGenerator("").all()) == 0


def test_longest_string():
    assert len(DtmfGenerator("7" * MAX_DIGITS, on_ms=1, off_ms=1).all()) == MAX_DIGITS * 16


def test_levels_at_the_limits_are_accepted_and_saturate():
    # -10.86 + 14 is +3.14 dBm0 exactly, though not in float arithmetic.
    x = DtmfGenerator("1", on_ms=100, off_ms=0, level_dbm0=-10.86, twist_db=14.0).all()
    assert len(x) == 800
    # A full-scale sine plus another tone clips: at the rails, never wrapped round.
    assert x.max() == 32767 and x.min() == -32768
    expected = np.clip(expected_key("1", 100, 0, -10.86, 3.14), -32768, 32767)
    np.testing.assert_allclose(x, expected, atol=1)
    assert len(DtmfGenerator("1", level_dbm0=-70.3, twist_db=-9.7).all()) == 800


class TestBadInput:
    @pytest.mark.parametrize("digits, char, index", [
        ("12E4", "E", 2), ("x", "x", 0), ("555 1234", " ", 3), ("1\u0661", "\u0661", 1),  # Arabic-Indic one
        ("123e", "e", 3),
    ])
    def test_bad_digit_names_the_character_and_its_index(self, digits, char, index):
        with pytest.raises(UsageError, match=f"digits: {char!r} at index {index} is not a DTMF key"):
            DtmfGenerator(digits)

    def test_digits_must_be_text(self):
        with pytest.raises(UsageError, match="digits must be a str, not bytes"):
            DtmfGenerator(b"123")

    def test_too_many_digits(self):
        with pytest.raises(UsageError, match=f"digits: {MAX_DIGITS + 1} keys; at most {MAX_DIGITS}"):
            DtmfGenerator("1" * (MAX_DIGITS + 1))

    @pytest.mark.parametrize("kwargs, message", [
        (dict(on_ms=0), r"on_ms must be an integer in 1..2147483647, not 0"),
        (dict(on_ms=50.0), r"on_ms must be an integer, not 50.0"),
        (dict(off_ms=-1), r"off_ms must be an integer in 0..2147483647, not -1"),
        (dict(level_dbm0=4.0), r"level_dbm0 = 4.0 dBm0 is outside -80 ... \+3.14 dBm0"),
        (dict(level_dbm0=float("inf")), r"level_dbm0 must be a finite number, not inf"),
        (dict(level_dbm0=0.0, twist_db=4.0),
         r"level_dbm0 \+ twist_db = 0.0 \+ 4.0 = 4 dBm0 \(the high group\) is outside -80 ... \+3.14 dBm0"),
        (dict(level_dbm0=-78.0, twist_db=-3.0), r"= -81 dBm0 \(the high group\) is outside"),
        (dict(twist_db="3"), r"twist_db must be a finite number, not '3'"),
    ])
    def test_bad_parameter(self, kwargs, message):
        with pytest.raises(UsageError, match=message):
            DtmfGenerator("1", **kwargs)

    @pytest.mark.parametrize("key", ["", "12", "E", 5])
    def test_key_frequencies_wants_one_key(self, key):
        with pytest.raises(UsageError, match="is not a DTMF key"):
            key_frequencies(key)


class TestCoreValidation:
    """The C core's own checks, behind Python's."""

    @staticmethod
    def init(digits=b"123", on_ms=50, off_ms=50, low_dbm0=-10.0, twist_db=0.0):
        return lib.lg_dtmf_gen_init(ffi.new("lg_dtmf_gen_state *"), digits, on_ms, off_ms, low_dbm0, twist_db)

    def test_valid(self):
        assert self.init() == lib.LG_OK
        assert self.init(digits=b"abcd*#0") == lib.LG_OK
        assert self.init(low_dbm0=-10.86, twist_db=14.0) == lib.LG_OK  # 3.1400003f: float rounding
        assert self.init(low_dbm0=-70.3, twist_db=-9.7) == lib.LG_OK

    @pytest.mark.parametrize("kwargs, code", [
        (dict(digits=b"12x"), "LG_E_ARG"),
        (dict(digits=b"\xff"), "LG_E_ARG"),
        (dict(digits=ffi.NULL), "LG_E_ARG"),
        (dict(digits=b"1" * (MAX_DIGITS + 1)), "LG_E_RANGE"),
        (dict(on_ms=0), "LG_E_RANGE"),
        (dict(off_ms=-1), "LG_E_RANGE"),
        (dict(low_dbm0=3.5), "LG_E_RANGE"),
        (dict(low_dbm0=0.0, twist_db=3.5), "LG_E_RANGE"),
        (dict(low_dbm0=0.0, twist_db=3.1402), "LG_E_RANGE"),  # past the rounding slack
        (dict(twist_db=float("nan")), "LG_E_RANGE"),
    ])
    def test_rejected(self, kwargs, code):
        assert self.init(**kwargs) == getattr(lib, code)

    def test_a_state_never_initialised_generates_nothing(self):
        out = ffi.new("int16_t[]", 10)
        assert lib.lg_dtmf_gen_generate(ffi.new("lg_dtmf_gen_state *"), out, 10) == 0
        assert lib.lg_dtmf_gen_generate(ffi.NULL, out, 10) == lib.LG_E_ARG
