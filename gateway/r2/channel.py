"""One MFC/R2 channel (an E1 timeslot with CAS): line signalling and
compelled register signalling together, I/O-free, for calls both ways.

    ch = R2Channel("MX", role="both")
    actions = ch.make_call("5512345678", now, ani="5587654321", category="national")
    ...                           # each input returns the actions to carry out:
    ch.abcd(bits, now)            # the far end's ABCD nibble (board CAS message)
    ch.mf_began(signal, now)      # the MF detector heard signal 1..15 begin ...
    ch.mf_ended(now)              # ... and end
    ch.tick(now)                  # timers; ch.next_deadline says when it is due

Actions (gateway.line_signal): ``SetAbcd`` (send this nibble), ``PlayMf`` /
``StopMf`` (an inter-register signal), ``Detect`` (the detectors the channel
needs: ``mfr2_fwd`` while it is the called side's register, ``mfr2_bwd``
while it is the caller's, ``dtmf`` once connected), ``StopMedia``, and
``Signal`` for the call model:

- ``seized`` an incoming seizure (the register collects the numbers),
- ``offered`` with ``ani``, ``dnis``, ``category`` (its name), ``ani_restricted``,
- ``proceeding`` (outgoing: the far end has the whole number),
- ``alerting`` the call was accepted (``charge``: True, False or None),
- ``connected`` answered (``how="signalling"``),
- ``disconnected`` with a Q.850 ``cause``, ``by`` ("local", "remote",
  "network") and a ``reason``,
- ``free`` the circuit is idle again and may carry the next call,
- ``alarm`` ``alarm="blocked"`` while the far end blocks the circuit, None after,
- ``metering`` a metering pulse (Argentina).

The host's commands: ``make_call``, ``accept`` / ``reject(cause)``,
``answer`` (accepts first when needed), ``hangup(cause)``, ``block`` /
``unblock``. A command that does not fit the channel's state raises
``UsageError``; anything the far end does is answered, never raised:
protocol errors end the call with cause 111 (102 for timers) and are kept
in ``errors``.

Both-way circuits: when both ends seize at once, ``glare="yield"`` gives up
our call (cause 44, reason "glare") and takes theirs, ``glare="hold"``
keeps ours and waits for the far end to yield (configure one end of a
circuit each way, as Q.764 does by circuit parity).
"""

from __future__ import annotations

import collections
import enum

from gateway.errors import UsageError
from gateway.line_signal import Detect, StopMedia, signal
from gateway.r2 import line as ln
from gateway.r2 import register as rg
from gateway.r2.variant import R2Variant, get_variant

ROLES = ("both", "incoming", "outgoing")
GLARE = ("yield", "hold")
CAUSE_GLARE = 44            # Q.850 requested circuit/channel not available
CAUSE_NO_ANSWER = 19        # Q.850 no answer from user (user alerted)
NORMAL = 16


class R2State(enum.Enum):
    IDLE = "idle"
    BLOCKED = "blocked"          # we block the circuit
    SEIZING = "seizing"          # outgoing: waiting for the seizure's acknowledgement
    DIALING = "dialing"          # outgoing: register signalling
    ALERTING = "alerting"        # outgoing: accepted, waiting for answer
    COLLECTING = "collecting"    # incoming: register signalling
    OFFERED = "offered"          # incoming: the host decides
    DECIDING = "deciding"        # incoming: our B-signal is on
    ACCEPTED = "accepted"        # incoming: accepted, not answered yet
    CONNECTED = "connected"
    CLEARING = "clearing"        # the call is over; waiting for the circuit to be idle


