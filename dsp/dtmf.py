"""DTMF generation through the C core (native/dtmf_gen.h), and the DTMF
frequency plan of ITU-T Q.23 as the core defines it.

    signal = DtmfGenerator("0123#", on_ms=60, off_ms=40, level_dbm0=-10.0).all()

Each key is a burst of its row (low group) and column (high group)
frequencies for ``on_ms``, then ``off_ms`` of silence. The low group plays at
``level_dbm0``, the high group at ``level_dbm0 + twist_db``.
"""

from __future__ import annotations

import numpy as np

from gateway.dsp.native import as_pointer, check, ffi, lib
from gateway.dsp.tone import MAX_LEVEL_DBM0, MIN_LEVEL_DBM0, SAMPLE_RATE, int_field, level_field, real_field
from gateway.errors import UsageError

# Read from the core, never retyped.
ROW_HZ = tuple(float(hz) for hz in lib.lg_dtmf_row_hz)
COL_HZ = tuple(float(hz) for hz in lib.lg_dtmf_col_hz)
KEYS = ffi.string(lib.lg_dtmf_keys).decode("ascii")  # row-major: "123A456B789C*0#D"
MAX_DIGITS = lib.LG_DTMF_GEN_MAX_DIGITS

# What the core accepts in a digit string: the keys, and a-d for A-D.
_ACCEPTED = frozenset(KEYS) | frozenset(KEYS.lower())


def key_frequencies(key: str) -> tuple[float, float]:
    """(row, column) frequencies of a key; a-d are accepted for A-D."""
    if not isinstance(key, str) or key not in _ACCEPTED:
        raise UsageError(f"{key!r} is not a DTMF key (one of {KEYS})")
    index = KEYS.index(key.upper())
    return ROW_HZ[index // 4], COL_HZ[index % 4]


def _check_digits(digits) -> str:
    if not isinstance(digits, str):
        raise UsageError(f"digits must be a str, not {type(digits).__name__}")
    for index, char in enumerate(digits):
        if char not in _ACCEPTED:
            raise UsageError(f"digits: {char!r} at index {index} is not a DTMF key (one of {KEYS}, or a-d)")
    if len(digits) > MAX_DIGITS:
        raise UsageError(f"digits: {len(digits)} keys; at most {MAX_DIGITS} per generator")
    return digits


class DtmfGenerator:
    """A string of DTMF keys as 16-bit samples.

    ``generate(n)`` returns the next n samples, fewer at the end of the
    string; ``all()`` returns the whole signal from the beginning, whatever
    has been generated so far.
    """

    def __init__(self, digits: str, on_ms: int = 50, off_ms: int = 50, level_dbm0: float = -10.0,
                 twist_db: float = 0.0):
        self.digits = _check_digits(digits)
        self.on_ms = int_field("on_ms", on_ms, 1)
        self.off_ms = int_field("off_ms", off_ms, 0)
        self.level_dbm0 = level_field("level_dbm0", level_dbm0)
        self.twist_db = real_field("twist_db", twist_db)
        # Checked on the exact sum: the core forgives the float rounding of
        # its own sum (-10.86 + 14 must reach +3.14, not 3.1400003).
        high_dbm0 = self.level_dbm0 + self.twist_db
        if not MIN_LEVEL_DBM0 <= high_dbm0 <= MAX_LEVEL_DBM0:
            raise UsageError(
                f"level_dbm0 + twist_db = {level_dbm0!r} + {twist_db!r} = {high_dbm0:g} dBm0 (the high "
                f"group) is outside {MIN_LEVEL_DBM0:g} ... {MAX_LEVEL_DBM0:+.2f} dBm0")
        self._state = self._new_state()
        self._position = 0

    def _new_state(self):
        state = ffi.new("lg_dtmf_gen_state *")
        check(lib.lg_dtmf_gen_init(state, self.digits.encode("ascii"), self.on_ms, self.off_ms,
                                   self.level_dbm0, self.twist_db), "DTMF generator")
        return state

    @property
    def total_samples(self) -> int:
        per_key = self.on_ms * SAMPLE_RATE // 1000 + self.off_ms * SAMPLE_RATE // 1000
        return len(self.digits) * per_key

    @property
    def position(self) -> int:
        return self._position

    @property
    def finished(self) -> bool:
        return self._position >= self.total_samples

    def generate(self, n: int) -> np.ndarray:
        """The next ``n`` samples (int16); fewer only at the end of the string."""
        n = int_field("n", n, 0, np.iinfo(np.intc).max)
        out = np.empty(n, dtype=np.int16)
        written = check(lib.lg_dtmf_gen_generate(self._state, as_pointer("int16_t *", out), n),
                        "DTMF generation")
        self._position += written
        return out[:written]

    def all(self) -> np.ndarray:
        """The whole signal (int16), from the first key; leaves the position
        of ``generate`` alone."""
        total = self.total_samples
        out = np.empty(total, dtype=np.int16)
        written = check(lib.lg_dtmf_gen_generate(self._new_state(), as_pointer("int16_t *", out), total),
                        "DTMF generation")
        return out[:written]
