"""Q.931 call control for one primary rate interface, user side (TE) or network side (NT):
the calls' states U0-U25 / N0-N25 and timers, B-channel selection, RESTART on the global
call reference, and the answers clause 5.8 prescribes for whatever arrives.

Sources: ITU-T Q.931 (05/98) clause 5 (5.1 call establishment at the originating
interface, 5.2 at the destination interface, 5.3 call clearing, 5.5 restart, 5.8 handling
of error conditions) and Annex A (the SDL); ETSI EN 300 403-1 for EuroISDN's choices.
State numbers are Q.931's: a call the user originates passes 1-4 on both sides, one the
network originates 6-9 and 25.

I/O-free. Inputs: ``receive(payload, now)`` (a DL-DATA indication), the link's state
(``link_established`` / ``link_released``), the host's commands (``setup``, ``proceeding``,
``alerting``, ``progress``, ``answer``, ``information``, ``hangup``, ``restart``) and
``tick(now)`` at ``next_deadline``. Each returns a list: ``SendMessage`` for layer 2, and
events for the host (``CallOffered``, ``CallProceeding``, ``CallAlerting``...), which carry
the call's id (an int ``setup`` returns or ``CallOffered`` gives).

Choices Q.931 leaves open, and what this implementation does:
- An unknown call reference is answered with RELEASE COMPLETE cause 81 (5.8.3.2 a allows
  RELEASE or RELEASE COMPLETE).
- A STATUS that reports a state not compatible with ours (5.8.11) is answered by RELEASE
  with cause 101. Compatible: the same state, a state of the same phase (establishment of
  a call the user made, 1-4, or of one the network made, 6-9 and 25) or Active, and any
  clearing state (11, 12, 19) on either side, as messages may be in flight.
- After a data link reset (5.8.8) a call in an establishment state or Active gets a
  STATUS ENQUIRY (T322), so that a message lost with the old link is noticed.
- Calls cleared without a message (the link failed before they were Active, T309, a
  RESTART) are reported with cause 27 "destination out of order" (link) or 41 "temporary
  failure" (restart).
- A CONNECT ACKNOWLEDGE that crosses our clearing message (we answered and hung up at
  once) is taken quietly in the clearing states, not answered with STATUS 101.
- The network side passes N8 and N11 at once: the host that stands behind the network is
  told in the same step, so CONNECT is acknowledged and DISCONNECT released at once.
- When T308 expires twice the B-channel is put in maintenance (5.3.4.3) and a RESTART of
  it is sent; it is back when RESTART ACKNOWLEDGE comes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from gateway.errors import Q931Error, UsageError
from gateway.isdn import Role
from gateway.isdn.ie import (BearerCapability, CalledPartyNumber, CallingPartyNumber, CallState, Cause,
                             ChannelIdentification, Display, ProgressIndicator, RawIe, RedirectingNumber,
                             RestartIndicator, SendingComplete, comprehension_required, ie_name)
from gateway.isdn.q931 import GLOBAL_CALL_REFERENCE, Message, MessageType, decode_message, encode_message, \
    mandatory_ies
from gateway.isdn.switch_type import EUROISDN_E1, SwitchType, switch_type

M = MessageType
KEYPAD_FACILITY = 0x2C


class State(enum.IntEnum):
    """Q.931 5 / Annex A call states (U for the user side, N for the network side)."""
    NULL = 0
    CALL_INITIATED = 1
    OVERLAP_SENDING = 2
    OUTGOING_CALL_PROCEEDING = 3
    CALL_DELIVERED = 4
    CALL_PRESENT = 6
    CALL_RECEIVED = 7
    CONNECT_REQUEST = 8
    INCOMING_CALL_PROCEEDING = 9
    ACTIVE = 10
    DISCONNECT_REQUEST = 11
    DISCONNECT_INDICATION = 12
    RELEASE_REQUEST = 19
    OVERLAP_RECEIVING = 25


S = State
USER_ORIGINATED = frozenset({S.CALL_INITIATED, S.OVERLAP_SENDING, S.OUTGOING_CALL_PROCEEDING, S.CALL_DELIVERED})
NETWORK_ORIGINATED = frozenset({S.CALL_PRESENT, S.CALL_RECEIVED, S.CONNECT_REQUEST, S.INCOMING_CALL_PROCEEDING,
                                S.OVERLAP_RECEIVING})
CLEARING = frozenset({S.DISCONNECT_REQUEST, S.DISCONNECT_INDICATION, S.RELEASE_REQUEST})
OVERLAP = frozenset({S.OVERLAP_SENDING, S.OVERLAP_RECEIVING})
# The global call reference's states (Q.931 5.5 and 4.5.7: REST 0, REST 1, REST 2).
REST0, REST1, REST2 = 0, 61, 62


def state_name(role: Role, state: int) -> str:
    return f"{'U' if role is Role.USER else 'N'}{int(state)}"


# Where each message is expected (Q.931 Annex A); elsewhere it gets STATUS 101 (5.8.4).
# RELEASE, RELEASE COMPLETE, STATUS and STATUS ENQUIRY are taken in every state.
_ANY = frozenset(S) - {S.NULL}
EXPECTED = {
    Role.USER: {
        M.SETUP_ACKNOWLEDGE: {S.CALL_INITIATED},
        M.CALL_PROCEEDING: {S.CALL_INITIATED, S.OVERLAP_SENDING},
        M.ALERTING: {S.CALL_INITIATED, S.OVERLAP_SENDING, S.OUTGOING_CALL_PROCEEDING},
        M.CONNECT: {S.CALL_INITIATED, S.OVERLAP_SENDING, S.OUTGOING_CALL_PROCEEDING, S.CALL_DELIVERED},
        M.CONNECT_ACKNOWLEDGE: {S.CONNECT_REQUEST, S.DISCONNECT_REQUEST, S.RELEASE_REQUEST},
        M.PROGRESS: {S.CALL_INITIATED, S.OVERLAP_SENDING, S.OUTGOING_CALL_PROCEEDING, S.CALL_DELIVERED},
        M.INFORMATION: _ANY - {S.CALL_INITIATED, S.CALL_PRESENT, S.RELEASE_REQUEST},
        M.DISCONNECT: _ANY - {S.DISCONNECT_INDICATION, S.RELEASE_REQUEST},
        M.NOTIFY: _ANY - {S.RELEASE_REQUEST},
    },
    Role.NETWORK: {
        M.SETUP_ACKNOWLEDGE: {S.CALL_PRESENT},
        M.CALL_PROCEEDING: {S.CALL_PRESENT, S.OVERLAP_RECEIVING},
        M.ALERTING: {S.CALL_PRESENT, S.INCOMING_CALL_PROCEEDING, S.OVERLAP_RECEIVING},
        M.CONNECT: {S.CALL_PRESENT, S.CALL_RECEIVED, S.INCOMING_CALL_PROCEEDING, S.OVERLAP_RECEIVING},
        M.CONNECT_ACKNOWLEDGE: {S.ACTIVE, S.DISCONNECT_INDICATION, S.RELEASE_REQUEST},
        M.PROGRESS: {S.CALL_RECEIVED, S.INCOMING_CALL_PROCEEDING, S.OVERLAP_RECEIVING},
        M.INFORMATION: _ANY - {S.CALL_INITIATED, S.CALL_PRESENT, S.RELEASE_REQUEST},
        M.DISCONNECT: _ANY - {S.RELEASE_REQUEST},
        M.NOTIFY: _ANY - {S.RELEASE_REQUEST},
    },
}
ALWAYS = frozenset({M.RELEASE, M.RELEASE_COMPLETE, M.STATUS, M.STATUS_ENQUIRY})
IMPLEMENTED = ALWAYS | set(EXPECTED[Role.USER]) | {M.SETUP, M.RESTART, M.RESTART_ACKNOWLEDGE}
CLEARING_MESSAGES = frozenset({M.DISCONNECT, M.RELEASE, M.RELEASE_COMPLETE})


@dataclass(frozen=True)
class Q931Timers:
    """Seconds. Defaults from the switch type by side (Q.931 Tables 9-1 and 9-2)."""
    t301: float = 180.0   # network: ALERTING received, waiting for CONNECT
    t302: float = 15.0    # overlap: SETUP ACK sent, waiting for more INFORMATION
    t303: float = 4.0     # SETUP sent
    t304: float = 30.0    # overlap: INFORMATION sent (after SETUP ACK received)
    t305: float = 30.0    # DISCONNECT sent
    t308: float = 4.0     # RELEASE sent
    t309: float = 90.0    # data link failed with calls Active
    t310: float = 30.0    # CALL PROCEEDING received
    t313: float = 4.0     # user: CONNECT sent
    t316: float = 120.0   # RESTART sent
    t322: float = 4.0     # STATUS ENQUIRY sent

    @classmethod
    def defaults(cls, switch: SwitchType, role: Role, **overrides) -> "Q931Timers":
        return cls(**{**switch.timer_defaults(role), **overrides})


@dataclass(frozen=True)
class CallControlConfig:
    auto_proceeding: bool = True         # answer a complete incoming call with CALL PROCEEDING at once
    overlap_receiving: bool = False      # a SETUP without Sending Complete: SETUP ACK, collect INFORMATION
    number_length: int = 0               # overlap: this many digits complete the number (0: T302 or Sending Complete)
    wait_inband_on_disconnect: bool = False  # user: DISCONNECT with in-band tones waits in U12 for hangup()
    enquire_after_reset: bool = True     # STATUS ENQUIRY for calls after a data link reset (5.8.8)
    status_enquiries: int = 3            # STATUS ENQUIRY sent this many times before the call is cleared
    cause_location: int | None = None    # location in causes we give (default: see CallControl.__init__)


# ---- outputs ----

@dataclass(frozen=True)
class SendMessage:
    """A Q.931 message for the data link (DL-DATA request)."""
    payload: bytes
    message: Message = field(compare=False, default=None)


@dataclass(frozen=True)
class CallOffered:
    """An incoming call, its number complete. ``calling`` is the ANI, ``called`` the DNIS;
    ``presentation`` 0 allowed, 1 restricted, 2 not available (Q.931 4.5.10)."""
    call: int
    b_channel: int
    called: str
    calling: str
    presentation: int = 0
    screening: int = 0
    calling_type: int = 0
    calling_plan: int = 0
    called_type: int = 0
    called_plan: int = 0
    redirecting: str | None = None
    display: str | None = None
    transfer_capability: int = 0


@dataclass(frozen=True)
class SetupAcknowledged:
    """Our SETUP was answered with SETUP ACKNOWLEDGE: send the rest of the number with ``information``."""
    call: int
    b_channel: int | None


@dataclass(frozen=True)
class CallProceeding:
    call: int
    b_channel: int | None


@dataclass(frozen=True)
class CallAlerting:
    call: int
    b_channel: int | None
    inband: bool = False


@dataclass(frozen=True)
class CallProgressed:
    """PROGRESS (or a progress indicator in another message): ``description`` 8 means in-band
    tones or announcements are on the B-channel."""
    call: int
    description: int
    location: int = 0


@dataclass(frozen=True)
class CallConnected:
    call: int
    b_channel: int | None


@dataclass(frozen=True)
class DigitsReceived:
    """INFORMATION on a call already offered (or keypad digits)."""
    call: int
    digits: str
    complete: bool = False


@dataclass(frozen=True)
class CallDisconnected:
    """The call ended: ``by`` "local" (the host hung up), "remote" (the far party) or
    "network" (the interface or this stack: a timer, an error, the link); ``cause`` Q.850."""
    call: int
    cause: int
    by: str
    location: int = 0
    reason: str | None = None
    inband: bool = False


@dataclass(frozen=True)
class CallReleased:
    """The call reference is free and the B-channel idle again."""
    call: int
    b_channel: int | None


@dataclass(frozen=True)
class ChannelsRestarted:
    """B-channels returned to idle by RESTART: ``channels`` None for all of them; ``by``
    "remote" (the peer sent RESTART) or "local" (our RESTART was acknowledged)."""
    channels: tuple | None
    by: str


@dataclass(frozen=True)
class RestartFailed:
    """Our RESTART was not acknowledged after the switch type's attempts: the channels stay out of service."""
    channels: tuple | None