class R2Channel:
    def __init__(self, variant: str | R2Variant = "ITU", role: str = "both", *, max_dnis: int = 4,
                 max_ani: int = 10, ani_first: bool | None = None, glare: str = "yield"):
        if role not in ROLES:
            raise UsageError(f"role {role!r}: one of {', '.join(ROLES)}")
        if glare not in GLARE:
            raise UsageError(f"glare {glare!r}: one of {', '.join(GLARE)}")
        self.variant = get_variant(variant)
        self.role, self.glare = role, glare
        self.max_dnis, self.max_ani, self.ani_first = max_dnis, max_ani, ani_first
        rg.IncomingRegister(self.variant, max_dnis, max_ani, ani_first)     # checks the limits now
        self.line = ln.LineSignalling(self.variant)
        self.state = R2State.IDLE
        self.direction: str | None = None
        self.register: rg.OutgoingRegister | rg.IncomingRegister | None = None
        self.call: dict = {}
        self.detect: frozenset = frozenset()
        self.errors: collections.deque = collections.deque(maxlen=16)
        self._setup_deadline: float | None = None
        self._answer_deadline: float | None = None
        self._answer_at: float | None = None
        self._answer_wanted = False
        self._answered_early = False
        self._offered = False        # a call the host knows of (offered or made)
        self._ended = False          # its end signalled

    # ---- time ----
    @property
    def next_deadline(self) -> float | None:
        times = [self.line.deadline, self.register.deadline if self.register else None,
                 self._setup_deadline, self._answer_deadline, self._answer_at if self._answer_wanted else None]
        times = [t for t in times if t is not None]
        return min(times) if times else None

    def tick(self, now: float) -> list:
        actions, events = self.line.tick(now)
        out = actions + self._line_events(events, now)
        if self.register is not None:
            out += self._register_result(self.register.tick(now), now)
        out += self._timers(now)
        return out

    # ---- the far end ----
    def abcd(self, bits: int, now: float) -> list:
        if isinstance(bits, bool) or not isinstance(bits, int) or not 0 <= bits <= 15:
            raise UsageError(f"abcd {bits!r}: a nibble 0..15")
        actions, events = self.line.received(bits, now)
        return actions + self._line_events(events, now)

    def mf_began(self, signal_number: int, now: float) -> list:
        if isinstance(signal_number, bool) or not isinstance(signal_number, int) or not 1 <= signal_number <= 15:
            raise UsageError(f"MF signal {signal_number!r}: 1..15")
        if self.register is None or self.register.done:
            return []
        return self._register_result(self.register.began(signal_number, now), now)

    def mf_ended(self, now: float, signal_number: int | None = None) -> list:
        if self.register is None or self.register.done:
            return []
        if signal_number is not None and self.register.heard is not None and signal_number != self.register.heard:
            return []                # the end of a signal we never took as begun
        return self._register_result(self.register.ended(now), now)

    # ---- the host ----
    def make_call(self, dnis: str, now: float, *, ani: str = "", category: str = "national",
                  ani_restricted: bool = False, detect=()) -> list:
        if self.role == "incoming":
            raise UsageError("an incoming-only channel makes no calls")
        if self.state is not R2State.IDLE:
            raise UsageError(f"the channel is {self.state.value}, not idle")
        register = rg.OutgoingRegister(self.variant, dnis, ani, self.variant.category_signal(category),
                                       restricted=ani_restricted)
        actions = self.line.seize(now)       # raises while the far end blocks or holds the circuit
        self.register, self.direction, self.detect = register, "outgoing", frozenset(detect)
        self.call = {"dnis": dnis, "ani": ani, "category": category, "ani_restricted": ani_restricted}
        self.state, self._setup_deadline = R2State.SEIZING, now + self.variant.timers.setup
        self._offered, self._ended, self._answered_early = True, False, False
        return actions

    def accept(self, now: float, charge: bool = True) -> list:
        if self.state is not R2State.OFFERED:
            raise UsageError(f"nothing to accept: the channel is {self.state.value}")
        self.state = R2State.DECIDING
        return self._register_result(self.register.accept(now, charge), now)

    def reject(self, cause: int, now: float) -> list:
        if self.state is not R2State.OFFERED:
            raise UsageError(f"nothing to reject: the channel is {self.state.value}")
        self.state = R2State.DECIDING
        return self._register_result(self.register.refuse(cause, now), now)

    def answer(self, now: float) -> list:
        """Answer an incoming call (accepting it with charge first if the host has not)."""
        if self.state is R2State.OFFERED:
            self._answer_wanted = True
            return self.accept(now)
        if self.state is R2State.DECIDING and self.register.accepting:
            self._answer_wanted = True
            return []
        if self.state is R2State.ACCEPTED:
            self._answer_wanted = True
            return self._timers(now)
        raise UsageError(f"nothing to answer: the channel is {self.state.value}")

    def hangup(self, now: float, cause: int = NORMAL) -> list:
        st = self.state
        if st in (R2State.IDLE, R2State.BLOCKED, R2State.CLEARING):
            return []
        if st is R2State.OFFERED:
            return self.reject(cause, now)
        return self._end(now, cause, "local", "hangup")

    def block(self, now: float) -> list:
        """Block the circuit to incoming calls (at once when idle, else when the call ends)."""
        actions = self.line.block(now)
        if self.line.state is ln.Line.BLOCKING:
            self.state = R2State.BLOCKED
        return actions

    def unblock(self, now: float) -> list:
        actions = self.line.unblock(now)
        if self.state is R2State.BLOCKED:
            self.state = R2State.IDLE
        return actions

    # ---- inside ----
    def _error(self, what: str, now: float) -> None:
        self.errors.append((now, self.state.value, what))

    def _timers(self, now: float) -> list:
        out = []
        if self._setup_deadline is not None and now >= self._setup_deadline:
            self._setup_deadline = None
            if self.state is R2State.OFFERED:
                # The host never decided: refuse, as the caller is still waiting.
                out += self.reject(rg.CAUSE_TIMEOUT, now)
            elif self.state in (R2State.DIALING, R2State.COLLECTING, R2State.SEIZING):
                self._error("call set-up took too long", now)
                out += self._end(now, rg.CAUSE_TIMEOUT, "network", "setup-timeout")
        if self._answer_deadline is not None and now >= self._answer_deadline:
            self._answer_deadline = None
            if self.state is R2State.ALERTING:
                out += self._end(now, CAUSE_NO_ANSWER, "remote", "no-answer")
        if self._answer_at is not None and now >= self._answer_at and self._answer_wanted:
            self._answer_at = None
            if self.state is R2State.ACCEPTED:
                self.state = R2State.CONNECTED
                out += self.line.answer(now) + self._connected()
        return out

    def _connected(self) -> list:
        return [Detect(frozenset({"dtmf"}) | self.detect), signal("connected", how="signalling")]

    def _end(self, now: float, cause: int, by: str, reason: str) -> list:
        """End the call from our side (or after a failure) and wait for the circuit to rest."""
        out = self.register.abort() if self.register is not None else []
        self._setup_deadline = self._answer_deadline = self._answer_at = None
        if self.direction == "outgoing":
            out += self.line.clear_forward(now)
        elif self.direction == "incoming":
            out += self.line.clear_back(now)
        self.state = R2State.CLEARING
        return out + self._ended_signal(cause, by, reason)

    def _ended_signal(self, cause: int, by: str, reason: str | None) -> list:
        """The call's end, once; a seizure that never became a call ends without a word."""
        if self._ended:
            return []
        self._ended = True
        out = [StopMedia(), Detect(frozenset())]
        if self._offered:
            out.append(signal("disconnected", cause=cause, by=by, reason=reason))
        return out

    def _rest(self, now: float) -> list:
        """The circuit is idle again."""
        self.register, self.direction, self.call = None, None, {}
        self._setup_deadline = self._answer_deadline = self._answer_at = None
        self._answer_wanted = self._offered = False
        self.state = R2State.BLOCKED if self.line.state is ln.Line.BLOCKING else R2State.IDLE
        return [signal("free")]

    def _line_events(self, events: list, now: float) -> list:
        out = []
        for event in events:
            out += self._line_event(event, now)
        return out

    def _line_event(self, event, now: float) -> list:
        st = self.state
        if isinstance(event, ln.Seized):
            if self.role == "outgoing":
                self._error("seized on an outgoing-only channel; not acknowledged", now)
                return []
            return self._incoming(now)
        if isinstance(event, ln.SeizeAcknowledged):
            self.state = R2State.DIALING
            actions, events = self.register.start(now)
            return [Detect(frozenset({"mfr2_bwd"}))] + actions + self._register_events(events, now)
        if isinstance(event, ln.Glare):
            if self.glare == "hold":
                return []               # the far end is to yield: its acknowledgement will come
            out = self.register.abort() if self.register is not None else []
            out += self._ended_signal(CAUSE_GLARE, "network", "glare")
            if self.role == "outgoing":
                # We may not take their call either: release; the far end times out.
                self.state = R2State.CLEARING
                return out + self.line.clear_forward(now)
            return out + [signal("free")] + self._incoming(now)
        if isinstance(event, ln.Answered):
            if st is R2State.ALERTING:
                self.state, self._answer_deadline = R2State.CONNECTED, None
                return self._connected()
            if st is R2State.DIALING:
                self._answered_early = True      # before the accepting signal ended (openr2 sees this too)
            return []
        if isinstance(event, (ln.ClearedBack, ln.ForcedRelease)):
            if st in (R2State.DIALING, R2State.ALERTING, R2State.CONNECTED):
                reason = "clear-back" if isinstance(event, ln.ClearedBack) else "forced-release"
                return self._end(now, NORMAL, "remote", reason)
            return []
        if isinstance(event, ln.BothYielded):
            self._error("glare: both ends gave way", now)
            out = self.register.abort() if self.register is not None else []
            return out + [Detect(frozenset())] + self._rest(now)
        if isinstance(event, ln.MeteringPulse):
            return [signal("metering")]
        if isinstance(event, ln.Released):
            return self._rest(now)
        if isinstance(event, ln.ClearedForward):
            out = self.register.abort() if self.register is not None else []
            out += self._ended_signal(NORMAL, "remote", "clear-forward")
            return out + self.line.release(now) + self._rest(now)
        if isinstance(event, ln.FarBlocked):
            return [signal("alarm", alarm="blocked" if event.blocked else None)]
        if isinstance(event, ln.LineTimeout):
            if event.what == "seize-ack":
                self._error("no seize acknowledgement", now)
                return self._end(now, rg.CAUSE_TIMEOUT, "network", "no-seize-ack")
            self._error("no release guard after clear-forward: the far end holds the circuit", now)
            return self._rest(now)
        if isinstance(event, ln.UnexpectedPattern):
            self._error(f"line signal {event}", now)
            if st in (R2State.IDLE, R2State.BLOCKED, R2State.CLEARING):
                return []
            return self._end(now, rg.CAUSE_PROTOCOL, "network", f"unexpected line signal ({event})")
        return []

    def _incoming(self, now: float) -> list:
        self.register = rg.IncomingRegister(self.variant, self.max_dnis, self.max_ani, self.ani_first)
        self.direction, self.state, self.call = "incoming", R2State.COLLECTING, {}
        self._setup_deadline = now + self.variant.timers.setup
        self._offered = self._ended = self._answer_wanted = False
        self.detect = frozenset()
        actions = self.line.acknowledge(now)
        self.register.start(now)
        return actions + [Detect(frozenset({"mfr2_fwd"})), signal("seized", direction="inbound")]

    def _register_result(self, result: tuple[list, list], now: float) -> list:
        actions, events = result
        return actions + self._register_events(events, now)

    def _register_events(self, events: list, now: float) -> list:
        out = []
        for event in events:
            out += self._register_event(event, now)
        return out

    def _register_event(self, event, now: float) -> list:
        v = self.variant
        if isinstance(event, rg.AddressComplete):
            return [signal("proceeding")]
        if isinstance(event, rg.Offered):
            self.state, self._offered = R2State.OFFERED, True
            self.call = {"dnis": event.dnis, "ani": event.ani, "ani_restricted": event.ani_restricted,
                         "category": v.category_name(event.category)}
            return [signal("offered", ani=event.ani, dnis=event.dnis, name="", category=self.call["category"],
                           ani_restricted=event.ani_restricted)]
        if isinstance(event, rg.Accepted):
            if self.direction == "outgoing":
                self._setup_deadline = None
                out = [Detect(frozenset()), signal("alerting", charge=event.charge)]
                if self._answered_early:
                    self.state = R2State.CONNECTED
                    return out + self._connected()
                self.state, self._answer_deadline = R2State.ALERTING, now + v.timers.answer
                return out
            self.state, self._setup_deadline = R2State.ACCEPTED, None
            self._answer_at = now + v.timers.answer_delay
            return [Detect(frozenset()), signal("alerting", charge=event.charge)]
        if isinstance(event, rg.Refused):
            if self.direction == "outgoing":
                return self._end(now, event.cause, "remote", event.refusal.replace("_", "-"))
            # We refused: the caller clears forward next.
            self.state, self._setup_deadline = R2State.CLEARING, None
            return self._ended_signal(event.cause, "local", event.refusal.replace("_", "-"))
        if isinstance(event, rg.Failed):
            self._error(event.reason, now)
            return self._end(now, event.cause, "network", event.reason)
        return []

    def describe(self) -> str:
        return f"{self.variant.name} {self.state.value} (line {self.line.describe()})"
