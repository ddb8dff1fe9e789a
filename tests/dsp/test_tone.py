"""Tone generator (gateway.dsp.tone over native/tone_gen.c): level, frequency,
dual tones, amplitude modulation, cadences, repeats, phase continuity and
validation.

Levels follow G.711's convention as spandsp does: 0 dBm0 is a sine whose peak
is 3.14 dB below 16-bit full scale, 22826 (lg_common.h). Expected waveforms
are built here from that definition with NumPy, sample by sample.
"""

import numpy as np
import pytest
from scipy.signal import hilbert

from gateway.dsp.native import ffi, lib
from gateway.dsp.tone import MAX_SEGMENTS, ToneGenerator, ToneSegment, tone
from gateway.errors import UsageError
from tests.dsp.measure import amplitudes

RATE = 8000
DBM0_PEAK = 22826.0  # 32767 * 10^(-3.14/20): the peak of a 0 dBm0 sine


def peak(dbm0):
    return DBM0_PEAK * 10 ** (dbm0 / 20)


def db(ratio):
    return 20 * np.log10(ratio)


def rms(x):
    return np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))


def burst(freqs, levels_dbm0, n, start_phase=0.0):
    """The expected samples of a burst that starts at phase 0 (float)."""
    t = np.arange(n)
    return sum(peak(level) * np.sin(2 * np.pi * f * t / RATE + start_phase)
               for f, level in zip(freqs, levels_dbm0))


def zero_crossing_frequency(x):
    """Frequency from the interpolated times of the first and last rising
    zero crossings and the whole cycles between them."""
    x = np.asarray(x, np.float64)
    rising = np.nonzero((x[:-1] < 0) & (x[1:] >= 0))[0]
    times = rising + (-x[rising]) / (x[rising + 1] - x[rising])
    return (len(times) - 1) / ((times[-1] - times[0]) / RATE)


def generate_all(generator):
    return generator.generate(generator.total_samples)


class TestLevel:
    @pytest.mark.parametrize("dbm0", [0.0, -20.0])
    def test_rms_and_peak_of_a_sine(self, dbm0):
        # 1004 Hz, the usual test tone: one second holds whole cycles and 2000
        # distinct phases, so the sample peak is the sine's peak.
        x = tone(1004, dbm0, 1000)
        assert len(x) == RATE
        assert db(rms(x) / (peak(dbm0) / np.sqrt(2))) == pytest.approx(0.0, abs=0.005)
        assert np.abs(x).max() == pytest.approx(peak(dbm0), abs=1.0)

    def test_zero_dbm0_rms_is_3_dB_below_its_peak(self):
        x = tone(1004, 0.0, 1000)
        assert rms(x) == pytest.approx(16140.4, abs=2.0)

    def test_maximum_level_is_a_full_scale_sine(self):
        x = tone(1004, 3.14, 1000)
        assert 32760 <= np.abs(x).max() <= 32767

    def test_minimum_level(self):
        x = tone(1004, -80.0, 1000)
        assert np.abs(x).max() == 2  # 22826 * 10^-4 = 2.28


class TestFrequency:
    @pytest.mark.parametrize("hz", [50.0, 300.5, 440.0, 1004.0, 2100.25, 3400.0])
    def test_zero_crossings(self, hz):
        x = tone(hz, -10.0, 2000)
        assert zero_crossing_frequency(x) == pytest.approx(hz, abs=0.1)

    @pytest.mark.parametrize("hz", [697.0, 1633.0])
    def test_fft_peak(self, hz):
        x = tone(hz, -10.0, 1000)
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=10 * len(x)))  # 0.1 Hz bins
        found = np.argmax(spectrum) * RATE / (10 * len(x))
        assert found == pytest.approx(hz, abs=0.1)

    def test_waveform_matches_the_definition(self):
        x = tone(1004, -3.0, 500)
        np.testing.assert_allclose(x, np.round(burst([1004], [-3.0], len(x))), atol=1)

    def test_no_drift_after_ten_minutes(self):
        # Ten minutes of a for-ever tone: the phasor's magnitude and phase
        # must be where a fresh sine would put them, to the sample.
        generator = ToneGenerator([ToneSegment(1004, 0.0, 0)])
        generator.generate(10 * 60 * RATE - RATE)
        last_second = generator.generate(RATE)
        n = np.arange(10 * 60 * RATE - RATE, 10 * 60 * RATE, dtype=np.int64)
        phase = 2 * np.pi * ((1004 * n) % RATE) / RATE  # exact integer phase
        np.testing.assert_allclose(last_second, np.round(DBM0_PEAK * np.sin(phase)), atol=1)