@dataclass(frozen=True)
class StatusReceived:
    """A STATUS from the peer: its state for the call and its cause (30 when it answers an enquiry)."""
    call: int | None
    state: int
    cause: int


@dataclass(frozen=True)
class ProtocolError:
    """A message ignored or answered under Q.931 5.8 (``response`` the message type we
    answered with, if any), for the log."""
    call_ref: int | None
    cause: int | None
    text: str
    response: str | None = None


class _Call:
    __slots__ = ("id", "call_ref", "outgoing", "state", "b_channel", "exclusive", "timers", "tries", "cause",
                 "known", "reported", "channel_sent", "digits", "complete", "setup", "enquiries", "user_originated",
                 "last_release")

    def __init__(self, call_id, call_ref, outgoing, state, user_originated):
        self.id, self.call_ref, self.outgoing, self.state = call_id, call_ref, outgoing, state
        self.user_originated = user_originated
        self.b_channel: int | None = None
        self.exclusive = True
        self.timers: dict[str, float] = {}
        self.tries: dict[str, int] = {}
        self.cause: Cause | None = None      # the cause of our first clearing message
        self.known = False                   # the host knows the call (it made it, or it was offered)
        self.reported = False                # CallDisconnected given
        self.channel_sent = False            # our first answer (with channel identification) went out
        self.digits = ""                     # overlap: the called number so far
        self.complete = False
        self.setup: Message | None = None    # the SETUP (ours, for T303's retransmission)
        self.last_release: Message | None = None   # our RELEASE, for T308's
        self.enquiries = 0


