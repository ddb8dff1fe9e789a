"""Q.921 LAPD on a primary rate D-channel: the frame codec and the data link of one
point-to-point connection (SAPI 0, TEI 0), for either side of the interface.

Sources: ITU-T Q.921 (09/97) clauses 3 (frame structure), 5 (procedures) and Annex B
(the SDL the state machine follows: states, primitives, "establish data link", "transmit
enquiry", "N(R) error recovery", "invoke retransmission"); ETSI EN 300 125 adopts it.
Frames are what a card's HDLC controller hands over: address, control, information,
without the flags and the FCS (boards/PROTOCOL.md, HDLC 0x14).

The frame codec: ``encode_frame`` / ``decode_frame`` and ``LapdFrame``. A frame that
cannot be decoded raises ``LapdFrameError`` naming the field and the octet; its ``code``
is the MDL-ERROR letter Q.921 reports for it (Appendix II).

The data link: ``DataLink(role)``. Inputs: ``receive(frame_bytes, now)``,
``send(l3_payload, now)`` (DL-DATA request), ``establish(now)`` / ``release(now)``
(DL-ESTABLISH / DL-RELEASE request) and ``tick(now)`` at ``next_deadline``. Each returns
a list of outputs: ``SendFrame`` (bytes for the D-channel) and the indications for
layer 3 and management (``DataReceived``, ``LinkEstablished``, ``LinkReleased``,
``ErrorReported``, ``FrameDiscarded``).

Choices Q.921 leaves open, and what this implementation does:
- On T200 expiry with frames outstanding, an enquiry (RR command, P=1) rather than the
  last I frame again (Q.921 5.6.7 allows either; libpri does the same).
- No FRMR is ever sent: Q.921 (09/97) 5.8.5 answers a frame rejection condition in
  multiple frame operation by MDL-ERROR and re-establishment; an FRMR received (from a
  peer built to an older edition) is MDL-ERROR (K) and re-establishment.
- The receiver is never busy (RNR is never sent): layer 3 takes every frame at once.
- A DL-DATA request while the link is released (TEI-assigned state) queues the payload
  and establishes the link, as layer 3 would ask first (libpri does the same).
- XID is not implemented (optional, Q.921 5.9): an XID frame is discarded and reported.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from gateway.errors import LapdFrameError, UsageError
from gateway.isdn import Role

MODULUS = 128           # sequence numbers are modulo 128 (extended operation, Q.921 3.5.2)
SAPI_CALL_CONTROL = 0   # Q.921 Table 2: Q.931 call control procedures
TEI_POINT_TO_POINT = 0  # a primary rate interface's fixed TEI (Q.921 3.3.4.2, non-automatic 0..63)


class FrameKind(enum.Enum):
    I = "I"
    RR = "RR"
    RNR = "RNR"
    REJ = "REJ"
    SABME = "SABME"
    DM = "DM"
    UI = "UI"
    DISC = "DISC"
    UA = "UA"
    FRMR = "FRMR"
    XID = "XID"


# Q.921 Table 5: supervisory function bits (control octet 1 = 0000 SS01).
_SUPERVISORY = {FrameKind.RR: 0x01, FrameKind.RNR: 0x05, FrameKind.REJ: 0x09}
_SUPERVISORY_BY_CODE = {v: k for k, v in _SUPERVISORY.items()}
# Q.921 Table 5: unnumbered frames, control octet with the P/F bit (0x10) clear.
_UNNUMBERED = {FrameKind.SABME: 0x6F, FrameKind.DM: 0x0F, FrameKind.UI: 0x03, FrameKind.DISC: 0x43,
               FrameKind.UA: 0x63, FrameKind.FRMR: 0x87, FrameKind.XID: 0xAF}
_UNNUMBERED_BY_CODE = {v: k for k, v in _UNNUMBERED.items()}
_PF = 0x10
# Unnumbered frames that carry an information field; the others must not (Q.921 5.8.5).
_U_WITH_INFO = (FrameKind.UI, FrameKind.FRMR, FrameKind.XID)
FRMR_INFO_OCTETS = 5    # modulo 128 (Q.921 Figure 6)


@dataclass(frozen=True)
class LapdFrame:
    """One LAPD frame. ``cr`` is the C/R bit as sent: its meaning depends on the sender's
    side (Q.921 Table 1: a user's commands carry 0, the network's 1). ``ns`` is set for I
    frames, ``nr`` for I and supervisory frames; ``pf`` is the poll or final bit."""
    kind: FrameKind
    cr: int
    pf: bool = False
    ns: int | None = None
    nr: int | None = None
    info: bytes = b""
    sapi: int = SAPI_CALL_CONTROL
    tei: int = TEI_POINT_TO_POINT


def encode_frame(frame: LapdFrame) -> bytes:
    if not 0 <= frame.sapi < 64 or not 0 <= frame.tei < 128 or frame.cr not in (0, 1):
        raise UsageError(f"LAPD address out of range: SAPI {frame.sapi}, TEI {frame.tei}, C/R {frame.cr}")
    address = bytes(((frame.sapi << 2) | (frame.cr << 1), (frame.tei << 1) | 1))
    kind, pf = frame.kind, int(bool(frame.pf))
    if kind is FrameKind.I:
        _check_seq(frame.ns, "N(S)")
        _check_seq(frame.nr, "N(R)")
        return address + bytes((frame.ns << 1, (frame.nr << 1) | pf)) + frame.info
    if kind in _SUPERVISORY:
        _check_seq(frame.nr, "N(R)")
        if frame.info:
            raise UsageError(f"a {kind.value} frame has no information field")
        return address + bytes((_SUPERVISORY[kind], (frame.nr << 1) | pf))
    if frame.info and kind not in _U_WITH_INFO:
        raise UsageError(f"a {kind.value} frame has no information field")
    return address + bytes((_UNNUMBERED[kind] | (_PF if pf else 0),)) + frame.info


def _check_seq(value, name):
    if value is None or not 0 <= value < MODULUS:
        raise UsageError(f"{name} {value!r}: 0..127")


def decode_frame(data: bytes, n201: int = 260) -> LapdFrame:
    """One frame without flags and FCS. Raises ``LapdFrameError``: without a ``code`` for
    frames Q.921 2.9 calls invalid (discarded unseen), with one for a frame rejection
    condition (5.8.5) that the data link reports."""
    data = bytes(data)
    if len(data) < 3:
        raise LapdFrameError(f"{len(data)} octets: a frame has at least 3 (address and control)",
                             field="length", value=len(data), offset=len(data))
    if data[0] & 0x01:
        raise LapdFrameError("address octet 1 has its EA bit set: the address field is one octet, LAPD's is two",
                             field="address EA", value=data[0], offset=0)
    if not data[1] & 0x01:
        raise LapdFrameError("address octet 2 has its EA bit clear: the address field is longer than two octets",
                             field="address EA", value=data[1], offset=1)
    sapi, cr, tei = data[0] >> 2, (data[0] >> 1) & 1, data[1] >> 1
    control = data[2]
    if not control & 0x01:                                       # I frame: 0 in bit 1
        if len(data) < 4:
            raise LapdFrameError("an I frame has a two-octet control field; the frame ends after one",
                                 code="N", field="control", value=control, offset=3)
        info = data[4:]
        if len(info) > n201:
            raise LapdFrameError(f"information field of {len(info)} octets, longer than N201 = {n201}",
                                 code="O", field="information", value=len(info), offset=4)
        return LapdFrame(FrameKind.I, cr, bool(data[3] & 1), control >> 1, data[3] >> 1, info, sapi, tei)
    if control & 0x03 == 0x01:                                   # supervisory: 01 in bits 1-2
        kind = _SUPERVISORY_BY_CODE.get(control)
        if kind is None:
            raise LapdFrameError(f"control field 0x{control:02x} is no supervisory function (RR, RNR, REJ)",
                                 code="L", field="control", value=control, offset=2)
        if len(data) != 4:
            raise LapdFrameError(f"a {kind.value} frame is 4 octets; this one is {len(data)}",
                                 code="N", field="length", value=len(data), offset=min(len(data), 4))
        return LapdFrame(kind, cr, bool(data[3] & 1), None, data[3] >> 1, b"", sapi, tei)
    kind = _UNNUMBERED_BY_CODE.get(control & ~_PF)
    if kind is None:
        raise LapdFrameError(f"control field 0x{control:02x} is no unnumbered command or response Q.921 defines",
                             code="L", field="control", value=control, offset=2)
    info = data[3:]
    if info and kind not in _U_WITH_INFO:
        raise LapdFrameError(f"a {kind.value} frame carries no information field; this one has {len(info)} octets",
                             code="M", field="information", value=len(info), offset=3)
    if kind is FrameKind.FRMR and len(info) != FRMR_INFO_OCTETS:
        raise LapdFrameError(f"an FRMR information field is {FRMR_INFO_OCTETS} octets; this one is {len(info)}",
                             code="N", field="information", value=len(info), offset=3)
    if len(info) > n201:
        raise LapdFrameError(f"information field of {len(info)} octets, longer than N201 = {n201}",
                             code="O", field="information", value=len(info), offset=3)
    return LapdFrame(kind, cr, bool(control & _PF), None, None, info, sapi, tei)


# ---- the data link ----

class LinkState(enum.Enum):
    """Q.921 Annex B states a point-to-point link with a fixed TEI uses (1-3 are TEI
    management's, for automatic TEIs on basic access)."""
    TEI_ASSIGNED = 4
    AWAITING_ESTABLISHMENT = 5
    AWAITING_RELEASE = 6
    MULTIPLE_FRAME_ESTABLISHED = 7
    TIMER_RECOVERY = 8


@dataclass(frozen=True)
class LapdParameters:
    """System parameters, Q.921 5.9 defaults for a primary rate (64 kbit/s) D-channel."""
    t200: float = 1.0    # seconds: a command's acknowledgement or response
    n200: int = 3        # retransmissions of a frame (SABME, DISC, enquiry) before giving up
    t203: float = 10.0   # seconds without frames exchanged before an enquiry
    k: int = 7           # outstanding I frames (Q.921 5.9.5: 7 for SAPI 0 on a 64 kbit/s D-channel)
    n201: int = 260      # octets of an information field

    def __post_init__(self):
        if not (0 < self.t200 < self.t203 and self.n200 >= 1 and 1 <= self.k < MODULUS and self.n201 >= 1):
            raise UsageError(f"LAPD parameters out of range: {self}")


@dataclass(frozen=True)
class SendFrame:
    """Transmit this frame on the D-channel (no flags, no FCS)."""
    frame: bytes


@dataclass(frozen=True)
class DataReceived:
    """DL-DATA indication (an I frame's layer 3 message) or, ``unit`` True, DL-UNIT-DATA (a UI frame's)."""
    payload: bytes
    unit: bool = False


@dataclass(frozen=True)
class LinkEstablished:
    """DL-ESTABLISH confirm (``confirm``: layer 3 asked for it) or indication (the peer set
    the link up, or re-established it, or this side re-established it after an error with
    frames outstanding: Q.931 5.8.8's "data link reset")."""
    confirm: bool


@dataclass(frozen=True)
class LinkReleased:
    """DL-RELEASE confirm (``confirm``: layer 3 asked for it) or indication (the peer
    released it, refused it, or it failed: Q.931 5.8.9's "data link failure")."""
    confirm: bool


@dataclass(frozen=True)
class ErrorReported:
    """MDL-ERROR indication: ``code`` is the letter of Q.921 Appendix II, Table II.1."""
    code: str
    text: str


@dataclass(frozen=True)
class FrameDiscarded:
    """A frame the link did not act on: invalid (Q.921 2.9), for another SAPI or TEI, or one
    the state ignores; or a layer 3 message that could not be sent (``frame`` is then the
    message). Reported so that nothing is dropped unseen."""
    reason: str
    frame: bytes


MDL_ERRORS = {   # Q.921 Appendix II, Table II.1
    "A": "supervisory response with F=1 received unsolicited",
    "B": "DM response with F=1 received unsolicited",
    "C": "UA response with F=1 received unsolicited",
    "D": "UA response with F=0 received unsolicited",
    "E": "DM response with F=0 received: the peer is not in multiple frame operation",
    "F": "SABME received in multiple frame operation: the peer re-established the link",
    "G": "no answer to SABME after N200 retransmissions",
    "H": "no answer to DISC after N200 retransmissions",
    "I": "no answer to the enquiry after N200 retransmissions (timer recovery)",
    "J": "N(R) error: the peer acknowledged frames not sent",
    "K": "FRMR received",
    "L": "undefined frame received",
    "M": "information field not permitted received",
    "N": "frame of the wrong size received",
    "O": "information field longer than N201 received",
}


class DataLink:
    """One LAPD data link connection (SAPI 0, TEI 0 by default) in the ``role`` given.
    Start it with ``establish`` (both sides of a PRI may, Q.921 5.5.1.3 settles the
    collision). ``state`` is the Q.921 state; ``established`` says whether I frames flow."""

    def __init__(self, role: Role, params: LapdParameters | None = None, *,
                 sapi: int = SAPI_CALL_CONTROL, tei: int = TEI_POINT_TO_POINT):
        self.role = role
        self.params = params or LapdParameters()
        self.sapi, self.tei = sapi, tei
        self.state = LinkState.TEI_ASSIGNED
        self.vs = self.va = self.vr = 0
        self.rc = 0                          # retransmission counter
        self.peer_busy = False
        self.reject_exception = False
        self.ack_pending = False
        self.l3_initiated = False
        self.t200: float | None = None       # deadlines
        self.t203: float | None = None
        self._queue: deque[bytes] = deque()  # I frames not yet sent
        self._unacked: deque[bytes] = deque()  # sent, not acknowledged: N(S) = V(A), V(A)+1, ...
        # Address octet 1 as this side sends commands and responses (Q.921 Table 1).
        self._command_cr = 1 if role is Role.NETWORK else 0
        self._out: list = []
        self.counters = {"frames_in": 0, "frames_out": 0, "discarded": 0, "retransmitted": 0}

    # ---- what layer 3 asks ----
    @property
    def established(self) -> bool:
        return self.state in (LinkState.MULTIPLE_FRAME_ESTABLISHED, LinkState.TIMER_RECOVERY)

    @property
    def next_deadline(self) -> float | None:
        times = [t for t in (self.t200, self.t203) if t is not None]
        return min(times) if times else None

    @property
    def outstanding(self) -> int:
        """I frames sent and not yet acknowledged."""
        return len(self._unacked)

    @property
    def queued(self) -> int:
        """I frames waiting for the window (or for the link)."""
        return len(self._queue)

    def establish(self, now: float) -> list:
        """DL-ESTABLISH request."""
        st = self.state
        if st is LinkState.TEI_ASSIGNED:
            self._establish_data_link(now)
            self.l3_initiated = True
            self.state = LinkState.AWAITING_ESTABLISHMENT
        elif st is LinkState.AWAITING_ESTABLISHMENT:
            self._queue.clear()
            self.l3_initiated = True
        elif st in (LinkState.MULTIPLE_FRAME_ESTABLISHED, LinkState.TIMER_RECOVERY):
            self._discard_queues()
            self._establish_data_link(now)
            self.l3_initiated = True
            self.state = LinkState.AWAITING_ESTABLISHMENT
        return self._take()

    def release(self, now: float) -> list:
        """DL-RELEASE request."""
        st = self.state
        if st is LinkState.TEI_ASSIGNED:
            self._out.append(LinkReleased(confirm=True))
        elif st in (LinkState.AWAITING_ESTABLISHMENT, LinkState.MULTIPLE_FRAME_ESTABLISHED,
                    LinkState.TIMER_RECOVERY):
            self._discard_queues()
            self.rc = 0
            self._send_u(FrameKind.DISC, command=True, pf=True)
            self.t203 = None
            self.t200 = now + self.params.t200
            self.state = LinkState.AWAITING_RELEASE
        return self._take()

    def send(self, payload: bytes, now: float) -> list:
        """DL-DATA request: ``payload`` (a Q.931 message) in an I frame, as soon as the window
        and the link allow."""
        payload = bytes(payload)
        if len(payload) > self.params.n201:
            raise UsageError(f"a layer 3 message of {len(payload)} octets is longer than N201 = {self.params.n201}")
        if self.state is LinkState.AWAITING_RELEASE:
            # Q.921 has no DL-DATA request in this state; say so rather than drop it unseen.
            self._out.append(FrameDiscarded("the data link is being released: message not sent", payload))
            return self._take()
        self._queue.append(payload)
        if self.state is LinkState.TEI_ASSIGNED:
            self._establish_data_link(now)
            self.l3_initiated = True
            self.state = LinkState.AWAITING_ESTABLISHMENT
        self._transmit_queued(now)
        return self._take()

    def send_pending_ack(self, now: float) -> list:
        """Acknowledge received I frames with RR unless an I frame of ours already did (see
        ``receive``'s ``defer_ack``)."""
        self._flush_ack()
        return self._take()

    def tick(self, now: float) -> list:
        if self.t200 is not None and now >= self.t200:
            self.t200 = None
            self._t200_expired(now)
        if self.t203 is not None and now >= self.t203:
            self.t203 = None
            if self.state is LinkState.MULTIPLE_FRAME_ESTABLISHED:
                self.rc = 0
                self._transmit_enquiry(now)
                self.state = LinkState.TIMER_RECOVERY
        return self._take()

    # ---- what the peer sends ----
    def receive(self, data: bytes, now: float, *, defer_ack: bool = False) -> list:
        """One frame from the D-channel. With ``defer_ack`` the RR that acknowledges a
        received I frame waits for ``send_pending_ack``, so that layer 3's answer, sent in
        between, carries the acknowledgement instead (N(R) of an I frame)."""
        data = bytes(data)
        self.counters["frames_in"] += 1
        try:
            frame = decode_frame(data, self.params.n201)
        except LapdFrameError as exc:
            if exc.code is None or not self._ours(data):
                self._discard(str(exc), data)
            else:
                self._frame_rejection(exc.code, str(exc), data, now)
            return self._finish(now, defer_ack)
        if frame.sapi != self.sapi or frame.tei != self.tei:
            self._discard(f"SAPI {frame.sapi} TEI {frame.tei}: not this link's (SAPI {self.sapi} TEI {self.tei})",
                          data)
            return self._finish(now, defer_ack)
        command = frame.cr != self._command_cr          # the peer's commands carry the other value
        handler = _HANDLERS[frame.kind]
        handler(self, frame, command, data, now)
        return self._finish(now, defer_ack)

    # ---- inside: frame handlers (Q.921 Annex B, per state) ----
    def _on_sabme(self, frame, command, data, now):
        if not command:
            return self._discard("SABME sent as a response", data)
        st = self.state
        if st is LinkState.TEI_ASSIGNED:
            self._send_u(FrameKind.UA, command=False, pf=frame.pf)
            self._clear_exception_conditions()
            self.vs = self.va = self.vr = 0
            self._out.append(LinkEstablished(confirm=False))
            self.t200, self.t203 = None, now + self.params.t203
            self.state = LinkState.MULTIPLE_FRAME_ESTABLISHED
        elif st is LinkState.AWAITING_ESTABLISHMENT:
            # Both sides asked at once (5.5.1.3): answer, and go on waiting for our UA.
            self._send_u(FrameKind.UA, command=False, pf=frame.pf)
        elif st is LinkState.AWAITING_RELEASE:
            self._send_u(FrameKind.DM, command=False, pf=frame.pf)
        else:
            self._send_u(FrameKind.UA, command=False, pf=frame.pf)
            self._clear_exception_conditions()
            self._error("F")
            if self.vs != self.va:
                self._discard_queues()
                self._out.append(LinkEstablished(confirm=False))
            else:
                self._requeue_unacked()
            self.t200, self.t203 = None, now + self.params.t203
            self.vs = self.va = self.vr = 0
            self.state = LinkState.MULTIPLE_FRAME_ESTABLISHED
            self._transmit_queued(now)

    def _on_disc(self, frame, command, data, now):
        if not command:
            return self._discard("DISC sent as a response", data)
        st = self.state
        if st in (LinkState.TEI_ASSIGNED, LinkState.AWAITING_ESTABLISHMENT):
            self._send_u(FrameKind.DM, command=False, pf=frame.pf)
        elif st is LinkState.AWAITING_RELEASE:
            self._send_u(FrameKind.UA, command=False, pf=frame.pf)
        else:
            self._discard_queues()
            self._send_u(FrameKind.UA, command=False, pf=frame.pf)
            self._out.append(LinkReleased(confirm=False))
            self.t200 = self.t203 = None
            self.state = LinkState.TEI_ASSIGNED

    def _on_ua(self, frame, command, data, now):
        if command:
            return self._discard("UA sent as a command", data)
        st = self.state
        if st is LinkState.AWAITING_ESTABLISHMENT and frame.pf:
            if self.l3_initiated:
                self._out.append(LinkEstablished(confirm=True))
                self._requeue_unacked()
            elif self.vs != self.va:
                self._discard_queues()
                self._out.append(LinkEstablished(confirm=False))
            else:
                self._requeue_unacked()
            self.t200, self.t203 = None, now + self.params.t203
            self.vs = self.va = self.vr = 0
            self.rc = 0
            self.state = LinkState.MULTIPLE_FRAME_ESTABLISHED
            self._transmit_queued(now)
        elif st is LinkState.AWAITING_RELEASE and frame.pf:
            self._out.append(LinkReleased(confirm=True))
            self.t200 = None
            self.state = LinkState.TEI_ASSIGNED
        else:
            self._error("C" if frame.pf else "D")

    def _on_dm(self, frame, command, data, now):
        if command:
            return self._discard("DM sent as a command", data)
        st = self.state
        if st is LinkState.TEI_ASSIGNED:
            if not frame.pf:
                # The peer is in TEI-assigned state too (5.5.1.1 note): set the link up.
                self._establish_data_link(now)
                self.l3_initiated = False
                self.state = LinkState.AWAITING_ESTABLISHMENT
        elif st is LinkState.AWAITING_ESTABLISHMENT:
            if frame.pf:
                self._discard_queues()
                self._out.append(LinkReleased(confirm=False))
                self.t200 = None
                self.state = LinkState.TEI_ASSIGNED
        elif st is LinkState.AWAITING_RELEASE:
            if frame.pf:
                self._out.append(LinkReleased(confirm=True))
                self.t200 = None
                self.state = LinkState.TEI_ASSIGNED
        elif frame.pf:
            self._error("B")
        else:
            self._error("E")
            self._reestablish(now)

    def _on_frmr(self, frame, command, data, now):
        if self.established:
            self._error("K")
            self._reestablish(now)
        else:
            self._discard(f"FRMR in state {self.state.name}", data)

    def _on_ui(self, frame, command, data, now):
        self._out.append(DataReceived(frame.info, unit=True))

    def _on_xid(self, frame, command, data, now):
        self._discard("XID: parameter negotiation is not implemented (optional, Q.921 5.9)", data)

    def _on_supervisory(self, frame, command, data, now):
        if not self.established:
            return self._discard(f"{frame.kind.value} in state {self.state.name}", data)
        self.peer_busy = frame.kind is FrameKind.RNR
        recovery = self.state is LinkState.TIMER_RECOVERY
        if command and frame.pf:
            self._enquiry_response()
        elif not command and frame.pf and not recovery:
            self._error("A")
        if not self._nr_valid(frame.nr):
            return self._nr_error_recovery(now)
        if recovery:
            if not command and frame.pf:
                # The answer to our enquiry: back to normal operation.
                self._acknowledge(frame.nr)
                if frame.kind is FrameKind.RNR:
                    self.t200, self.t203 = now + self.params.t200, None
                else:
                    self.t200, self.t203 = None, now + self.params.t203
                    self._invoke_retransmission(frame.nr)
                self.state = LinkState.MULTIPLE_FRAME_ESTABLISHED
                self._transmit_queued(now)
            else:
                self._acknowledge(frame.nr)
            return
        if frame.kind is FrameKind.RNR:
            self._acknowledge(frame.nr)
            self.t200, self.t203 = now + self.params.t200, None
        elif frame.kind is FrameKind.REJ:
            self._acknowledge(frame.nr)
            self.t200, self.t203 = None, now + self.params.t203
            self._invoke_retransmission(frame.nr)
        else:
            self._check_i_frame_acknowledged(frame.nr, now)
        self._transmit_queued(now)

    def _on_i(self, frame, command, data, now):
        if not command:
            return self._discard("I frame sent as a response", data)
        if not self.established:
            return self._discard(f"I frame in state {self.state.name}", data)
        if frame.ns == self.vr:
            self.vr = (self.vr + 1) % MODULUS
            self.reject_exception = False
            self._out.append(DataReceived(frame.info))
            if frame.pf:
                self._enquiry_response()
            else:
                self.ack_pending = True
        elif self.reject_exception:
            self.counters["discarded"] += 1
            if frame.pf:
                self._enquiry_response()
        else:
            self.reject_exception = True
            self.ack_pending = False
            self._send_s(FrameKind.REJ, command=False, pf=frame.pf)
        if not self._nr_valid(frame.nr):
            return self._nr_error_recovery(now)
        if self.state is LinkState.TIMER_RECOVERY or self.peer_busy:
            self._acknowledge(frame.nr)
        else:
            self._check_i_frame_acknowledged(frame.nr, now)
        self._transmit_queued(now)

    # ---- inside: Q.921 Annex B procedures ----
    def _t200_expired(self, now):
        st, p = self.state, self.params
        if st in (LinkState.AWAITING_ESTABLISHMENT, LinkState.AWAITING_RELEASE):
            establishing = st is LinkState.AWAITING_ESTABLISHMENT
            if self.rc == p.n200:
                # No answer to SABME (G: released, the queue goes) or to DISC (H: released as asked).
                if establishing:
                    self._discard_queues()
                self._error("G" if establishing else "H")
                self._out.append(LinkReleased(confirm=not establishing))
                self.state = LinkState.TEI_ASSIGNED
            else:
                self.rc += 1
                self._send_u(FrameKind.SABME if establishing else FrameKind.DISC, command=True, pf=True)
                self.t200 = now + p.t200
        elif st is LinkState.MULTIPLE_FRAME_ESTABLISHED:
            self.rc = 0
            self._transmit_enquiry(now)
            self.rc += 1
            self.state = LinkState.TIMER_RECOVERY
        elif st is LinkState.TIMER_RECOVERY:
            if self.rc == p.n200:
                self._error("I")
                self._reestablish(now)
            else:
                self._transmit_enquiry(now)
                self.rc += 1

    def _establish_data_link(self, now):
        self._clear_exception_conditions()
        self.rc = 0
        self._send_u(FrameKind.SABME, command=True, pf=True)
        self.t200, self.t203 = now + self.params.t200, None

    def _reestablish(self, now):
        """After an error in multiple frame operation: establish again, layer 3 not the one asking."""
        self._establish_data_link(now)
        self.l3_initiated = False
        self.state = LinkState.AWAITING_ESTABLISHMENT

    def _frame_rejection(self, code, text, data, now):
        if self.established:
            self._error(code, text)
            self._reestablish(now)
        else:
            self._error(code, text)
            self._discard(text, data)

    def _nr_error_recovery(self, now):
        self._error("J")
        self._reestablish(now)

    def _clear_exception_conditions(self):
        self.peer_busy = self.reject_exception = self.ack_pending = False

    def _nr_valid(self, nr) -> bool:
        return (nr - self.va) % MODULUS <= len(self._unacked)

    def _acknowledge(self, nr):
        """V(A) := N(R): drop the frames the peer has now acknowledged."""
        for _ in range((nr - self.va) % MODULUS):
            self._unacked.popleft()
        self.va = nr
        if (self.vs - self.va) % MODULUS > len(self._unacked):
            self.vs = nr      # acknowledged beyond what the (reset) V(S) says: a retransmission raced

    def _check_i_frame_acknowledged(self, nr, now):
        if nr == self.vs:
            self._acknowledge(nr)
            self.t200, self.t203 = None, now + self.params.t203
        elif nr != self.va:
            self._acknowledge(nr)
            self.t200 = now + self.params.t200

    def _invoke_retransmission(self, nr):
        """V(S) := N(R): the frames from N(R) on go again, from the unacknowledged buffer."""
        if self.vs != nr:
            self.counters["retransmitted"] += (self.vs - nr) % MODULUS
        self.vs = nr

    def _transmit_queued(self, now):
        """Send I frames while the window is open (the "I frame queued up" path of Annex B)."""
        if self.state is not LinkState.MULTIPLE_FRAME_ESTABLISHED or self.peer_busy:
            return
        sent = False
        while True:
            index = (self.vs - self.va) % MODULUS
            if index >= self.params.k:
                break
            if index < len(self._unacked):
                payload = self._unacked[index]          # a retransmission
            elif self._queue:
                payload = self._queue.popleft()
                self._unacked.append(payload)
            else:
                break
            self._emit(LapdFrame(FrameKind.I, self._command_cr, False, self.vs, self.vr, payload,
                                 self.sapi, self.tei))
            self.vs = (self.vs + 1) % MODULUS
            sent = True
        if sent:
            self.ack_pending = False
            if self.t200 is None:
                self.t203, self.t200 = None, now + self.params.t200

    def _transmit_enquiry(self, now):
        self._send_s(FrameKind.RR, command=True, pf=True)
        self.ack_pending = False
        self.t200 = now + self.params.t200

    def _enquiry_response(self):
        self._send_s(FrameKind.RR, command=False, pf=True)
        self.ack_pending = False

    def _requeue_unacked(self):
        """Frames sent before the link was set up again go first, as new frames."""
        self._queue.extendleft(reversed(self._unacked))
        self._unacked.clear()

    def _discard_queues(self):
        self._queue.clear()
        self._unacked.clear()

    def _finish(self, now, defer_ack):
        if not defer_ack:
            self._flush_ack()
        return self._take()

    def _flush_ack(self):
        if self.ack_pending and self.established:
            self.ack_pending = False
            self._send_s(FrameKind.RR, command=False, pf=False)

    def _ours(self, data) -> bool:
        return len(data) >= 2 and data[0] >> 2 == self.sapi and data[1] >> 1 == self.tei

    def _send_u(self, kind, command, pf):
        cr = self._command_cr if command else 1 - self._command_cr
        self._emit(LapdFrame(kind, cr, pf, sapi=self.sapi, tei=self.tei))

    def _send_s(self, kind, command, pf):
        cr = self._command_cr if command else 1 - self._command_cr
        self._emit(LapdFrame(kind, cr, pf, None, self.vr, sapi=self.sapi, tei=self.tei))

    def _emit(self, frame):
        self.counters["frames_out"] += 1
        self._out.append(SendFrame(encode_frame(frame)))

    def _error(self, code, text=None):
        self._out.append(ErrorReported(code, text or MDL_ERRORS[code]))

    def _discard(self, reason, data):
        self.counters["discarded"] += 1
        self._out.append(FrameDiscarded(reason, data))

    def _take(self) -> list:
        out, self._out = self._out, []
        return out


_HANDLERS = {
    FrameKind.I: DataLink._on_i,
    FrameKind.RR: DataLink._on_supervisory,
    FrameKind.RNR: DataLink._on_supervisory,
    FrameKind.REJ: DataLink._on_supervisory,
    FrameKind.SABME: DataLink._on_sabme,
    FrameKind.DISC: DataLink._on_disc,
    FrameKind.UA: DataLink._on_ua,
    FrameKind.DM: DataLink._on_dm,
    FrameKind.FRMR: DataLink._on_frmr,
    FrameKind.UI: DataLink._on_ui,
    FrameKind.XID: DataLink._on_xid,
}