class TestDualTone:
    def test_each_component_at_its_level(self):
        x = tone((350, 440), (-13.0, -19.0), 1000)
        found = amplitudes(x, [350, 440])
        np.testing.assert_allclose(db(found / [peak(-13.0), peak(-19.0)]), 0.0, atol=0.01)

    def test_one_level_for_both(self):
        x = tone((480, 620), -24.0, 500)
        np.testing.assert_allclose(db(amplitudes(x, [480, 620]) / peak(-24.0)), 0.0, atol=0.01)

    def test_nothing_else_in_the_signal(self):
        x = tone((350, 440), -13.0, 1000)
        residual = x - np.round(burst([350, 440], [-13.0, -13.0], len(x)))
        assert np.abs(residual).max() <= 1

    def test_two_full_scale_tones_saturate_instead_of_wrapping(self):
        x = tone((697, 1209), 3.14, 200)
        expected = np.clip(np.round(burst([697, 1209], [3.14, 3.14], len(x))), -32768, 32767)
        assert x.max() == 32767 and x.min() == -32768
        np.testing.assert_allclose(x, expected, atol=1)


class TestAmplitudeModulation:
    CARRIER_HZ, AM_HZ, DEPTH, LEVEL = 1000.0, 50.0, 0.6, -10.0

    @pytest.fixture
    def modulated(self):
        return tone(self.CARRIER_HZ, self.LEVEL, 1000, am_hz=self.AM_HZ, am_depth=self.DEPTH)

    def test_sidebands_give_depth_and_rate(self, modulated):
        # (1 + d sin wm t) A sin wc t = A sin wc t + (A d / 2) [cos (wc - wm) t - cos (wc + wm) t]
        lower, carrier, upper, beyond_low, beyond_high = amplitudes(
            modulated, [950, 1000, 1050, 900, 1100])
        assert db(carrier / peak(self.LEVEL)) == pytest.approx(0.0, abs=0.01)
        assert lower / carrier == pytest.approx(self.DEPTH / 2, abs=0.001)
        assert upper / carrier == pytest.approx(self.DEPTH / 2, abs=0.001)
        assert max(beyond_low, beyond_high) < 1e-3 * carrier

    def test_envelope(self, modulated):
        envelope = np.abs(hilbert(modulated.astype(np.float64)))[400:-400]  # away from the edges
        high, low = envelope.max(), envelope.min()
        assert high == pytest.approx(peak(self.LEVEL) * (1 + self.DEPTH), rel=0.005)
        assert low == pytest.approx(peak(self.LEVEL) * (1 - self.DEPTH), rel=0.02)
        envelope_spectrum = np.abs(np.fft.rfft(envelope - envelope.mean(), n=RATE))
        assert np.argmax(envelope_spectrum) == self.AM_HZ  # 1 Hz bins

    def test_full_depth_at_full_level_saturates(self):
        x = tone(1000, 3.14, 200, am_hz=25, am_depth=1.0)
        t = np.arange(len(x))
        expected = (1 + np.sin(2 * np.pi * 25 * t / RATE)) * burst([1000], [3.14], len(x))
        assert x.max() == 32767 and x.min() == -32768
        np.testing.assert_allclose(x, np.clip(np.round(expected), -32768, 32767), atol=1)


