"""Q.931 messages: the header (protocol discriminator, call reference, message type) and
the information elements after it (gateway.isdn.ie).

Sources: ITU-T Q.931 (05/98) clause 4 (message format: 4.2 protocol discriminator, 4.3
call reference, 4.4 message type, Table 4-2 the types) and clause 3 (each message's
elements and which are mandatory), with ETSI EN 300 403-1's EuroISDN differences.

``decode_message(data)`` returns a ``Message`` or raises ``Q931Error`` when the message
cannot be used at all: another protocol, shorter than its header, a call reference that
cannot be read (Q.931 5.8.1-5.8.3.1 say to ignore those). Defects in the elements do not
raise: they are listed in ``Message.defects`` for the call control to answer (5.8.6-5.8.7).
``Message.check()`` raises the first defect, for callers that want all or nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from gateway.errors import Q931Error, UsageError
from gateway.isdn.ie import (CallState, Cause, ChannelIdentification, BearerCapability, ProgressIndicator,
                             RestartIndicator, decode_ies, encode_ie)

PROTOCOL_Q931 = 0x08   # Q.931 4.2: user-network call control messages
GLOBAL_CALL_REFERENCE = 0


class MessageType(enum.IntEnum):
    """Q.931 Table 4-2."""
    ALERTING = 0x01
    CALL_PROCEEDING = 0x02
    PROGRESS = 0x03
    SETUP = 0x05
    CONNECT = 0x07
    SETUP_ACKNOWLEDGE = 0x0D
    CONNECT_ACKNOWLEDGE = 0x0F
    USER_INFORMATION = 0x20
    SUSPEND_REJECT = 0x21
    RESUME_REJECT = 0x22
    HOLD = 0x24
    SUSPEND = 0x25
    RESUME = 0x26
    HOLD_ACKNOWLEDGE = 0x28
    SUSPEND_ACKNOWLEDGE = 0x2D
    RESUME_ACKNOWLEDGE = 0x2E
    HOLD_REJECT = 0x30
    RETRIEVE = 0x31
    RETRIEVE_ACKNOWLEDGE = 0x33
    RETRIEVE_REJECT = 0x37
    DISCONNECT = 0x45
    RESTART = 0x46
    RELEASE = 0x4D
    RESTART_ACKNOWLEDGE = 0x4E
    RELEASE_COMPLETE = 0x5A
    SEGMENT = 0x60
    FACILITY = 0x62
    NOTIFY = 0x6E
    STATUS_ENQUIRY = 0x75
    CONGESTION_CONTROL = 0x79
    INFORMATION = 0x7B
    STATUS = 0x7D

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


M = MessageType

# Q.931 clause 3 / EN 300 403-1 clause 3: elements a receiver must find in a message, by the
# direction it was sent in ("u" user to network, "n" network to user, "b" both). Channel
# identification is mandatory in a network's first answer to a SETUP too; call control
# checks that where it knows the answer is the first.
MANDATORY = {
    M.SETUP: ((BearerCapability.IE_ID, "b"), (ChannelIdentification.IE_ID, "n")),
    M.SETUP_ACKNOWLEDGE: ((ChannelIdentification.IE_ID, "n"),),
    M.PROGRESS: ((ProgressIndicator.IE_ID, "b"),),
    M.DISCONNECT: ((Cause.IE_ID, "b"),),
    M.STATUS: ((Cause.IE_ID, "b"), (CallState.IE_ID, "b")),
    M.RESTART: ((RestartIndicator.IE_ID, "b"),),
    M.RESTART_ACKNOWLEDGE: ((RestartIndicator.IE_ID, "b"),),
}


def mandatory_ies(message_type: int, from_network: bool) -> tuple[int, ...]:
    direction = "n" if from_network else "u"
    return tuple(ie for ie, way in MANDATORY.get(message_type, ()) if way in ("b", direction))


@dataclass(frozen=True)
class Message:
    """One Q.931 message. ``call_ref`` is the call reference value; ``to_originator`` is its
    flag (Q.931 4.3): False in messages from the side that chose the value (the one that
    sent the SETUP), True in messages to it. ``type`` is a ``MessageType`` when Q.931
    defines it, else the octet. ``ies`` are the elements in order (gateway.isdn.ie)."""
    type: int
    call_ref: int = 0
    to_originator: bool = False
    ies: tuple = ()
    call_ref_length: int = 2
    protocol: int = PROTOCOL_Q931
    defects: tuple = field(default=(), compare=False)

    @property
    def name(self) -> str:
        return self.type.label if isinstance(self.type, MessageType) else f"message type 0x{self.type:02x}"

    @property
    def is_global(self) -> bool:
        return self.call_ref_length > 0 and self.call_ref == GLOBAL_CALL_REFERENCE

    def get(self, cls):
        """The first element of this class (a repetition where none is allowed is ignored:
        Q.931 5.8.5.2), or None."""
        for ie in self.ies:
            if type(ie) is cls:
                return ie
        return None

    def has(self, ie_id: int) -> bool:
        return any(getattr(ie, "IE_ID", None) == ie_id and getattr(ie, "codeset", 0) == 0 for ie in self.ies)

    def check(self) -> "Message":
        """The message, or the first defect of its elements raised."""
        if self.defects:
            raise self.defects[0].error
        return self


def encode_message(message: Message) -> bytes:
    length = message.call_ref_length
    if not 0 <= length <= 15:
        raise UsageError(f"call reference length {length}: 0..15")
    if length == 0:
        header = bytes((message.protocol, 0))
    else:
        if not 0 <= message.call_ref < 1 << (8 * length - 1):
            raise UsageError(f"call reference {message.call_ref} does not fit {length} octets")
        value = message.call_ref | ((1 << (8 * length - 1)) if message.to_originator else 0)
        header = bytes((message.protocol, length)) + value.to_bytes(length, "big")
    if not 0 <= int(message.type) < 0x100:
        raise UsageError(f"message type {message.type!r}: one octet")
    return header + bytes((int(message.type),)) + b"".join(encode_ie(ie) for ie in message.ies)


def decode_message(data: bytes, max_call_ref_length: int = 2) -> Message:
    """A message from a DL-DATA indication. Raises ``Q931Error`` (``cause`` None: the message
    is to be ignored) for a header that cannot be used; element defects go to ``defects``."""
    data = bytes(data)
    if not data:
        raise Q931Error("empty message: no protocol discriminator", field="protocol discriminator", offset=0)
    if data[0] != PROTOCOL_Q931:
        raise Q931Error(f"protocol discriminator 0x{data[0]:02x} is not Q.931's (0x08)",
                        field="protocol discriminator", value=data[0], offset=0)
    if len(data) < 3:
        raise Q931Error(f"{len(data)} octets: shorter than a message header (Q.931 5.8.2)", field="length",
                        value=len(data), offset=len(data))
    length_octet = data[1]
    if length_octet & 0xF0:
        raise Q931Error(f"call reference length octet 0x{length_octet:02x}: bits 5-8 must be 0",
                        field="call reference length", value=length_octet, offset=1)
    length = length_octet & 0x0F
    if length > max_call_ref_length:
        raise Q931Error(f"call reference of {length} octets; this interface uses at most {max_call_ref_length}",
                        field="call reference length", value=length, offset=1)
    if len(data) < 3 + length:
        raise Q931Error(f"{len(data)} octets: the call reference of {length} octets leaves no message type",
                        field="length", value=len(data), offset=len(data))
    raw = int.from_bytes(data[2:2 + length], "big")
    top = 1 << (8 * length - 1) if length else 0
    call_ref, to_originator = (raw & ~top, bool(raw & top)) if length else (0, False)
    type_octet = data[2 + length]     # bit 8 set is reserved: a type no one defines, answered as such
    try:
        message_type = MessageType(type_octet)
    except ValueError:
        message_type = type_octet
    ies, defects = decode_ies(data[3 + length:], 3 + length)
    return Message(message_type, call_ref, to_originator, ies, length, PROTOCOL_Q931, defects)
