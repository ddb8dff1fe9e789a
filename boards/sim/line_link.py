"""The line side's wire (boards/sim/LINESIDE.md): what a simulated board and the simulated
telephone network exchange each 20 ms tick, to and from the types of ``lineside.py``. No I/O.

    data = encode_tick(tick, seq)                  # a TICK and its LINE_AUDIO / LINE_HDLC frames
    decoder = LineDecoder()
    for seq, message in decoder.feed(data):        # Hello, Welcome, Refused, Tick or Tock, whole
        ...

Frames are the board protocol's (``gateway.boards.protocol``: ``encode_payload_frame``, and
``FrameReader`` with this module's decoder); the payloads are laid out with ``struct`` here.
Why not construct formats in protocol.py (the one module that imports construct): a TICK and a
TOCK are lists of entries with counted and bit-masked parts, which construct's flat formats do
not describe (STATUS_REPORT, the one such message of the board protocol, is hand-decoded too),
and they come 50 times a second per board on the simulator's hot path, where construct costs
~10 us a frame (protocol.py's AUDIO has a struct fast path for that reason).

A line link carries frames only (LINESIDE.md): ``LineDecoder.feed`` raises ``FrameError`` (an
``InputError``: field, value, stream offset) at the first thing wrong (a bad frame, a byte
outside a frame, a part out of place), after which the link is useless. Encoding a value the
wire cannot carry is ``UsageError``.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from gateway.boards.kinds import KINDS, kind_by_code
from gateway.boards.protocol import HEADER_SIZE, MAX_HDLC, MAX_PAYLOAD, FrameError, FrameReader, encode_payload_frame
from gateway.boards.sim.lineside import (BLOCK_BYTES, BoardAttached, PortDrive, PortSense, SpanDrive, SpanSense,
                                         Tick, Tock)
from gateway.errors import UsageError

LINE_VERSION = 1
MAX_HOOK_CHANGES = 8
MAX_HDLC_PER_SPAN = 16   # a board's receiver queue per span and tick (line_model.h)
TIMESLOTS = tuple(t for t in range(1, 32) if t != 16)   # CAS and B-channel timeslots of a span
_TIMESLOT_MASK = sum(1 << t for t in TIMESLOTS)
LAWS = ("alaw", "ulaw")
_LAW_CODE = {"alaw": 0, "ulaw": 1}

# Drive (TICK) and sense (TOCK) bits of a port.
OFFHOOK, RING, BATTERY, REVERSED = 1, 2, 4, 8
_PORT_BITS = OFFHOOK | RING | BATTERY | REVERSED


class LineType(enum.IntEnum):
    HELLO = 0x50
    WELCOME = 0x51
    REFUSED = 0x52
    TICK = 0x53
    TOCK = 0x54
    LINE_AUDIO = 0x55
    LINE_HDLC = 0x56


@dataclass(frozen=True)
class Hello:
    """A board's first frame: who it is and the line-side version it speaks."""
    board: BoardAttached
    version: int = LINE_VERSION


@dataclass(frozen=True)
class Welcome:
    version: int = LINE_VERSION


@dataclass(frozen=True)
class Refused:
    reason: str


# --- encoding ---------------------------------------------------------------------------------

def _law(value, field: str) -> int:
    try:
        return _LAW_CODE[value]
    except (KeyError, TypeError):
        raise UsageError(f"{field} = {value!r}: 'alaw' or 'ulaw'") from None


def _byte(value, field: str, top: int = 255) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
        raise UsageError(f"{field} = {value!r}: a whole number 0..{top}")
    return value


