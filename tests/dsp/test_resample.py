"""gateway.dsp.resample: block by block equals one shot, tones keep frequency,
level and timing, and nothing above 4 kHz folds into the band."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from gateway.dsp.resample import Resampler, design_filter, resample, resampling_ratio
from gateway.errors import UsageError

RATES = [44100, 48000, 16000, 11025, 22050, 32000, 6000, 8000]
AMPLITUDE = 10000.0


def tone(freq, rate, seconds, amplitude=AMPLITUDE, phase=0.3):
    t = np.arange(int(round(rate * seconds))) / rate
    return np.rint(amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.int16)


def feed_in_blocks(samples, rate, sizes):
    resampler = Resampler(rate)
    parts, start = [], 0
    for size in sizes:
        parts.append(resampler.feed(samples[start:start + size]))
        start += size
    parts.append(resampler.feed(samples[start:]))
    parts.append(resampler.flush())
    return np.concatenate(parts)


@pytest.mark.parametrize("rate", RATES)
def test_block_by_block_equals_one_shot(rate):
    rng = np.random.default_rng(rate)
    signal = rng.integers(-20000, 20000, rate // 3).astype(np.int16)
    whole = resample(signal, rate)
    assert len(whole) == -(-len(signal) * 8000 // rate)
    # Odd sizes, single samples and empty blocks: every history boundary case.
    for sizes in ([rate // 50] * 20, [1, 0, 2, 3, 997, 0, 5], list(rng.integers(0, 700, 40))):
        np.testing.assert_array_equal(feed_in_blocks(signal, rate, sizes), whole)


@pytest.mark.parametrize("rate", [44100, 11025, 6000])
def test_matches_the_direct_definition(rate):
    # Independent of the polyphase bookkeeping: zero-stuff, convolve with the whole
    # filter, take the sample at each output instant plus the filter's delay.
    up, down = resampling_ratio(rate)
    taps = design_filter(up, down)
    signal = np.random.default_rng(1).integers(-20000, 20000, rate // 10).astype(np.int16)
    stuffed = np.zeros(len(signal) * up)
    stuffed[::up] = signal
    filtered = fftconvolve(stuffed, taps)
    delay = (len(taps) - 1) // 2
    count = -(-len(signal) * up // down)
    expected = np.clip(np.rint(filtered[delay + np.arange(count) * down]), -32768, 32767)
    got = resample(signal, rate)
    assert np.abs(got - expected).max() <= 1  # FFT vs direct summation rounding


@pytest.mark.parametrize("rate", [44100, 48000, 16000, 11025])
def test_1khz_tone_keeps_frequency_level_and_time(rate):
    out = resample(tone(1000, rate, 1.0), rate)
    assert len(out) == 8000
    body = out[80:-80].astype(np.float64)  # leave out the filter's edges
    spectrum = np.abs(np.fft.rfft(body * np.hanning(len(body))))
    assert np.fft.rfftfreq(len(body), 1 / 8000)[np.argmax(spectrum)] == pytest.approx(1000, abs=8000 / len(body))
    level_db = 20 * np.log10(np.sqrt(np.mean(body ** 2)) / (AMPLITUDE / np.sqrt(2)))
    assert abs(level_db) < 0.05
    # Same phase at the same instants: the filter's delay has been taken out.
    ideal = tone(1000, 8000, 1.0)[80:-80]
    assert np.abs(body - ideal).max() <= 2


@pytest.mark.parametrize("rate", [44100, 48000, 16000])
def test_tone_burst_starts_when_it_started(rate):
    signal = np.zeros(rate, np.int16)
    burst = tone(1209, rate, 0.1)
    signal[rate // 2:rate // 2 + len(burst)] = burst
    out = np.abs(resample(signal, rate).astype(np.int32))
    loud = np.flatnonzero(out > AMPLITUDE / 2)
    assert loud[0] / 8000 == pytest.approx(0.5, abs=0.001)
    assert loud[-1] / 8000 == pytest.approx(0.6, abs=0.001)


def test_anti_aliasing_removes_6khz_from_48khz():
    # Without filtering, 6 kHz at 48 kHz decimated by 6 lands on 2 kHz, in band.
    out = resample(tone(6000, 48000, 1.0, amplitude=30000), 48000)[80:-80].astype(np.float64)
    rms = np.sqrt(np.mean(out ** 2))
    assert rms < 30000 / np.sqrt(2) * 10 ** (-60 / 20)


def test_telephone_band_passes_flat():
    for freq in (300, 1633, 3400):
        out = resample(tone(freq, 48000, 0.5), 48000)[80:-80].astype(np.float64)
        level_db = 20 * np.log10(np.sqrt(np.mean(out ** 2)) / (AMPLITUDE / np.sqrt(2)))
        assert abs(level_db) < 0.1, freq


def test_8khz_passes_through_unchanged():
    signal = np.random.default_rng(2).integers(-32768, 32768, 999).astype(np.int16)
    np.testing.assert_array_equal(resample(signal, 8000), signal)


def test_loud_input_saturates_instead_of_wrapping():
    # A full-scale square wave overshoots after band-limiting (Gibbs); it must clip.
    square = np.where(np.arange(48000) % 96 < 48, 32767, -32768).astype(np.int16)
    out = resample(square, 48000)
    assert out.max() == 32767 and out.min() == -32768


def test_misuse_is_a_usage_error():
    with pytest.raises(UsageError, match="ratio 8000/8001"):
        Resampler(8001)
    with pytest.raises(UsageError, match="positive integer"):
        Resampler(0)
    resampler = Resampler(16000)
    with pytest.raises(UsageError, match="int16"):
        resampler.feed(np.zeros(10, np.float32))
    with pytest.raises(UsageError, match="1-D"):
        resampler.feed(np.zeros((2, 10), np.int16))
    resampler.flush()
    with pytest.raises(UsageError, match="flushed"):
        resampler.feed(np.zeros(10, np.int16))
