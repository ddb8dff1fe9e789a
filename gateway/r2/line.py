"""R2 line signalling (ITU-T Q.421 digital version, Q.422): the A and B bits
of a timeslot's CAS nibble, one per direction, as a per-channel state
machine without I/O.

Each end sends its own pattern; what a pattern means depends on who seized
the circuit. With the ITU table (A B; C D stay 0 1)::

    state                 outgoing end sends   incoming end sends
    idle                  1 0                  1 0
    seized                0 0                  1 0
    seizing acknowledged  0 0                  1 1
    answered              0 0                  0 1
    clear-back            0 0                  1 1
    clear-forward         1 0                  0 1 or 1 1
    released (guard)      1 0                  1 0
    blocked               1 0                  1 1

A received pattern counts once it has held for the recognition time
(Q.422: 20 +- 10 ms); shorter changes are ignored. Only A and B are read.

The outgoing end releases by clear-forward and the circuit is free again
when the incoming end answers with idle (the release guard); an incoming
end still sending 1 1 after ``release_guard`` blocks the circuit, which is
what 1 0 / 1 1 means. The incoming end ends an answered call by clear-back
and one not yet answered by forced release (0 0, openr2's signal; Q.421 has
none for it), then waits for clear-forward. Both ends seizing a both-way
circuit at once (glare) shows as seize against seize: ``Glare`` is
reported and the channel decides who yields.

``LineSignalling`` takes ``received(bits, now)``, ``tick(now)`` and the
commands (``seize``, ``acknowledge``, ``answer``...), and returns
``(actions, events)``: ``SetAbcd`` for the board and the events below for
the channel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.errors import UsageError
from gateway.line_signal import SetAbcd
from gateway.r2.variant import R2Variant


class Line(enum.Enum):
    IDLE = "idle"
    BLOCKING = "blocking"                 # we send blocked
    SEIZING = "seizing"                   # outgoing: seize sent, waiting for its acknowledgement
    OUTGOING = "outgoing"                 # outgoing: acknowledged
    OUT_ANSWERED = "out-answered"
    CLEARING_FORWARD = "clearing-forward"  # outgoing: clear-forward sent, waiting for the release guard
    INCOMING = "incoming"                 # incoming: seize received and acknowledged
    IN_ANSWERED = "in-answered"
    CLEARING_BACK = "clearing-back"       # incoming: clear-back or forced release sent, waiting for clear-forward


# Events, past tense.
@dataclass(frozen=True)
class Seized:
    """The far end seized the circuit (an incoming call); not yet acknowledged."""


@dataclass(frozen=True)
class SeizeAcknowledged:
    pass


@dataclass(frozen=True)
class Answered:
    pass


@dataclass(frozen=True)
class ClearedBack:
    pass


@dataclass(frozen=True)
class ForcedRelease:
    pass


@dataclass(frozen=True)
class ClearedForward:
    pass


@dataclass(frozen=True)
class Released:
    """The circuit is idle again after our clear-forward (release guard received)."""


@dataclass(frozen=True)
class Glare:
    """We seized and so did the far end."""


@dataclass(frozen=True)
class BothYielded:
    """After glare we took the far end's call, and it took ours: both acknowledged. Both
    attempts are over; the line is idle again."""


@dataclass(frozen=True)
class MeteringPulse:
    pass


@dataclass(frozen=True)
class FarBlocked:
    blocked: bool


@dataclass(frozen=True)
class LineTimeout:
    """``what``: ``seize-ack`` (no acknowledgement) or ``release-guard`` (the far end did not
    return to idle after clear-forward: the circuit is now blocked by it)."""
    what: str


@dataclass(frozen=True)
class UnexpectedPattern:
    """A and B bits (``ab``, 0..3) that mean nothing in this state: a protocol error."""
    ab: int
    state: str

    def __str__(self):
        return f"A B = {self.ab >> 1} {self.ab & 1} while {self.state}"


class LineSignalling:
    def __init__(self, variant: R2Variant):
        self.variant = variant
        self.patterns = variant.line
        self.timers = variant.timers
        self.state = Line.IDLE
        self.far = self.patterns.idle >> 2        # recognised A B from the far end
        self.far_blocked = False
        self.sent = self.patterns.idle
        self._pending: tuple[int, float] | None = None   # (A B, when it counts)
        self._timer: float | None = None
        self._metering_since: float | None = None
        self.block_wanted = False
        self._yielded = False                    # incoming after glare (we gave way)

    # ---- time ----
    @property
    def deadline(self) -> float | None:
        times = [t for t in (self._timer, self._pending[1] if self._pending else None) if t is not None]
        return min(times) if times else None

    def tick(self, now: float):
        actions, events = [], []
        if self._pending is not None and now >= self._pending[1]:
            ab, self._pending = self._pending[0], None
            self._recognise(ab, now, actions, events)
        if self._timer is not None and now >= self._timer:
            self._timer = None
            self._expired(now, actions, events)
        return actions, events

    def received(self, bits: int, now: float):
        """The far end's ABCD nibble as the board reports it (on each change)."""
        ab = (int(bits) & 0xF) >> 2
        if ab == self.far:
            self._pending = None              # back to what it was: a glitch
            return [], []
        if self.timers.recognition <= 0:
            actions, events = [], []
            self._recognise(ab, now, actions, events)
            return actions, events
        if self._pending is None or self._pending[0] != ab:
            self._pending = (ab, now + self.timers.recognition)
        return [], []

    # ---- commands ----
    def seize(self, now: float) -> list:
        if self.state is not Line.IDLE or self.far_blocked or self.far != self.patterns.idle >> 2:
            raise UsageError(f"cannot seize: the line is {self.describe()}")
        self.state, self._timer = Line.SEIZING, now + self.timers.seize_ack
        return self._send(self.patterns.seize)

    def acknowledge(self, now: float) -> list:
        """Answer an incoming seizure (also after glare, when we yield)."""
        if self.state not in (Line.IDLE, Line.SEIZING):
            raise UsageError(f"nothing to acknowledge: the line is {self.state.value}")
        self._yielded = self.state is Line.SEIZING
        self.state, self._timer = Line.INCOMING, None
        return self._send(self.patterns.seize_ack)

    def answer(self, now: float) -> list:
        if self.state is not Line.INCOMING:
            raise UsageError(f"cannot answer: the line is {self.state.value}")
        self.state = Line.IN_ANSWERED
        return self._send(self.patterns.answer)

    def clear_back(self, now: float) -> list:
        """The incoming end ends the call: clear-back once answered, forced release before."""
        if self.state is Line.IN_ANSWERED:
            self.state = Line.CLEARING_BACK
            return self._send(self.patterns.clear_back)
        if self.state is Line.INCOMING:
            self.state = Line.CLEARING_BACK
            pattern = self.patterns.forced_release
            # Without a forced-release signal the call can only wait for the caller's clear-forward.
            return self._send(pattern) if pattern is not None else []
        if self.state is Line.CLEARING_BACK:
            return []
        raise UsageError(f"no incoming call to clear: the line is {self.state.value}")

    def clear_forward(self, now: float) -> list:
        if self.state not in (Line.SEIZING, Line.OUTGOING, Line.OUT_ANSWERED):
            if self.state is Line.CLEARING_FORWARD:
                return []
            raise UsageError(f"no outgoing call to clear: the line is {self.state.value}")
        self.state, self._timer, self._metering_since = Line.CLEARING_FORWARD, now + self.timers.release_guard, None
        return self._send(self.patterns.clear_forward)

    def release(self, now: float) -> list:
        """The incoming end, after clear-forward: back to idle (the release guard)."""
        if self.state not in (Line.INCOMING, Line.IN_ANSWERED, Line.CLEARING_BACK):
            raise UsageError(f"nothing to release: the line is {self.state.value}")
        self.state, self._timer = Line.IDLE, None
        return self._send(self.patterns.idle) + self._block_if_wanted()

    def block(self, now: float) -> list:
        """Block the circuit to incoming calls; while a call is up, as soon as it ends."""
        self.block_wanted = True
        return self._block_if_wanted()

    def unblock(self, now: float) -> list:
        self.block_wanted = False
        if self.state is Line.BLOCKING:
            self.state = Line.IDLE
            return self._send(self.patterns.idle)
        return []

    # ---- inside ----
    def describe(self) -> str:
        if self.state is Line.IDLE and self.far_blocked:
            return "blocked by the far end"
        if self.state is Line.IDLE and self.far != self.patterns.idle >> 2:
            return f"idle, the far end sending {self.far:02b}"
        return self.state.value

    def _send(self, pattern: int) -> list:
        if pattern == self.sent:
            return []
        self.sent = pattern
        return [SetAbcd(pattern)]

    def _block_if_wanted(self) -> list:
        if self.block_wanted and self.state is Line.IDLE:
            self.state = Line.BLOCKING
            return self._send(self.patterns.blocked)
        return []

    def _recognise(self, ab: int, now: float, actions: list, events: list) -> None:
        self.far = ab
        p = {name: (value >> 2 if value is not None else None)
             for name, value in vars(self.patterns).items()}
        st = self.state
        if st in (Line.IDLE, Line.BLOCKING):
            if ab == p["seize"]:
                if self.far_blocked:
                    self.far_blocked = False
                    events.append(FarBlocked(False))
                if st is Line.IDLE:
                    events.append(Seized())
                # A circuit we block is not acknowledged: the far end must not seize it.
            elif ab == p["idle"]:
                if self.far_blocked:
                    self.far_blocked = False
                    events.append(FarBlocked(False))
            elif ab == p["blocked"]:
                if not self.far_blocked:
                    self.far_blocked = True
                    events.append(FarBlocked(True))
            elif not self.far_blocked:
                # (A far end that held the circuit past the release guard may pass through
                # other patterns on its way back to idle.)
                events.append(UnexpectedPattern(ab, st.value))
        elif st is Line.SEIZING:
            if ab == p["seize_ack"]:
                self.state, self._timer = Line.OUTGOING, None
                events.append(SeizeAcknowledged())
            elif ab == p["seize"]:
                events.append(Glare())
            elif ab != p["idle"]:
                events.append(UnexpectedPattern(ab, st.value))
        elif st is Line.OUTGOING:
            if ab == p["answer"]:
                self.state = Line.OUT_ANSWERED
                events.append(Answered())
            elif ab == p["forced_release"]:
                events.append(ForcedRelease())
            else:
                events.append(UnexpectedPattern(ab, st.value))
        elif st is Line.OUT_ANSWERED:
            if ab == p["clear_back"]:
                if self.timers.metering_pulse > 0:
                    self._metering_since = now
                    self._timer = now + self.timers.metering_pulse
                else:
                    events.append(ClearedBack())
            elif ab == p["answer"] and self._metering_since is not None:
                self._metering_since, self._timer = None, None
                events.append(MeteringPulse())
            elif ab == p["forced_release"]:
                events.append(ForcedRelease())
            else:
                events.append(UnexpectedPattern(ab, st.value))
        elif st is Line.CLEARING_FORWARD:
            if ab == p["idle"]:
                self.state, self._timer = Line.IDLE, None
                events.append(Released())
                actions.extend(self._block_if_wanted())
            # Anything else (clear-back, answer, forced release) is the far end on its way to idle.
        elif st in (Line.INCOMING, Line.IN_ANSWERED, Line.CLEARING_BACK):
            if ab == p["clear_forward"]:
                events.append(ClearedForward())
            elif ab == p["seize_ack"] and self._yielded and st is Line.INCOMING:
                # Both ends gave way after glare: neither call goes on.
                self.state, self._yielded = Line.IDLE, False
                actions.extend(self._send(self.patterns.idle))
                events.append(BothYielded())
            elif not (ab == p["seize"]):
                events.append(UnexpectedPattern(ab, st.value))

    def _expired(self, now: float, actions: list, events: list) -> None:
        if self.state is Line.SEIZING:
            events.append(LineTimeout("seize-ack"))
        elif self.state is Line.OUT_ANSWERED and self._metering_since is not None:
            self._metering_since = None
            events.append(ClearedBack())
        elif self.state is Line.CLEARING_FORWARD:
            self.state = Line.IDLE
            if self.far == self.patterns.idle >> 2:
                # It never left idle (a seizure abandoned before it was seen): free.
                events.append(Released())
            else:
                # Still not idle: the far end holds the circuit, which is what blocking means.
                self.far_blocked = True
                events.extend([LineTimeout("release-guard"), FarBlocked(True)])
            actions.extend(self._block_if_wanted())
