"""The exchange's view of a subscriber's hook switch: seizure, dial pulses,
flashes and hang-up, from timed hook changes. No I/O, no clock: the caller
gives each change its time and polls with the time now.

Thresholds (breaks are on-hook intervals of a line that is in use):

- under ``HIT_MS`` (20 ms): a hit or contact bounce, ignored;
- ``HIT_MS`` up to ``PULSE_BREAK_MAX_MS`` (100 ms): a dial pulse. Dials
  send 8-11 pulses a second at 58-64 % break in North America (60/40 ms at
  10 pps, Telcordia LSSGR) and 67/33 ms in much of Europe, so breaks of
  52-84 ms; the window is wider to take any dialler the gateway has;
- up to the hang-up time (``hangup_ms``, 400 ms by default, the directory's
  ``[exchange]``): a hook flash (register recall). Flashes differ by
  network, about 100 ms for European timed-break recall, several hundred on
  North American lines: a gateway whose flash is longer needs a longer
  ``hangup_ms``;
- longer: the subscriber hung up, decided ``hangup_ms`` after the break
  began, without waiting for the loop to close again.

A digit is the number of pulses (ten for 0) and ends when the loop stays
closed for ``DIGIT_GAP_MS`` (300 ms): the makes between pulses last 30-50 ms,
the pause between a dial's digits 500-800 ms and more (a modem's dialler,
e.g. Multi-Tech's, pauses 800 ms). More than ten pulses are not a digit:
they are counted in ``bad_digits`` and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

HIT_MS = 20
PULSE_BREAK_MAX_MS = 100
DIGIT_GAP_MS = 300
DEFAULT_HANGUP_MS = 400


@dataclass(frozen=True)
class Seized:
    """The subscriber went off-hook on an idle line."""
    time_ms: int


@dataclass(frozen=True)
class Released:
    """The subscriber hung up (on-hook for the hang-up time); ``time_ms`` is when that was decided."""
    time_ms: int


@dataclass(frozen=True)
class Flashed:
    """A hook flash: on-hook for longer than a pulse and shorter than a hang-up."""
    time_ms: int


@dataclass(frozen=True)
class PulseDialled:
    """A digit dialled by loop-disconnect pulses."""
    digit: str
    time_ms: int


class HookDecoder:
    """Hook changes in, Seized / PulseDialled / Flashed / Released out."""

    def __init__(self, hangup_ms: int = DEFAULT_HANGUP_MS, offhook: bool = False):
        self.hangup_ms = hangup_ms
        self.offhook = offhook
        self.in_use = offhook
        self.bad_digits = 0
        self._break_at = 0
        self._pulses = 0
        self._last_make = 0

    def change(self, time_ms: int, offhook: bool) -> list:
        """The hook went to ``offhook`` at ``time_ms`` (changes in time order); the events it completes."""
        events = self.poll(time_ms)
        if offhook == self.offhook:
            return events
        self.offhook = offhook
        if not offhook:
            if self.in_use:
                self._break_at = time_ms
            return events
        if not self.in_use:
            self.in_use = True
            events.append(Seized(time_ms))
            return events
        length = time_ms - self._break_at
        if length < HIT_MS:
            return events
        if length <= PULSE_BREAK_MAX_MS:
            self._pulses += 1
            self._last_make = time_ms
            return events
        events += self._end_digit()
        events.append(Flashed(time_ms))
        return events

    def poll(self, now_ms: int) -> list:
        """The events the passing of time completes: a digit whose pulses stopped, a hang-up."""
        if not self.in_use:
            return []
        if not self.offhook:
            if now_ms - self._break_at >= self.hangup_ms:
                self.in_use = False
                self._pulses = 0
                return [Released(self._break_at + self.hangup_ms)]
            return []
        if self._pulses and now_ms - self._last_make >= DIGIT_GAP_MS:
            return self._end_digit()
        return []

    def _end_digit(self) -> list:
        pulses, self._pulses = self._pulses, 0
        if not pulses:
            return []
        if pulses > 10:
            self.bad_digits += 1
            return []
        return [PulseDialled("0" if pulses == 10 else str(pulses), self._last_make + DIGIT_GAP_MS)]
