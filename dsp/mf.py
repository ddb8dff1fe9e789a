"""MF register signalling: the MFC/R2 and R1 codes and their sender, through
the C core (native/mf.h, native/mf_tx.h).

    held = MfSender("mfr2_fwd")             # compelled R2: a signal lasts until acknowledged
    held.set_signal("5")                    # 1620 + 1740 Hz from the next sample on
    block = held.generate(160)              # int16; held.generate(160, law="alaw") for G.711
    held.set_signal(None)                   # stop: generate() gives nothing while idle

    kp = string_audio("mfr1", "*1234567890#")     # KP 1..0 ST, 68 ms on / 68 ms off, KP 100 ms
    b4 = signal_audio("mfr2_bwd", "4", 150)       # one pulsed backward signal (150 ms)

Kinds are the DetectorBank detector names: "mfr2_fwd" (R2 forward, 1380 to
1980 Hz), "mfr2_bwd" (R2 backward, 1140 down to 540 Hz) and "mfr1" (R1,
700 to 1700 Hz). Signals are named as DetectorBank reports them: R2 "1" ..
"15"; R1 "1" .. "9", "0", "KP", "ST", "ST'", "ST''", "ST'''" (Q.320; DAHDI
calls the last three STP, ST2P, ST3P). A string may also be written one
character per signal in spandsp's and Asterisk's codes: R2 "1".."9", "0" for
10, "B".."F" for 11..15 (spandsp's r2_mf_tx); R1 "0".."9", "*" KP, "#" ST,
"A" ST', "B" ST'', "C" ST''' (spandsp's bell_mf_tx, Asterisk's MF digits).
A list or tuple gives the names (or the numbers 1..15) one by one.

Each signal is its two frequencies, the lower at ``level_dbm0`` and the
higher at ``level_dbm0 + twist_db``, both from phase 0. Default levels:
R2 -8 dBm0 per tone (Q.454), R1 -7 dBm0 (Q.322).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gateway.dsp.native import as_pointer, check, ffi, lib
from gateway.dsp.tone import MAX_LEVEL_DBM0, MIN_LEVEL_DBM0, SAMPLE_RATE, int_field, level_field, real_field
from gateway.errors import UsageError

KINDS = {"mfr2_fwd": lib.LG_MF_R2_FORWARD, "mfr2_bwd": lib.LG_MF_R2_BACKWARD, "mfr1": lib.LG_MF_R1}
SIGNALS = lib.LG_MF_SIGNALS
MAX_STRING = lib.LG_MF_TX_MAX_SIGNALS

# Read from the core, never retyped: the six frequencies of each kind, and
# the two frequency indices of each signal 1..15.
FREQUENCIES = {name: tuple(float(lib.lg_mf_hz[code * lib.LG_MF_TONES + k]) for k in range(lib.LG_MF_TONES))
               for name, code in KINDS.items()}
_PAIRS = tuple((lib.lg_mf_pair[2 * k], lib.lg_mf_pair[2 * k + 1]) for k in range(SIGNALS))

R2_NAMES = tuple(str(n) for n in range(1, SIGNALS + 1))
# R1 by number (Q.320): 1..9 the digits, 10 the digit 0, then the pairs with 1700 Hz.
R1_NAMES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "ST'''", "ST'", "KP", "ST''", "ST")
NAMES = {"mfr2_fwd": R2_NAMES, "mfr2_bwd": R2_NAMES, "mfr1": R1_NAMES}
# One character per signal, in spandsp's (and, for R1, Asterisk's) codes.
CODES = {"mfr2_fwd": "1234567890BCDEF", "mfr2_bwd": "1234567890BCDEF", "mfr1": "1234567890CA*B#"}

DEFAULT_LEVEL_DBM0 = {"mfr2_fwd": -8.0, "mfr2_bwd": -8.0, "mfr1": -7.0}
R1_ON_MS, R1_KP_ON_MS, R1_OFF_MS = 68, 100, 68  # Q.322 / spandsp's bell_mf_tx


def _kind(kind) -> str:
    if kind not in KINDS:
        raise UsageError(f"kind={kind!r}: one of {', '.join(KINDS)}")
    return kind


def signal_number(kind: str, signal) -> int:
    """The number (1..15) of a signal given by name ("5", "KP"), by its
    one-character code ("*") or by number."""
    kind = _kind(kind)
    if isinstance(signal, (int, np.integer)) and not isinstance(signal, bool):
        if 1 <= signal <= SIGNALS:
            return int(signal)
    elif isinstance(signal, str):
        if signal in NAMES[kind]:
            return NAMES[kind].index(signal) + 1
        if len(signal) == 1 and signal in CODES[kind]:
            return CODES[kind].index(signal) + 1
    raise UsageError(f"{signal!r} is not a {kind} signal (one of {', '.join(NAMES[kind])}, "
                     f"or a code of {CODES[kind]!r}, or 1..{SIGNALS})")


def signal_name(kind: str, number: int) -> str:
    """The name DetectorBank reports for signal ``number`` (1..15)."""
    return NAMES[_kind(kind)][int_field("number", number, 1, SIGNALS) - 1]


def signal_frequencies(kind: str, signal) -> tuple[float, float]:
    """The two frequencies (Hz, lower first) of a signal."""
    a, b = _PAIRS[signal_number(kind, signal) - 1]
    pair = FREQUENCIES[_kind(kind)][a], FREQUENCIES[kind][b]
    return min(pair), max(pair)


def _string(kind: str, signals) -> list[int]:
    """A string of signals as their numbers: a str one code or name character
    per signal, a list or tuple one signal per item."""
    if isinstance(signals, str):
        numbers = []
        for index, char in enumerate(signals):
            try:
                numbers.append(signal_number(kind, char))
            except UsageError:
                raise UsageError(f"signals: {char!r} at index {index} is not a {kind} signal code "
                                 f"(one of {CODES[kind]!r})") from None
    elif isinstance(signals, Sequence):
        numbers = [signal_number(kind, signal) for signal in signals]
    else:
        raise UsageError(f"signals must be a str or a sequence of signals, not {type(signals).__name__}")
    if not 1 <= len(numbers) <= MAX_STRING:
        raise UsageError(f"signals: {len(numbers)} signals; 1..{MAX_STRING} per string")
    return numbers


def _levels(level_dbm0, twist_db) -> tuple[float, float]:
    level = level_field("level_dbm0", level_dbm0)
    twist = real_field("twist_db", twist_db)
    if not MIN_LEVEL_DBM0 <= level + twist <= MAX_LEVEL_DBM0:
        raise UsageError(f"level_dbm0 + twist_db = {level_dbm0!r} + {twist_db!r} = {level + twist:g} dBm0 (the "
                         f"higher tone) is outside {MIN_LEVEL_DBM0:g} ... {MAX_LEVEL_DBM0:+.2f} dBm0")
    return level, twist


def _encoded(samples: np.ndarray, law) -> np.ndarray:
    if law is None:
        return samples
    from gateway.dsp.g711 import encode

    return encode(samples, law)


class MfSender:
    """One channel's MF sender: a signal held until changed (compelled R2),
    or a string of pulsed signals (``send``).

    ``generate(n)`` gives the next samples (int16, or G.711 codes with
    ``law``): all ``n`` while a signal is held, fewer at the end of a string,
    none while idle (after ``set_signal(None)`` or a string's end).
    """

    def __init__(self, kind: str, level_dbm0: float | None = None, twist_db: float = 0.0):
        self.kind = _kind(kind)
        level = DEFAULT_LEVEL_DBM0[kind] if level_dbm0 is None else level_dbm0
        self.level_dbm0, self.twist_db = _levels(level, twist_db)
        self._state = ffi.new("lg_mf_tx_state *")
        check(lib.lg_mf_tx_init(self._state, KINDS[kind], self.level_dbm0, self.twist_db), "MF sender")
        self.signal = None  # the name of the signal held, or None

    def set_signal(self, signal) -> None:
        """Hold ``signal`` (a name, code or number) from the next sample on;
        None stops the sender."""
        if signal is None:
            check(lib.lg_mf_tx_set_signal(self._state, 0), "MF sender")
            self.signal = None
            return
        number = signal_number(self.kind, signal)
        check(lib.lg_mf_tx_set_signal(self._state, number), "MF sender")
        self.signal = NAMES[self.kind][number - 1]

    def send(self, signals, *, on_ms: int | None = None, off_ms: int | None = None,
             kp_on_ms: int | None = None) -> None:
        """Play a string of signals in place of what plays: each ``on_ms``
        (R1's KP ``kp_on_ms``) then ``off_ms`` of silence. R1 defaults to 68,
        100 and 68 ms; R2 pulses to 150 ms on, 150 ms off (Q.442's pulse)."""
        numbers = _string(self.kind, signals)
        r1 = self.kind == "mfr1"
        on = int_field("on_ms", (R1_ON_MS if r1 else 150) if on_ms is None else on_ms, 1)
        off = int_field("off_ms", (R1_OFF_MS if r1 else 150) if off_ms is None else off_ms, 0)
        kp = int_field("kp_on_ms", (R1_KP_ON_MS if r1 else on) if kp_on_ms is None else kp_on_ms, 1)
        check(lib.lg_mf_tx_send(self._state, ffi.new("uint8_t[]", numbers), len(numbers), on, kp, off), "MF sender")
        self.signal = None

    def generate(self, n: int, law: str | None = None) -> np.ndarray:
        """The next ``n`` samples at most (see the class); ``law`` "ulaw" or
        "alaw" gives G.711 codes (uint8) instead of int16."""
        n = int_field("n", n, 0, np.iinfo(np.intc).max)
        out = np.empty(n, dtype=np.int16)
        written = check(lib.lg_mf_tx_generate(self._state, as_pointer("int16_t *", out), n), "MF generation")
        return _encoded(out[:written], law)


def signal_audio(kind: str, signal, duration_ms: int, *, level_dbm0: float | None = None, twist_db: float = 0.0,
                 law: str | None = None) -> np.ndarray:
    """One signal held for ``duration_ms`` (int16, or G.711 codes with ``law``)."""
    duration = int_field("duration_ms", duration_ms, 1)
    sender = MfSender(kind, level_dbm0, twist_db)
    sender.set_signal(signal)
    return sender.generate(duration * SAMPLE_RATE // 1000, law)


def string_audio(kind: str, signals, *, on_ms: int | None = None, off_ms: int | None = None,
                 kp_on_ms: int | None = None, level_dbm0: float | None = None, twist_db: float = 0.0,
                 law: str | None = None) -> np.ndarray:
    """A whole string of pulsed signals (see ``MfSender.send``), ending with
    the last pause."""
    sender = MfSender(kind, level_dbm0, twist_db)
    sender.send(signals, on_ms=on_ms, off_ms=off_ms, kp_on_ms=kp_on_ms)
    parts = []
    while True:
        block = sender.generate(SAMPLE_RATE)
        if not len(block):
            break
        parts.append(block)
    return _encoded(np.concatenate(parts), law)