def _block(value, field: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != BLOCK_BYTES:
        raise UsageError(f"{field}: {BLOCK_BYTES} bytes of G.711, not {value!r:.40}")
    return bytes(value)


def _cas(cas, field: str) -> tuple[int, bytes]:
    mask, values = 0, bytearray()
    for ts in sorted(cas):
        if ts not in TIMESLOTS:
            raise UsageError(f"{field}: timeslot {ts!r} carries no CAS (1..15, 17..31)")
        mask |= 1 << ts
        values.append(_byte(cas[ts], f"{field}[{ts}]", 15))
    return mask, bytes(values)


def _unique_units(entries, attr: str, field: str, limit: int | None) -> None:
    seen = set()
    for e in entries:
        unit = _byte(getattr(e, attr), f"{field}.{attr}")
        if unit in seen:
            raise UsageError(f"{field}: {attr} {unit} given twice")
        if limit is not None and unit >= limit:
            raise UsageError(f"{field}: {attr} {unit}, the board has {limit}")
        seen.add(unit)


def _frames(kind: LineType, seq: int, head: bytes, ports, spans) -> bytes:
    """The head and its parts: blocks in (unit, channel) order, then HDLC frames span by span."""
    name = kind.name
    if len(head) > MAX_PAYLOAD:
        raise UsageError(f"{name}: {len(head)} bytes, over the {MAX_PAYLOAD} a frame carries")
    parts = []
    for p in sorted(ports, key=lambda p: p.port):
        if p.audio is not None:
            parts.append(encode_payload_frame(LineType.LINE_AUDIO, seq, bytes((p.port, 0)) + p.audio, name))
    for s in sorted(spans, key=lambda s: s.span):
        for ts in sorted(s.audio):
            parts.append(encode_payload_frame(LineType.LINE_AUDIO, seq, bytes((s.span, ts)) + s.audio[ts], name))
    for s in sorted(spans, key=lambda s: s.span):
        for frame in s.hdlc:
            parts.append(encode_payload_frame(LineType.LINE_HDLC, seq, bytes((s.span,)) + frame, name))
    return encode_payload_frame(kind, seq, head, name) + b"".join(parts)


def _check_span_parts(s, field: str) -> tuple[int, int]:
    for ts, block in s.audio.items():
        if ts not in TIMESLOTS:
            raise UsageError(f"{field}.audio: timeslot {ts!r} is no B-channel (1..15, 17..31)")
        _block(block, f"{field}.audio[{ts}]")
    if len(s.hdlc) > MAX_HDLC_PER_SPAN:
        raise UsageError(f"{field}.hdlc: {len(s.hdlc)} frames, at most {MAX_HDLC_PER_SPAN} a tick")
    for frame in s.hdlc:
        if not isinstance(frame, (bytes, bytearray)) or not 1 <= len(frame) <= MAX_HDLC:
            raise UsageError(f"{field}.hdlc: a frame is 1..{MAX_HDLC} bytes, not {frame!r:.40}")
    return len(s.audio), len(s.hdlc)


def _counts(naudio: int, nhdlc: int, name: str) -> bytes:
    if naudio > 255 or nhdlc > 255:
        raise UsageError(f"{name}: {naudio} blocks and {nhdlc} HDLC frames; at most 255 of each a tick")
    return bytes((naudio, nhdlc))


def encode_hello(hello: Hello, seq: int = 0) -> bytes:
    b = hello.board
    kind = next((k for k in KINDS if k.name == b.kind), None)
    if kind is None:
        raise UsageError(f"HELLO.kind = {b.kind!r}: one of {', '.join(k.name for k in KINDS)}")
    serial = b.serial.encode("utf-8", "replace") if isinstance(b.serial, str) else b""
    if not isinstance(b.serial, str) or len(serial) > 16 or any(not 0x20 <= c <= 0x7E for c in serial):
        raise UsageError(f"HELLO.serial = {b.serial!r}: up to 16 printable ASCII characters")
    payload = bytes((_byte(hello.version, "HELLO.version"), kind.code)) + serial.ljust(16, b"\0") \
        + bytes((_byte(b.ports, "HELLO.ports"), _byte(b.spans, "HELLO.spans")))
    return encode_payload_frame(LineType.HELLO, seq, payload, "HELLO")


def encode_welcome(seq: int = 0, version: int = LINE_VERSION) -> bytes:
    return encode_payload_frame(LineType.WELCOME, seq, bytes((_byte(version, "WELCOME.version"),)), "WELCOME")


def encode_refused(reason: str, seq: int = 0) -> bytes:
    text = str(reason).encode("utf-8")[:MAX_PAYLOAD] or b"refused"
    return encode_payload_frame(LineType.REFUSED, seq, text, "REFUSED")


def encode_tick(tick: Tick, seq: int) -> bytes:
    """A TICK and its parts. UsageError for what the wire cannot carry."""
    if not isinstance(tick.time_ms, int) or not 0 <= tick.time_ms <= 0xFFFFFFFF:
        raise UsageError(f"TICK.time_ms = {tick.time_ms!r}: 0..2**32 - 1")
    head = bytearray(struct.pack("<IB", tick.time_ms, _byte(len(tick.ports), "TICK.ports")))
    naudio = nhdlc = 0
    _unique_units(tick.ports, "port", "TICK.ports", None)
    for p in sorted(tick.ports, key=lambda p: p.port):
        field = f"TICK.ports[{p.port}]"
        bits = (OFFHOOK if p.offhook else 0) | (RING if p.ringing else 0) | (BATTERY if p.battery else 0) \
            | (REVERSED if p.reversed else 0)
        changes = tuple(p.hook_changes)
        if len(changes) > MAX_HOOK_CHANGES:
            raise UsageError(f"{field}.hook_changes: {len(changes)}, at most {MAX_HOOK_CHANGES} a tick")
        head += bytes((p.port, bits, _law(p.law, f"{field}.law"), len(changes)))
        last = None
        for ms, offhook in changes:
            if not isinstance(ms, int) or not 0 <= ms <= 0xFFFF or (last is not None and ms > last):
                raise UsageError(f"{field}.hook_changes: ms_before {ms!r} (0..65535, oldest first)")
            last = ms
            head += struct.pack("<HB", ms, 1 if offhook else 0)
        if changes and bool(changes[-1][1]) != bool(p.offhook):
            raise UsageError(f"{field}: the last hook change says offhook={changes[-1][1]}, the port {p.offhook}")
        if p.audio is not None:
            _block(p.audio, f"{field}.audio")
            naudio += 1
    head.append(_byte(len(tick.spans), "TICK.spans"))
    _unique_units(tick.spans, "span", "TICK.spans", None)
    for s in sorted(tick.spans, key=lambda s: s.span):
        field = f"TICK.spans[{s.span}]"
        mask, values = _cas(s.cas, f"{field}.cas")
        head += struct.pack("<BBI", s.span, _law(s.law, f"{field}.law"), mask) + values
        a, h = _check_span_parts(s, field)
        naudio += a
        nhdlc += h
    head += _counts(naudio, nhdlc, "TICK")
    return _frames(LineType.TICK, seq, bytes(head), tick.ports, tick.spans)


def encode_tock(tock: Tock, seq: int, board: BoardAttached | None = None) -> bytes:
    """A TOCK (the answer to the TICK of ``seq``) and its parts; with ``board``, ports and spans
    it does not have are refused. UsageError for what the wire cannot carry."""
    head = bytearray((_byte(len(tock.ports), "TOCK.ports"),))
    naudio = nhdlc = 0
    _unique_units(tock.ports, "port", "TOCK.ports", board.ports if board else None)
    for p in sorted(tock.ports, key=lambda p: p.port):
        bits = (OFFHOOK if p.offhook else 0) | (RING if p.ring else 0) | (BATTERY if p.battery else 0) \
            | (REVERSED if p.reversed else 0)
        head += bytes((p.port, bits))
        if p.audio is not None:
            _block(p.audio, f"TOCK.ports[{p.port}].audio")
            naudio += 1
    head.append(_byte(len(tock.spans), "TOCK.spans"))
    _unique_units(tock.spans, "span", "TOCK.spans", board.spans if board else None)
    for s in sorted(tock.spans, key=lambda s: s.span):
        field = f"TOCK.spans[{s.span}]"
        mask, values = _cas(s.cas, f"{field}.cas")
        head += struct.pack("<BBI", s.span, 1 if s.signal else 0, mask) + values
        a, h = _check_span_parts(s, field)
        naudio += a
        nhdlc += h
    head += _counts(naudio, nhdlc, "TOCK")
    return _frames(LineType.TOCK, seq, bytes(head), tock.ports, tock.spans)


# --- decoding ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Head:
    """A TICK's or TOCK's payload, parsed; its parts come as the following frames."""
    kind: LineType
    time_ms: int
    ports: tuple          # TICK: (port, bits, law, changes); TOCK: (port, bits)
    spans: tuple          # TICK: (span, law, cas); TOCK: (span, signal, cas)
    naudio: int
    nhdlc: int
    port_set: frozenset
    span_set: frozenset


@dataclass(frozen=True, slots=True)
class _Part:
    kind: LineType
    unit: int
    channel: int          # LINE_AUDIO's; LINE_HDLC: -1
    data: bytes


class _Payload:
    """Reads a payload field by field; a short payload is an error at the frame's length field."""

    __slots__ = ("data", "at", "i", "name")

    def __init__(self, name: str, data: bytes, at: int):
        self.name, self.data, self.at, self.i = name, data, at, 0

    def take(self, fmt: struct.Struct):
        if len(self.data) - self.i < fmt.size:
            raise FrameError(f"{self.name}.payload", len(self.data), self.at - 2,
                             f"{self.name} ends inside its entries ({len(self.data)} bytes)")
        values = fmt.unpack_from(self.data, self.i)
        self.i += fmt.size
        return values

    def error(self, field: str, value, back: int, why: str) -> FrameError:
        """The field that ended ``back`` bytes before where reading is now."""
        return FrameError(f"{self.name}.{field}", value, self.at + self.i - back, why)

    def end(self) -> None:
        if self.i != len(self.data):
            raise FrameError(f"{self.name}.payload", len(self.data), self.at - 2,
                             f"{len(self.data) - self.i} bytes after its last field")


_U8 = struct.Struct("<B")
_U8X2 = struct.Struct("<BB")
_U8X4 = struct.Struct("<BBBB")
_U32 = struct.Struct("<I")
_CHANGE = struct.Struct("<HB")
_SPAN = struct.Struct("<BBI")
_TIME_PORTS = struct.Struct("<IB")
_SERIAL = struct.Struct("16s")


def _cas_values(r: _Payload, mask: int, field: str) -> dict:
    if mask & ~_TIMESLOT_MASK:
        raise r.error(f"{field}.cas_mask", mask, 4, "CAS timeslots are 1..15 and 17..31")
    cas = {}
    for ts in TIMESLOTS:
        if mask >> ts & 1:
            (abcd,) = r.take(_U8)
            if abcd > 15:
                raise r.error(f"{field}.abcd", abcd, 1, f"ABCD is 0..15 (timeslot {ts})")
            cas[ts] = abcd
    return cas


def _units(r: _Payload, unit: int, seen: set, field: str, limit: int | None, what: str, back: int) -> None:
    if limit is not None and unit >= limit:
        raise r.error(field, unit, back, f"the board has {limit} {what}")
    if unit in seen:
        raise r.error(field, unit, back, "listed twice")
    seen.add(unit)


def _tick_head(payload: bytes, at: int, board: BoardAttached | None) -> _Head:
    r = _Payload("TICK", payload, at)
    time_ms, nports = r.take(_TIME_PORTS)
    if board is not None and nports != board.ports:
        raise r.error("ports", nports, 1, f"every port of the board: {board.ports}")
    ports, seen = [], set()
    for k in range(nports):
        port, bits, law, nchanges = r.take(_U8X4)
        field = f"ports[{k}]"
        _units(r, port, seen, f"{field}.port", board.ports if board else None, "ports", 4)
        if bits & ~_PORT_BITS:
            raise r.error(f"{field}.drive", bits, 3, "bits other than 1 off-hook, 2 ringing, 4 battery, 8 reversed")
        if law > 1:
            raise r.error(f"{field}.law", law, 2, "0 A-law or 1 mu-law")
        if nchanges > MAX_HOOK_CHANGES:
            raise r.error(f"{field}.changes", nchanges, 1, f"at most {MAX_HOOK_CHANGES} a tick")
        changes, last = [], None
        for c in range(nchanges):
            ms, offhook = r.take(_CHANGE)
            if offhook > 1:
                raise r.error(f"{field}.changes[{c}].offhook", offhook, 1, "0 or 1")
            if last is not None and ms > last:
                raise r.error(f"{field}.changes[{c}].ms_before", ms, 3, f"after {last}: oldest first")
            last = ms
            changes.append((ms, bool(offhook)))
        if changes and changes[-1][1] != bool(bits & OFFHOOK):
            raise r.error(f"{field}.changes[{nchanges - 1}].offhook", int(changes[-1][1]), 1,
                          "the last change is not the port's hook")
        ports.append((port, bits, LAWS[law], tuple(changes)))
    (nspans,) = r.take(_U8)
    if board is not None and nspans != board.spans:
        raise r.error("spans", nspans, 1, f"every span of the board: {board.spans}")
    spans, seen = [], set()
    for k in range(nspans):
        span, law, mask = r.take(_SPAN)
        field = f"spans[{k}]"
        _units(r, span, seen, f"{field}.span", board.spans if board else None, "spans", 6)
        if law > 1:
            raise r.error(f"{field}.law", law, 5, "0 A-law or 1 mu-law")
        spans.append((span, LAWS[law], _cas_values(r, mask, field)))
    naudio, nhdlc = r.take(_U8X2)
    r.end()
    return _Head(LineType.TICK, time_ms, tuple(ports), tuple(spans), naudio, nhdlc,
                 frozenset(e[0] for e in ports), frozenset(e[0] for e in spans))


def _tock_head(payload: bytes, at: int, board: BoardAttached | None) -> _Head:
    r = _Payload("TOCK", payload, at)
    (nports,) = r.take(_U8)
    ports, seen = [], set()
    for k in range(nports):
        port, bits = r.take(_U8X2)
        _units(r, port, seen, f"ports[{k}].port", board.ports if board else None, "ports", 2)
        if bits & ~_PORT_BITS:
            raise r.error(f"ports[{k}].sense", bits, 1, "bits other than 1 off-hook, 2 ring, 4 battery, 8 reversed")
        ports.append((port, bits))
    (nspans,) = r.take(_U8)
    spans, seen = [], set()
    for k in range(nspans):
        span, signal, mask = r.take(_SPAN)
        _units(r, span, seen, f"spans[{k}].span", board.spans if board else None, "spans", 6)
        if signal > 1:
            raise r.error(f"spans[{k}].signal", signal, 5, "0 (loss of signal) or 1")
        spans.append((span, bool(signal), _cas_values(r, mask, f"spans[{k}]")))
    naudio, nhdlc = r.take(_U8X2)
    r.end()
    return _Head(LineType.TOCK, 0, tuple(ports), tuple(spans), naudio, nhdlc,
                 frozenset(e[0] for e in ports), frozenset(e[0] for e in spans))


def _hello(payload: bytes, at: int) -> Hello:
    r = _Payload("HELLO", payload, at)
    version, code = r.take(_U8X2)
    serial = r.take(_SERIAL)[0].rstrip(b"\0")
    ports, spans = r.take(_U8X2)
    r.end()
    kind = kind_by_code(code)
    if kind is None:
        raise FrameError("HELLO.kind", code, at + 1, "not 1 e1x2, 2 fxo4 or 3 fxs4")
    for i, c in enumerate(serial):
        if not 0x20 <= c <= 0x7E:
            raise FrameError("HELLO.serial", bytes(serial), at + 2 + i, "printable ASCII, then NUL bytes")
    # A kind with analog ports may be declared with fewer: a one-line device (a simulated voice
    # modem, gateway.modem.network_line) is an fxo4 with 1 port.
    ports_ok = ports == kind.ports or (kind.ports > 0 and 1 <= ports <= kind.ports)
    if not ports_ok or spans != kind.spans:
        raise FrameError("HELLO.ports" if not ports_ok else "HELLO.spans",
                         ports if not ports_ok else spans, at + (18 if not ports_ok else 19),
                         f"a {kind.name} has {kind.ports} ports" + (" (or fewer, from 1)" if kind.ports else "")
                         + f" and {kind.spans} spans")
    return Hello(BoardAttached(kind.name, serial.decode("ascii"), ports, spans), version)


def _part(kind: LineType, payload: bytes, at: int) -> _Part:
    n = len(payload)
    if kind is LineType.LINE_AUDIO:
        if n != 2 + BLOCK_BYTES:
            raise FrameError("LINE_AUDIO.payload", n, at - 2, f"LINE_AUDIO takes {2 + BLOCK_BYTES} bytes, this has {n}")
        unit, channel = payload[0], payload[1]
        if channel != 0 and channel not in TIMESLOTS:
            raise FrameError("LINE_AUDIO.channel", channel, at + 1, "0 (a port) or a timeslot 1..15, 17..31")
        return _Part(kind, unit, channel, payload[2:])
    if not 2 <= n <= 1 + MAX_HDLC:
        raise FrameError("LINE_HDLC.payload", n, at - 2, f"a span and a frame of 1..{MAX_HDLC} bytes, this has {n}")
    return _Part(kind, payload[0], -1, payload[1:])


_TYPES = {t.value: t for t in LineType}


def _decode_line_message(type_code: int, payload: bytes, at: int):
    """FrameReader's decoder for the line side: one frame's payload to a message or a part."""
    kind = _TYPES.get(type_code)
    if kind is None:
        raise FrameError("type", type_code, at - HEADER_SIZE + 3, "not a line-side message type")
    if kind is LineType.LINE_AUDIO or kind is LineType.LINE_HDLC:
        return _part(kind, payload, at)
    if kind is LineType.HELLO:
        return _hello(payload, at)
    if kind is LineType.WELCOME:
        if len(payload) != 1:
            raise FrameError("WELCOME.payload", len(payload), at - 2, "WELCOME takes 1 byte")
        return Welcome(payload[0])
    if kind is LineType.REFUSED:
        if not payload:
            raise FrameError("REFUSED.reason", b"", at, "empty: a refusal gives its reason")
        try:
            return Refused(payload.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise FrameError("REFUSED.reason", payload[exc.start:exc.start + 1], at + exc.start, "not UTF-8") from None
    return (kind, payload, at)              # a TICK or TOCK: parsed by the decoder, which knows the board


class LineDecoder:
    """One direction of a line link: bytes in, whole messages out (``Hello``, ``Welcome``,
    ``Refused``, ``Tick``, ``Tock``, each with its seq). Ports and spans are checked against
    ``board`` (given, or learnt from a HELLO); a ``Tick``'s ``board`` is its serial. Holds at
    most one frame's bytes and one tick's parts."""

    def __init__(self, board: BoardAttached | None = None):
        self.board = board
        self._errors: list[FrameError] = []
        self._reader = FrameReader(on_error=self._errors.append, decode=_decode_line_message)
        self._open: tuple | None = None     # (seq, head, offset, blocks {(unit, ch): data}, hdlc [(span, frame)])

    @property
    def in_message(self) -> bool:
        """Part of a frame, or a TICK or TOCK without all its parts, is held."""
        return self._reader.pending > 0 or self._open is not None

    def feed(self, data: bytes) -> list[tuple[int, object]]:
        noise = self._reader.noise_bytes
        frames = self._reader.feed(data)
        # The first thing wrong in stream order: frames before a refused one go through first.
        first = self._errors[0] if self._errors else None
        out = []
        for frame in frames:
            if first is not None and frame.offset >= first.offset:
                break
            message = self._take(frame.seq, frame.message, frame.offset)
            if message is not None:
                out.append((frame.seq, message))
        if first is not None:
            raise first
        if self._reader.noise_bytes != noise:
            raise FrameError("sync", self._reader.noise_bytes - noise, None,
                             "bytes outside a frame: a line link carries frames only")
        return out

    def _take(self, seq: int, message, offset: int):
        if isinstance(message, _Part):
            return self._part(seq, message, offset)
        if self._open is not None:
            head = self._open[1]
            raise FrameError(head.kind.name, self._open[0], offset,
                             f"a new frame before its parts came ({head.naudio - len(self._open[3])} blocks, "
                             f"{head.nhdlc - len(self._open[4])} HDLC frames due)")
        if isinstance(message, Hello):
            self.board = message.board
            return message
        if not isinstance(message, tuple):
            return message
        kind, payload, at = message
        head = (_tick_head if kind is LineType.TICK else _tock_head)(payload, at, self.board)
        self._open = (seq, head, offset, {}, [])
        return self._complete()

    def _part(self, seq: int, part: _Part, offset: int):
        name = part.kind.name
        if self._open is None or seq != self._open[0]:
            raise FrameError(f"{name}.seq", seq, offset + 4, "not the seq of a TICK or TOCK it follows")
        _, head, _, blocks, hdlc = self._open
        at = offset + HEADER_SIZE
        if part.kind is LineType.LINE_AUDIO:
            units = head.port_set if part.channel == 0 else head.span_set
            if len(blocks) == head.naudio:
                raise FrameError(name, len(blocks) + 1, offset, f"the {head.kind.name} announced {head.naudio}")
            if hdlc:
                raise FrameError(name, len(blocks) + 1, offset, "after a LINE_HDLC of its tick")
            key = (part.unit, part.channel)
            if part.unit not in units:
                raise FrameError(f"{name}.unit", part.unit, at, f"not a {'port' if part.channel == 0 else 'span'} "
                                 f"its {head.kind.name} lists")
            if blocks and key <= next(reversed(blocks)):
                raise FrameError(f"{name}.unit", part.unit, at, "out of (unit, channel) order, or twice")
            blocks[key] = part.data
        else:
            if len(hdlc) == head.nhdlc:
                raise FrameError(name, len(hdlc) + 1, offset, f"the {head.kind.name} announced {head.nhdlc}")
            if part.unit not in head.span_set:
                raise FrameError(f"{name}.span", part.unit, at, f"not a span its {head.kind.name} lists")
            if hdlc and part.unit < hdlc[-1][0]:
                raise FrameError(f"{name}.span", part.unit, at, "out of span order")
            if sum(1 for s, _ in hdlc if s == part.unit) == MAX_HDLC_PER_SPAN:
                raise FrameError(name, len(hdlc) + 1, offset, f"more than {MAX_HDLC_PER_SPAN} for one span a tick")
            hdlc.append((part.unit, part.data))
        return self._complete()

    def _complete(self):
        seq, head, _, blocks, hdlc = self._open
        if len(blocks) < head.naudio or len(hdlc) < head.nhdlc:
            return None
        self._open = None
        if head.kind is LineType.TICK:
            ports = tuple(PortDrive(port=p, law=law, offhook=bool(bits & OFFHOOK), hook_changes=changes,
                                    ringing=bool(bits & RING), battery=bool(bits & BATTERY),
                                    reversed=bool(bits & REVERSED), audio=blocks.get((p, 0)))
                          for p, bits, law, changes in head.ports)
            spans = tuple(SpanDrive(span=s, law=law, audio={ts: d for (u, ts), d in blocks.items() if u == s and ts},
                                    cas=cas, hdlc=tuple(f for u, f in hdlc if u == s))
                          for s, law, cas in head.spans)
            return Tick(board=self.board.serial if self.board else "", time_ms=head.time_ms, ports=ports,
                        spans=spans)
        ports = tuple(PortSense(port=p, offhook=bool(bits & OFFHOOK), ring=bool(bits & RING),
                                battery=bool(bits & BATTERY), reversed=bool(bits & REVERSED),
                                audio=blocks.get((p, 0)))
                      for p, bits in head.ports)
        spans = tuple(SpanSense(span=s, signal=signal, cas=cas,
                                audio={ts: d for (u, ts), d in blocks.items() if u == s and ts},
                                hdlc=tuple(f for u, f in hdlc if u == s))
                      for s, signal, cas in head.spans)
        return Tock(ports=ports, spans=spans)
