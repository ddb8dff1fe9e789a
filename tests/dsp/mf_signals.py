"""Test audio for the MF receivers (MFC/R2 forward and backward, R1),
synthesised here with NumPy alone, as dtmf_signals.py does for DTMF: no code
shared with the core's generator (native/mf_tx.c) or its frequency tables,
so a bug there cannot hide one in the receiver.

The codes, written from the recommendations (ITU-T Q.441 Table 5 for R2,
Q.320 for R1; spandsp's bell_r2_mf.c and DAHDI's tone tables agree):
six frequencies per kind, signal n (1..15) is the pair PAIRS[n - 1] of
indices into the kind's list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tests.dsp.dtmf_signals import FS, dbm0_to_power, ms, quantize, rng_for, sine, white_noise  # noqa: F401

FREQUENCIES = {
    "mfr2_fwd": (1380.0, 1500.0, 1620.0, 1740.0, 1860.0, 1980.0),
    "mfr2_bwd": (1140.0, 1020.0, 900.0, 780.0, 660.0, 540.0),
    "mfr1": (700.0, 900.0, 1100.0, 1300.0, 1500.0, 1700.0),
}
KINDS = tuple(FREQUENCIES)
# Q.441's weights 0, 1, 2, 4, 7, 11: signal n is the pair whose weights add up to n (10 = 3 + 7).
PAIRS = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (3, 4),
         (0, 5), (1, 5), (2, 5), (3, 5), (4, 5))
SIGNALS = tuple(range(1, 16))
R1_NAMES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "ST'''", "ST'", "KP", "ST''", "ST")
KP = 13


def name(kind: str, signal: int) -> str:
    """What DetectorBank reports for ``signal``."""
    return R1_NAMES[signal - 1] if kind == "mfr1" else str(signal)


def pair_hz(kind: str, signal: int) -> tuple[float, float]:
    """The two frequencies of ``signal``, lower first."""
    a, b = PAIRS[signal - 1]
    f = FREQUENCIES[kind]
    return min(f[a], f[b]), max(f[a], f[b])


def adjacent(kind: str, signal: int) -> bool:
    """Whether the two frequencies are neighbours in the kind's list."""
    a, b = PAIRS[signal - 1]
    return b - a == 1


@dataclass(frozen=True)
class Burst:
    """A signal as sent: ``signal`` sounding over samples [start, end)."""

    signal: int
    start: int
    end: int


@dataclass
class Tape:
    """A test tape of MF signals, with the true positions (``bursts``).
    ``rng`` draws the start phases of every tone."""

    kind: str
    rng: np.random.Generator
    parts: list = field(default_factory=list)
    bursts: list = field(default_factory=list)
    n: int = 0

    def silence(self, n: int) -> "Tape":
        self.parts.append(np.zeros(n))
        self.n += n
        return self

    def signal(self, signal: int, n: int, *, dbm0: float = -10.0, low_dbm0: float | None = None,
               high_dbm0: float | None = None, low_dev_hz: float = 0.0, high_dev_hz: float = 0.0,
               dropouts=()) -> "Tape":
        """Append ``n`` samples of ``signal``: its lower and higher frequency,
        each at its own level and offset. ``dropouts``: (offset, length) spans
        of silence inside it, the tones keeping their phase across them."""
        low, high = pair_hz(self.kind, signal)
        x = (sine(low + low_dev_hz, dbm0 if low_dbm0 is None else low_dbm0, n, self.rng.uniform(0, 2 * np.pi))
             + sine(high + high_dev_hz, dbm0 if high_dbm0 is None else high_dbm0, n,
                    self.rng.uniform(0, 2 * np.pi)))
        for offset, length in dropouts:
            assert 0 < offset and offset + length < n, "a dropout must lie inside the signal"
            x[offset:offset + length] = 0.0
        self.parts.append(x)
        self.bursts.append(Burst(signal, self.n, self.n + n))
        self.n += n
        return self

    def samples(self) -> np.ndarray:
        """The tape so far, float64."""
        return np.concatenate(self.parts) if self.parts else np.zeros(0)


def tape_for(kind: str, *case) -> Tape:
    """A tape seeded by the case's name, starting with 20-45 ms of silence
    (the signal's position against the receiver's sub-blocks varies)."""
    rng = rng_for("mf", kind, *case)
    return Tape(kind, rng).silence(ms(20) + int(rng.integers(0, ms(25))))
