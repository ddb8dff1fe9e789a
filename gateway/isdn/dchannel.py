"""One primary rate D-channel: LAPD (gateway.isdn.q921) carrying Q.931 call control
(gateway.isdn.call_control), the two joined as Q.921's primitives join them.

I/O-free, like its parts: ``receive(frame, now)`` takes an HDLC frame from the span
(boards/PROTOCOL.md message 0x14: no flags, no FCS), ``tick(now)`` runs the timers of both
layers, the host's commands (``setup``, ``answer``, ``hangup``...) are the call control's.
Outputs: ``SendFrame`` (an HDLC frame for the span), the call events of call_control,
``DChannelUp`` / ``DChannelDown``, and for the log the data link's ``ErrorReported`` and
``FrameDiscarded`` and call control's ``ProtocolError``.

The data link of a primary rate interface is kept up (Q.931 5.8.9 asks layer 3 to
re-establish it after a failure): ``start`` sets it up, and whenever it goes down without
``stop`` it is set up again after T200 (the pause libpri also makes, so that a peer that
refuses is not flooded with SABME).

``to_signal`` turns call events into the ``line_signal.Signal`` the call model takes, the
shape the analog stacks give (gateway.loopstart).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.isdn import Role
from gateway.isdn.call_control import (CallAlerting, CallConnected, CallControl, CallControlConfig, CallDisconnected,
                                       CallOffered, CallProceeding, CallProgressed, CallReleased, DigitsReceived,
                                       Q931Timers, SendMessage)
from gateway.isdn.q921 import (DataLink, DataReceived, FrameDiscarded, LapdParameters, LinkEstablished, LinkReleased,
                               LinkState)
from gateway.isdn.switch_type import EUROISDN_E1, SwitchType, switch_type
from gateway.line_signal import Signal, signal


@dataclass(frozen=True)
class DChannelUp:
    """The data link is in multiple frame operation: calls can be made."""


@dataclass(frozen=True)
class DChannelDown:
    """The data link is not in multiple frame operation (released, failed, being re-established)."""


class DChannel:
    """Q.921 and Q.931 for one D-channel; ``role`` USER for a gateway facing a carrier."""

    def __init__(self, role: Role, switch: str | SwitchType = EUROISDN_E1, *, lapd: LapdParameters | None = None,
                 timers: Q931Timers | None = None, config: CallControlConfig | None = None):
        self.role = role
        self.switch = switch_type(switch)
        self.link = DataLink(role, lapd)
        self.calls = CallControl(role, self.switch, timers, config)
        self.running = False
        self.relink_at: float | None = None
        self._up = False

    @property
    def up(self) -> bool:
        return self.link.established

    @property
    def next_deadline(self) -> float | None:
        times = [t for t in (self.link.next_deadline, self.calls.next_deadline, self.relink_at) if t is not None]
        return min(times) if times else None

    # ---- the span ----
    def start(self, now: float) -> list:
        """DL-ESTABLISH: bring the data link up and keep it up."""
        self.running = True
        if self.link.state is not LinkState.TEI_ASSIGNED:
            return []          # up, or on its way: a DL-ESTABLISH now would reset it
        return self._run(self.link.establish(now), now)

    def stop(self, now: float) -> list:
        """DL-RELEASE: take the data link down and leave it down."""
        self.running, self.relink_at = False, None
        return self._run(self.link.release(now), now)

    def receive(self, frame: bytes, now: float) -> list:
        out = self._run(self.link.receive(frame, now, defer_ack=True), now)
        return out + self._run(self.link.send_pending_ack(now), now)

    def tick(self, now: float) -> list:
        out = []
        if self.relink_at is not None and now >= self.relink_at:
            self.relink_at = None
            if self.running and self.link.state is LinkState.TEI_ASSIGNED:
                out += self._run(self.link.establish(now), now)
        out += self._run(self.link.tick(now), now)
        out += self._run(self.calls.tick(now), now)
        return out

    # ---- the host (see CallControl for each) ----
    def setup(self, now: float, called: str, b_channel: int | None = None, **kw) -> tuple[int, list]:
        call, items = self.calls.setup(now, called, b_channel, **kw)
        return call, self._run(items, now)

    def proceeding(self, call: int, now: float) -> list:
        return self._run(self.calls.proceeding(call, now), now)

    def alerting(self, call: int, now: float, inband: bool = False) -> list:
        return self._run(self.calls.alerting(call, now, inband), now)

    def progress(self, call: int, now: float, description: int = 8) -> list:
        return self._run(self.calls.progress(call, now, description), now)

    def answer(self, call: int, now: float) -> list:
        return self._run(self.calls.answer(call, now), now)

    def information(self, call: int, digits: str, now: float, complete: bool = False) -> list:
        return self._run(self.calls.information(call, digits, now, complete), now)

    def hangup(self, call: int, now: float, cause: int = 16) -> list:
        return self._run(self.calls.hangup(call, now, cause), now)

    def restart(self, now: float, channels=None) -> list:
        return self._run(self.calls.restart(now, channels), now)

    # ---- inside: Q.921 primitives to Q.931 and back ----
    def _run(self, items: list, now: float) -> list:
        out: list = []
        pending = list(items)
        while pending:
            item = pending.pop(0)
            if isinstance(item, SendMessage):
                pending[0:0] = self.link.send(item.payload, now)
            elif isinstance(item, DataReceived):
                if item.unit:          # broadcast call offering (UI) is basic access's, not a PRI's
                    out.append(FrameDiscarded("UI frame: no broadcast on a point-to-point interface",
                                              item.payload))
                else:
                    pending[0:0] = self.calls.receive(item.payload, now)
            elif isinstance(item, LinkEstablished):
                pending[0:0] = self.calls.link_established(now, item.confirm)
            elif isinstance(item, LinkReleased):
                pending[0:0] = self.calls.link_released(now, item.confirm)
            else:
                out.append(item)
        if self.running and self.link.state is LinkState.TEI_ASSIGNED and self.relink_at is None:
            self.relink_at = now + self.link.params.t200
        if self.link.established != self._up:
            self._up = self.link.established
            out.append(DChannelUp() if self._up else DChannelDown())
        return out


def to_signal(event) -> tuple[int, int | None, Signal] | None:
    """(call id, B-channel, Signal for the call model) for a call event; None for the rest.
    The Signal kinds and fields are the ones runtime.Gateway takes from the analog stacks."""
    if isinstance(event, CallOffered):
        return event.call, event.b_channel, signal("offered", ani=event.calling, dnis=event.called,
                                                   name=event.display or "", presentation=event.presentation)
    if isinstance(event, CallProceeding):
        return event.call, event.b_channel, signal("proceeding")
    if isinstance(event, CallAlerting):
        return event.call, event.b_channel, signal("alerting")
    if isinstance(event, CallProgressed):
        return event.call, None, signal("progress", tone="in-band" if event.description == 8 else
                                        f"progress-{event.description}")
    if isinstance(event, CallConnected):
        return event.call, event.b_channel, signal("connected", how="signalling")
    if isinstance(event, CallDisconnected):
        return event.call, None, signal("disconnected", cause=event.cause, by=event.by, reason=event.reason)
    if isinstance(event, CallReleased):
        return event.call, event.b_channel, signal("free")
    if isinstance(event, DigitsReceived):
        return event.call, None, signal("digits", digits=event.digits)
    return None
