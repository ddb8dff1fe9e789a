"""An E1 timeslot without signalling: a permanent ("nailed-up") circuit,
as DAHDI's clear channels are. I/O-free like the other stacks (its actions
and signals are gateway.line_signal's); E1 signalling (PRI, R2) will give
the timeslots calls of their own."""

from __future__ import annotations

import enum

from gateway.errors import UsageError
from gateway.line_signal import Detect, Signal, StopMedia


class ClearLine:
    """An E1 timeslot without signalling: a permanent ("nailed-up") circuit. A call on it
    is connected as soon as it is made and ends when either side says so; nothing is
    dialled. Until E1 signalling (PRI, R2) exists, this is how its timeslots carry audio."""

    def __init__(self):
        self.state = _ClearState.IDLE
        self.deadline = None

    def originate(self, number, now, detect=(), no_answer=None, callerid=None):
        if self.state is not _ClearState.IDLE:
            raise UsageError(f"the timeslot is {self.state.value}")
        self.state = _ClearState.CONNECTED
        return [Detect(frozenset({"dtmf", "cpt"}) | frozenset(detect)), Signal("connected", {"how": "signalling"})]

    def hangup(self, now, cause=16, by="local"):
        if self.state is _ClearState.IDLE:
            return []
        self.state = _ClearState.IDLE
        return [StopMedia(), Detect(frozenset()), Signal("disconnected", {"cause": cause, "by": by}),
                Signal("free", {})]

    def line_down(self, now, cause):
        """The span lost its frames: the circuit is gone."""
        return self.hangup(now, cause, by="network")

    def answer(self, now):
        raise UsageError("nothing to answer on a clear channel")

    def port_event(self, code, value, now):
        return []

    def detected(self, kind, value, now, ended=False, reason=None):
        if kind == "dtmf" and not ended and self.state is _ClearState.CONNECTED:
            return [Signal("digits", {"digits": value})]
        if kind == "amd" and self.state is _ClearState.CONNECTED:
            return [Signal("amd", {"result": value, "beep": False, "reason": reason})]
        if kind == "beep" and not ended and self.state is _ClearState.CONNECTED:
            return [Signal("amd", {"result": "machine", "beep": True, "reason": "beep"})]
        return []

    def heard(self, voice, now):
        return []

    def digits_sent(self, now):
        return []

    def tick(self, now):
        return []


class _ClearState(enum.Enum):
    IDLE = "idle"
    CONNECTED = "connected"