class TestCadence:
    # The UK ringing tone: 400 on, 200 off, 400 on, 2000 off.
    UK_RING = [ToneSegment((400, 450), -19.0, 400), ToneSegment.silence(200),
               ToneSegment((400, 450), -19.0, 400), ToneSegment.silence(2000)]

    def expected_cycle(self):
        on = np.round(burst([400, 450], [-19.0, -19.0], 400 * 8))
        return np.concatenate([on, np.zeros(200 * 8), on, np.zeros(2000 * 8)])

    def test_timing_to_the_sample(self):
        # Each burst starts at phase 0 after its pause: sample exact, first sample 0.
        x = generate_all(ToneGenerator(self.UK_RING, repeat=1))
        expected = self.expected_cycle()
        assert len(x) == len(expected) == 3000 * 8
        np.testing.assert_allclose(x, expected, atol=1)
        assert np.all(x[3200:4800] == 0) and np.all(x[8000:] == 0)
        assert x[0] == 0 and x[4800] == 0 and x[1] != 0 and x[4801] != 0

    @pytest.mark.parametrize("repeat", [1, 2, 5])
    def test_repeat_count(self, repeat):
        generator = ToneGenerator([ToneSegment(425, -10.0, 100), ToneSegment.silence(50)], repeat=repeat)
        assert generator.total_samples == repeat * 150 * 8
        x = generator.generate(10 * RATE)
        assert len(x) == repeat * 1200
        cycles = x.reshape(repeat, 1200)
        assert np.all(cycles == cycles[0])
        one_cycle = np.concatenate([np.round(burst([425], [-10.0], 800)), np.zeros(400)])
        np.testing.assert_allclose(cycles[0], one_cycle, atol=1)
        assert generator.finished
        assert len(generator.generate(100)) == 0

    def test_repeat_zero_is_for_ever(self):
        generator = ToneGenerator(self.UK_RING, repeat=0)
        assert generator.total_samples is None
        x = generator.generate(3 * 24000 + 123)
        assert len(x) == 3 * 24000 + 123
        cycle = x[:24000]
        assert np.all(x[24000:48000] == cycle) and np.all(x[48000:72000] == cycle)
        assert not generator.finished

    def test_for_ever_last_segment(self):
        # 200 ms of 1400 Hz, then 2060 Hz for ever: repeat does not matter.
        generator = ToneGenerator([ToneSegment(1400, -10.0, 200), ToneSegment(2060, -10.0, 0)], repeat=3)
        assert generator.total_samples is None
        x = generator.generate(5 * RATE)
        assert len(x) == 5 * RATE
        assert zero_crossing_frequency(x[:1600]) == pytest.approx(1400, abs=0.5)
        assert zero_crossing_frequency(x[1600:]) == pytest.approx(2060, abs=0.1)
        assert len(generator.generate(RATE)) == RATE

    def test_a_for_ever_silence_ends_in_silence(self):
        generator = ToneGenerator([ToneSegment(1000, -10.0, 10), ToneSegment.silence(0)])
        x = generator.generate(RATE)
        assert len(x) == RATE and np.all(x[80:] == 0) and np.any(x[:80] != 0)

    def test_silence_only(self):
        x = generate_all(ToneGenerator([ToneSegment.silence(30)]))
        assert len(x) == 240 and not np.any(x)

    def test_fewer_samples_at_the_end(self):
        generator = ToneGenerator([ToneSegment(1000, -10.0, 25)])
        assert [len(generator.generate(160)) for _ in range(3)] == [160, 40, 0]
        generator.reset()
        assert generator.position == 0 and len(generator.generate(1000)) == 200


