"""The first-party call model: channels and calls, their states, and the
events a host application sees (TAPI/JTAPI's first-party view: one end of a
call, on one of our channels).

I/O-free: signalling stacks tell the model what happened (with the time,
from the gateway's one clock); the model checks that the transition is one a
call can make, records the time of each state, and queues events for
whoever drains them (the CTI layer, the store). A transition a call cannot
make is refused and counted, never applied: a confused signalling stack must
not corrupt a call record.

Call states: ``dialing`` -> ``proceeding`` -> ``alerting`` -> ``connected``
for calls we make; ``offered`` -> ``connected`` for calls that come in;
``connected`` <-> ``held``; any state -> ``disconnected``, the end. Causes are
ITU-T Q.850 cause values where one exists (``CAUSES``).
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from dataclasses import dataclass, field

from gateway.errors import UsageError


class CallState(str, enum.Enum):
    DIALING = "dialing"
    PROCEEDING = "proceeding"
    ALERTING = "alerting"
    OFFERED = "offered"
    CONNECTED = "connected"
    HELD = "held"
    DISCONNECTED = "disconnected"


class ChannelState(str, enum.Enum):
    IDLE = "idle"
    DIALING = "dialing"            # seized: waiting for dial tone, then sending digits
    PROCEEDING = "proceeding"
    ALERTING = "alerting"          # the far end rings (outbound) or we ring a phone
    OFFERED = "offered"            # a call comes in and waits for an answer
    CONNECTED = "connected"
    HELD = "held"
    CLEARING = "clearing"          # the call ended; the line is not idle yet (a phone still off-hook)
    OUT_OF_SERVICE = "out-of-service"  # no battery, a span alarm, the board gone
    BLOCKED = "blocked"            # taken out of service by an operator


S = CallState
_NEXT = {
    S.DIALING: {S.PROCEEDING, S.ALERTING, S.CONNECTED, S.DISCONNECTED},
    S.PROCEEDING: {S.ALERTING, S.CONNECTED, S.DISCONNECTED},
    S.ALERTING: {S.CONNECTED, S.DISCONNECTED},
    S.OFFERED: {S.ALERTING, S.CONNECTED, S.DISCONNECTED},
    S.CONNECTED: {S.HELD, S.DISCONNECTED},
    S.HELD: {S.CONNECTED, S.DISCONNECTED},
    S.DISCONNECTED: set(),
}

# The channel state that goes with each call state.
_CHANNEL_FOR = {
    S.DIALING: ChannelState.DIALING, S.PROCEEDING: ChannelState.PROCEEDING,
    S.ALERTING: ChannelState.ALERTING, S.OFFERED: ChannelState.OFFERED,
    S.CONNECTED: ChannelState.CONNECTED, S.HELD: ChannelState.HELD,
    S.DISCONNECTED: ChannelState.CLEARING,
}

# ITU-T Q.850 cause values the gateway gives (Table 1 of Q.850).
CAUSES = {
    1: "unallocated number",
    3: "no route to destination",
    16: "normal call clearing",
    17: "user busy",
    18: "no user responding",
    19: "no answer from user (user alerted)",
    21: "call rejected",
    27: "destination out of order",
    28: "invalid number format",
    31: "normal, unspecified",
    34: "no circuit/channel available",
    38: "network out of order",
    41: "temporary failure",
    42: "switching equipment congestion",
    44: "requested circuit/channel not available",
    47: "resource unavailable, unspecified",
    58: "bearer capability not presently available",
    102: "recovery on timer expiry",
    111: "protocol error, unspecified",
    127: "interworking, unspecified",
}

DIRECTIONS = ("outbound", "inbound")
PARTIES = ("local", "remote", "network")  # who ended a call: us (a host or the gateway), the far end, the network


@dataclass
class Channel:
    id: str
    group: str
    kind: str                       # "fxo", "fxs", "e1", "modem"
    state: ChannelState = ChannelState.IDLE
    call: str | None = None
    since: float = 0.0
    alarm: str | None = None


@dataclass
class Call:
    id: str
    channel: str
    direction: str
    state: CallState
    to: str = ""                    # DNIS: the number called
    frm: str = ""                   # ANI: the calling number
    name: str = ""
    cause: int | None = None
    by: str | None = None
    times: dict = field(default_factory=dict)       # state value -> wall time it was entered
    tones: list = field(default_factory=list)       # call-progress classes heard, in order
    amd: str | None = None
    beep: bool = False
    answered_by: str | None = None  # how answer was known: "polarity", "cpt", "phone", "signalling", "local"
    meta: dict = field(default_factory=dict)        # what the host asked for (detectors, session)

    @property
    def ended(self) -> bool:
        return self.state is S.DISCONNECTED

    def record(self) -> dict:
        """The call-detail record of the call (for the store and reports)."""
        return {
            "call": self.id, "channel": self.channel, "direction": self.direction,
            "to": self.to, "from": self.frm, "name": self.name, "state": self.state.value,
            "cause": self.cause, "by": self.by, "answered_by": self.answered_by,
            "amd": self.amd, "beep": self.beep, "tones": list(self.tones),
            "times": dict(self.times),
        }


@dataclass(frozen=True)
class Event:
    """A call or channel event as the CTI layer sends it (minus the seq)."""
    name: str
    time: float
    fields: dict

    def wire(self) -> dict:
        return {"event": self.name, "time": round(self.time, 3), **self.fields}


class CallModel:
    """Every channel and call of one gateway. Inputs carry the wall time they
    happened at; ``drain()`` hands out the queued events, oldest first."""

    def __init__(self, call_prefix: str = "c", max_ended: int = 10_000):
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self._ended: deque = deque()     # ids of ended calls, oldest first, forgotten past max_ended
        self._max_ended = max_ended
        self._events: deque = deque()
        self._ids = itertools.count(1)
        self._prefix = call_prefix
        self.refused = 0                 # transitions refused (a stack asked for one a call cannot make)

    # ---- channels ----
    def add_channel(self, channel_id: str, group: str, kind: str, now: float = 0.0) -> Channel:
        if channel_id in self.channels:
            raise UsageError(f"channel {channel_id!r} exists already")
        channel = Channel(channel_id, group, kind, since=now)
        self.channels[channel_id] = channel
        return channel

    def channel(self, channel_id: str) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise UsageError(f"no channel {channel_id!r}") from None

    def set_channel_state(self, channel_id: str, state: ChannelState, now: float) -> None:
        channel = self.channel(channel_id)
        if channel.state is state:
            return
        previous, channel.state, channel.since = channel.state, state, now
        self._emit("channel.state", now, channel=channel.id, state=state.value, previous=previous.value,
                   call=channel.call)

    def set_alarm(self, channel_id: str, alarm: str | None, now: float) -> None:
        """A channel's line alarm (``no-battery``, ``los``, ...) or None when it cleared."""
        channel = self.channel(channel_id)
        if channel.alarm == alarm:
            return
        channel.alarm = alarm
        self._emit("channel.alarm", now, channel=channel.id, alarms=[] if alarm is None else alarm.split(","))
        if alarm is not None and (channel.call is None or self.calls[channel.call].ended):
            self.set_channel_state(channel_id, ChannelState.OUT_OF_SERVICE, now)
        elif alarm is None and channel.state is ChannelState.OUT_OF_SERVICE:
            self.set_channel_state(channel_id, ChannelState.IDLE, now)

    def free(self, channel_id: str, now: float) -> None:
        """The line is back at rest after its call (a phone hung up, the guard time passed)."""
        channel = self.channel(channel_id)
        if channel.call is not None and channel.call in self.calls and not self.calls[channel.call].ended:
            raise UsageError(f"channel {channel_id} still carries call {channel.call}")
        channel.call = None
        self.set_channel_state(channel_id, ChannelState.OUT_OF_SERVICE if channel.alarm else ChannelState.IDLE, now)

    def idle_channels(self, group: str | None = None) -> list[Channel]:
        return [c for c in self.channels.values()
                if c.state is ChannelState.IDLE and c.call is None and (group is None or c.group == group)]

    # ---- calls ----
    def _new_call(self, channel_id: str, direction: str, state: CallState, now: float, **kw) -> Call:
        channel = self.channel(channel_id)
        if channel.call is not None:
            raise UsageError(f"channel {channel_id} is busy with call {channel.call}")
        # A phone on an FXS port dials before its call exists: the channel is seized, not idle.
        if channel.state is not ChannelState.IDLE and not (channel.state is ChannelState.DIALING and direction == "inbound"):
            raise UsageError(f"channel {channel_id} is {channel.state.value}, not idle")
        call = Call(f"{self._prefix}{next(self._ids)}", channel_id, direction, state, **kw)
        call.times[state.value] = now
        self.calls[call.id] = call
        channel.call = call.id
        return call

    def originate(self, channel_id: str, to: str, frm: str, now: float, meta: dict | None = None) -> Call:
        """A call we make on an idle channel: it starts ``dialing``."""
        call = self._new_call(channel_id, "outbound", S.DIALING, now, to=to, frm=frm, meta=dict(meta or {}))
        self.set_channel_state(channel_id, ChannelState.DIALING, now)
        self._emit("call.dialing", now, call=call.id, channel=channel_id, to=to, **{"from": frm})
        return call

    def offer(self, channel_id: str, ani: str, dnis: str, name: str, now: float, meta: dict | None = None) -> Call:
        """A call that comes in on an idle channel: it starts ``offered``."""
        call = self._new_call(channel_id, "inbound", S.OFFERED, now, to=dnis, frm=ani, name=name,
                              meta=dict(meta or {}))
        self.set_channel_state(channel_id, ChannelState.OFFERED, now)
        self._emit("call.offered", now, call=call.id, channel=channel_id, ani=ani, dnis=dnis, name=name)
        return call

    def get(self, call_id: str) -> Call:
        try:
            return self.calls[call_id]
        except KeyError:
            raise UsageError(f"no call {call_id!r}") from None

    def _move(self, call: Call, state: CallState, now: float) -> bool:
        if state not in _NEXT[call.state]:
            self.refused += 1
            return False
        call.state = state
        call.times.setdefault(state.value, now)   # the first time: a retrieved call was connected before
        self.set_channel_state(call.channel, _CHANNEL_FOR[state], now)
        return True

    def proceeding(self, call_id: str, now: float) -> bool:
        call = self.get(call_id)
        if not self._move(call, S.PROCEEDING, now):
            return False
        self._emit("call.proceeding", now, call=call.id, channel=call.channel)
        return True

    def progress(self, call_id: str, tone: str, now: float, **detail) -> None:
        """A call-progress tone was heard (any state; ringback also means alerting)."""
        call = self.get(call_id)
        if call.ended:
            self.refused += 1
            return
        call.tones.append(tone)
        self._emit("call.progress", now, call=call.id, channel=call.channel, tone=tone, **detail)
        if tone == "ringback" and call.state in (S.DIALING, S.PROCEEDING):
            self.alerting(call_id, now)

    def alerting(self, call_id: str, now: float) -> bool:
        call = self.get(call_id)
        if not self._move(call, S.ALERTING, now):
            return False
        self._emit("call.alerting", now, call=call.id, channel=call.channel)
        return True

    def connected(self, call_id: str, now: float, how: str) -> bool:
        call = self.get(call_id)
        if not self._move(call, S.CONNECTED, now):
            return False
        call.answered_by = how
        self._emit("call.connected", now, call=call.id, channel=call.channel, answered_by=how)
        return True

    def held(self, call_id: str, now: float) -> bool:
        call = self.get(call_id)
        if not self._move(call, S.HELD, now):
            return False
        self._emit("call.held", now, call=call.id, channel=call.channel)
        return True

    def retrieved(self, call_id: str, now: float) -> bool:
        call = self.get(call_id)
        if call.state is not S.HELD:
            self.refused += 1
            return False
        self._move(call, S.CONNECTED, now)
        self._emit("call.retrieved", now, call=call.id, channel=call.channel)
        return True

    def disconnected(self, call_id: str, cause: int, by: str, now: float, **detail) -> bool:
        call = self.get(call_id)
        if by not in PARTIES:
            raise UsageError(f"by={by!r}: one of {', '.join(PARTIES)}")
        if not self._move(call, S.DISCONNECTED, now):
            return False
        call.cause, call.by = int(cause), by
        self._emit("call.disconnected", now, call=call.id, channel=call.channel, cause=int(cause),
                   cause_text=CAUSES.get(int(cause), "unknown"), by=by, **detail)
        self._ended.append(call.id)
        while len(self._ended) > self._max_ended:
            self.calls.pop(self._ended.popleft(), None)
        return True

    def amd(self, call_id: str, result: str, now: float, beep: bool = False, **detail) -> None:
        """The answering-machine detector's verdict (``human``, ``machine``, ``notsure``), or a
        beep heard after it (``beep=True``, result unchanged)."""
        call = self.get(call_id)
        if result not in ("human", "machine", "notsure"):
            raise UsageError(f"amd result {result!r}")
        call.amd, call.beep = result, call.beep or beep
        self._emit("call.amd", now, call=call.id, channel=call.channel, result=result, beep=bool(beep), **detail)

    def digits(self, call_id: str, digits: str, now: float, **detail) -> None:
        call = self.get(call_id)
        self._emit("call.digits", now, call=call.id, channel=call.channel, digits=digits, **detail)

    def note(self, event: str, now: float, /, **fields) -> None:
        """Any other event about a call or channel (``call.played``, ``call.recorded``...)."""
        self._emit(event, now, **fields)

    # ---- events ----
    def _emit(self, event: str, now: float, /, **fields) -> None:
        self._events.append(Event(event, now, fields))

    def drain(self) -> list[Event]:
        events = list(self._events)
        self._events.clear()
        return events
