"""Caller ID FSK test signals, synthesised here with NumPy alone.

The independent oracle of the FSK receiver's suite: no code shared with the
core's generator (native/fsk_tx.c). From the specifications:

- Bell 202 (Telcordia GR-30): mark (1) 1200 Hz, space (0) 2200 Hz, each
  +-1 %; ITU-T V.23 as EN 300 659-1 uses it: mark 1300 Hz, space 2100 Hz,
  +-1.5 %; both 1200 baud +-1 % (tolerances as the Zarlink MT88E45 data
  sheet, Table 4, quotes ANSI/TIA/EIA-716 and ETS 300 778-1).
- Phase-continuous FSK; async characters: start bit 0, 8 data bits LSB
  first, stop bit 1; before the message, channel seizure (alternating bits,
  starting with 0) and a mark signal.
- Twist is mark level over space level (dB), as TIA-716 defines it; the
  level given is the mark's.
"""

from __future__ import annotations

import numpy as np

from tests.dsp.dtmf_signals import FS, dbm0_to_peak

TONES = {"bell202": (1200.0, 2200.0), "v23": (1300.0, 2100.0)}  # mark, space


def bits_of(message: bytes, seizure: int = 300, mark: int = 180, tail: int = 5) -> list[int]:
    """The line bits of a message with its preamble and a tail of mark."""
    bits = [k & 1 for k in range(seizure)] + [1] * mark
    for byte in message:
        bits += [0] + [(byte >> k) & 1 for k in range(8)] + [1]
    return bits + [1] * tail


def fsk(bits, standard: str, level_dbm0: float, *, twist_db: float = 0.0, offset_pct: float = 0.0,
        baud_pct: float = 0.0, phase: float = 0.0) -> np.ndarray:
    """The bits as FSK, float64. ``offset_pct`` moves both tones, ``baud_pct``
    the bit rate."""
    mark_hz, space_hz = (f * (1.0 + offset_pct / 100.0) for f in TONES[standard])
    baud = 1200.0 * (1.0 + baud_pct / 100.0)
    n = int(np.ceil(len(bits) * FS / baud))
    index = np.minimum((np.arange(n) * baud / FS).astype(int), len(bits) - 1)
    b = np.asarray(bits)[index]
    freq = np.where(b == 1, mark_hz, space_hz)
    angle = phase + 2.0 * np.pi * np.cumsum(freq) / FS
    amp = np.where(b == 1, dbm0_to_peak(level_dbm0), dbm0_to_peak(level_dbm0 - twist_db))
    return amp * np.sin(angle)


def message_signal(message: bytes, standard: str, level_dbm0: float, rng, *, seizure: int = 300,
                   mark: int = 180, **kwargs) -> np.ndarray:
    """A message's whole FSK signal at a random start phase."""
    return fsk(bits_of(message, seizure, mark), standard, level_dbm0, phase=rng.uniform(0, 2 * np.pi), **kwargs)