class TestPhaseContinuity:
    @staticmethod
    def max_step(x):
        return np.abs(np.diff(x.astype(np.int32))).max()

    def test_the_same_frequency_across_segments_is_one_sine(self):
        split = generate_all(ToneGenerator([ToneSegment(440, -10.0, 100), ToneSegment(440, -10.0, 37),
                                            ToneSegment(440, -10.0, 63)]))
        whole = tone(440, -10.0, 200)
        np.testing.assert_allclose(split, whole, atol=1)

    def test_changing_frequency_does_not_click(self):
        x = generate_all(ToneGenerator([ToneSegment(440, -10.0, 93), ToneSegment(480, -10.0, 71),
                                        ToneSegment(620, -10.0, 50)], repeat=3))
        # A sine's largest sample-to-sample step is 2 A sin(pi f / fs); a phase jump would exceed it.
        assert self.max_step(x) <= 2 * peak(-10.0) * np.sin(np.pi * 620 / RATE) + 2

    def test_a_second_frequency_joins_at_phase_zero(self):
        x = generate_all(ToneGenerator([ToneSegment(350, -13.0, 100), ToneSegment((350, 440), -13.0, 100)]))
        assert self.max_step(x) <= 2 * peak(-13.0) * (np.sin(np.pi * 350 / RATE) + np.sin(np.pi * 440 / RATE)) + 2
        np.testing.assert_allclose(x[800:] - np.round(burst([350], [-13.0], 1600)[800:]),
                                   np.round(burst([440], [-13.0], 800)), atol=2)

    def test_output_does_not_depend_on_block_sizes(self):
        segments = [ToneSegment((400, 450), -19.0, 400), ToneSegment.silence(200),
                    ToneSegment(1000, -10.0, 300, am_hz=20, am_depth=0.5)]
        whole = generate_all(ToneGenerator(segments, repeat=2))
        generator = ToneGenerator(segments, repeat=2)
        rng = np.random.default_rng(7)
        pieces = []
        while not generator.finished:
            pieces.append(generator.generate(int(rng.integers(0, 700))))
        np.testing.assert_array_equal(np.concatenate(pieces), whole)


class TestSegmentValidation:
    @pytest.mark.parametrize("kwargs, message", [
        (dict(freqs=0), r"freqs\[0\] = 0 Hz is outside 0 < f < 4000 Hz"),
        (dict(freqs=-5), r"freqs\[0\] = -5 Hz is outside"),
        (dict(freqs=4000), r"freqs\[0\] = 4000 Hz is outside"),
        (dict(freqs=(440, 3999.9999)), r"freqs\[1\] = 3999.9999 Hz is outside"),  # 4000.0 as a C float
        (dict(freqs=float("nan")), r"freqs\[0\] must be a finite number, not nan"),
        (dict(freqs="440"), r"freqs must be a number or a sequence of numbers, not '440'"),
        (dict(freqs=(350, 440, 480)), r"at most 2 frequencies per segment"),
        (dict(levels_dbm0=3.2), r"levels_dbm0\[0\] = 3.2 dBm0 is outside -80 ... \+3.14 dBm0"),
        (dict(levels_dbm0=-80.5), r"levels_dbm0\[0\] = -80.5 dBm0 is outside"),
        (dict(levels_dbm0=(-10, -10)), r"levels_dbm0 = \(-10, -10\): 2 levels for 1 frequencies"),
        (dict(levels_dbm0=None), r"levels_dbm0 must be a number or a sequence of numbers, not None"),
        (dict(am_hz=10, am_depth=1.5), r"am_depth = 1.5 is outside 0 ... 1"),
        (dict(am_hz=10, am_depth=-0.1), r"am_depth = -0.1 is outside 0 ... 1"),
        (dict(am_depth=0.5), r"am_depth = 0.5 needs a modulation rate am_hz > 0"),
        (dict(am_hz=-1, am_depth=0.5), r"am_hz = -1.0 Hz is outside"),
        (dict(duration_ms=-1), r"duration_ms must be an integer in 0..2147483647, not -1"),
        (dict(duration_ms=12.5), r"duration_ms must be an integer, not 12.5"),
        (dict(duration_ms=True), r"duration_ms must be an integer in"),
    ])
    def test_bad_field(self, kwargs, message):
        fields = dict(freqs=440, levels_dbm0=-10.0, duration_ms=100) | kwargs
        with pytest.raises(UsageError, match=message):
            ToneSegment(**fields)

    def test_normalised_fields(self):
        segment = ToneSegment([350, 440], -13, 100)
        assert segment.freqs == (350.0, 440.0) and segment.levels_dbm0 == (-13.0, -13.0)
        assert ToneSegment.silence(50) == ToneSegment((), -10.0, 50)
        assert ToneSegment(1000, 3.14, 1).levels_dbm0 == (3.14,)

    def test_segments_are_frozen(self):
        with pytest.raises(AttributeError):
            ToneSegment(440, -10.0, 100).duration_ms = 5


