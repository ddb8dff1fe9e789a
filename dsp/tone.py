"""Tones through the C core: single, dual and amplitude-modulated tones with
cadences (native/tone_gen.h).

    busy = ToneGenerator([ToneSegment((480, 620), -24.0, 500), ToneSegment.silence(500)], repeat=0)
    block = busy.generate(160)              # int16, 20 ms at 8 kHz

    beep = tone(1400, -10.0, 200)           # a whole finite tone at once

Levels are in dBm0: 0 dBm0 is a sine whose peak is 3.14 dB below 16-bit full
scale. Segments are checked here, field by field, before the C core sees
them; the core's own checks are the last line of defence.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gateway.dsp.native import as_pointer, check, ffi, lib
from gateway.errors import UsageError

SAMPLE_RATE = lib.LG_SAMPLE_RATE
MAX_SEGMENTS = lib.LG_TONE_MAX_SEGMENTS
MAX_FREQS = lib.LG_TONE_MAX_FREQS
MIN_LEVEL_DBM0 = float(lib.lg_tone_min_level_dbm0)
MAX_LEVEL_DBM0 = float(lib.lg_tone_max_level_dbm0)
NYQUIST_HZ = SAMPLE_RATE / 2

# Durations, counts and sample counts cross into C as int32 / int.
_INT32_MAX = np.iinfo(np.int32).max


def as_c_float(value: float) -> float:
    """`value` rounded to the C core's float, so that a limit is checked on
    the number C will compare (3999.9999 Hz becomes 4000.0 Hz, for one)."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


