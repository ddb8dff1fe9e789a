"""The board protocol of boards/PROTOCOL.md: frames, their CRC, every message, and a stream decoder.

No I/O here (CONVENTIONS 2): ``encode_frame`` turns a message into bytes,
``decode_frame`` turns one whole frame back, and ``FrameReader`` takes bytes in
any chunking, resynchronises as PROTOCOL.md says and hands out ``Frame``s,
counting what it had to throw away. Messages are frozen dataclasses; nothing
of ``construct`` escapes this module.

Every payload is laid out by a ``<thing>_format`` construct constant and
parsed and built through it, except AUDIO, the one message that comes 100
times a second per channel: it has a ``struct`` fast path (construct costs
~10 us a frame, over the 5 % of a core the issue allows for two E1 spans);
tests hold the fast path to ``audio_format`` byte for byte, errors included.
The frame header is checked by hand for the same reason and because
resynchronisation needs each check in the document's order with its offset;
``frame_format`` is the construct definition tests hold it to.

Errors in bytes from outside are ``FrameError`` (an ``InputError``: field,
value, byte offset); misuse when encoding (a value out of range) is ``UsageError``.
"""

from __future__ import annotations

import enum
import struct
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field, fields
from typing import Callable, ClassVar, NamedTuple

from construct import (Array, Bytes, Checksum, Const, ConstructError, GreedyBytes, Int8ul, Int16sl, Int16ul,
                       Int32ul, PrefixedArray, RawCopy, Rebuild, SizeofError, Struct, len_, this)

from gateway.boards.kinds import KINDS, Capability
from gateway.errors import InputError, UsageError

SYNC = b"LG"
VERSION = 1
HEADER_SIZE = 8
CRC_SIZE = 4
MAX_PAYLOAD = 1280
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE  # 1292
MAX_DATA = 1024  # BL_WRITE / BL_READ / BL_DATA bytes per frame
MAX_TRUSTED_KEYS = 4  # TRUSTED_KEYS: the keys a bootloader holds
AUDIO_SAMPLES = 160  # 20 ms of G.711 at 8 kHz
MAX_HDLC = 260


# --- errors -------------------------------------------------------------------------------------------

class FrameError(InputError):
    """Bytes from a board (or host) that are not a valid frame.

    ``field`` is the frame field (``version``, ``length``, ``crc``, ``type``) or
    ``<MESSAGE>.<field>`` for a payload field (``AUDIO.law``); ``offset`` is the
    byte offset of that field in the stream (or in the buffer given to
    ``decode_frame``); ``kind`` is the counter it goes to in ``FrameReader.errors``
    (version, length, crc, type, payload, timeout). A payload of the wrong size
    for its type is ``<MESSAGE>.payload`` (value: its size; offset: the length field).
    """

    def __init__(self, field: str, value, offset: int | None, message: str, *, source=None, kind=None):
        super().__init__(f"{field} = {value!r}: {message}", source=source, field=field, value=value,
                         offset=offset)
        self.reason = message
        self.kind = kind or ("payload" if "." in field else field)


class _Bad(ValueError):
    """A payload value out of its range: the reason, and how far into the field the fault is."""

    def __init__(self, reason: str, delta: int = 0):
        super().__init__(reason)
        self.delta = delta


# --- enumerations -------------------------------------------------------------------------------------

class MessageType(enum.IntEnum):
    IDENTIFY = 0x01
    RESET = 0x02
    CONFIGURE_SPAN = 0x03
    CONFIGURE_PORT = 0x04
    PORT_COMMAND = 0x05
    TONE = 0x06
    STATUS = 0x07
    CONFIG_GET = 0x08
    PORT_EVENT = 0x10
    ALARMS = 0x11
    CAS = 0x13
    HDLC = 0x14
    AUDIO = 0x15
    BL_ERASE = 0x20
    BL_WRITE = 0x21
    BL_READ = 0x22
    BL_SET_PENDING = 0x23
    BL_CONFIRM = 0x24
    BL_SLOT_INFO = 0x25
    BL_KEYS = 0x26
    LOG = 0x30
    SIM_ADVANCE = 0x40
    RESULT = 0x80
    IDENTITY = 0x81
    STATUS_REPORT = 0x87
    SPAN_CONFIG = 0x88
    PORT_CONFIG = 0x89
    BL_DATA = 0xA2
    SLOT_INFO = 0xA5
    TRUSTED_KEYS = 0xA6
    SIM_CLOCK = 0xC0


BoardCode = enum.IntEnum("BoardCode", {k.name.upper(): k.code for k in KINDS})
BoardCode.__doc__ = "IDENTITY.kind: the board kind codes of gateway.boards.kinds."


class ResetMode(enum.IntEnum):
    RESTART = 0
    BOOTLOADER = 1


class Framing(enum.IntEnum):
    CAS = 0
    CCS = 1


class LineCoding(enum.IntEnum):
    HDB3 = 0
    AMI = 1


class Law(enum.IntEnum):
    ALAW = 0
    ULAW = 1


class PortAction(enum.IntEnum):
    """PORT_COMMAND.command."""

    ON_HOOK = 0
    OFF_HOOK = 1
    FLASH = 2
    RING_START = 3
    RING_STOP = 4
    REVERSE_POLARITY = 5
    BATTERY_ON = 6
    BATTERY_OFF = 7


class ConfigWhat(enum.IntEnum):
    """CONFIG_GET.what."""

    SPAN = 0
    PORT = 1


class Slot(enum.IntEnum):
    A = 0
    B = 1


