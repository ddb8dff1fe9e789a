"""Test audio for the DTMF receiver, synthesised here with NumPy alone.

These helpers are the independent oracle of the receiver's acceptance suite:
they share no code with the project's tone generators (native/dtmf_gen.c,
native/tone_gen.c) or G.711 codec (native/g711.c), so a bug there cannot hide
a bug in the receiver.

Conventions (from the specification and ITU-T G.711 / Q.23):

- 8000 samples per second, 16-bit linear samples.
- Levels in dBm0: 0 dBm0 is a sine whose peak is 22826 (= 32767 * 10^(-3.14/20)),
  so a sine at L dBm0 has power 22826^2 / 2 * 10^(L/10).
- Noise and tone levels are powers; an SNR is the power of the digit's two
  tones over the power of the white noise (flat over 0..4 kHz).
- Times are sample indices; a burst occupies samples [start, end).

Signals are built in float64 and quantised once, at the end (`quantize`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

FS = 8000
DBM0_PEAK = 22826.0
ROW_HZ = (697.0, 770.0, 852.0, 941.0)
COL_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = "123A456B789C*0#D"  # row-major: KEYS[row * 4 + col]
DIAL_TONE_HZ = (350.0, 440.0)


def rng_for(*parts) -> np.random.Generator:
    """A deterministic generator for one test case, named by ``parts``."""
    words = [zlib.crc32(repr(p).encode()) for p in parts]
    return np.random.default_rng([0x11E6A7E, *words])


def ms(milliseconds: float) -> int:
    """Samples in ``milliseconds`` at 8 kHz."""
    return int(round(milliseconds * FS / 1000))


def key_freqs(key: str) -> tuple[float, float]:
    """(row, column) frequencies of ``key``."""
    i = KEYS.index(key)
    return ROW_HZ[i // 4], COL_HZ[i % 4]


def dbm0_to_peak(dbm0: float) -> float:
    return DBM0_PEAK * 10.0 ** (dbm0 / 20.0)


def dbm0_to_power(dbm0: float) -> float:
    return dbm0_to_peak(dbm0) ** 2 / 2.0


def power_to_dbm0(power: float) -> float:
    return 10.0 * np.log10(power / dbm0_to_power(0.0))


def sum_dbm0(*levels: float) -> float:
    """The level of several uncorrelated components together."""
    return power_to_dbm0(sum(dbm0_to_power(level) for level in levels))


def sine(freq: float, dbm0: float, n: int, phase: float = 0.0) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    return dbm0_to_peak(dbm0) * np.sin(2.0 * np.pi * freq / FS * t + phase)


def dual_tone(key: str, n: int, *, row_dbm0: float, col_dbm0: float,
              row_dev_pct: float = 0.0, col_dev_pct: float = 0.0,
              row_phase: float = 0.0, col_phase: float = 0.0) -> np.ndarray:
    """``n`` samples of ``key``; each tone with its own level, frequency offset (%) and phase."""
    row, col = key_freqs(key)
    return (sine(row * (1.0 + row_dev_pct / 100.0), row_dbm0, n, row_phase)
            + sine(col * (1.0 + col_dev_pct / 100.0), col_dbm0, n, col_phase))


def white_noise(n: int, dbm0: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise (flat over 0..4 kHz) whose power is ``dbm0``."""
    return rng.standard_normal(n) * np.sqrt(dbm0_to_power(dbm0))


def dial_tone(n: int, dbm0_per_tone: float, rng: np.random.Generator) -> np.ndarray:
    """350 + 440 Hz, each tone at ``dbm0_per_tone``, random phases."""
    return sum(sine(f, dbm0_per_tone, n, rng.uniform(0, 2 * np.pi)) for f in DIAL_TONE_HZ)