def real_field(field: str, value) -> float:
    """A finite real number, or UsageError naming the field and the value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise UsageError(f"{field} must be a finite number, not {value!r}")
    return float(value)


def int_field(field: str, value, minimum: int, maximum: int = _INT32_MAX) -> int:
    """An integer in minimum..maximum, or UsageError naming the field and the value."""
    try:
        number = operator.index(value)
    except TypeError:
        raise UsageError(f"{field} must be an integer, not {value!r}") from None
    if isinstance(value, bool) or not minimum <= number <= maximum:
        raise UsageError(f"{field} must be an integer in {minimum}..{maximum}, not {value!r}")
    return number


def level_field(field: str, value) -> float:
    level = real_field(field, value)
    if not MIN_LEVEL_DBM0 <= as_c_float(level) <= MAX_LEVEL_DBM0:
        raise UsageError(
            f"{field} = {value!r} dBm0 is outside {MIN_LEVEL_DBM0:g} ... {MAX_LEVEL_DBM0:+.2f} dBm0")
    return level


def frequency_field(field: str, value) -> float:
    hz = real_field(field, value)
    if not 0.0 < as_c_float(hz) < NYQUIST_HZ:
        raise UsageError(f"{field} = {value!r} Hz is outside 0 < f < {NYQUIST_HZ:g} Hz")
    return hz


def _as_tuple(field: str, value) -> tuple:
    """A single number or a sequence of numbers, as a tuple."""
    if isinstance(value, numbers.Real):
        return (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise UsageError(f"{field} must be a number or a sequence of numbers, not {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class ToneSegment:
    """One part of a tone: up to two frequencies, each at its own level,
    optionally amplitude-modulated, for ``duration_ms`` (0 = for ever, only
    allowed in the last segment of a tone).

    ``freqs`` is a frequency or a tuple of them, ``()`` for silence;
    ``levels_dbm0`` one level for every frequency or a tuple with one per
    frequency. Modulation multiplies the tone by
    ``1 + am_depth * sin(2 pi am_hz t)``. Both are stored as tuples of floats.
    """

    freqs: tuple[float, ...]
    levels_dbm0: tuple[float, ...] | float
    duration_ms: int
    am_hz: float = 0.0
    am_depth: float = 0.0

    def __post_init__(self):
        freqs = _as_tuple("freqs", self.freqs)
        if len(freqs) > MAX_FREQS:
            raise UsageError(f"freqs = {self.freqs!r}: at most {MAX_FREQS} frequencies per segment")
        freqs = tuple(frequency_field(f"freqs[{i}]", f) for i, f in enumerate(freqs))
        levels = _as_tuple("levels_dbm0", self.levels_dbm0)
        if isinstance(self.levels_dbm0, numbers.Real):
            levels = levels * len(freqs)  # one level for every frequency
        elif len(levels) != len(freqs):
            raise UsageError(
                f"levels_dbm0 = {self.levels_dbm0!r}: {len(levels)} levels for {len(freqs)} frequencies")
        levels = tuple(level_field(f"levels_dbm0[{i}]", level) for i, level in enumerate(levels))
        am_hz = real_field("am_hz", self.am_hz)
        if am_hz != 0.0:
            frequency_field("am_hz", am_hz)
        am_depth = real_field("am_depth", self.am_depth)
        if not 0.0 <= am_depth <= 1.0:
            raise UsageError(f"am_depth = {self.am_depth!r} is outside 0 ... 1")
        if am_depth != 0.0 and am_hz == 0.0:
            raise UsageError(f"am_depth = {self.am_depth!r} needs a modulation rate am_hz > 0")
        duration_ms = int_field("duration_ms", self.duration_ms, 0)
        object.__setattr__(self, "freqs", freqs)
        object.__setattr__(self, "levels_dbm0", levels)
        object.__setattr__(self, "am_hz", am_hz)
        object.__setattr__(self, "am_depth", am_depth)
        object.__setattr__(self, "duration_ms", duration_ms)

    @classmethod
    def silence(cls, duration_ms: int) -> ToneSegment:
        """The "off" part of a cadence."""
        return cls((), (), duration_ms)

    @property
    def forever(self) -> bool:
        return self.duration_ms == 0

    @property
    def samples(self) -> int | None:
        """Length in samples; None for a segment that plays for ever."""
        return None if self.forever else self.duration_ms * SAMPLE_RATE // 1000

    def _to_c(self, c_segment) -> None:
        for i, (hz, level) in enumerate(zip(self.freqs, self.levels_dbm0)):
            c_segment.freq_hz[i] = hz
            c_segment.level_dbm0[i] = level
        c_segment.am_hz = self.am_hz
        c_segment.am_depth = self.am_depth
        c_segment.duration_ms = self.duration_ms


class ToneGenerator:
    """A tone made of segments, played ``repeat`` times (0 = for ever).

    ``generate(n)`` returns the next n samples; at the end of a finite tone
    it returns fewer, then empty arrays. Phases run on across segments and
    blocks, so the output does not depend on how it is cut into blocks.
    """

    def __init__(self, segments, repeat: int = 1):
        if isinstance(segments, ToneSegment):
            segments = [segments]
        try:
            segments = tuple(segments)
        except TypeError:
            raise UsageError(f"segments must be a list of ToneSegment, not {segments!r}") from None
        if not 1 <= len(segments) <= MAX_SEGMENTS:
            raise UsageError(f"a tone has 1..{MAX_SEGMENTS} segments, not {len(segments)}")
        for i, segment in enumerate(segments):
            if not isinstance(segment, ToneSegment):
                raise UsageError(f"segments[{i}] must be a ToneSegment, not {segment!r}")
            if segment.forever and i != len(segments) - 1:
                raise UsageError(
                    f"segments[{i}].duration_ms = 0 (for ever) is only allowed in the last segment")
        self.segments = segments
        self.repeat = int_field("repeat", repeat, 0)

        c_segments = ffi.new("lg_tone_segment[]", len(segments))
        for i, segment in enumerate(segments):
            segment._to_c(c_segments[i])
        self._desc = ffi.new("lg_tone_desc *")
        check(lib.lg_tone_desc_init(self._desc, c_segments, len(segments), self.repeat), "tone descriptor")
        self._state = ffi.new("lg_tone_state *")
        self.reset()

    def reset(self) -> None:
        """Start again from the beginning of the first segment."""
        lib.lg_tone_init(self._state)
        self._position = 0

    @property
    def total_samples(self) -> int | None:
        """Length of the whole tone in samples; None if it plays for ever."""
        if self.segments[-1].forever or self.repeat == 0:
            return None
        return self.repeat * sum(segment.samples for segment in self.segments)

    @property
    def position(self) -> int:
        """Samples generated since the start (or the last reset)."""
        return self._position

    @property
    def finished(self) -> bool:
        total = self.total_samples
        return total is not None and self._position >= total

    def generate(self, n: int) -> np.ndarray:
        """The next ``n`` samples (int16); fewer only at the end of a finite tone."""
        n = int_field("n", n, 0, np.iinfo(np.intc).max)
        out = np.empty(n, dtype=np.int16)
        written = check(lib.lg_tone_generate(self._desc, self._state, as_pointer("int16_t *", out), n),
                        "tone generation")
        self._position += written
        return out[:written]


def tone(freqs, level_dbm0, duration_ms: int, *, am_hz: float = 0.0, am_depth: float = 0.0) -> np.ndarray:
    """The samples (int16) of one tone of ``duration_ms``: one or two
    frequencies at ``level_dbm0`` (one level, or one per frequency)."""
    duration_ms = int_field("duration_ms", duration_ms, 1)
    generator = ToneGenerator([ToneSegment(freqs, level_dbm0, duration_ms, am_hz, am_depth)])
    return generator.generate(generator.total_samples)