class Running(enum.IntEnum):
    FIRMWARE = 0
    BOOTLOADER = 1


class ResultCode(enum.IntEnum):
    """RESULT.status."""

    OK = 0
    BAD_REQUEST = 1
    UNSUPPORTED = 2
    BUSY = 3
    FLASH_ERROR = 4
    BAD_IMAGE = 5
    WRONG_STATE = 6


class SlotState(enum.IntEnum):
    EMPTY = 0
    INVALID = 1
    VALID = 2
    PENDING = 3
    ACTIVE = 4


class PortEventCode(enum.IntEnum):
    """PORT_EVENT.event."""

    OFF_HOOK = 0
    ON_HOOK = 1
    RING_ON = 2
    RING_OFF = 3
    BATTERY_LOST = 4
    BATTERY_RESTORED = 5
    POLARITY_REVERSAL = 6
    LOOP_CURRENT = 7


class LogLevel(enum.IntEnum):
    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


class Alarm(enum.IntFlag):
    LOS = 1
    AIS = 2
    LOF = 4
    RAI = 8


class PortState(enum.IntFlag):
    OFF_HOOK = 1
    RINGING = 2
    BATTERY = 4
    REVERSED = 8


NO_SLOT = 255  # IDENTITY.pending_slot when nothing is pending


class Version(NamedTuple):
    """A firmware or bootloader version, major.minor.patch (3 x u8 on the wire)."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @classmethod
    def parse(cls, text: str) -> "Version":
        """"1.2.3" -> Version(1, 2, 3); UsageError unless three numbers 0..255."""
        parts = str(text).strip().split(".")
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 3 or any(not 0 <= n <= 255 for n in numbers) or not all(p.isdigit() for p in parts):
            raise UsageError(f"version {text!r} is not X.Y.Z with each number 0..255")
        return cls(*numbers)


# --- value checks: raw wire value -> Python value, or _Bad ----------------------------------------------

def _enum(kind: type[enum.IntEnum]) -> Callable:
    members = {m.value: m for m in kind}
    allowed = ", ".join(f"{m.value} {m.name}" for m in kind)

    def check(raw):
        try:
            return members[raw]
        except (KeyError, TypeError):
            raise _Bad(f"not one of {allowed}") from None
    return check


def _flags(kind: type[enum.IntFlag]) -> Callable:
    mask = 0
    for m in kind:
        mask |= m.value

    def check(raw):
        if not isinstance(raw, int) or raw < 0 or raw & ~mask:
            raise _Bad(f"has bits other than those of {kind.__name__} (mask 0x{mask:x})")
        return kind(raw)
    return check


def _one_of(*allowed) -> Callable:
    def check(raw):
        if raw not in allowed:
            raise _Bad(f"not one of {', '.join(map(str, allowed))}")
        return raw
    return check


def _bool(raw):
    if raw not in (0, 1):
        raise _Bad("not 0 (off) or 1 (on)")
    return bool(raw)


def _in_range(low: int, high: int) -> Callable:
    def check(raw):
        if not isinstance(raw, int) or not low <= raw <= high:
            raise _Bad(f"outside {low}..{high}")
        return raw
    return check


def _utf8(raw: bytes) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"not UTF-8 at its byte {exc.start}", exc.start) from None


def _serial(raw: bytes) -> str:
    text = bytes(raw).rstrip(b"\0")
    for i, b in enumerate(text):
        if not 0x20 <= b <= 0x7E:
            raise _Bad(f"byte {i} is 0x{b:02x}: a serial is printable ASCII, then NUL padding", i)
    return text.decode("ascii")


def _tone_zone(raw: bytes) -> str:
    raw = bytes(raw)
    for i, b in enumerate(raw):
        if not 0x61 <= b <= 0x7A:
            raise _Bad("not two lowercase ASCII letters (a country code such as 'de')", i)
    return raw.decode("ascii")


def _version(raw) -> Version:
    return Version(*raw)


def _pending(raw):
    if raw == NO_SLOT:
        return None
    if raw in (0, 1):
        return Slot(raw)
    raise _Bad("not 0 A, 1 B or 255 none")


# --- messages -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    type: MessageType
    format: Struct
    checks: dict  # field -> check; fields without one take any value of their wire type
    to_wire: dict  # field -> Python value -> wire value, where they differ
    offsets: dict  # field -> offset in the payload (flat formats)
    fixed: int  # bytes before the variable tail (or the whole payload)
    tail: tuple[int, int] | None  # (least, most) bytes of the last field, when it is variable
    cross: Callable | None  # checks between fields: values -> (field, reason) or None
    compiled: list = field(default_factory=list)  # [parser], compiled on first use


_BY_TYPE: dict[int, type] = {}


def _message(type_code: MessageType, fmt: Struct, *, checks=None, to_wire=None, tail=None, cross=None):
    """Register a message class: its type, its payload format and the checks of its fields."""

    def register(cls):
        offsets, at = {}, 0
        for sub in fmt.subcons:
            offsets[sub.name] = at
            if sub is fmt.subcons[-1] and tail is not None:
                break
            try:
                at += sub.sizeof()
            except SizeofError:  # counted arrays: the class decodes itself
                break
        cls._spec = _Spec(type_code, fmt, checks or {}, to_wire or {}, offsets, at, tail, cross)
        cls.TYPE = type_code
        cls.NAME = type_code.name
        _BY_TYPE[type_code] = cls
        return cls
    return register


class Message:
    """Base of every message dataclass. ``TYPE``/``NAME`` are the wire type and the document's name."""

    __slots__ = ()
    TYPE: ClassVar[MessageType]
    NAME: ClassVar[str]
    _spec: ClassVar[_Spec]

    @property
    def is_reply(self) -> bool:
        return self.TYPE >= 0x80

    # Encoding: the caller's values are checked like a receiver would check them.
    def payload(self) -> bytes:
        spec = self._spec
        wire = {}
        for f in fields(self):
            value = getattr(self, f.name)
            convert = spec.to_wire.get(f.name)
            try:
                wire[f.name] = convert(value) if convert else value
            except (TypeError, ValueError, AttributeError, UnicodeEncodeError) as exc:
                raise UsageError(f"{self.NAME}.{f.name} = {value!r}: cannot be encoded ({exc})") from None
            check = spec.checks.get(f.name)
            if check is not None:
                try:
                    check(wire[f.name])
                except _Bad as exc:
                    raise UsageError(f"{self.NAME}.{f.name} = {value!r}: {exc}") from None
        self._check_cross(wire, None)
        if spec.tail is not None:
            last = spec.format.subcons[-1].name
            least, most = spec.tail
            if not least <= len(wire[last]) <= most:
                raise UsageError(f"{self.NAME}.{last} has {len(wire[last])} bytes; it takes {least}..{most}")
        try:
            return spec.format.build(wire)
        except (ConstructError, TypeError, ValueError) as exc:
            raise UsageError(f"{self.NAME}: cannot be encoded: {exc}") from None

    @classmethod
    def _check_cross(cls, values: dict, at: int | None) -> None:
        cross = cls._spec.cross
        problem = cross(values) if cross else None
        if problem:
            name, reason = problem
            if at is None:
                raise UsageError(f"{cls.NAME}.{name} = {values[name]!r}: {reason}")
            raise FrameError(f"{cls.NAME}.{name}", values[name], at + cls._spec.offsets[name], reason)

    @classmethod
    def _length_error(cls, n: int, at: int) -> FrameError:
        spec = cls._spec
        if spec.tail is None:
            takes = f"{spec.fixed} bytes"
        else:
            takes = f"{spec.fixed + spec.tail[0]}..{min(MAX_PAYLOAD, spec.fixed + spec.tail[1])} bytes"
        return FrameError(f"{cls.NAME}.payload", n, at - 2, f"{cls.NAME} takes {takes}, this payload has {n}")

    @classmethod
    def decode_payload(cls, payload: bytes, at: int = HEADER_SIZE) -> "Message":
        """The message in ``payload``; ``at`` is the payload's offset in the stream (for errors)."""
        return cls._decode_generic(payload, at)

    @classmethod
    def _decode_generic(cls, payload: bytes, at: int) -> "Message":
        spec = cls._spec
        n = len(payload)
        if spec.tail is None:
            if n != spec.fixed:
                raise cls._length_error(n, at)
        elif not spec.fixed + spec.tail[0] <= n <= spec.fixed + spec.tail[1]:
            raise cls._length_error(n, at)
        if not spec.compiled:
            spec.compiled.append(spec.format.compile())
        parsed = spec.compiled[0].parse(payload)
        values, raws = {}, {}
        for name, offset in spec.offsets.items():
            raw = parsed[name]
            raws[name] = raw
            check = spec.checks.get(name)
            if check is None:
                values[name] = raw
                continue
            try:
                values[name] = check(raw)
            except _Bad as exc:
                shown = bytes(raw) if isinstance(raw, (bytes, bytearray)) else raw
                raise FrameError(f"{cls.NAME}.{name}", shown, at + offset + exc.delta, str(exc)) from None
        cls._check_cross(raws, at)
        return cls(**values)