class TestGeneratorValidation:
    def test_for_ever_only_last(self):
        with pytest.raises(UsageError, match=r"segments\[0\].duration_ms = 0 \(for ever\) is only allowed in the last"):
            ToneGenerator([ToneSegment(440, -10.0, 0), ToneSegment.silence(100)])

    def test_segment_count(self):
        with pytest.raises(UsageError, match=f"a tone has 1..{MAX_SEGMENTS} segments, not 0"):
            ToneGenerator([])
        with pytest.raises(UsageError, match=f"a tone has 1..{MAX_SEGMENTS} segments, not {MAX_SEGMENTS + 1}"):
            ToneGenerator([ToneSegment(440, -10.0, 10)] * (MAX_SEGMENTS + 1))
        ToneGenerator([ToneSegment(440, -10.0, 10)] * MAX_SEGMENTS)

    def test_not_a_segment(self):
        with pytest.raises(UsageError, match=r"segments\[1\] must be a ToneSegment, not \(440, -10, 100\)"):
            ToneGenerator([ToneSegment(440, -10.0, 10), (440, -10, 100)])

    @pytest.mark.parametrize("repeat", [-1, 1.5, "2"])
    def test_repeat(self, repeat):
        with pytest.raises(UsageError, match="repeat must be an integer"):
            ToneGenerator([ToneSegment(440, -10.0, 10)], repeat=repeat)

    @pytest.mark.parametrize("n", [-1, 2.0, None])
    def test_generate_count(self, n):
        with pytest.raises(UsageError, match="n must be an integer"):
            ToneGenerator([ToneSegment(440, -10.0, 10)]).generate(n)

    def test_tone_needs_a_duration(self):
        with pytest.raises(UsageError, match="duration_ms must be an integer in 1..2147483647, not 0"):
            tone(440, -10.0, 0)


class TestCoreValidation:
    """The C core's own checks, the last line of defence behind Python's."""

    @staticmethod
    def init(nsegments=1, repeat=1, **fields):
        segments = ffi.new("lg_tone_segment[]", max(nsegments, 1))
        for segment in segments:
            segment.freq_hz[0] = 440.0
            segment.level_dbm0[0] = -10.0
            segment.duration_ms = 100
        for name, value in fields.items():
            if name in ("freq_hz", "level_dbm0"):
                getattr(segments[0], name)[1 if name == "freq_hz" else 0] = value
            else:
                setattr(segments[0], name, value)
        return lib.lg_tone_desc_init(ffi.new("lg_tone_desc *"), segments, nsegments, repeat)

    def test_valid(self):
        assert self.init() == lib.LG_OK
        assert self.init(level_dbm0=3.14) == lib.LG_OK

    @pytest.mark.parametrize("fields, code", [
        (dict(freq_hz=4000.0), "LG_E_RANGE"),
        (dict(freq_hz=-1.0), "LG_E_RANGE"),
        (dict(freq_hz=float("nan")), "LG_E_RANGE"),
        (dict(level_dbm0=3.15), "LG_E_RANGE"),
        (dict(level_dbm0=-81.0), "LG_E_RANGE"),
        (dict(am_hz=10.0, am_depth=1.01), "LG_E_RANGE"),
        (dict(am_depth=0.5), "LG_E_ARG"),
        (dict(duration_ms=-1), "LG_E_RANGE"),
        (dict(nsegments=2, duration_ms=0), "LG_E_ARG"),  # for ever before the last segment
        (dict(nsegments=0), "LG_E_RANGE"),
        (dict(nsegments=MAX_SEGMENTS + 1), "LG_E_RANGE"),
        (dict(repeat=-1), "LG_E_RANGE"),
    ])
    def test_rejected(self, fields, code):
        assert self.init(**fields) == getattr(lib, code)

    def test_null_pointers(self):
        segments = ffi.new("lg_tone_segment[]", 1)
        assert lib.lg_tone_desc_init(ffi.NULL, segments, 1, 1) == lib.LG_E_ARG
        assert lib.lg_tone_desc_init(ffi.new("lg_tone_desc *"), ffi.NULL, 1, 1) == lib.LG_E_ARG

    def test_generate_refuses_a_descriptor_never_built(self):
        state = ffi.new("lg_tone_state *")
        lib.lg_tone_init(state)
        out = ffi.new("int16_t[]", 10)
        assert lib.lg_tone_generate(ffi.new("lg_tone_desc *"), state, out, 10) == lib.LG_E_ARG