def quantize(x: np.ndarray, *, clip: bool = False) -> np.ndarray:
    """Round to int16. Clipping is an error unless ``clip`` (for noise alone)."""
    y = np.round(x)
    if not clip and (y.max(initial=0) > 32767 or y.min(initial=0) < -32768):
        raise ValueError(f"test signal clips: range {y.min()}..{y.max()}")
    return np.clip(y, -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class Burst:
    """A digit as sent: ``key`` sounding over samples [start, end)."""

    key: str
    start: int
    end: int


@dataclass
class Tape:
    """A test tape: pieces appended in order, with the true digit positions.

    ``rng`` draws the start phases of every tone (random unless given).
    """

    rng: np.random.Generator
    parts: list = field(default_factory=list)
    bursts: list = field(default_factory=list)
    n: int = 0

    def silence(self, n: int) -> "Tape":
        self.parts.append(np.zeros(n))
        self.n += n
        return self

    def digit(self, key: str, n: int, *, dbm0: float = -10.0, row_dbm0: float | None = None,
              col_dbm0: float | None = None, row_dev_pct: float = 0.0, col_dev_pct: float = 0.0,
              dropouts=()) -> "Tape":
        """Append ``n`` samples of ``key``. ``dropouts``: (offset, length) spans set to
        silence inside the burst; the tones keep their phase across them, as when a
        line drops out. The burst is recorded as one digit."""
        x = dual_tone(key, n,
                      row_dbm0=dbm0 if row_dbm0 is None else row_dbm0,
                      col_dbm0=dbm0 if col_dbm0 is None else col_dbm0,
                      row_dev_pct=row_dev_pct, col_dev_pct=col_dev_pct,
                      row_phase=self.rng.uniform(0, 2 * np.pi),
                      col_phase=self.rng.uniform(0, 2 * np.pi))
        for offset, length in dropouts:
            assert 0 < offset and offset + length < n, "a dropout must lie inside the burst"
            x[offset:offset + length] = 0.0
        self.parts.append(x)
        self.bursts.append(Burst(key, self.n, self.n + n))
        self.n += n
        return self

    def signal(self) -> np.ndarray:
        """The tape so far, float64 (add noise or dial tone, then `quantize`)."""
        return np.concatenate(self.parts) if self.parts else np.zeros(0)


# --- G.711, written from ITU-T G.711 and the reference code of ITU-T G.191
# (g711.c: ulaw_compress / alaw_compress / *_expand), vectorised. ---

def ulaw_encode(linear: np.ndarray) -> np.ndarray:
    """16-bit linear to mu-law codes (G.191: 14-bit magnitude, one's complement for negatives)."""
    x = np.asarray(linear, dtype=np.int32)
    mag = np.where(x < 0, (~x) >> 2, x >> 2) + 33
    mag = np.minimum(mag, 0x1FFF)
    seg = np.zeros_like(mag)
    i = mag >> 6
    seg += 1
    while np.any(i):
        seg += (i != 0)
        i >>= 1
    high = 8 - seg
    low = 0x0F - ((mag >> seg) & 0x0F)
    code = (high << 4) | low
    code = np.where(x >= 0, code | 0x80, code)
    return code.astype(np.uint8)


def ulaw_decode(codes: np.ndarray) -> np.ndarray:
    c = (~np.asarray(codes, dtype=np.int32)) & 0xFF
    sign = c & 0x80
    exp = (c >> 4) & 0x07
    mant = c & 0x0F
    mag = (((mant << 3) + 0x84) << exp) - 0x84
    return np.where(sign, -mag, mag).astype(np.int16)


def alaw_encode(linear: np.ndarray) -> np.ndarray:
    """16-bit linear to A-law codes (G.191: 12-bit magnitude, even bits inverted)."""
    x = np.asarray(linear, dtype=np.int32)
    ix = np.where(x < 0, (~x) >> 4, x >> 4)
    out = ix.copy()
    big = ix > 15
    exp = np.ones_like(ix)
    v = ix.copy()
    while True:
        more = big & (v > 31)
        if not np.any(more):
            break
        v = np.where(more, v >> 1, v)
        exp = np.where(more, exp + 1, exp)
    out = np.where(big, (v - 16) + (exp << 4), ix)
    out = np.where(x >= 0, out | 0x80, out)
    return (out ^ 0x55).astype(np.uint8)


def alaw_decode(codes: np.ndarray) -> np.ndarray:
    c = np.asarray(codes, dtype=np.int32) ^ 0x55
    sign = c & 0x80
    exp = (c >> 4) & 0x07
    mant = c & 0x0F
    mag = np.where(exp == 0, (mant << 4) + 8, ((mant << 4) + 0x108) << np.maximum(exp - 1, 0))
    return np.where(sign, mag, -mag).astype(np.int16)


G711_ENCODERS = {"ulaw": ulaw_encode, "alaw": alaw_encode}
G711_DECODERS = {"ulaw": ulaw_decode, "alaw": alaw_decode}