def _version_wire(v) -> list:
    v = Version(*v)
    for n in v:
        if not isinstance(n, int) or not 0 <= n <= 255:
            raise ValueError("each part is 0..255")
    return list(v)


def _text_wire(text: str) -> bytes:
    return text.encode("utf-8")


def _serial_wire(text: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > 16:
        raise ValueError("a serial has at most 16 characters")
    return raw.ljust(16, b"\0")


# Formats, one per message, in the order of PROTOCOL.md. Their field names are the document's.
identify_format = Struct()
reset_format = Struct("mode" / Int8ul)
configure_span_format = Struct("span" / Int8ul, "framing" / Int8ul, "crc4" / Int8ul, "coding" / Int8ul,
                               "clock_priority" / Int8ul, "law" / Int8ul)
configure_port_format = Struct("port" / Int8ul, "law" / Int8ul, "tone_zone" / Bytes(2), "rx_gain" / Int16sl,
                               "tx_gain" / Int16sl)
port_command_format = Struct("port" / Int8ul, "command" / Int8ul, "ms" / Int16ul)
tone_format = Struct("unit" / Int8ul, "channel" / Int8ul, "freq1" / Int16ul, "freq2" / Int16ul, "level" / Int16sl,
                     "on_ms" / Int16ul, "off_ms" / Int16ul, "repeat" / Int8ul)
status_format = Struct()
config_get_format = Struct("what" / Int8ul, "index" / Int8ul)
bl_erase_format = Struct("slot" / Int8ul)
bl_write_format = Struct("slot" / Int8ul, "offset" / Int32ul, "data" / GreedyBytes)
bl_read_format = Struct("slot" / Int8ul, "offset" / Int32ul, "length" / Int16ul)
bl_set_pending_format = Struct("slot" / Int8ul)
bl_confirm_format = Struct()
bl_keys_format = Struct()
trusted_keys_format = Struct("keys" / PrefixedArray(Int8ul, Bytes(32)))
bl_slot_info_format = Struct("slot" / Int8ul)
result_format = Struct("status" / Int8ul, "detail" / GreedyBytes)
version_format = Array(3, Int8ul)
identity_format = Struct("kind" / Int8ul, "serial" / Bytes(16), "hw_revision" / Int8ul,
                         "firmware_version" / version_format, "bootloader_version" / version_format,
                         "active_slot" / Int8ul, "pending_slot" / Int8ul, "running" / Int8ul,
                         "capabilities" / Int32ul, "ports" / Int8ul, "spans" / Int8ul)
port_status_format = Struct("state" / Int8ul, "loop_ma" / Int16ul)
span_status_format = Struct("alarms" / Int8ul, "crc4_errors" / Int32ul, "slips" / Int32ul, "bpv" / Int32ul)
status_report_format = Struct("ports" / PrefixedArray(Int8ul, port_status_format),
                              "spans" / PrefixedArray(Int8ul, span_status_format), "uptime_ms" / Int32ul)
# SPAN_CONFIG and PORT_CONFIG are CONFIGURE_SPAN's and CONFIGURE_PORT's layouts (PROTOCOL.md).
span_config_format = configure_span_format
port_config_format = configure_port_format
bl_data_format = Struct("slot" / Int8ul, "offset" / Int32ul, "data" / GreedyBytes)
slot_info_format = Struct("slot" / Int8ul, "state" / Int8ul, "version" / version_format, "length" / Int32ul,
                          "sha256" / Bytes(32))
port_event_format = Struct("port" / Int8ul, "event" / Int8ul, "value" / Int16ul, "time_ms" / Int32ul)
alarms_format = Struct("span" / Int8ul, "alarms" / Int8ul, "crc4_errors" / Int32ul, "slips" / Int32ul,
                       "bpv" / Int32ul, "time_ms" / Int32ul)
cas_format = Struct("span" / Int8ul, "timeslot" / Int8ul, "abcd" / Int8ul)
hdlc_format = Struct("span" / Int8ul, "frame" / GreedyBytes)
audio_format = Struct("unit" / Int8ul, "channel" / Int8ul, "law" / Int8ul, "time" / Int32ul,
                      "samples" / Bytes(AUDIO_SAMPLES))
log_format = Struct("level" / Int8ul, "text" / GreedyBytes)
sim_advance_format = Struct("until_ms" / Int32ul)
sim_clock_format = Struct("now_ms" / Int32ul)

# The whole frame, as the document draws it. The codec below checks headers by
# hand (see the module docstring); tests build and parse with this to hold it to it.
frame_format = Struct(
    "sync" / Const(SYNC),
    "body" / RawCopy(Struct(
        "version" / Const(VERSION, Int8ul),
        "type" / Int8ul,
        "seq" / Int16ul,
        "length" / Rebuild(Int16ul, len_(this.payload)),
        "payload" / Bytes(this.length),
    )),
    "crc" / Checksum(Int32ul, lambda data: zlib.crc32(data), this.body.data),
)

_TEXT_TAIL = (0, MAX_PAYLOAD - 1)
_CHANNEL = _in_range(0, 31)  # "Channels": 0 on a port, a timeslot 1..31 on a span


@_message(MessageType.IDENTIFY, identify_format)
@dataclass(frozen=True, slots=True)
class Identify(Message):
    pass


@_message(MessageType.RESET, reset_format, checks={"mode": _enum(ResetMode)})
@dataclass(frozen=True, slots=True)
class Reset(Message):
    mode: ResetMode = ResetMode.RESTART


@_message(MessageType.CONFIGURE_SPAN, configure_span_format,
          checks={"framing": _enum(Framing), "crc4": _bool, "coding": _enum(LineCoding), "law": _enum(Law)},
          to_wire={"crc4": int})
@dataclass(frozen=True, slots=True)
class ConfigureSpan(Message):
    span: int
    framing: Framing
    crc4: bool
    coding: LineCoding
    clock_priority: int  # 0 never the clock source, 1 first choice, 2 next...
    law: Law


@_message(MessageType.CONFIGURE_PORT, configure_port_format,
          checks={"law": _enum(Law), "tone_zone": _tone_zone}, to_wire={"tone_zone": lambda s: s.encode("ascii")})
@dataclass(frozen=True, slots=True)
class ConfigurePort(Message):
    port: int
    law: Law
    tone_zone: str  # country code, e.g. "de"
    rx_gain: int = 0  # 0.1 dB
    tx_gain: int = 0


def _port_command_cross(v):
    if v["command"] != PortAction.FLASH and v["ms"] != 0:
        return "ms", "is 0 for every command but FLASH"
    return None


@_message(MessageType.PORT_COMMAND, port_command_format, checks={"command": _enum(PortAction)},
          cross=_port_command_cross)
@dataclass(frozen=True, slots=True)
class PortCommand(Message):
    port: int
    command: PortAction
    ms: int = 0  # FLASH: the hook flash's length


@_message(MessageType.TONE, tone_format, checks={"channel": _CHANNEL})
@dataclass(frozen=True, slots=True)
class Tone(Message):
    unit: int
    channel: int
    freq1: int  # Hz; 0 stops the tone
    freq2: int = 0
    level: int = -100  # 0.1 dBm0, each frequency
    on_ms: int = 0  # 0: continuous
    off_ms: int = 0
    repeat: int = 0  # 0: until stopped


@_message(MessageType.STATUS, status_format)
@dataclass(frozen=True, slots=True)
class Status(Message):
    pass


@_message(MessageType.CONFIG_GET, config_get_format, checks={"what": _enum(ConfigWhat)})
@dataclass(frozen=True, slots=True)
class ConfigGet(Message):
    what: ConfigWhat
    index: int  # the span or port


@_message(MessageType.BL_ERASE, bl_erase_format, checks={"slot": _enum(Slot)})
@dataclass(frozen=True, slots=True)
class BlErase(Message):
    slot: Slot


@_message(MessageType.BL_WRITE, bl_write_format, checks={"slot": _enum(Slot)}, tail=(1, MAX_DATA))
@dataclass(frozen=True, slots=True)
class BlWrite(Message):
    slot: Slot
    offset: int
    data: bytes


@_message(MessageType.BL_READ, bl_read_format, checks={"slot": _enum(Slot), "length": _in_range(1, MAX_DATA)})
@dataclass(frozen=True, slots=True)
class BlRead(Message):
    slot: Slot
    offset: int
    length: int


@_message(MessageType.BL_SET_PENDING, bl_set_pending_format, checks={"slot": _enum(Slot)})
@dataclass(frozen=True, slots=True)
class BlSetPending(Message):
    slot: Slot


@_message(MessageType.BL_CONFIRM, bl_confirm_format)
@dataclass(frozen=True, slots=True)
class BlConfirm(Message):
    pass


@_message(MessageType.BL_KEYS, bl_keys_format)
@dataclass(frozen=True, slots=True)
class BlKeys(Message):
    pass


@_message(MessageType.BL_SLOT_INFO, bl_slot_info_format, checks={"slot": _enum(Slot)})
@dataclass(frozen=True, slots=True)
class BlSlotInfo(Message):
    slot: Slot


@_message(MessageType.RESULT, result_format, checks={"status": _enum(ResultCode), "detail": _utf8},
          to_wire={"detail": _text_wire}, tail=_TEXT_TAIL)
@dataclass(frozen=True, slots=True)
class Result(Message):
    status: ResultCode
    detail: str = ""


@_message(MessageType.IDENTITY, identity_format,
          checks={"kind": _enum(BoardCode), "serial": _serial, "firmware_version": _version,
                  "bootloader_version": _version, "active_slot": _enum(Slot), "pending_slot": _pending,
                  "running": _enum(Running), "capabilities": _flags(Capability)},
          to_wire={"serial": _serial_wire, "firmware_version": _version_wire, "bootloader_version": _version_wire,
                   "pending_slot": lambda s: NO_SLOT if s is None else int(s)})
@dataclass(frozen=True, slots=True)
class Identity(Message):
    kind: BoardCode
    serial: str
    hw_revision: int
    firmware_version: Version
    bootloader_version: Version
    active_slot: Slot
    pending_slot: Slot | None
    running: Running
    capabilities: Capability
    ports: int
    spans: int


@dataclass(frozen=True, slots=True)
class PortStatus:
    state: PortState
    loop_ma: int


@dataclass(frozen=True, slots=True)
class SpanStatus:
    alarms: Alarm
    crc4_errors: int
    slips: int
    bpv: int


_port_state = _flags(PortState)
_alarm_bits = _flags(Alarm)


@_message(MessageType.STATUS_REPORT, status_report_format)
@dataclass(frozen=True, slots=True)
class StatusReport(Message):
    ports: tuple[PortStatus, ...]
    spans: tuple[SpanStatus, ...]
    uptime_ms: int

    # Two counted arrays: the generic flat-layout code does not fit, so both ways are spelled out.
    def payload(self) -> bytes:
        try:
            wire = {"ports": [{"state": int(p.state), "loop_ma": p.loop_ma} for p in self.ports],
                    "spans": [{"alarms": int(s.alarms), "crc4_errors": s.crc4_errors, "slips": s.slips,
                               "bpv": s.bpv} for s in self.spans],
                    "uptime_ms": self.uptime_ms}
            for port in wire["ports"]:
                _port_state(port["state"])
            for span in wire["spans"]:
                _alarm_bits(span["alarms"])
            return status_report_format.build(wire)
        except _Bad as exc:
            raise UsageError(f"STATUS_REPORT: {exc}") from None
        except (ConstructError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"STATUS_REPORT: cannot be encoded: {exc}") from None

    @classmethod
    def _decode_generic(cls, payload: bytes, at: int) -> "StatusReport":
        n = len(payload)

        def short():
            return FrameError("STATUS_REPORT.payload", n, at - 2,
                              f"STATUS_REPORT is too short for its counts ({n} bytes)")
        if n < 1:
            raise short()
        ports = payload[0]
        spans_at = 1 + 3 * ports
        if n < spans_at + 1:
            raise short()
        spans = payload[spans_at]
        expected = spans_at + 1 + 13 * spans + 4
        if n != expected:
            raise FrameError("STATUS_REPORT.payload", n, at - 2,
                             f"STATUS_REPORT with {ports} ports and {spans} spans takes {expected} bytes, "
                             f"this payload has {n}")
        parsed = status_report_format.parse(payload)
        port_list, span_list = [], []
        for i, p in enumerate(parsed.ports):
            try:
                port_list.append(PortStatus(_port_state(p.state), p.loop_ma))
            except _Bad as exc:
                raise FrameError(f"STATUS_REPORT.ports[{i}].state", p.state, at + 1 + 3 * i, str(exc)) from None
        for j, s in enumerate(parsed.spans):
            try:
                span_list.append(SpanStatus(_alarm_bits(s.alarms), s.crc4_errors, s.slips, s.bpv))
            except _Bad as exc:
                raise FrameError(f"STATUS_REPORT.spans[{j}].alarms", s.alarms, at + spans_at + 1 + 13 * j,
                                 str(exc)) from None
        return cls(tuple(port_list), tuple(span_list), parsed.uptime_ms)


@_message(MessageType.SPAN_CONFIG, span_config_format,
          checks={"framing": _enum(Framing), "crc4": _bool, "coding": _enum(LineCoding), "law": _enum(Law)},
          to_wire={"crc4": int})
@dataclass(frozen=True, slots=True)
class SpanConfig(Message):
    """A span's configuration as the board holds it: CONFIGURE_SPAN's fields."""

    span: int
    framing: Framing
    crc4: bool
    coding: LineCoding
    clock_priority: int
    law: Law


@_message(MessageType.PORT_CONFIG, port_config_format,
          checks={"law": _enum(Law), "tone_zone": _tone_zone}, to_wire={"tone_zone": lambda s: s.encode("ascii")})
@dataclass(frozen=True, slots=True)
class PortConfig(Message):
    """A port's configuration as the board holds it: CONFIGURE_PORT's fields."""

    port: int
    law: Law
    tone_zone: str
    rx_gain: int  # 0.1 dB
    tx_gain: int


@_message(MessageType.BL_DATA, bl_data_format, checks={"slot": _enum(Slot)}, tail=(1, MAX_DATA))
@dataclass(frozen=True, slots=True)
class BlData(Message):
    slot: Slot
    offset: int
    data: bytes


@_message(MessageType.TRUSTED_KEYS, trusted_keys_format)
@dataclass(frozen=True, slots=True)
class TrustedKeys(Message):
    keys: tuple[bytes, ...]  # the 32 raw bytes of each Ed25519 public key the bootloader trusts

    # A counted array: spelled out both ways, as STATUS_REPORT is.
    def payload(self) -> bytes:
        if not 1 <= len(self.keys) <= MAX_TRUSTED_KEYS or any(len(k) != 32 for k in self.keys):
            raise UsageError(f"TRUSTED_KEYS: 1..{MAX_TRUSTED_KEYS} keys of 32 bytes, not {[len(k) for k in self.keys]}")
        return trusted_keys_format.build({"keys": list(self.keys)})

    @classmethod
    def _decode_generic(cls, payload: bytes, at: int) -> "TrustedKeys":
        n = len(payload)
        if n == 0:
            raise FrameError("TRUSTED_KEYS.payload", n, at - 2, "TRUSTED_KEYS is empty; it starts with a count")
        count = payload[0]
        if not 1 <= count <= MAX_TRUSTED_KEYS:
            raise FrameError("TRUSTED_KEYS.count", count, at, f"1..{MAX_TRUSTED_KEYS} keys")
        if n != 1 + 32 * count:
            raise FrameError("TRUSTED_KEYS.payload", n, at - 2, f"{count} keys take {1 + 32 * count} bytes, "
                             f"this payload has {n}")
        return cls(tuple(bytes(k) for k in trusted_keys_format.parse(payload)["keys"]))


@_message(MessageType.SLOT_INFO, slot_info_format,
          checks={"slot": _enum(Slot), "state": _enum(SlotState), "version": _version},
          to_wire={"version": _version_wire})
@dataclass(frozen=True, slots=True)
class SlotInfo(Message):
    slot: Slot
    state: SlotState
    version: Version
    length: int
    sha256: bytes


def _port_event_cross(v):
    if v["event"] != PortEventCode.LOOP_CURRENT and v["value"] != 0:
        return "value", "is 0 for every event but LOOP_CURRENT"
    return None


@_message(MessageType.PORT_EVENT, port_event_format, checks={"event": _enum(PortEventCode)},
          cross=_port_event_cross)
@dataclass(frozen=True, slots=True)
class PortEvent(Message):
    port: int
    event: PortEventCode
    value: int  # LOOP_CURRENT: mA
    time_ms: int


@_message(MessageType.ALARMS, alarms_format, checks={"alarms": _flags(Alarm)})
@dataclass(frozen=True, slots=True)
class Alarms(Message):
    span: int
    alarms: Alarm
    crc4_errors: int
    slips: int
    bpv: int
    time_ms: int


def _timeslot(raw):
    if not (1 <= raw <= 15 or 17 <= raw <= 31):
        raise _Bad("outside 1..15, 17..31 (CAS timeslots)")
    return raw


@_message(MessageType.CAS, cas_format, checks={"timeslot": _timeslot, "abcd": _in_range(0, 15)})
@dataclass(frozen=True, slots=True)
class Cas(Message):
    span: int
    timeslot: int
    abcd: int  # A is bit 3, D bit 0


@_message(MessageType.HDLC, hdlc_format, tail=(1, MAX_HDLC))
@dataclass(frozen=True, slots=True)
class Hdlc(Message):
    span: int
    frame: bytes  # a Q.921 frame without flags and FCS


_AUDIO_HEAD = struct.Struct("<BBBI")
_AUDIO_SIZE = _AUDIO_HEAD.size + AUDIO_SAMPLES
_LAWS = (Law.ALAW, Law.ULAW)


@_message(MessageType.AUDIO, audio_format, checks={"channel": _CHANNEL, "law": _enum(Law)})
@dataclass(frozen=True, slots=True)
class Audio(Message):
    unit: int
    channel: int
    law: Law
    time: int  # samples at 8 kHz since the channel opened
    samples: bytes  # 160 G.711 codes

    # The fast path (module docstring): same checks, same errors as the generic one.
    def payload(self) -> bytes:
        samples = self.samples
        law = self.law
        if (law is not Law.ALAW and law is not Law.ULAW) or not 0 <= self.channel <= 31 \
                or type(samples) is not bytes or len(samples) != AUDIO_SAMPLES:
            return Message.payload(self)  # the generic path names what is wrong
        try:
            return _AUDIO_HEAD.pack(self.unit, self.channel, law, self.time) + samples
        except struct.error:
            return Message.payload(self)

    @classmethod
    def decode_payload(cls, payload: bytes, at: int = HEADER_SIZE) -> "Audio":
        if len(payload) != _AUDIO_SIZE:
            raise cls._length_error(len(payload), at)
        unit, channel, law, time = _AUDIO_HEAD.unpack_from(payload)
        if law > 1 or channel > 31:
            return cls._decode_generic(payload, at)  # raises, naming the field
        return cls(unit, channel, _LAWS[law], time, payload[7:])


@_message(MessageType.LOG, log_format, checks={"level": _enum(LogLevel), "text": _utf8},
          to_wire={"text": _text_wire}, tail=_TEXT_TAIL)
@dataclass(frozen=True, slots=True)
class Log(Message):
    level: LogLevel
    text: str


@_message(MessageType.SIM_ADVANCE, sim_advance_format)
@dataclass(frozen=True, slots=True)
class SimAdvance(Message):
    """Simulator only (PROTOCOL.md, "Host-granted time"): run the board's virtual clock up to until_ms."""

    until_ms: int


@_message(MessageType.SIM_CLOCK, sim_clock_format)
@dataclass(frozen=True, slots=True)
class SimClock(Message):
    now_ms: int  # the board's clock once it has run to the grant


MESSAGES: tuple[type[Message], ...] = tuple(_BY_TYPE[t] for t in sorted(_BY_TYPE))

# The reply a request expects besides RESULT (every request may get RESULT BAD_REQUEST); CONFIG_GET's
# depends on its ``what``, so it names both.
REPLY_TO: dict[type[Message], type[Message] | tuple[type[Message], ...]] = {
    ConfigGet: (SpanConfig, PortConfig),
    Identify: Identity, Reset: Result, ConfigureSpan: Result, ConfigurePort: Result, PortCommand: Result,
    Tone: Result, Status: StatusReport, BlErase: Result, BlWrite: Result, BlRead: BlData, BlSetPending: Result,
    BlConfirm: Result, BlSlotInfo: SlotInfo, BlKeys: TrustedKeys, SimAdvance: SimClock,
}


def message_class(type_code: int) -> type[Message] | None:
    return _BY_TYPE.get(type_code)


# --- frames -------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Frame:
    """One frame that passed every check: its sequence number and message. ``offset`` is where
    its sync began in the stream (not part of equality)."""

    seq: int
    message: Message
    offset: int = field(default=0, compare=False)


_HEADER = struct.Struct("<2sBBHH")
_CRC = struct.Struct("<I")


def encode_frame(message: Message, seq: int) -> bytes:
    """The bytes of one frame carrying ``message``. UsageError for a value out of range."""
    if not isinstance(message, Message):
        raise UsageError(f"not a board protocol message: {message!r}")
    return encode_payload_frame(message.TYPE, seq, message.payload(), message.NAME)


def encode_payload_frame(type_code: int, seq: int, payload: bytes, name: str = "frame") -> bytes:
    """One frame of any type around a payload laid out already (the simulator's line side,
    boards/sim/LINESIDE.md, shares the frame with its own types). UsageError for a seq or a
    payload the frame cannot carry."""
    if not isinstance(seq, int) or not 0 <= seq <= 0xFFFF:
        raise UsageError(f"seq = {seq!r}: outside 0..65535")
    if len(payload) > MAX_PAYLOAD:
        raise UsageError(f"{name}: payload of {len(payload)} bytes, over the {MAX_PAYLOAD} a frame carries")
    head = _HEADER.pack(SYNC, VERSION, type_code, seq, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(head[2:]))
    return head + payload + _CRC.pack(crc)


def decode_message(type_code: int, payload: bytes, at: int):
    """The board protocol's message of this type in ``payload`` (``at``: its stream offset);
    FrameError for an unknown type or a payload that does not fit it."""
    cls = _BY_TYPE.get(type_code)
    if cls is None:
        raise FrameError("type", type_code, at - HEADER_SIZE + 3, "not a message type of protocol version 1")
    return cls.decode_payload(payload, at)


def _decode_body(buf, start: int, length: int, base: int, decode=decode_message) -> Frame:
    """The frame at ``buf[start:]``, whose version, length and CRC are already checked, its
    payload given to ``decode``. ``base`` is the stream offset of buf[0]."""
    payload = bytes(buf[start + HEADER_SIZE:start + HEADER_SIZE + length])
    message = decode(buf[start + 3], payload, base + start + HEADER_SIZE)
    return Frame(buf[start + 4] | buf[start + 5] << 8, message, base + start)


def decode_frame(data: bytes, offset: int = 0, decode=decode_message) -> Frame:
    """The one frame that is exactly ``data``; FrameError for anything else (offsets from ``offset``).
    ``decode(type, payload, at)`` makes the message (another message set than this protocol's)."""
    data = bytes(data)
    n = len(data)
    if n < HEADER_SIZE + CRC_SIZE:
        raise FrameError("frame", n, offset, f"a frame is at least {HEADER_SIZE + CRC_SIZE} bytes, this is {n}")
    if data[:2] != SYNC:
        raise FrameError("sync", data[:2], offset, "a frame begins with 4C 47 (\"LG\")")
    _, version, _, _, length = _HEADER.unpack_from(data)
    if version != VERSION:
        raise FrameError("version", version, offset + 2, f"this host speaks protocol version {VERSION}")
    if length > MAX_PAYLOAD:
        raise FrameError("length", length, offset + 6, f"over the {MAX_PAYLOAD} bytes a payload may have")
    if n != HEADER_SIZE + length + CRC_SIZE:
        raise FrameError("frame", n, offset, f"length {length} makes a frame of {HEADER_SIZE + length + CRC_SIZE} "
                                             f"bytes, this is {n}")
    (crc,) = _CRC.unpack_from(data, HEADER_SIZE + length)
    expected = zlib.crc32(memoryview(data)[2:HEADER_SIZE + length])
    if crc != expected:
        raise FrameError("crc", crc, offset + HEADER_SIZE + length, f"the bytes give 0x{expected:08x}")
    return _decode_body(data, 0, length, offset, decode)


ERROR_KINDS = ("version", "length", "crc", "type", "payload", "timeout")


class FrameReader:
    """Bytes in, frames out, resynchronising as PROTOCOL.md says ("Receiving, errors and resynchronisation").

    ``feed(data)`` takes any chunk and returns the frames completed by it. A
    rejected frame is counted in ``errors`` (by kind: version, length, crc,
    type, payload), kept among the last ``recent_errors`` and given to
    ``on_error`` if set; bytes that belong to no intact frame are counted in
    ``noise_bytes``. At most one frame's worth (1292 bytes) is ever held.

    ``abandon()`` is for the link to call when the line has been quiet for the
    idle gap of PROTOCOL.md with part of a frame held: a false sync in noise
    must not hold the frames after it until 1292 more bytes come.

    ``decode(type, payload, at)`` makes a frame's message (default: this
    protocol's ``decode_message``; the simulator's line side has its own).
    """

    def __init__(self, *, on_error: Callable[[FrameError], None] | None = None, keep_errors: int = 16,
                 decode: Callable = decode_message):
        self._decode = decode
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self.on_error = on_error
        self.errors: Counter[str] = Counter()
        self.recent_errors: deque[FrameError] = deque(maxlen=keep_errors)
        self.noise_bytes = 0
        self.frames = 0  # decoded
        self.bytes_fed = 0

    @property
    def pending(self) -> int:
        """Bytes held, waiting for the rest of a frame."""
        return len(self._buf)

    def _reject(self, error: FrameError) -> None:
        self.errors[error.kind] += 1
        self.recent_errors.append(error)
        if self.on_error is not None:
            self.on_error(error)

    def abandon(self) -> list[Frame]:
        """Give up the partial frame held (PROTOCOL.md: idle gap): count a ``timeout`` error, resume
        the search after its first sync byte, and return any frames found in the bytes held."""
        buf = self._buf
        if len(buf) < 2 or buf[:2] != SYNC:
            return []  # nothing or half a sync: nothing waits on it
        self._reject(FrameError("frame", len(buf), self._base, f"only {len(buf)} bytes of a frame came before "
                                "the line went quiet", kind="timeout"))
        self.noise_bytes += 1
        del buf[:1]
        self._base += 1
        return self.feed(b"")

    def feed(self, data) -> list[Frame]:
        self.bytes_fed += len(data)
        buf = self._buf
        buf += data
        base = self._base
        out: list[Frame] = []
        pos = 0
        end = len(buf)
        while True:
            i = buf.find(SYNC, pos)
            if i < 0:
                # Keep a last "L": it may be the first half of a sync.
                keep = 1 if end > pos and buf[end - 1] == 0x4C else 0
                self.noise_bytes += end - keep - pos
                pos = end - keep
                break
            self.noise_bytes += i - pos
            pos = i
            avail = end - pos
            # Decide as soon as the deciding byte is here: never wait on a header that is already wrong.
            if avail < 3:
                break
            version = buf[pos + 2]
            if version != VERSION:
                self._reject(FrameError("version", version, base + pos + 2,
                                        f"this host speaks protocol version {VERSION}"))
                self.noise_bytes += 1
                pos += 1
                continue
            if avail < HEADER_SIZE:
                break
            length = buf[pos + 6] | buf[pos + 7] << 8
            if length > MAX_PAYLOAD:
                self._reject(FrameError("length", length, base + pos + 6,
                                        f"over the {MAX_PAYLOAD} bytes a payload may have"))
                self.noise_bytes += 1
                pos += 1
                continue
            total = HEADER_SIZE + length + CRC_SIZE
            if avail < total:
                break
            crc_at = pos + HEADER_SIZE + length
            crc = buf[crc_at] | buf[crc_at + 1] << 8 | buf[crc_at + 2] << 16 | buf[crc_at + 3] << 24
            expected = zlib.crc32(buf[pos + 2:crc_at])
            if crc != expected:
                self._reject(FrameError("crc", crc, base + crc_at, f"the bytes give 0x{expected:08x}"))
                self.noise_bytes += 1
                pos += 1
                continue
            try:
                out.append(_decode_body(buf, pos, length, base, self._decode))
                self.frames += 1
            except FrameError as exc:  # intact but unusable: skip the whole frame
                self._reject(exc)
            pos += total
        if pos:
            del buf[:pos]
            self._base = base + pos
        return out
