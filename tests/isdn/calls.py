"""A call control under test and the peer's messages to it (tests/isdn helpers)."""

from gateway.isdn import Role
from gateway.isdn.call_control import CallControl, CallControlConfig, SendMessage
from gateway.isdn.ie import (BearerCapability, CalledPartyNumber, CallingPartyNumber, CallState, Cause,
                             ChannelIdentification, ProgressIndicator, SendingComplete)
from gateway.isdn.q931 import Message, MessageType as M, decode_message, encode_message


class Side:
    """One CallControl with its link up, driven by a test as host, peer and clock. ``call``
    is the call under test (its id), ``ref`` and ``outgoing`` its call reference."""

    def __init__(self, role: Role, **config):
        self.role = role
        self.cc = CallControl(role, config=CallControlConfig(**config))
        self.cc.link_established(0.0, confirm=True)
        self.now = 0.0
        self.call = None
        self.ref = None
        self.outgoing = None
        self.last: list = []

    # ---- what goes in ----
    def host(self, name, *args, **kw):
        if name == "setup":
            self.call, out = self.cc.setup(self.now, *args, **kw)
            c = self.cc.by_id[self.call]
            self.ref, self.outgoing = c.call_ref, True
        elif name == "restart":
            out = self.cc.restart(self.now, *args, **kw)
        else:
            out = getattr(self.cc, name)(self.call, self.now, *args, **kw) if name != "information" else \
                self.cc.information(self.call, args[0], self.now, **kw)
        self.last = out
        return out

    def peer(self, mtype, *ies, ref=None, to_originator=None, length=2):
        """A message from the peer on the call under test (or on ``ref``)."""
        if ref is None:
            ref = self.ref
        if to_originator is None:
            to_originator = bool(self.outgoing)
        return self.raw(encode_message(Message(mtype, ref, to_originator, tuple(ies), length)))

    def raw(self, payload: bytes):
        out = self.cc.receive(payload, self.now)
        for event in out:
            if type(event).__name__ == "CallOffered" and self.call is None:
                self.call = event.call
        self.last = out
        return out

    def incoming(self, *extra, number="4000", complete=True, channel=1, exclusive=True, ref=7):
        """The peer's SETUP for a new call."""
        self.ref, self.outgoing = ref, False
        ies = [BearerCapability(0, layer1=3)]
        if channel is not None:
            ies.append(ChannelIdentification((channel,), exclusive=exclusive))
        ies += [CallingPartyNumber("0215551234", 2, 1, 0, 0), CalledPartyNumber(number, 2, 1)]
        ies += list(extra)
        if complete:
            ies.append(SendingComplete())
        out = self.peer(M.SETUP, *ies)
        c = self.cc.calls.get((ref, False))
        if c is not None:
            self.call = c.id
        return out

    def expire(self, timer: str):
        """Move the clock to ``timer``'s deadline on the call under test and tick."""
        c = self.cc.by_id[self.call]
        self.now = c.timers[timer]
        self.last = self.cc.tick(self.now)
        return self.last

    # ---- what comes out ----
    def state(self) -> int:
        return int(self.cc.state_of(self.call))

    def timers(self) -> set:
        c = self.cc.by_id.get(self.call)
        return set(c.timers) if c else set()


def sent(out) -> list[Message]:
    return [decode_message(o.payload) for o in out if isinstance(o, SendMessage)]


def sent_types(out) -> list:
    return [m.type for m in sent(out)]


def event_names(out) -> list:
    return [type(o).__name__ for o in out if not isinstance(o, SendMessage)]


def events(out, cls) -> list:
    return [o for o in out if isinstance(o, cls)]


__all__ = ["Side", "sent", "sent_types", "event_names", "events", "M", "Cause", "CallState", "ProgressIndicator",
           "ChannelIdentification", "CalledPartyNumber", "SendingComplete"]