class CallControl:
    """Layer 3 of one D-channel. ``role`` is our side; ``switch`` a name or a SwitchType."""

    def __init__(self, role: Role, switch: str | SwitchType = EUROISDN_E1, timers: Q931Timers | None = None,
                 config: CallControlConfig | None = None):
        self.role = role
        self.switch = switch_type(switch)
        self.timers = timers or Q931Timers.defaults(self.switch, role)
        self.config = config or CallControlConfig()
        # Locations of the causes we give (Q.850 2.2.4): the user's own; on the network side, the
        # local network for the stack's causes and the remote user's network for the host's,
        # who stands for the far party behind the network.
        self.location = self.config.cause_location
        self.host_location = self.config.cause_location
        if self.location is None:
            self.location = 0 if role is Role.USER else 2
            self.host_location = 0 if role is Role.USER else 4
        self.calls: dict[tuple[int, bool], _Call] = {}     # (call reference, we chose it) -> call
        self.by_id: dict[int, _Call] = {}
        self.channel_calls: dict[int, int] = {}            # B-channel -> call id
        self.maintenance: set[int] = set()                 # B-channels out of service until restarted
        self.link_up = False
        self.global_state = REST0
        self.restart_channels: tuple | None = None         # the RESTART under way (None: all)
        self.restart_deadline: float | None = None
        self.restart_tries = 0
        self.restart_queue: list = []
        self._next_id = 1
        self._next_ref = 1
        self._max_ref = (1 << (8 * self.switch.call_reference_length - 1)) - 1
        self._out: list = []
        self.counters = {"received": 0, "sent": 0, "ignored": 0, "status_sent": 0}

    # ---------------------------------------------------------------- queries
    @property
    def next_deadline(self) -> float | None:
        times = [t for call in self.calls.values() for t in call.timers.values()]
        if self.restart_deadline is not None:
            times.append(self.restart_deadline)
        return min(times) if times else None

    def state_of(self, call_id: int) -> State:
        call = self.by_id.get(call_id)
        return S.NULL if call is None else call.state

    def channel_of(self, call_id: int) -> int | None:
        call = self.by_id.get(call_id)
        return None if call is None else call.b_channel

    def free_channels(self) -> list[int]:
        return [c for c in self.switch.b_channels if self._channel_free(c)]

    # ---------------------------------------------------------------- the host
    def setup(self, now: float, called: str, b_channel: int | None = None, *, calling: str = "",
              presentation: int = 0, screening: int | None = None, calling_type: int = 0, calling_plan: int = 1,
              called_type: int = 0, called_plan: int = 1, exclusive: bool = True, complete: bool = True,
              bearer: BearerCapability | None = None, display: str | None = None,
              redirecting: RedirectingNumber | None = None) -> tuple[int, list]:
        """Place a call: SETUP, T303. Returns the call's id and the outputs. ``b_channel``
        None takes the lowest free one (as preferred on the user side, exclusive on the
        network side); ``complete`` False leaves Sending Complete out for overlap sending."""
        if not self.link_up:
            raise UsageError("the D-channel is down: no call can be placed")
        if b_channel is None:
            free = self.free_channels()
            if not free:
                raise UsageError("no free B-channel")
            b_channel = free[0]
            exclusive = exclusive and self.role is Role.NETWORK
        elif b_channel not in self.switch.b_channels:
            raise UsageError(f"B-channel {b_channel} does not exist on {self.switch.name} "
                             f"({self.switch.b_channels[0]}..{self.switch.b_channels[-1]})")
        elif not self._channel_free(b_channel):
            raise UsageError(f"B-channel {b_channel} is busy")
        call = self._new_call(self._allocate_ref(), outgoing=True,
                              state=S.CALL_INITIATED if self.role is Role.USER else S.CALL_PRESENT)
        call.known = True
        call.exclusive = exclusive
        self._take_channel(call, b_channel)
        ies = [bearer or BearerCapability(BearerCapability.SPEECH, layer1=BearerCapability.G711_ALAW),
               ChannelIdentification((b_channel,), exclusive=exclusive)]
        if display:
            ies.append(Display(display))
        if calling or presentation:
            ies.append(CallingPartyNumber(calling, calling_type, calling_plan, presentation,
                                          screening if screening is not None else (3 if self.role is Role.NETWORK
                                                                                   else 0)))
        ies.append(CalledPartyNumber(called, called_type, called_plan))
        if redirecting is not None:
            ies.append(redirecting)
        if complete:
            ies.append(SendingComplete())
        call.digits, call.complete = called, complete
        call.setup = self._send(call, M.SETUP, ies)
        self._start(call, "t303", now)
        call.tries["t303"] = 0
        return call.id, self._take()

    def proceeding(self, call_id: int, now: float) -> list:
        """CALL PROCEEDING for an incoming call (the number is complete, no more wanted)."""
        call = self._host_call(call_id, "proceeding")
        if call.state in (S.CALL_PRESENT, S.OVERLAP_RECEIVING) and self.role is Role.USER:
            self._stop(call, "t302")
            self._answer_first(call, M.CALL_PROCEEDING)
            call.state = S.INCOMING_CALL_PROCEEDING
        elif call.state in (S.CALL_INITIATED, S.OVERLAP_SENDING) and self.role is Role.NETWORK:
            self._stop(call, "t302")
            self._answer_first(call, M.CALL_PROCEEDING)
            call.state = S.OUTGOING_CALL_PROCEEDING
        else:
            raise self._wrong_state(call, "proceeding")
        return self._take()

    def alerting(self, call_id: int, now: float, inband: bool = False) -> list:
        """ALERTING: the called party is being rung (``inband``: ringback is on the B-channel)."""
        call = self._host_call(call_id, "alerting")
        ies = [ProgressIndicator(ProgressIndicator.INBAND_AVAILABLE, self.location)] if inband else []
        if self.role is Role.USER and call.state in (S.CALL_PRESENT, S.OVERLAP_RECEIVING,
                                                     S.INCOMING_CALL_PROCEEDING):
            self._stop(call, "t302")
            self._answer_first(call, M.ALERTING, ies)
            call.state = S.CALL_RECEIVED
        elif self.role is Role.NETWORK and call.state in (S.CALL_INITIATED, S.OVERLAP_SENDING,
                                                          S.OUTGOING_CALL_PROCEEDING):
            self._stop(call, "t302")
            self._answer_first(call, M.ALERTING, ies)
            call.state = S.CALL_DELIVERED
        else:
            raise self._wrong_state(call, "alerting")
        return self._take()

    def progress(self, call_id: int, now: float, description: int = ProgressIndicator.INBAND_AVAILABLE) -> list:
        """PROGRESS: in-band information (tones, announcements) on an incoming call's B-channel."""
        call = self._host_call(call_id, "progress")
        allowed = ({S.INCOMING_CALL_PROCEEDING, S.CALL_RECEIVED, S.OVERLAP_RECEIVING} if self.role is Role.USER
                   else {S.OUTGOING_CALL_PROCEEDING, S.CALL_DELIVERED, S.OVERLAP_SENDING})
        if call.state not in allowed or not call.channel_sent:
            raise self._wrong_state(call, "progress")
        self._send(call, M.PROGRESS, [ProgressIndicator(description, self.location)])
        return self._take()

    def answer(self, call_id: int, now: float) -> list:
        """CONNECT: the called party answered."""
        call = self._host_call(call_id, "answer")
        if self.role is Role.USER and call.state in (S.CALL_PRESENT, S.OVERLAP_RECEIVING, S.INCOMING_CALL_PROCEEDING,
                                                     S.CALL_RECEIVED):
            self._stop(call, "t302")
            self._answer_first(call, M.CONNECT)
            call.state = S.CONNECT_REQUEST
            self._start(call, "t313", now)
        elif self.role is Role.NETWORK and call.state in (S.CALL_INITIATED, S.OVERLAP_SENDING,
                                                          S.OUTGOING_CALL_PROCEEDING, S.CALL_DELIVERED):
            self._stop(call, "t302")
            self._answer_first(call, M.CONNECT)
            call.state = S.ACTIVE
            self._event(CallConnected(call.id, call.b_channel))
        else:
            raise self._wrong_state(call, "answer")
        return self._take()

    def information(self, call_id: int, digits: str, now: float, complete: bool = False) -> list:
        """More of the called number (overlap sending, after SETUP ACKNOWLEDGE), or keypad
        digits on a call under way."""
        call = self._host_call(call_id, "information")
        if call.state in (S.NULL, S.CALL_INITIATED, S.CALL_PRESENT) or call.state in CLEARING:
            raise self._wrong_state(call, "information")
        ies = [CalledPartyNumber(digits)] if digits else []
        if complete:
            ies.append(SendingComplete())
        self._send(call, M.INFORMATION, ies)
        if call.state in OVERLAP and call.outgoing:
            self._start(call, "t304", now)
        return self._take()

    def hangup(self, call_id: int, now: float, cause: int = 16) -> list:
        """End or refuse a call with a Q.850 ``cause``: RELEASE COMPLETE for an incoming call
        not yet answered in any way, DISCONNECT otherwise, RELEASE after the peer's
        DISCONNECT. Nothing when the call is already clearing."""
        call = self.by_id.get(call_id)
        if call is None:
            return []
        if not 1 <= cause <= 127:
            raise UsageError(f"cause {cause}: 1..127")
        st = call.state
        user = self.role is Role.USER
        if st is S.RELEASE_REQUEST or st is (S.DISCONNECT_REQUEST if user else S.DISCONNECT_INDICATION):
            return []             # our clearing message is out already
        given = Cause(cause, self.host_location)
        self._report(call, cause, "local", given.location)
        reject_state = S.CALL_PRESENT if user else S.CALL_INITIATED
        if st is reject_state and not call.channel_sent:
            self._send(call, M.RELEASE_COMPLETE, [given])
            self._release(call)
        elif st is S.DISCONNECT_INDICATION:       # U12: the network's DISCONNECT came first
            self._send_release(call, given, now)
        else:
            self._disconnect(call, given, now)
        return self._take()

    def restart(self, now: float, channels=None) -> list:
        """RESTART: return ``channels`` (an iterable of B-channel numbers; None for all) to
        idle. Calls on them are cleared at once (cause 41); the channels are out of service
        until RESTART ACKNOWLEDGE."""
        if channels is not None:
            channels = tuple(sorted(set(channels)))
            for c in channels:
                if c not in self.switch.b_channels:
                    raise UsageError(f"B-channel {c} does not exist on {self.switch.name}")
        self._restart(channels, now)
        return self._take()

    def _restart(self, channels, now):
        if self.global_state != REST0:
            self.restart_queue.append(channels)
        else:
            self._start_restart(channels, now)

    # ---------------------------------------------------------------- the link
    def link_established(self, now: float, confirm: bool = False) -> list:
        """DL-ESTABLISH confirm or indication (Q.931 5.8.8 and 5.8.9)."""
        self.link_up = True
        for call in list(self.calls.values()):
            if "t309" in call.timers:
                # 5.8.9: the link is back in time; report our state to the peer.
                self._stop(call, "t309")
                self._send_status(call, 31)
            elif not confirm:
                if call.state in OVERLAP:
                    self._report(call, 41, "network", self.location, reason="data link reset")
                    self._disconnect(call, Cause(41, self.location), now)
                elif call.state not in CLEARING and self.config.enquire_after_reset:
                    self._enquire(call, now)
        return self._take()

    def link_released(self, now: float, confirm: bool = False) -> list:
        """DL-RELEASE indication or confirm (Q.931 5.8.9): calls not Active are cleared
        here (cause 27); Active ones wait T309 for the link to come back."""
        self.link_up = False
        for call in list(self.calls.values()):
            if call.state is S.ACTIVE:
                if "t309" not in call.timers:
                    self._start(call, "t309", now)
            else:
                self._report(call, 27, "network", self.location, reason="data link failure")
                self._release(call)
        return self._take()

    # ---------------------------------------------------------------- time
    def tick(self, now: float) -> list:
        if self.restart_deadline is not None and now >= self.restart_deadline:
            self._t316_expired(now)
        for call in list(self.calls.values()):
            while call.timers and self.calls.get((call.call_ref, call.outgoing)) is call:
                name, deadline = min(call.timers.items(), key=lambda kv: kv[1])
                if deadline > now:
                    break
                del call.timers[name]
                getattr(self, f"_{name}_expired")(call, now)
        return self._take()

    # ---------------------------------------------------------------- the peer
    def receive(self, payload: bytes, now: float) -> list:
        self.counters["received"] += 1
        try:
            msg = decode_message(payload, self.switch.call_reference_length)
        except Q931Error as exc:
            self._ignored(None, None, str(exc))
            return self._take()
        if msg.call_ref_length == 0:
            self._ignored(None, None, f"{msg.name} with the dummy call reference: no supplementary "
                                      "service that uses it is implemented")
        elif msg.is_global:
            self._receive_global(msg, now)
        else:
            call = self.calls.get((msg.call_ref, msg.to_originator))
            if call is None:
                self._unknown_call_reference(msg, now)
            else:
                self._receive_for_call(call, msg, now)
        return self._take()

    def _receive_for_call(self, call: _Call, msg: Message, now: float):
        mtype = msg.type
        if mtype not in IMPLEMENTED or mtype is M.SETUP:
            if mtype is M.SETUP:     # 5.8.3.2 e: a SETUP for a call reference in use is ignored
                return self._ignored(call.call_ref, None, "SETUP for a call reference already in use")
            return self._status_error(call, 97, f"{msg.name} is not implemented")
        if mtype in (M.RESTART, M.RESTART_ACKNOWLEDGE):
            return self._status_error(call, 81, f"{msg.name} needs the global call reference")
        if mtype not in ALWAYS and call.state not in EXPECTED[self.role][mtype]:
            return self._status_error(call, 101, f"{msg.name} in state {state_name(self.role, call.state)}")
        verdict = self._verdict(msg)
        if verdict.missing is not None and mtype not in CLEARING_MESSAGES:
            # 5.8.6: no action on the message, STATUS with 96 or 100.
            return self._status_error(call, verdict.missing, verdict.text)
        getattr(self, f"_rx_{mtype.name.lower()}")(call, msg, now, verdict)
        if verdict.optional is not None and mtype not in CLEARING_MESSAGES and \
                self.calls.get((call.call_ref, call.outgoing)) is call and mtype is not M.STATUS:
            self._status_error(call, verdict.optional, verdict.text)

    # ---- 5.8.6 / 5.8.7: what the elements' defects call for ----
    def _verdict(self, msg: Message) -> "_Verdict":
        from_network = self.role is Role.USER
        mandatory = set(mandatory_ies(msg.type, from_network))
        missing = [ie for ie in mandatory if not msg.has(ie)]
        defective = {d.ie_id for d in msg.defects if d.codeset == 0 and d.kind != "unrecognized"}
        for d in msg.defects:
            if d.kind == "unrecognized" and comprehension_required(d.ie_id, d.codeset):
                missing.append(d.ie_id)         # 5.8.7.1: handled as a missing mandatory element
        bad_mandatory = [ie for ie in mandatory if ie in defective]
        if missing:
            names = ", ".join(ie_name(ie) for ie in missing)
            return _Verdict(96, None, f"{msg.name}: mandatory {names} missing or not understood", missing)
        if bad_mandatory:
            first = next(d for d in msg.defects if d.ie_id in bad_mandatory)
            return _Verdict(100, None, f"{msg.name}: {first.error}", bad_mandatory)
        unrecognized = [d for d in msg.defects if d.kind == "unrecognized" and d.codeset == 0]
        if unrecognized:
            return _Verdict(None, 99, f"{msg.name}: {unrecognized[0].error}", [d.ie_id for d in unrecognized])
        for d in msg.defects:
            if d.codeset == 0 or d.kind == "truncated":
                return _Verdict(None, d.error.cause, f"{msg.name}: {d.error}", [d.ie_id])
        return _NO_DEFECT

    # ---- messages for a known call ----
    def _rx_setup_acknowledge(self, call, msg, now, verdict):
        self._stop(call, "t303")
        if not self._take_answered_channel(call, msg, now):
            return
        call.state = S.OVERLAP_SENDING if self.role is Role.USER else S.OVERLAP_RECEIVING
        self._start(call, "t304", now)
        self._progress_in(call, msg)
        self._event(SetupAcknowledged(call.id, call.b_channel))

    def _rx_call_proceeding(self, call, msg, now, verdict):
        self._stop(call, "t303", "t304")
        if not self._take_answered_channel(call, msg, now):
            return
        call.state = S.OUTGOING_CALL_PROCEEDING if self.role is Role.USER else S.INCOMING_CALL_PROCEEDING
        self._start(call, "t310", now)
        self._event(CallProceeding(call.id, call.b_channel))
        self._progress_in(call, msg)

    def _rx_alerting(self, call, msg, now, verdict):
        self._stop(call, "t303", "t304", "t310")
        if not self._take_answered_channel(call, msg, now):
            return
        if self.role is Role.USER:
            call.state = S.CALL_DELIVERED
        else:
            call.state = S.CALL_RECEIVED
            self._start(call, "t301", now)
        progress = msg.get(ProgressIndicator)
        self._event(CallAlerting(call.id, call.b_channel,
                                 progress is not None and progress.description == ProgressIndicator.INBAND_AVAILABLE))

    def _rx_connect(self, call, msg, now, verdict):
        self._stop(call, "t303", "t304", "t310", "t301")
        if not self._take_answered_channel(call, msg, now):
            return
        call.state = S.ACTIVE
        if self.role is Role.NETWORK or self.switch.user_acknowledges_connect:
            self._send(call, M.CONNECT_ACKNOWLEDGE, [])
        self._event(CallConnected(call.id, call.b_channel))

    def _rx_connect_acknowledge(self, call, msg, now, verdict):
        if call.state is S.CONNECT_REQUEST:   # U8: the network took our CONNECT
            self._stop(call, "t313")
            call.state = S.ACTIVE
            self._event(CallConnected(call.id, call.b_channel))
        # N10: the user's optional acknowledgement of our CONNECT. In a clearing state: an
        # acknowledgement that crossed our clearing message; nothing to do either.

    def _rx_progress(self, call, msg, now, verdict):
        if self.role is Role.USER:
            self._stop(call, "t310")     # 5.1.6: the network is working on it
        self._progress_in(call, msg)

    def _rx_information(self, call, msg, now, verdict):
        number = msg.get(CalledPartyNumber)
        digits = number.digits if number else ""
        keypad = next((ie for ie in msg.ies if isinstance(ie, RawIe) and ie.ie_id == KEYPAD_FACILITY
                       and ie.codeset == 0), None)
        if keypad is not None:
            digits += keypad.body.decode("ascii", "replace")
        complete = msg.get(SendingComplete) is not None
        collecting = not call.outgoing and call.state in OVERLAP and not call.known
        if collecting:
            call.digits += digits
            self._collect(call, now, complete)
        elif digits or complete:
            if call.known:
                self._event(DigitsReceived(call.id, digits, complete))

    def _rx_notify(self, call, msg, now, verdict):
        pass      # a notification (user suspended, resumed...): nothing changes for the call

    def _rx_disconnect(self, call, msg, now, verdict):
        cause = msg.get(Cause)
        value = cause.value if cause is not None and verdict.missing is None else 16
        location = cause.location if cause is not None else 0
        st = call.state
        call.timers.clear()
        answer = Cause(verdict.missing or verdict.optional or value, self.location) \
            if (verdict.missing or verdict.optional) else None
        if st is S.DISCONNECT_REQUEST or (self.role is Role.NETWORK and st is S.DISCONNECT_INDICATION):
            # 5.3.5 clear collision: both sent DISCONNECT; RELEASE settles it.
            self._send_release(call, answer or call.cause or Cause(value, self.location), now)
            return
        progress = msg.get(ProgressIndicator)
        inband = progress is not None and progress.description == ProgressIndicator.INBAND_AVAILABLE
        self._report(call, value, self._by(location, value), location, inband=inband)
        if self.role is Role.USER and inband and self.config.wait_inband_on_disconnect and answer is None:
            call.state = S.DISCONNECT_INDICATION     # 5.3.4.1: listen to the tones until the host hangs up
            return
        self._send_release(call, answer or Cause(value, self.location), now)

    def _rx_release(self, call, msg, now, verdict):
        cause = msg.get(Cause)
        first_clearing = call.state not in CLEARING
        value = cause.value if cause is not None else 31
        if call.state is S.RELEASE_REQUEST:       # 5.3.5: RELEASE crossed ours
            self._report(call, value, self._by(cause.location if cause else 0, value),
                         cause.location if cause else 0)
            self._release(call)
            return
        answer = None
        if verdict.missing is not None or (cause is None and first_clearing):
            answer = Cause(verdict.missing or 96, self.location)
        elif verdict.optional is not None:
            answer = Cause(verdict.optional, self.location)
        self._report(call, value, self._by(cause.location if cause else 0, value), cause.location if cause else 0)
        self._send(call, M.RELEASE_COMPLETE, [answer] if answer else [])
        self._release(call)

    def _rx_release_complete(self, call, msg, now, verdict):
        cause = msg.get(Cause)
        value = cause.value if cause is not None else 31
        location = cause.location if cause is not None else 0
        if call.state in (S.CALL_INITIATED, S.CALL_PRESENT) and call.outgoing and not call.reported:
            reason = "rejected"
        else:
            reason = None
        self._report(call, value, self._by(location, value), location, reason=reason)
        self._release(call)

    def _rx_status_enquiry(self, call, msg, now, verdict):
        self._send_status(call, 30)

    def _rx_status(self, call, msg, now, verdict):
        cause, state = msg.get(Cause), msg.get(CallState)    # both there: _verdict checked
        self._event(StatusReceived(call.id if call.known else None, state.state, cause.value))
        if "t322" in call.timers:
            self._stop(call, "t322")
            call.enquiries = 0
        peer = state.state
        if peer == 0:
            # 5.8.11: the peer has no such call; release ours without a message.
            self._report(call, cause.value if cause.value != 30 else 41, "network", cause.location,
                         reason="peer in null state")
            self._release(call)
        elif not self._compatible(call, peer):
            self._report(call, 101, "network", self.location,
                         reason=f"peer in state {peer}, we are in {state_name(self.role, call.state)}")
            call.timers.clear()
            self._send_release(call, Cause(101, self.location), now)

    def _compatible(self, call, peer: int) -> bool:
        if call.state in CLEARING or peer in CLEARING:
            return True
        group = USER_ORIGINATED if call.user_originated else NETWORK_ORIGINATED
        return peer == call.state or peer in group | {S.ACTIVE}

    # ---- a call reference we do not know (5.8.3.2) ----
    def _unknown_call_reference(self, msg: Message, now: float):
        mtype, ref = msg.type, msg.call_ref
        if mtype is M.SETUP:
            if msg.to_originator:
                return self._ignored(ref, None, "SETUP with the call reference flag set (5.8.3.2 d)")
            return self._incoming_setup(msg, now)
        if mtype is M.RELEASE_COMPLETE:
            return self._ignored(ref, None, "RELEASE COMPLETE for an unknown call reference")
        if mtype is M.STATUS:
            state = msg.get(CallState)
            if state is not None and state.state == 0:
                return self._ignored(ref, None, "STATUS (null state) for an unknown call reference")
            return self._reply(msg, M.RELEASE_COMPLETE, [Cause(101, self.location)], 101,
                               "STATUS for an unknown call reference")
        if mtype is M.STATUS_ENQUIRY:
            return self._reply(msg, M.STATUS, [Cause(30, self.location), CallState(0)], None, None)
        return self._reply(msg, M.RELEASE_COMPLETE, [Cause(81, self.location)], 81,
                           f"{msg.name} for an unknown call reference {ref}")

    def _incoming_setup(self, msg: Message, now: float):
        verdict = self._verdict(msg)
        if verdict.missing is not None:
            return self._reply(msg, M.RELEASE_COMPLETE, [Cause(verdict.missing, self.location)], verdict.missing,
                               verdict.text)
        bearer = msg.get(BearerCapability)
        if bearer.transfer_capability not in (BearerCapability.SPEECH, BearerCapability.AUDIO_3K1) or \
                bearer.transfer_mode != 0 or bearer.transfer_rate != 0x10:
            return self._reply(msg, M.RELEASE_COMPLETE, [Cause(65, self.location)], 65,
                               f"SETUP: bearer capability {bearer} is not a 64 kbit/s voice call")
        channel, cause, why = self._choose_channel(msg.get(ChannelIdentification))
        if channel is None:
            return self._reply(msg, M.RELEASE_COMPLETE, [Cause(cause, self.location)], cause, f"SETUP: {why}")
        call = self._new_call(msg.call_ref, outgoing=False,
                              state=S.CALL_PRESENT if self.role is Role.USER else S.CALL_INITIATED)
        self._take_channel(call, channel)
        call.setup = msg
        number = msg.get(CalledPartyNumber)
        call.digits = number.digits if number else ""
        complete = msg.get(SendingComplete) is not None
        if self.config.overlap_receiving and not complete and not self._number_complete(call):
            self._answer_first(call, M.SETUP_ACKNOWLEDGE)
            call.state = S.OVERLAP_RECEIVING if self.role is Role.USER else S.OVERLAP_SENDING
            self._start(call, "t302", now)
        else:
            self._offer(call, now)
        if verdict.optional is not None:      # 5.8.7: acted on; say what was not understood
            self._status_error(call, verdict.optional, verdict.text)

    def _choose_channel(self, ident: ChannelIdentification | None):
        """(channel, None, None) or (None, cause, why) for an incoming SETUP (Q.931 5.1.2, 5.2.3)."""
        if ident is None:
            if self.role is Role.USER:
                return None, 96, "channel identification missing"
            free = self.free_channels()
            return (free[0], None, None) if free else (None, 34, "no B-channel free")
        if ident.interface_id is not None:
            return None, 82, "an interface identifier: only this one interface is served"
        if ident.d_channel or not ident.primary:
            return None, 82, "channel identification does not name a primary rate B-channel"
        if ident.selection == ChannelIdentification.NO_CHANNEL:
            return None, 34, "SETUP asks for no channel"
        if ident.selection == ChannelIdentification.ANY_CHANNEL:
            free = self.free_channels()
            return (free[0], None, None) if free else (None, 34, "no B-channel free")
        if ident.selection != ChannelIdentification.AS_INDICATED:
            return None, 100, f"information channel selection {ident.selection} is reserved on a primary rate"
        if ident.map or ident.channel_type != ChannelIdentification.B_CHANNEL_UNITS or len(ident.channels) != 1:
            return None, 66, "only one B-channel by number is implemented (no slot map, H0 or multirate)"
        wanted = ident.channels[0]
        if wanted not in self.switch.b_channels:
            return None, 82, f"B-channel {wanted} does not exist on {self.switch.name}"
        if self._channel_free(wanted):
            return wanted, None, None
        if ident.exclusive:
            return None, 44, f"B-channel {wanted} (exclusive) is busy"
        free = self.free_channels()
        return (free[0], None, None) if free else (None, 34, "no B-channel free")

    def _number_complete(self, call) -> bool:
        n = self.config.number_length
        return bool(n) and len(call.digits) >= n

    def _collect(self, call, now, complete: bool):
        if complete or self._number_complete(call):
            self._stop(call, "t302")
            call.complete = True
            self._offer(call, now)
        else:
            self._start(call, "t302", now)

    def _offer(self, call, now):
        setup = call.setup
        calling = setup.get(CallingPartyNumber)
        called = setup.get(CalledPartyNumber)
        redirecting = setup.get(RedirectingNumber)
        display = setup.get(Display)
        bearer = setup.get(BearerCapability)
        call.known = True
        self._event(CallOffered(
            call.id, call.b_channel, call.digits, calling.digits if calling else "",
            (calling.presentation or 0) if calling else 2, (calling.screening or 0) if calling else 0,
            calling.type_of_number if calling else 0, calling.numbering_plan if calling else 0,
            called.type_of_number if called else 0, called.numbering_plan if called else 0,
            redirecting.digits if redirecting else None, display.text if display else None,
            bearer.transfer_capability))
        if self.config.auto_proceeding:
            self._answer_first(call, M.CALL_PROCEEDING)
            call.state = S.INCOMING_CALL_PROCEEDING if self.role is Role.USER else S.OUTGOING_CALL_PROCEEDING

    def _take_answered_channel(self, call, msg, now) -> bool:
        """The channel the first answer to our SETUP names (5.1.2). False when it cannot be
        used: the call is then cleared with cause 6 (channel unacceptable)."""
        ident = msg.get(ChannelIdentification)
        if ident is None or not ident.indicated or not ident.channels:
            return True
        chosen = ident.channels[0]
        if chosen == call.b_channel:
            return True
        if call.exclusive or chosen not in self.switch.b_channels or not self._channel_free(chosen):
            self._report(call, 6, "network", self.location, reason=f"answer names B-channel {chosen}")
            call.timers.clear()
            self._send_release(call, Cause(6, self.location), now)
            return False
        self._free_channel(call)
        self._take_channel(call, chosen)
        return True

    def _progress_in(self, call, msg):
        progress = msg.get(ProgressIndicator)
        if progress is not None and call.known:
            self._event(CallProgressed(call.id, progress.description, progress.location))

    # ---- the global call reference: RESTART (5.5) ----
    def _receive_global(self, msg: Message, now: float):
        if msg.type is M.RESTART:
            return self._rx_restart(msg, now)
        if msg.type is M.RESTART_ACKNOWLEDGE:
            if self.global_state != REST1:
                return self._ignored(0, None, "RESTART ACKNOWLEDGE with no RESTART of ours under way")
            channels = self.restart_channels
            self._finish_restart(now)
            self._event(ChannelsRestarted(channels, "local"))
            return None
        if msg.type is M.STATUS:
            state, cause = msg.get(CallState), msg.get(Cause)
            self._event(StatusReceived(None, state.state if state else -1, cause.value if cause else -1))
            return None
        return self._reply(msg, M.STATUS, [Cause(81, self.location), CallState(self.global_state)], 81,
                           f"{msg.name} with the global call reference")

    def _rx_restart(self, msg: Message, now: float):
        indicator = msg.get(RestartIndicator)
        verdict = self._verdict(msg)
        if verdict.missing is not None:
            return self._reply(msg, M.STATUS, [Cause(verdict.missing, self.location), CallState(self.global_state)],
                               verdict.missing, verdict.text)
        ident = msg.get(ChannelIdentification)
        if indicator.restart_class == RestartIndicator.INDICATED_CHANNELS:
            if ident is None:
                return self._reply(msg, M.STATUS, [Cause(96, self.location), CallState(self.global_state)], 96,
                                   "RESTART of indicated channels without a channel identification")
            bad = [c for c in ident.channels if c not in self.switch.b_channels]
            if not ident.channels or bad or ident.map:
                return self._reply(msg, M.STATUS, [Cause(82, self.location), CallState(self.global_state)], 82,
                                   f"RESTART of channels {list(ident.channels) or 'by map'}: not B-channels "
                                   f"of {self.switch.name}")
            channels = tuple(sorted(set(ident.channels)))
        else:
            channels = None
        self._clear_channels(channels, now, "remote")
        for c in (channels or self.switch.b_channels):
            self.maintenance.discard(c)
        ies = [ie for ie in (ident, indicator) if ie is not None]
        self._send_global(M.RESTART_ACKNOWLEDGE, ies, to_originator=True)
        self._event(ChannelsRestarted(channels, "remote"))

    def _start_restart(self, channels, now):
        self._clear_channels(channels, now, "local")
        for c in (channels or self.switch.b_channels):
            self.maintenance.add(c)
        self.global_state, self.restart_channels, self.restart_tries = REST1, channels, 1
        self._send_restart()
        self.restart_deadline = now + self.timers.t316

    def _send_restart(self):
        if self.restart_channels is None:
            ies = [RestartIndicator(self.switch.interface_restart_class)]
        else:
            ies = [ChannelIdentification(self.restart_channels), RestartIndicator(RestartIndicator.INDICATED_CHANNELS)]
        self._send_global(M.RESTART, ies)

    def _t316_expired(self, now):
        self.restart_deadline = None
        if self.restart_tries < self.switch.restart_attempts:
            self.restart_tries += 1
            self._send_restart()
            self.restart_deadline = now + self.timers.t316
            return
        channels = self.restart_channels
        self.global_state, self.restart_channels = REST0, None
        self._event(RestartFailed(channels))
        self._next_restart(now)

    def _finish_restart(self, now):
        for c in (self.restart_channels or self.switch.b_channels):
            self.maintenance.discard(c)
        self.global_state, self.restart_channels, self.restart_deadline = REST0, None, None
        self._next_restart(now)

    def _next_restart(self, now):
        if self.restart_queue:
            self._start_restart(self.restart_queue.pop(0), now)

    def _clear_channels(self, channels, now, by):
        for call in list(self.calls.values()):
            if channels is None or call.b_channel in channels:
                self._report(call, 41, "network" if by == "remote" else "local", self.location, reason="restart")
                self._release(call)

    # ---- timers ----
    def _t303_expired(self, call, now):
        if self.switch.setup_retransmit and call.tries.get("t303", 0) == 0:
            call.tries["t303"] = 1
            self._resend(call.setup)
            self._start(call, "t303", now)
            return
        # 5.1.1 / 5.2.1: no answer to SETUP twice.
        cause = 102 if self.role is Role.USER else 18
        self._report(call, cause, "network" if self.role is Role.USER else "remote", self.location,
                     reason="no answer to SETUP (T303)")
        self._send(call, M.RELEASE_COMPLETE, [Cause(102, self.location)])
        self._release(call)

    def _t302_expired(self, call, now):
        if call.digits:
            call.complete = True
            self._offer(call, now)
        else:
            self._disconnect(call, Cause(28, self.location), now)

    def _t304_expired(self, call, now):
        self._report(call, 102 if self.role is Role.USER else 28, "network", self.location,
                     reason="overlap: no answer to INFORMATION (T304)")
        self._disconnect(call, Cause(102, self.location), now)

    def _t310_expired(self, call, now):
        self._report(call, 102 if self.role is Role.USER else 18, "network" if self.role is Role.USER else "remote",
                     self.location, reason="no ALERTING or CONNECT after CALL PROCEEDING (T310)")
        self._disconnect(call, Cause(102, self.location), now)

    def _t301_expired(self, call, now):
        self._report(call, 19, "remote", self.location, reason="no answer (T301)")
        self._disconnect(call, Cause(19, self.location), now)

    def _t313_expired(self, call, now):
        self._report(call, 102, "network", self.location, reason="CONNECT not acknowledged (T313)")
        self._disconnect(call, Cause(102, self.location), now)

    def _t305_expired(self, call, now):
        self._send_release(call, call.cause or Cause(102, self.location), now)

    def _t308_expired(self, call, now):
        if self.switch.release_retransmit and call.tries.get("t308", 0) == 0:
            call.tries["t308"] = 1
            self._resend(call.last_release)
            self._start(call, "t308", now)
            return
        # 5.3.4.3: the channel goes to maintenance until it is restarted.
        channel = call.b_channel
        self._release(call)
        if channel is not None:
            self.maintenance.add(channel)
            self._restart((channel,), now)

    def _t309_expired(self, call, now):
        self._report(call, 27, "network", self.location, reason="data link not back in time (T309)")
        self._release(call)

    def _t322_expired(self, call, now):
        if call.enquiries < self.config.status_enquiries:
            self._enquire(call, now)
            return
        self._report(call, 41, "network", self.location, reason="no answer to STATUS ENQUIRY (T322)")
        self._disconnect(call, Cause(41, self.location), now)

    # ---------------------------------------------------------------- inside
    def _new_call(self, call_ref, outgoing, state) -> _Call:
        user_originated = outgoing == (self.role is Role.USER)
        call = _Call(self._next_id, call_ref, outgoing, state, user_originated)
        self._next_id += 1
        self.calls[(call_ref, outgoing)] = call
        self.by_id[call.id] = call
        return call

    def _allocate_ref(self) -> int:
        for _ in range(self._max_ref):
            ref = self._next_ref
            self._next_ref = ref % self._max_ref + 1
            if (ref, True) not in self.calls:
                return ref
        raise UsageError("no call reference free")

    def _channel_free(self, channel: int) -> bool:
        return channel not in self.channel_calls and channel not in self.maintenance

    def _take_channel(self, call, channel):
        call.b_channel = channel
        self.channel_calls[channel] = call.id

    def _free_channel(self, call):
        if call.b_channel is not None and self.channel_calls.get(call.b_channel) == call.id:
            del self.channel_calls[call.b_channel]

    def _host_call(self, call_id, what) -> _Call:
        call = self.by_id.get(call_id)
        if call is None:
            raise UsageError(f"{what}: no call {call_id}")
        return call

    def _wrong_state(self, call, what) -> UsageError:
        return UsageError(f"{what}: call {call.id} is in state {state_name(self.role, call.state)}")

    def _answer_first(self, call, mtype, ies=()):
        """An answer to the peer's SETUP; the first one names the B-channel (5.1.2, 5.2.3)."""
        ies = list(ies)
        if not call.channel_sent:
            ies.insert(0, ChannelIdentification((call.b_channel,), exclusive=True))
            call.channel_sent = True
        self._send(call, mtype, ies)

    def _disconnect(self, call, cause: Cause, now):
        call.timers.clear()
        call.cause = cause
        self._send(call, M.DISCONNECT, [cause])
        call.state = S.DISCONNECT_REQUEST if self.role is Role.USER else S.DISCONNECT_INDICATION
        self._start(call, "t305", now)

    def _send_release(self, call, cause: Cause, now):
        call.timers.clear()
        if call.cause is None:
            call.cause = cause
        call.last_release = self._send(call, M.RELEASE, [cause])
        call.state = S.RELEASE_REQUEST
        call.tries["t308"] = 0
        self._start(call, "t308", now)

    def _send_status(self, call, cause: int):
        self.counters["status_sent"] += 1
        self._send(call, M.STATUS, [Cause(cause, self.location), CallState(int(call.state))])

    def _status_error(self, call, cause, text):
        """5.8: answer with STATUS (our state unchanged) and say so."""
        self._send_status(call, cause)
        self._event(ProtocolError(call.call_ref, cause, text, "STATUS"))

    def _enquire(self, call, now):
        call.enquiries += 1
        self._send(call, M.STATUS_ENQUIRY, [])
        self._start(call, "t322", now)

    def _report(self, call, cause, by, location, reason=None, inband=False):
        if call.known and not call.reported:
            call.reported = True
            self._event(CallDisconnected(call.id, int(cause), by, location, reason, inband))

    def _release(self, call):
        """Back to Null: the call reference and the channel are free."""
        call.timers.clear()
        call.state = S.NULL
        self.calls.pop((call.call_ref, call.outgoing), None)
        self.by_id.pop(call.id, None)
        self._free_channel(call)
        if call.known:
            self._event(CallReleased(call.id, call.b_channel))

    def _by(self, location: int, cause: int) -> str:
        """Who cleared a call the peer cleared. On the network side the peer is the user. On
        the user side: the far party for the causes a user gives (Q.850 class "normal event":
        normal clearing, busy, no answer, rejected) or a cause located at a user; the
        network for the rest (no circuit, congestion, unallocated number...). The location
        alone does not tell: networks locate a far user's normal clearing at themselves."""
        if self.role is Role.NETWORK or location == 0:
            return "remote"
        return "remote" if cause in _FAR_PARTY_CAUSES else "network"

    def _send(self, call, mtype, ies) -> Message:
        msg = Message(mtype, call.call_ref, to_originator=not call.outgoing, ies=tuple(ies),
                      call_ref_length=self.switch.call_reference_length)
        self._resend(msg)
        return msg

    def _resend(self, msg: Message):
        self.counters["sent"] += 1
        self._out.append(SendMessage(encode_message(msg), msg))

    def _send_global(self, mtype, ies, to_originator=False):
        """A message on the global call reference; the flag as for any call (Q.931 4.3): 0 from
        the side that began the procedure (RESTART), 1 toward it (RESTART ACKNOWLEDGE)."""
        self._resend(Message(mtype, GLOBAL_CALL_REFERENCE, to_originator, tuple(ies),
                             self.switch.call_reference_length))

    def _reply(self, msg: Message, mtype, ies, cause, text):
        """A message on the received one's call reference, with no call behind it."""
        self._resend(Message(mtype, msg.call_ref, not msg.to_originator, tuple(ies), msg.call_ref_length))
        if text:
            self._event(ProtocolError(msg.call_ref, cause, text, mtype.label))

    def _ignored(self, call_ref, cause, text):
        self.counters["ignored"] += 1
        self._event(ProtocolError(call_ref, cause, text))

    def _start(self, call, name, now):
        call.timers[name] = now + getattr(self.timers, name)

    @staticmethod
    def _stop(call, *names):
        for name in names:
            call.timers.pop(name, None)

    def _event(self, event):
        self._out.append(event)

    def _take(self) -> list:
        out, self._out = self._out, []
        return out


@dataclass(frozen=True)
class _Verdict:
    missing: int | None        # 96 or 100: a mandatory element missing or defective (5.8.6)
    optional: int | None       # 99, 100 or 95: an optional element not recognised, defective or cut (5.8.7)
    text: str | None
    ies: list = field(default_factory=list)


_NO_DEFECT = _Verdict(None, None, None)
# Q.850 causes a called party gives: normal clearing, user busy, no user responding, no answer
# (user alerted), call rejected, normal unspecified.
_FAR_PARTY_CAUSES = frozenset({16, 17, 18, 19, 21, 31})
