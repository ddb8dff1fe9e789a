"""Q.931 information elements: the ones call control reads, decoded into frozen
dataclasses; every other one kept raw, so that a message decodes and encodes back to the
same octets.

Sources: ITU-T Q.931 (05/98) clause 4.5 (coding of the elements, Table 4-3 for their
identifiers, 4.5.1-4.5.3 for codesets and shifts), ETSI EN 300 403-1 (the same for
EuroISDN); Q.850 for cause values and locations.

``decode_ies(data, offset)`` walks the element part of a message and returns the elements
and the defects it found (``IeDefect``: an element whose contents break its coding, one
that is unknown, one cut short), each with a ``Q931Error`` naming the element, the octet
and the field. What a defect means for the message (ignore it, STATUS with cause 99 or
100, treat the element as missing) is the call control's business (Q.931 5.8.6-5.8.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gateway.errors import Q931Error, UsageError

# Q.931 Table 4-3, codeset 0: identifiers of the variable-length elements. The ones decoded
# here have a class below; the rest are recognised (no STATUS 99 for them) and kept raw.
IE_NAMES = {
    0x00: "segmented message", 0x04: "bearer capability", 0x08: "cause", 0x10: "call identity",
    0x14: "call state", 0x18: "channel identification", 0x1C: "facility", 0x1E: "progress indicator",
    0x20: "network-specific facilities", 0x27: "notification indicator", 0x28: "display",
    0x29: "date/time", 0x2C: "keypad facility", 0x34: "signal", 0x40: "information rate",
    0x42: "end-to-end transit delay", 0x43: "transit delay selection and indication",
    0x44: "packet layer binary parameters", 0x45: "packet layer window size", 0x46: "packet size",
    0x47: "closed user group", 0x4A: "reverse charge indication", 0x4C: "connected number",
    0x4D: "connected subaddress", 0x6C: "calling party number", 0x6D: "calling party subaddress",
    0x70: "called party number", 0x71: "called party subaddress", 0x73: "original called number",
    0x74: "redirecting number", 0x76: "redirection number", 0x78: "transit network selection",
    0x79: "restart indicator", 0x7C: "low layer compatibility", 0x7D: "high layer compatibility",
    0x7E: "user-user", 0x7F: "escape for extension",
}
# Single-octet elements (bit 8 set): type 1 carry 4 bits of content, type 2 none.
SHIFT, CONGESTION_LEVEL, REPEAT_INDICATOR = 0x90, 0xB0, 0xD0
MORE_DATA, SENDING_COMPLETE = 0xA0, 0xA1


def ie_name(ie_id: int, codeset: int = 0) -> str:
    if codeset:
        return f"codeset {codeset} element 0x{ie_id:02x}"
    if ie_id & 0x80:
        return {SENDING_COMPLETE: "sending complete", MORE_DATA: "more data"}.get(ie_id) or \
            {SHIFT: "shift", CONGESTION_LEVEL: "congestion level", REPEAT_INDICATOR: "repeat indicator"}.get(
                ie_id & 0xF0, f"single-octet element 0x{ie_id:02x}")
    return IE_NAMES.get(ie_id, f"element 0x{ie_id:02x}")


def comprehension_required(ie_id: int, codeset: int = 0) -> bool:
    """Q.931 4.5.1: codeset 0 identifiers 0000 xxxx are "comprehension required"."""
    return codeset == 0 and ie_id < 0x10


class _Octets:
    """Reads an element's body, each error naming the element, the field and the octet's
    offset in the whole message."""

    def __init__(self, ie_id: int, body: bytes, offset: int):
        self.ie_id, self.body, self.base, self.pos = ie_id, body, offset, 0

    def more(self) -> bool:
        return self.pos < len(self.body)

    def next(self, field: str) -> int:
        if self.pos >= len(self.body):
            raise self.error(f"{field} is missing: the element ends after {len(self.body)} octets", field)
        self.pos += 1
        return self.body[self.pos - 1]

    def last(self, field: str) -> int:
        """An octet that must end its group (bit 8 set: no extension octet follows)."""
        octet = self.next(field)
        if not octet & 0x80:
            raise self.error(f"{field} has bit 8 clear, announcing an extension octet that is not defined here",
                             field, octet, self.pos - 1)
        return octet

    def rest(self) -> bytes:
        out, self.pos = self.body[self.pos:], len(self.body)
        return out

    def group(self, field: str) -> bytes:
        """An octet and its extensions "a", "b"...: octets up to the one with bit 8 set."""
        start = self.pos
        while True:
            if self.next(field) & 0x80:
                return self.body[start:self.pos]

    def error(self, message: str, field: str, value=None, at: int | None = None) -> Q931Error:
        pos = self.pos if at is None else at
        return Q931Error(f"{ie_name(self.ie_id)}: {message}", cause=100, ie=self.ie_id,
                         field=f"{ie_name(self.ie_id)}: {field}", value=value, offset=self.base + pos)

    def ia5(self, field: str) -> str:
        start = self.pos
        raw = self.rest()
        for i, octet in enumerate(raw):
            if octet & 0x80 or octet < 0x20 or octet == 0x7F:
                raise self.error(f"{field}: octet 0x{octet:02x} is not a printable IA5 character", field,
                                 octet, start + i)
        return raw.decode("ascii")


class InformationElement:
    """An element decoded here: ``IE_ID`` in codeset 0, ``encode_body()`` gives its
    contents and the class method ``decode_body(reader)`` reads them."""
    IE_ID: ClassVar[int]


def _ext(value: int, last: bool) -> int:
    return value | (0x80 if last else 0)


def _ia5_bytes(text: str, what: str) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise UsageError(f"{what} {text!r}: IA5 (ASCII) characters only") from None
    if any(c < 0x20 or c == 0x7F for c in raw):
        raise UsageError(f"{what} {text!r}: printable characters only")
    return raw


def _field(value: int, bits: int, what: str) -> int:
    if not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise UsageError(f"{what} {value!r}: 0..{(1 << bits) - 1}")
    return value


@dataclass(frozen=True)
class BearerCapability(InformationElement):
    """Q.931 4.5.5. Octet 3: coding standard, information transfer capability (0 speech, 8
    unrestricted digital, 9 restricted digital, 16 3.1 kHz audio, 17 7 kHz audio, 24
    video); octet 4: transfer mode (0 circuit, 2 packet) and rate (16 = 64 kbit/s, 24
    multirate with octet 4.1); octet 5: user information layer 1 protocol (2 G.711 mu-law,
    3 G.711 A-law, 1 V.110...) with its extensions 5a-5d kept as they are; octets 6 and 7
    (layers 2 and 3) kept raw in ``rest``."""
    IE_ID: ClassVar[int] = 0x04
    transfer_capability: int = 0
    coding_standard: int = 0
    transfer_mode: int = 0
    transfer_rate: int = 0x10
    rate_multiplier: int | None = None
    layer1: int | None = None
    layer1_extensions: bytes = b""
    rest: bytes = b""

    SPEECH: ClassVar[int] = 0x00
    UNRESTRICTED_DIGITAL: ClassVar[int] = 0x08
    AUDIO_3K1: ClassVar[int] = 0x10
    G711_ULAW: ClassVar[int] = 0x02
    G711_ALAW: ClassVar[int] = 0x03

    def encode_body(self) -> bytes:
        out = bytes((_ext((_field(self.coding_standard, 2, "coding standard") << 5)
                          | _field(self.transfer_capability, 5, "transfer capability"), True),
                     _ext((_field(self.transfer_mode, 2, "transfer mode") << 5)
                          | _field(self.transfer_rate, 5, "transfer rate"), True)))
        if self.rate_multiplier is not None:
            out += bytes((_ext(_field(self.rate_multiplier, 7, "rate multiplier"), True),))
        if self.layer1 is not None:
            out += bytes((_ext(0x20 | _field(self.layer1, 5, "layer 1 protocol"), not self.layer1_extensions),))
            out += self.layer1_extensions
        return out + self.rest

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.last("octet 3")
        o4 = r.last("octet 4 (transfer mode and rate)")
        multiplier = None
        if o4 & 0x1F == 0x18:
            multiplier = r.next("octet 4.1 (rate multiplier)") & 0x7F
        layer1, extensions = None, b""
        if r.more() and r.body[r.pos] & 0x60 == 0x20:
            o5 = r.group("octet 5 (user information layer 1)")
            layer1, extensions = o5[0] & 0x1F, o5[1:]
        return cls((o3 & 0x1F), (o3 >> 5) & 3, (o4 >> 5) & 3, o4 & 0x1F, multiplier, layer1, extensions, r.rest())


@dataclass(frozen=True)
class ChannelIdentification(InformationElement):
    """Q.931 4.5.13. On a primary rate interface the B-channel numbers follow in octet 3.3
    (``channels``; for E1, ETSI numbers them by timeslot, 1-15 and 17-31); ``exclusive``
    says only the channels indicated are acceptable, otherwise they are preferred;
    ``selection`` is octet 3's information channel selection (0 no channel, 1 as indicated,
    3 any channel). A slot map (``map``) is kept as its octets in ``slot_map``."""
    IE_ID: ClassVar[int] = 0x18
    channels: tuple = ()
    exclusive: bool = True
    primary: bool = True
    d_channel: bool = False
    selection: int = 1
    interface_id: bytes | None = None
    coding_standard: int = 0
    map: bool = False
    channel_type: int = 3
    slot_map: bytes = b""

    NO_CHANNEL: ClassVar[int] = 0
    AS_INDICATED: ClassVar[int] = 1
    ANY_CHANNEL: ClassVar[int] = 3
    B_CHANNEL_UNITS: ClassVar[int] = 3

    @property
    def indicated(self) -> bool:
        """Whether octets 3.2 and 3.3 (channel type and numbers) are present."""
        return self.primary and self.selection == 1 and not self.d_channel

    def encode_body(self) -> bytes:
        o3 = 0x80 | (0x40 if self.interface_id is not None else 0) | (0x20 if self.primary else 0) \
            | (0x08 if self.exclusive else 0) | (0x04 if self.d_channel else 0) \
            | _field(self.selection, 2, "information channel selection")
        out = bytes((o3,))
        if self.interface_id is not None:
            out += self.interface_id
        if self.indicated:
            out += bytes((0x80 | (_field(self.coding_standard, 2, "coding standard") << 5)
                          | (0x10 if self.map else 0) | _field(self.channel_type, 4, "channel type"),))
            if self.map:
                out += self.slot_map
            else:
                for i, number in enumerate(self.channels):
                    out += bytes((_ext(_field(number, 7, "channel number"), i == len(self.channels) - 1),))
        return out

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.last("octet 3")
        if o3 & 0x10:
            raise r.error("octet 3 bit 5 is spare and must be 0", "octet 3", o3, r.pos - 1)
        interface_id = r.group("octet 3.1 (interface identifier)") if o3 & 0x40 else None
        primary, exclusive, d_channel, selection = bool(o3 & 0x20), bool(o3 & 0x08), bool(o3 & 0x04), o3 & 0x03
        if not (primary and selection == 1 and not d_channel):
            if r.more():
                raise r.error(f"{len(r.body) - r.pos} octets after octet 3, which selects no channel by number",
                              "length", len(r.body))
            return cls((), exclusive, primary, d_channel, selection, interface_id)
        o32 = r.last("octet 3.2 (channel type)")
        coding, is_map, channel_type = (o32 >> 5) & 3, bool(o32 & 0x10), o32 & 0x0F
        if is_map:
            slot_map = r.rest()
            if not slot_map:
                raise r.error("the slot map is missing", "octet 3.3 (slot map)")
            return cls((), exclusive, primary, d_channel, selection, interface_id, coding, True, channel_type,
                       slot_map)
        numbers = r.group("octet 3.3 (channel number)")
        if r.more():
            raise r.error("octets after the last channel number", "length", len(r.body))
        return cls(tuple(n & 0x7F for n in numbers), exclusive, primary, d_channel, selection, interface_id,
                   coding, False, channel_type)


@dataclass(frozen=True)
class _Number(InformationElement):
    """A party number: octet 3 type of number (0 unknown, 1 international, 2 national, 3
    network specific, 4 subscriber, 6 abbreviated) and numbering plan (0 unknown, 1
    ISDN/telephony E.164, 8 national, 9 private), then IA5 digits."""
    digits: str = ""
    type_of_number: int = 0
    numbering_plan: int = 1

    def _octet3(self, last: bool) -> int:
        return _ext((_field(self.type_of_number, 3, "type of number") << 4)
                    | _field(self.numbering_plan, 4, "numbering plan"), last)


@dataclass(frozen=True)
class CalledPartyNumber(_Number):
    """Q.931 4.5.8."""
    IE_ID: ClassVar[int] = 0x70

    def encode_body(self) -> bytes:
        return bytes((self._octet3(True),)) + _ia5_bytes(self.digits, "called number")

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.last("octet 3 (type of number, numbering plan)")     # a called number has no octet 3a
        return cls(r.ia5("number digits"), (o3 >> 4) & 7, o3 & 0x0F)


@dataclass(frozen=True)
class CallingPartyNumber(_Number):
    """Q.931 4.5.10. Octet 3a, when present: presentation (0 allowed, 1 restricted, 2 not
    available because of interworking) and screening (0 user-provided not screened, 1
    user-provided verified and passed, 2 user-provided verified and failed, 3 network
    provided). Without it Q.931 means "allowed, user-provided not screened" (``None``
    here, so that the element encodes back as it came)."""
    IE_ID: ClassVar[int] = 0x6C
    presentation: int | None = None
    screening: int | None = None

    ALLOWED: ClassVar[int] = 0
    RESTRICTED: ClassVar[int] = 1
    NOT_AVAILABLE: ClassVar[int] = 2

    def encode_body(self) -> bytes:
        if self.presentation is None and self.screening is None:
            head = bytes((self._octet3(True),))
        else:
            head = bytes((self._octet3(False),
                          0x80 | (_field(self.presentation or 0, 2, "presentation") << 5)
                          | _field(self.screening or 0, 2, "screening")))
        return head + _ia5_bytes(self.digits, "calling number")

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.next("octet 3 (type of number, numbering plan)")
        presentation = screening = None
        if not o3 & 0x80:
            o3a = r.last("octet 3a (presentation and screening)")
            presentation, screening = (o3a >> 5) & 3, o3a & 3
            if presentation == 3:
                raise r.error("presentation indicator 3 is reserved", "octet 3a: presentation", 3, r.pos - 1)
        return cls(r.ia5("number digits"), (o3 >> 4) & 7, o3 & 0x0F, presentation, screening)


@dataclass(frozen=True)
class RedirectingNumber(_Number):
    """Q.931 Table 4-3 (0x74, coded as ITU-T Q.951 clause 3 defines it; ETSI EN 300 207-1
    for diversion): the number the call was diverted from; octet 3a presentation and
    screening as for the calling number, octet 3b the reason for redirection (0 unknown, 1
    call forwarding busy, 2 call forwarding no reply, 15 call forwarding unconditional; the
    other values as Q.951 codes them)."""
    IE_ID: ClassVar[int] = 0x74
    presentation: int | None = None
    screening: int | None = None
    reason: int | None = None

    def encode_body(self) -> bytes:
        if self.presentation is None and self.screening is None and self.reason is None:
            head = bytes((self._octet3(True),))
        else:
            head = bytes((self._octet3(False),
                          _ext((_field(self.presentation or 0, 2, "presentation") << 5)
                               | _field(self.screening or 0, 2, "screening"), self.reason is None)))
            if self.reason is not None:
                head += bytes((0x80 | _field(self.reason, 4, "reason for redirection"),))
        return head + _ia5_bytes(self.digits, "redirecting number")

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.next("octet 3 (type of number, numbering plan)")
        presentation = screening = reason = None
        if not o3 & 0x80:
            o3a = r.next("octet 3a (presentation and screening)")
            presentation, screening = (o3a >> 5) & 3, o3a & 3
            if not o3a & 0x80:
                o3b = r.last("octet 3b (reason for redirection)")
                reason = o3b & 0x0F
        return cls(r.ia5("number digits"), (o3 >> 4) & 7, o3 & 0x0F, presentation, screening, reason)


@dataclass(frozen=True)
class Cause(InformationElement):
    """Q.931 4.5.12 and Q.850: ``value`` (Q.850 Table 1), ``location`` (0 user, 1 private
    network serving the local user, 2 public network serving the local user, 3 transit
    network, 4 public network serving the remote user, 5 private network serving the remote
    user, 7 international network, 10 network beyond the interworking point), diagnostics
    kept as octets."""
    IE_ID: ClassVar[int] = 0x08
    value: int = 16
    location: int = 0
    coding_standard: int = 0
    recommendation: int | None = None
    diagnostic: bytes = b""

    def encode_body(self) -> bytes:
        o3 = (_field(self.coding_standard, 2, "coding standard") << 5) | _field(self.location, 4, "location")
        out = bytes((_ext(o3, self.recommendation is None),))
        if self.recommendation is not None:
            out += bytes((0x80 | _field(self.recommendation, 7, "recommendation"),))
        return out + bytes((0x80 | _field(self.value, 7, "cause value"),)) + self.diagnostic

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.next("octet 3 (coding standard, location)")
        recommendation = None
        if not o3 & 0x80:
            o3a = r.last("octet 3a (recommendation)")
            recommendation = o3a & 0x7F
        o4 = r.last("octet 4 (cause value)")
        return cls(o4 & 0x7F, o3 & 0x0F, (o3 >> 5) & 3, recommendation, r.rest())


@dataclass(frozen=True)
class ProgressIndicator(InformationElement):
    """Q.931 4.5.23: ``description`` 1 call is not end-to-end ISDN, 2 destination address is
    non-ISDN, 3 origination address is non-ISDN, 4 call has returned to the ISDN, 5
    interworking has occurred, 8 in-band information or an appropriate pattern is now
    available."""
    IE_ID: ClassVar[int] = 0x1E
    description: int = 8
    location: int = 0
    coding_standard: int = 0

    NOT_END_TO_END_ISDN: ClassVar[int] = 1
    INBAND_AVAILABLE: ClassVar[int] = 8

    def encode_body(self) -> bytes:
        return bytes((0x80 | (_field(self.coding_standard, 2, "coding standard") << 5)
                      | _field(self.location, 4, "location"),
                      0x80 | _field(self.description, 7, "progress description")))

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.last("octet 3 (coding standard, location)")
        o4 = r.last("octet 4 (progress description)")
        if r.more():
            raise r.error("octets after octet 4", "length", len(r.body))
        return cls(o4 & 0x7F, o3 & 0x0F, (o3 >> 5) & 3)


@dataclass(frozen=True)
class Display(InformationElement):
    """Q.931 4.5.16 as ETSI codes it: IA5 characters only (national variants such as NI-2
    put a display type octet first: see switch_type)."""
    IE_ID: ClassVar[int] = 0x28
    text: str = ""

    def encode_body(self) -> bytes:
        return _ia5_bytes(self.text, "display")

    @classmethod
    def decode_body(cls, r: _Octets):
        return cls(r.ia5("display information"))


@dataclass(frozen=True)
class CallState(InformationElement):
    """Q.931 4.5.7: the state of the call (the number of U0-U25 / N0-N25), or of the
    interface for the global call reference (0 REST 0, 61 REST 1, 62 REST 2)."""
    IE_ID: ClassVar[int] = 0x14
    state: int = 0
    coding_standard: int = 0

    def encode_body(self) -> bytes:
        return bytes(((_field(self.coding_standard, 2, "coding standard") << 6)
                      | _field(self.state, 6, "call state"),))

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.next("octet 3 (call state)")
        if r.more():
            raise r.error("octets after octet 3", "length", len(r.body))
        return cls(o3 & 0x3F, o3 >> 6)


@dataclass(frozen=True)
class RestartIndicator(InformationElement):
    """Q.931 4.5.25: the class of a RESTART: 0 the channels indicated (with a channel
    identification), 6 the single interface, 7 all interfaces."""
    IE_ID: ClassVar[int] = 0x79
    restart_class: int = 0

    INDICATED_CHANNELS: ClassVar[int] = 0
    SINGLE_INTERFACE: ClassVar[int] = 6
    ALL_INTERFACES: ClassVar[int] = 7

    def encode_body(self) -> bytes:
        return bytes((0x80 | _field(self.restart_class, 3, "restart class"),))

    @classmethod
    def decode_body(cls, r: _Octets):
        o3 = r.last("octet 3 (class)")
        if o3 & 0x07 not in (0, 6, 7):
            raise r.error(f"restart class {o3 & 7} is reserved (0, 6 and 7 are defined)", "octet 3: class",
                          o3 & 7, r.pos - 1)
        if r.more():
            raise r.error("octets after octet 3", "length", len(r.body))
        return cls(o3 & 0x07)


@dataclass(frozen=True)
class SendingComplete:
    """Q.931 4.5.27: the called number is complete (single octet, 0xA1)."""
    IE_ID: ClassVar[int] = SENDING_COMPLETE


@dataclass(frozen=True)
class SingleOctet:
    """Another single-octet element (more data, congestion level, repeat indicator, a
    reserved one), kept as its octet."""
    octet: int

    @property
    def IE_ID(self) -> int:         # noqa: N802 - the same attribute the element classes have
        return self.octet


@dataclass(frozen=True)
class Shift:
    """Q.931 4.5.2-4.5.3: the elements after a locking shift, or the one element after a
    non-locking shift, belong to ``codeset`` (5 national, 6 local network, 7 user)."""
    codeset: int
    locking: bool = False

    @property
    def octet(self) -> int:
        return SHIFT | (0 if self.locking else 0x08) | self.codeset


@dataclass(frozen=True)
class RawIe:
    """A variable-length element kept as octets: one not decoded here, one of another
    codeset, or one whose contents were defective."""
    ie_id: int
    body: bytes
    codeset: int = 0

    @property
    def IE_ID(self) -> int:         # noqa: N802
        return self.ie_id


DECODED = {cls.IE_ID: cls for cls in (BearerCapability, ChannelIdentification, CalledPartyNumber,
                                      CallingPartyNumber, RedirectingNumber, Cause, ProgressIndicator,
                                      Display, CallState, RestartIndicator)}


@dataclass(frozen=True)
class IeDefect:
    """What was wrong with one element: ``kind`` is "unrecognized" (an identifier Q.931
    does not define: cause 99), "content" (its contents break its coding: cause 100) or
    "truncated" (its length runs past the end: the message itself is malformed, cause 95
    "invalid message, unspecified"; the element is left out)."""
    kind: str
    ie_id: int
    codeset: int
    error: Q931Error


def encode_ie(ie) -> bytes:
    if isinstance(ie, SendingComplete):
        return bytes((SENDING_COMPLETE,))
    if isinstance(ie, SingleOctet):
        return bytes((ie.octet,))
    if isinstance(ie, Shift):
        return bytes((ie.octet,))
    body = ie.body if isinstance(ie, RawIe) else ie.encode_body()
    if len(body) > 255:
        raise UsageError(f"{ie_name(ie.IE_ID)}: {len(body)} octets of contents, at most 255 fit")
    return bytes((ie.IE_ID, len(body))) + body


def decode_ies(data: bytes, offset: int = 0) -> tuple[tuple, tuple]:
    """The elements in ``data`` (a message after its type octet; ``offset`` is where
    ``data`` starts in the message). Returns (elements, defects); never raises."""
    ies, defects = [], []
    locked, once = 0, None          # the locking codeset, a non-locking one for the next element
    pos = 0
    while pos < len(data):
        octet = data[pos]
        codeset = locked if once is None else once
        once = None
        if octet & 0x80:
            if octet & 0xF0 == SHIFT:
                target, locking = octet & 0x07, not octet & 0x08
                if locking and target < locked:
                    # 4.5.3: a locking shift may only go up; a step back is not understood.
                    defects.append(IeDefect("content", octet, 0, Q931Error(
                        f"locking shift to codeset {target} from codeset {locked}: a locking shift only "
                        "goes to a higher codeset", cause=100, ie=SHIFT, field="shift", value=octet,
                        offset=offset + pos)))
                elif locking:
                    locked = target
                else:
                    once = target
                ies.append(Shift(target, locking))
            elif octet == SENDING_COMPLETE and codeset == 0:
                ies.append(SendingComplete())
            else:
                ies.append(SingleOctet(octet))
            pos += 1
            continue
        if pos + 1 >= len(data):
            defects.append(IeDefect("truncated", octet, codeset, Q931Error(
                f"{ie_name(octet, codeset)}: the message ends before the length octet", cause=95, ie=octet,
                field=f"{ie_name(octet, codeset)}: length", offset=offset + pos + 1)))
            break
        length = data[pos + 1]
        body = data[pos + 2:pos + 2 + length]
        if len(body) < length:
            defects.append(IeDefect("truncated", octet, codeset, Q931Error(
                f"{ie_name(octet, codeset)}: length {length}, but the message ends after {len(body)} octets",
                cause=95, ie=octet, field=f"{ie_name(octet, codeset)}: length", value=length,
                offset=offset + pos + 1)))
            break
        ie = RawIe(octet, body, codeset)
        if codeset == 0 and octet in DECODED:
            try:
                ie = DECODED[octet].decode_body(_Octets(octet, body, offset + pos + 2))
            except Q931Error as exc:
                defects.append(IeDefect("content", octet, codeset, exc))
        elif codeset == 0 and octet not in IE_NAMES:
            defects.append(IeDefect("unrecognized", octet, codeset, Q931Error(
                f"information element 0x{octet:02x} is not defined in codeset 0", cause=99, ie=octet,
                field="information element identifier", value=octet, offset=offset + pos)))
        ies.append(ie)
        pos += 2 + length
    return tuple(ies), tuple(defects)
