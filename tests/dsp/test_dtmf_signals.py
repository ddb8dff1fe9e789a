"""Checks of the test-signal oracle itself (tests/dsp/dtmf_signals.py).

If these fail, the DTMF acceptance suite measures the wrong thing.
"""

import numpy as np
import pytest

from tests.dsp import dtmf_signals as sig


def test_dbm0_reference():
    # The specification: 0 dBm0 is a sine with peak 22826 = 32767 * 10^(-3.14/20).
    assert sig.DBM0_PEAK == pytest.approx(32767 * 10 ** (-3.14 / 20), abs=0.5)
    x = sig.sine(1000.0, 0.0, sig.FS)  # 1 s, a whole number of cycles
    assert np.max(np.abs(x)) == pytest.approx(22826.0, rel=1e-4)
    assert sig.power_to_dbm0(np.mean(x ** 2)) == pytest.approx(0.0, abs=0.01)
    assert sig.sum_dbm0(-10.0, -10.0) == pytest.approx(-10.0 + 10 * np.log10(2), abs=1e-9)


def test_keys_and_frequencies():
    # ITU-T Q.23: rows 697 770 852 941 Hz, columns 1209 1336 1477 1633 Hz.
    assert sig.key_freqs("1") == (697.0, 1209.0)
    assert sig.key_freqs("5") == (770.0, 1336.0)
    assert sig.key_freqs("9") == (852.0, 1477.0)
    assert sig.key_freqs("0") == (941.0, 1336.0)
    assert sig.key_freqs("*") == (941.0, 1209.0)
    assert sig.key_freqs("#") == (941.0, 1477.0)
    assert sig.key_freqs("D") == (941.0, 1633.0)
    assert len(set(sig.KEYS)) == 16


def test_dual_tone_levels_and_frequency_offset():
    n = sig.FS
    x = sig.dual_tone("6", n, row_dbm0=-10.0, col_dbm0=-14.0, row_dev_pct=1.5, col_dev_pct=-3.5)
    t = np.arange(n)

    def amplitude(freq):  # correlation at the exact frequency: the tone's peak amplitude
        return np.abs(np.sum(x * np.exp(-2j * np.pi * freq / sig.FS * t))) * 2 / n

    assert amplitude(770 * 1.015) == pytest.approx(sig.dbm0_to_peak(-10.0), rel=0.01)
    assert amplitude(1477 * 0.965) == pytest.approx(sig.dbm0_to_peak(-14.0), rel=0.01)
    assert amplitude(770.0) < 0.05 * sig.dbm0_to_peak(-10.0)


def test_white_noise_power_and_flatness():
    rng = sig.rng_for("noise-check")
    x = sig.white_noise(80000, -20.0, rng)
    assert sig.power_to_dbm0(np.mean(x ** 2)) == pytest.approx(-20.0, abs=0.1)
    spec = np.abs(np.fft.rfft(x)) ** 2
    low, high = spec[: len(spec) // 2].mean(), spec[len(spec) // 2:].mean()
    assert low / high == pytest.approx(1.0, rel=0.05)


def test_tape_records_true_bursts():
    tape = sig.Tape(sig.rng_for("tape"))
    tape.silence(100).digit("7", 320).silence(50).digit("#", 400, dropouts=[(100, 40)])
    x = tape.signal()
    assert len(x) == tape.n == 870
    assert tape.bursts == [sig.Burst("7", 100, 420), sig.Burst("#", 470, 870)]
    assert np.all(x[:100] == 0) and np.all(x[570:610] == 0) and np.any(x[610:] != 0)


def test_quantize_refuses_to_clip():
    with pytest.raises(ValueError):
        sig.quantize(np.array([40000.0]))
    assert sig.quantize(np.array([40000.0, -1.4]), clip=True).tolist() == [32767, -1]


def test_g711_known_answers():
    # ITU-T G.711 tables (16-bit scaling as in G.191): zero encodes to 0xFF (mu) /
    # 0xD5 (A); positive and negative full scale to 0x80 / 0x00 (mu) and 0xAA / 0x2A
    # (A); those codes decode to +-32124 (mu) and +-32256 (A); A-law 0xD5 to +8.
    lin = np.array([0, 32767, -32768], dtype=np.int16)
    assert sig.ulaw_encode(lin).tolist() == [0xFF, 0x80, 0x00]
    assert sig.alaw_encode(lin).tolist() == [0xD5, 0xAA, 0x2A]
    assert sig.ulaw_decode(np.array([0x80, 0x00, 0xFF], np.uint8)).tolist() == [32124, -32124, 0]
    assert sig.alaw_decode(np.array([0xAA, 0x2A, 0xD5], np.uint8)).tolist() == [32256, -32256, 8]


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_round_trip(law):
    x = np.arange(-32768, 32768, dtype=np.int16)
    codes = sig.G711_ENCODERS[law](x)
    assert codes.dtype == np.uint8
    y = sig.G711_DECODERS[law](codes).astype(np.int64)
    big = np.abs(x.astype(np.int64)) >= 256
    rel = np.abs(y[big] - x[big]) / np.abs(x[big].astype(np.float64))
    assert rel.max() < 0.07          # 4 mantissa bits: under 1/16 + rounding
    assert np.all(np.diff(y) >= 0)   # monotonic
    # every code decodes to a value that encodes back to it (except mu-law's negative zero)
    all_codes = np.arange(256, dtype=np.uint8)
    back = sig.G711_ENCODERS[law](sig.G711_DECODERS[law](all_codes))
    mismatched = all_codes[back != all_codes]
    assert set(mismatched.tolist()) <= ({0x7F} if law == "ulaw" else set())
