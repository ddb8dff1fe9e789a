"""The CTI wire protocol without I/O: framing, requests, op schemas, replies and events.

PROTOCOL.md (next to this file) is the contract; this module implements it
and holds the tables it documents. Nothing here awaits, reads a clock or
touches a socket (CONVENTIONS.md, rule 2): the server and the client feed it
bytes and send what it gives back.

    framer = LineFramer()
    for line in framer.feed(chunk):             # bytes, or TooLarge for a skipped line
        request = parse_request(line)            # Request, or raises CtiRequestError
    encode_reply(request.id, {"call": "c1"})      # one line of compact JSON, newline included

Ops and events live in tables (``OPS``, ``EVENTS``) that later modules extend
with ``register_op`` and ``register_event`` (the dialer's ``dialer.*``, the
call centre's ``agent.*``). An op's schema names each argument's JSON type,
whether it is required, its allowed values, ranges, lengths and pattern;
``parse_request`` checks a request against it and fills in the defaults, so
the service behind the socket only ever sees arguments that fit.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from gateway.errors import CtiRequestError, UsageError

PROTOCOL_VERSION = 1
MAX_MESSAGE = 64 * 1024  # bytes of one message, newline not counted (the issue's 64 KiB)

# Error codes (PROTOCOL.md, "Error codes"). The service raises CtiError with
# the ones from not-found on; a later module may use others of the same form.
BAD_JSON = "bad-json"
TOO_LARGE = "too-large"
BAD_REQUEST = "bad-request"
UNKNOWN_OP = "unknown-op"
BAD_ARGS = "bad-args"
BAD_VERSION = "bad-version"
NOT_FOUND = "not-found"
WRONG_STATE = "wrong-state"
NOT_ALLOWED = "not-allowed"
BUSY = "busy"
TOO_SLOW = "too-slow"
INTERNAL = "internal"

ERROR_CODES = {
    BAD_JSON: "the line is not UTF-8, or not JSON (the message gives the byte offset)",
    TOO_LARGE: f"the line is longer than {MAX_MESSAGE} bytes; it was skipped up to its newline",
    BAD_REQUEST: "the JSON is not a request: not an object, a field missing, unknown or of the wrong type",
    UNKNOWN_OP: "no such op (the message suggests a close name)",
    BAD_ARGS: "the arguments do not fit the op's schema (the message names the argument)",
    BAD_VERSION: "hello asked for a protocol version this server does not speak",
    NOT_FOUND: "the call, channel or group named does not exist (any more)",
    WRONG_STATE: "the call or channel is not in a state where the op applies",
    NOT_ALLOWED: "the peer is not allowed on this socket, or not allowed this op",
    BUSY: "no resource free right now (no idle channel in the group, too many connections)",
    TOO_SLOW: "the client did not read what was sent to it; the server closes the connection",
    INTERNAL: "the gateway failed; the incident is in its log",
}

_KEBAB = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_DOTTED = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+|[a-z][a-z0-9_]*")


def is_error_code(code: str) -> bool:
    """Error codes are short kebab-case words (``not-found``)."""
    return isinstance(code, str) and len(code) <= 32 and _KEBAB.fullmatch(code) is not None


# ---------------------------------------------------------------------------
# Framing

HEAD_KEPT = 256  # bytes of a skipped line kept to find its id


@dataclass(frozen=True)
class TooLarge:
    """A line longer than the limit, skipped up to its newline. ``length``
    counts its bytes (newline not counted); ``head`` is where it began."""

    length: int
    head: bytes


class LineFramer:
    """Splits a byte stream into newline-terminated lines of at most ``limit``
    bytes. Holds at most ``limit`` bytes between feeds: a longer line is
    skipped as it arrives and reported once its newline comes."""

    def __init__(self, limit: int = MAX_MESSAGE):
        self.limit = limit
        self._buffer = bytearray()
        self._skipped: int | None = None  # while skipping: bytes of the long line so far
        self._head = b""

    @property
    def pending(self) -> int:
        """Bytes held (or skipped) of a line whose newline has not come yet."""
        return len(self._buffer) if self._skipped is None else self._skipped

    def feed(self, data: bytes) -> list[bytes | TooLarge]:
        lines: list[bytes | TooLarge] = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self._take(data[start:end])
            lines.append(self._finish())
            start = end + 1
        if start < len(data):
            self._take(data[start:])
        return lines

    def close(self) -> list[bytes | TooLarge]:
        """End of stream: a last line without its newline still counts."""
        if self._skipped is None and not self._buffer:
            return []
        return [self._finish()]

    def _take(self, piece: bytes) -> None:
        if self._skipped is not None:
            self._skipped += len(piece)
            if len(self._head) < HEAD_KEPT:
                self._head += piece[:HEAD_KEPT - len(self._head)]
        elif len(self._buffer) + len(piece) > self.limit:
            self._head = bytes((self._buffer + piece[:HEAD_KEPT])[:HEAD_KEPT])
            self._skipped = len(self._buffer) + len(piece)
            self._buffer.clear()
        else:
            self._buffer += piece

    def _finish(self) -> bytes | TooLarge:
        if self._skipped is not None:
            item = TooLarge(self._skipped, self._head)
            self._skipped, self._head = None, b""
            return item
        line = bytes(self._buffer)
        self._buffer.clear()
        return line


# An id at the start of a line too long to parse: `{"id": 7, ...`.
_LEADING_ID = re.compile(rb'\s*\{\s*"id"\s*:\s*(-?[0-9]{1,16}(?![0-9.eE])|"[^"\\\x00-\x1f]{1,64}")')


def leading_id(head: bytes):
    """The request id of a line that could not be parsed, when it comes first; else None."""
    match = _LEADING_ID.match(head)
    if match is None:
        return None
    try:
        value = json.loads(match.group(1))
    except ValueError:  # not UTF-8 inside the quotes
        return None
    return value if _is_id(value) else None


# ---------------------------------------------------------------------------
# Argument schemas

_KINDS = ("string", "integer", "number", "boolean", "id", "list")
_ID_TEXT = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
MAX_INT_ID = 2**53  # integers every JSON implementation holds exactly


@dataclass(frozen=True)
class Arg:
    """One argument of an op: its JSON kind and the values it takes.

    kinds: ``string``, ``integer``, ``number`` (integer or fraction),
    ``boolean``, ``id`` (a call or channel id: a string of 1-64 printable
    characters or an integer 0..2**53) and ``list`` (of ``items``)."""

    kind: str
    doc: str = ""
    required: bool = False
    default: Any = None
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None  # characters of a string, items of a list
    pattern: str | None = None  # a string must match it in full
    pattern_doc: str = ""  # what the pattern means, in words, for messages
    items: "Arg | None" = None
    unique: bool = False  # a list's items differ

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise UsageError(f"Arg kind {self.kind!r}: one of {', '.join(_KINDS)}")
        if self.kind == "list" and self.items is None:
            raise UsageError("a list Arg needs items=Arg(...)")
        if self.required and self.default is not None:
            raise UsageError("a required Arg has no default")

    def describe(self) -> str:
        """The argument's kind and limits in words (PROTOCOL.md's tables)."""
        if self.kind == "list":
            text = f"list of {self.items.describe()}"
        elif self.choices:
            text = "one of " + ", ".join(json.dumps(c) for c in self.choices)
        else:
            text = self.kind
            if self.pattern_doc:
                text += f" ({self.pattern_doc})"
        limits = []
        if self.minimum is not None or self.maximum is not None:
            low = "" if self.minimum is None else f"{self.minimum:g}"
            high = "" if self.maximum is None else f"{self.maximum:g}"
            limits.append(f"{low}..{high}")
        if self.max_length is not None and not self.choices:
            limits.append(f"at most {self.max_length} {'items' if self.kind == 'list' else 'characters'}")
        if self.unique:
            limits.append("no repeats")
        if limits:
            text += ", " + ", ".join(limits)
        return text


def string(doc="", *, required=False, default=None, choices=(), max_length=256, pattern=None, pattern_doc=""):
    return Arg("string", doc, required, default, tuple(choices), max_length=max_length,
               pattern=pattern, pattern_doc=pattern_doc)


def integer(doc="", *, required=False, default=None, minimum=None, maximum=None, choices=()):
    return Arg("integer", doc, required, default, tuple(choices), minimum=minimum, maximum=maximum)


def number(doc="", *, required=False, default=None, minimum=None, maximum=None):
    return Arg("number", doc, required, default, minimum=minimum, maximum=maximum)


def boolean(doc="", *, required=False, default=None):
    return Arg("boolean", doc, required, default)


def ident(doc="", *, required=False):
    return Arg("id", doc, required)


def list_of(items: Arg, doc="", *, required=False, max_length=64, unique=False):
    return Arg("list", doc, required, max_length=max_length, items=items, unique=unique)


@dataclass(frozen=True)
class OpSchema:
    """An op: its arguments, groups of arguments of which exactly one must be
    given (``one_of``), what it does and what its result holds (for
    PROTOCOL.md), and whether the server answers it itself (hello, subscribe)."""

    name: str
    args: Mapping[str, Arg]
    doc: str = ""
    result: str = "{}"
    one_of: tuple[tuple[str, ...], ...] = ()
    server: bool = False


class _Table:
    """Schemas by name, in the order they were registered."""

    def __init__(self):
        self._schemas: dict = {}

    def __contains__(self, name) -> bool:
        return name in self._schemas

    def __getitem__(self, name):
        return self._schemas[name]

    def __iter__(self):
        return iter(self._schemas.values())

    def names(self) -> list[str]:
        return sorted(self._schemas)

    def copy(self):
        table = type(self)()
        table._schemas = dict(self._schemas)
        return table

    def _add(self, what: str, name: str, example: str, schema) -> None:
        if not isinstance(name, str) or _DOTTED.fullmatch(name) is None:
            raise UsageError(f"{what} name {name!r}: dotted lowercase words ({example})")
        if name in self._schemas:
            raise UsageError(f"{what} {name!r} is already registered")
        self._schemas[name] = schema


class OpTable(_Table):
    """The ops a server knows. ``register`` adds one."""

    def register(self, name: str, args: Mapping[str, Arg] | None = None, *, doc: str = "",
                 result: str = "{}", one_of=(), server: bool = False) -> OpSchema:
        args = dict(args or {})
        for arg_name, arg in args.items():
            if not isinstance(arg, Arg):
                raise UsageError(f"{name}: argument {arg_name!r} must be an Arg, got {arg!r}")
        groups = tuple(tuple(group) for group in one_of)
        for group in groups:
            for arg_name in group:
                if arg_name not in args or args[arg_name].required:
                    raise UsageError(f"{name}: one_of names {arg_name!r}, which is not an optional argument")
        schema = OpSchema(name, args, doc, result, groups, server)
        self._add("op", name, "call.make", schema)
        return schema


@dataclass(frozen=True)
class EventSchema:
    name: str
    fields: Mapping[str, str]  # field -> what it holds (besides event, seq, time)
    doc: str = ""


class EventTable(_Table):
    """The events a server may publish. ``register`` adds one."""

    def register(self, name: str, fields: Mapping[str, str] | None = None, *, doc: str = "") -> EventSchema:
        fields = dict(fields or {})
        reserved = {"event", "seq", "time"} & set(fields)
        if reserved:
            raise UsageError(f"event {name}: {', '.join(sorted(reserved))} are common to every event")
        schema = EventSchema(name, fields, doc)
        self._add("event", name, "call.connected", schema)
        return schema


# ---------------------------------------------------------------------------
# Requests

@dataclass(frozen=True)
class Request:
    """A request that fits its op's schema; ``args`` has the defaults filled in."""

    id: int | str | None
    op: str
    args: dict = field(default_factory=dict)


_REQUEST_FIELDS = ("id", "op", "args")


def parse_request(line: bytes, ops: OpTable | None = None) -> Request:
    """One line (without its newline) -> a Request, or CtiRequestError saying
    what is wrong, with the request's id when it could be read."""
    ops = OPS if ops is None else ops
    if len(line) > MAX_MESSAGE:
        raise CtiRequestError(TOO_LARGE, f"the line has {len(line)} bytes; at most {MAX_MESSAGE}",
                              request_id=leading_id(line[:HEAD_KEPT]))
    message = _loads(line)
    if not isinstance(message, dict):
        raise CtiRequestError(BAD_REQUEST, f"a request is a JSON object, got {_kind(message)}")
    request_id = message.get("id")
    if request_id is not None and not _is_id(request_id):
        raise CtiRequestError(BAD_REQUEST, f"id: expected an integer 0..2**53 or a string of 1-64 characters, "
                                           f"got {_show(request_id)}")
    for key in message:
        if key not in _REQUEST_FIELDS:
            raise CtiRequestError(BAD_REQUEST, f"unknown field {_show(key)}: a request has id, op and args",
                                  request_id=request_id)
    op = message.get("op")
    if op is None:
        raise CtiRequestError(BAD_REQUEST, "op is missing", request_id=request_id)
    if not isinstance(op, str):
        raise CtiRequestError(BAD_REQUEST, f"op: expected a string, got {_show(op)}", request_id=request_id)
    if op not in ops:
        close = difflib.get_close_matches(op, ops.names(), n=1)
        hint = f"; did you mean {_show(close[0])}?" if close else ""
        raise CtiRequestError(UNKNOWN_OP, f"unknown op {_show(op)}{hint}", request_id=request_id)
    args = message.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise CtiRequestError(BAD_ARGS, f"{op}: args: expected an object, got {_show(args)}", request_id=request_id)
    return Request(request_id, op, check_args(ops[op], args, request_id))


def check_args(schema: OpSchema, args: dict, request_id=None) -> dict:
    """``args`` checked against the op's schema, defaults filled in; CtiRequestError
    (bad-args) names the first argument that does not fit."""
    try:
        return _checked(schema, args)
    except _BadArgs as bad:
        raise CtiRequestError(BAD_ARGS, f"{schema.name}: {bad}", request_id=request_id) from None


def _checked(schema: OpSchema, args: dict) -> dict:
    for name in args:
        if name not in schema.args:
            takes = ", ".join(schema.args) or "no arguments"
            raise _BadArgs(f"args.{_name(name)}: unknown argument; {schema.name} takes {takes}")
    checked = {}
    for name, arg in schema.args.items():
        if args.get(name) is not None:  # null stands for "not given"
            checked[name] = _check_value(arg, args[name], f"args.{name}")
        elif arg.required:
            raise _BadArgs(f"args.{name} is missing" + (f" ({arg.doc})" if arg.doc else ""))
        elif arg.default is not None:
            checked[name] = arg.default
    for group in schema.one_of:
        given = [name for name in group if args.get(name) is not None]
        if len(given) != 1:
            names = " or ".join(f"args.{name}" for name in group)
            raise _BadArgs(f"give exactly one of {names}" + (f" (got {len(given)})" if given else ""))
    return checked


class _BadArgs(Exception):
    """Internal: an argument that does not fit (becomes CtiRequestError bad-args)."""


def _check_value(arg: Arg, value, where: str):
    kind = arg.kind
    if kind == "string":
        if not isinstance(value, str):
            raise _BadArgs(f"{where}: expected a string, got {_show(value)}")
        if arg.max_length is not None and len(value) > arg.max_length:
            raise _BadArgs(f"{where}: {len(value)} characters; at most {arg.max_length}")
        if arg.pattern is not None and re.fullmatch(arg.pattern, value) is None:
            raise _BadArgs(f"{where}: {_show(value)} is not {arg.pattern_doc or 'of the form ' + arg.pattern}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _BadArgs(f"{where}: expected an integer, got {_show(value)}")
    elif kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise _BadArgs(f"{where}: expected a number, got {_show(value)}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _BadArgs(f"{where}: expected true or false, got {_show(value)}")
    elif kind == "id":
        if not _is_id(value):
            raise _BadArgs(f"{where}: expected an id (a string of 1-64 printable characters or an integer "
                           f"0..2**53), got {_show(value)}")
    else:  # list
        if not isinstance(value, list):
            raise _BadArgs(f"{where}: expected a list, got {_show(value)}")
        if arg.max_length is not None and len(value) > arg.max_length:
            raise _BadArgs(f"{where}: {len(value)} items; at most {arg.max_length}")
        value = [_check_value(arg.items, item, f"{where}[{i}]") for i, item in enumerate(value)]
        if arg.unique:
            seen = []
            for i, item in enumerate(value):
                if item in seen:
                    raise _BadArgs(f"{where}[{i}]: {_show(item)} is there already")
                seen.append(item)
        return value
    if arg.choices and value not in arg.choices:
        raise _BadArgs(f"{where}: {_show(value)} is not one of {', '.join(json.dumps(c) for c in arg.choices)}")
    if arg.minimum is not None and value < arg.minimum:
        raise _BadArgs(f"{where}: {_show(value)} is below the minimum {arg.minimum:g}")
    if arg.maximum is not None and value > arg.maximum:
        raise _BadArgs(f"{where}: {_show(value)} is above the maximum {arg.maximum:g}")
    return value


def _is_id(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= MAX_INT_ID
    return isinstance(value, str) and _ID_TEXT.fullmatch(value) is not None


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"field {_show(key)} appears twice")
        result[key] = value
    return result


# Built once: json.loads with options builds a decoder per call. Requests are
# checked for repeated fields (a per-object hook); the server's own lines,
# which a client reads by the thousand, are not.
_REQUEST_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
_SERVER_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _loads(line: bytes, decoder: json.JSONDecoder = _REQUEST_DECODER):
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CtiRequestError(BAD_JSON, f"not UTF-8: byte 0x{line[exc.start]:02x} at offset {exc.start}") from None
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        offset = len(text[:exc.pos].encode("utf-8"))
        raise CtiRequestError(BAD_JSON, f"not JSON: {exc.msg} at byte offset {offset}") from None
    except RecursionError:
        raise CtiRequestError(BAD_JSON, "not JSON we take: nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity, a repeated field, an integer of more than 4300 digits
        raise CtiRequestError(BAD_JSON, f"not JSON we take: {exc}") from None


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _show(value, limit: int = 40) -> str:
    """A value as JSON, cut short, for messages."""
    if isinstance(value, (dict, list)):
        return _kind(value)
    text = _dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _name(name: str) -> str:
    text = json.dumps(name, ensure_ascii=False)[1:-1]
    return text if len(text) <= 40 else text[:40] + "..."


# ---------------------------------------------------------------------------
# Replies and events

def _dumps(value) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"not sendable as JSON: {exc}") from None


def _line(value) -> bytes:
    text = _dumps(value)
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:  # a lone surrogate a client sent us ("\ud800"): escape it
        return json.dumps(value, separators=(",", ":")).encode("ascii") + b"\n"


def encode_request(request_id, op: str, args: Mapping | None = None) -> bytes:
    """A request line, as a client sends it."""
    message = {"id": request_id, "op": op}
    if args:
        message["args"] = dict(args)
    return _line(message)


def encode_reply(request_id, result: dict) -> bytes:
    """The success reply to a request, one line."""
    if not isinstance(result, dict):
        raise UsageError(f"a result is a dict, got {type(result).__name__}")
    return _line({"id": request_id, "ok": True, "result": result})


def encode_error(request_id, code: str, message: str) -> bytes:
    """The error reply to a request (``request_id`` None when it could not be read), one line."""
    if not is_error_code(code):
        raise UsageError(f"error code {code!r}: short kebab-case words (not-found)")
    return _line({"id": request_id, "ok": False, "error": {"code": code, "message": str(message)}})


class EncodedEvent:
    """An event encoded once for every connection it goes to: ``line(seq)``
    splices that connection's seq in (so publishing to a hundred clients is
    one JSON encoding, not a hundred)."""

    __slots__ = ("name", "_head", "_tail")

    def __init__(self, event: Mapping, time: float):
        name = event["event"]
        body = {"time": time}
        for key, value in event.items():
            if key not in ("event", "seq", "time"):
                body[key] = value
        self.name = name
        self._head = _line({"event": name})[:-2] + b',"seq":'
        self._tail = b"," + _line(body)[1:]

    def line(self, seq: int) -> bytes:
        return self._head + str(seq).encode("ascii") + self._tail


def encode_event(event: Mapping, seq: int, time: float) -> bytes:
    """One event line with its seq and time (``event`` holds ``event`` and its fields)."""
    return EncodedEvent(event, time).line(seq)


@dataclass(frozen=True)
class Reply:
    """A reply as a client reads it: ``result`` when ok, else ``code`` and ``message``."""

    id: int | str | None
    ok: bool
    result: dict | None = None
    code: str | None = None
    message: str | None = None


def parse_server_line(line: bytes) -> Reply | dict:
    """A line the server sent -> a Reply, or an event (a dict with event, seq, time).
    CtiRequestError (bad-json / bad-request) when it is neither."""
    message = _loads(line, _SERVER_DECODER)
    if not isinstance(message, dict):
        raise CtiRequestError(BAD_REQUEST, f"expected a reply or an event object, got {_kind(message)}")
    if "event" in message:
        if not isinstance(message["event"], str):
            raise CtiRequestError(BAD_REQUEST, f"event: expected a name, got {_show(message['event'])}")
        seq = message.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise CtiRequestError(BAD_REQUEST, f"{message['event']}: seq: expected an integer >= 1, got {_show(seq)}")
        return message
    ok = message.get("ok")
    if not isinstance(ok, bool) or "id" not in message:
        raise CtiRequestError(BAD_REQUEST, "neither an event (no event field) nor a reply (id and ok)")
    if ok:
        result = message.get("result")
        if not isinstance(result, dict):
            raise CtiRequestError(BAD_REQUEST, f"reply {_show(message['id'])}: result: expected an object, "
                                               f"got {_show(result)}")
        return Reply(message["id"], True, result=result)
    error = message.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("code"), str) \
            or not isinstance(error.get("message"), str):
        raise CtiRequestError(BAD_REQUEST, f"reply {_show(message['id'])}: error: expected "
                                           f"{{\"code\": ..., \"message\": ...}}, got {_show(error)}")
    return Reply(message["id"], False, code=error["code"], message=error["message"])


# ---------------------------------------------------------------------------
# The ops and events of the issue (PROTOCOL.md has them as tables)

OPS = OpTable()
EVENTS = EventTable()
register_op = OPS.register
register_event = EVENTS.register

# The detector names of gateway.dsp.detector_bank.DETECTORS (not imported: a
# client of the socket needs no compiled core; a test keeps the two equal).
DETECTORS = ("dtmf", "modem", "cpt", "amd", "callerid")

_NUMBER = dict(max_length=64, pattern=r"\+?[0-9A-D*#,w]{1,63}",
               pattern_doc="a phone number: digits, * # A-D, a leading +, ',' or 'w' to pause")
_KEYS = dict(pattern=r"[0-9A-D*#]+", pattern_doc="DTMF keys: 0-9 * # A-D")
_NAME = dict(max_length=64, pattern=r"[A-Za-z0-9_.:-]{1,64}", pattern_doc="a name: letters, digits, _ . : -")
_PATTERN = dict(max_length=64, pattern=r"[a-z0-9_.*?-]{1,64}",
                pattern_doc="an event name, or a pattern with * and ? like call.*")


def _call(doc="the call"):
    return ident(doc, required=True)


register_op("hello", {
    "version": integer("the protocol version the client speaks", required=True, minimum=1),
    "client": string("the application's name and version, for the gateway's log", max_length=128),
    "subscribe": boolean("false: no events until subscribe", default=True),
}, server=True, doc="The handshake: protocol version; turns on all events unless subscribe is false or the "
                    "connection has subscribed already.",
   result='{"protocol": 1, "server": {"name", "version"}, "session": ID, "ops": [...], "events": [...]}')
register_op("subscribe", {
    "events": list_of(string(**_PATTERN), "event names or patterns; [] for none"),
    "channels": list_of(ident(), "only events of these channels (or of calls)", max_length=1024),
    "calls": list_of(ident(), "only events of these calls (or of channels)", max_length=1024),
}, server=True, doc="Replaces the connection's event filter. Without events: every event name.",
   result='{"events": [...], "channels": [...] | null, "calls": [...] | null}')
register_op("channels.list", {
    "group": string("only the channels of this group", **_NAME),
}, doc="The channels and their state.", result='{"channels": [{"channel", "group", "kind", "state", "call"}, ...]}')
register_op("channel.status", {
    "channel": ident("the channel", required=True),
}, doc="One channel's state, call and alarms.",
   result='{"channel", "group", "kind", "state", "call", "alarms": [...]}')
register_op("call.make", {
    "to": string("the number to call", required=True, **_NUMBER),
    "from": string("the calling number to present", **_NUMBER),
    "group": string("the channel group to take an idle channel from", **_NAME),
    "channel": ident("a particular idle channel (channels.list) instead of any of the group"),
    "detect": list_of(string(choices=DETECTORS), "detectors to run on the call", max_length=len(DETECTORS),
                      unique=True),
    "timeout": number("seconds to wait for an answer before giving up (cause 19)", minimum=1, maximum=600),
}, doc="Places an outbound call; call.dialing and the other events follow.", result='{"call": CALL}')
register_op("call.answer", {"call": _call()}, doc="Answers an offered call.", result="{}")
register_op("call.hangup", {
    "call": _call(),
    "cause": integer("Q.850 cause to clear with", default=16, minimum=1, maximum=127),
}, doc="Ends the call (any state).", result="{}")
register_op("call.hold", {"call": _call()}, doc="Puts a connected call on hold.", result="{}")
register_op("call.retrieve", {"call": _call()}, doc="Takes a held call back.", result="{}")
register_op("call.transfer", {
    "call": _call("the call to transfer"),
    "to": string("blind: the number to transfer to", **_NUMBER),
    "consult": ident("consultative: the consultation call to join the call with"),
}, one_of=(("to", "consult"),), doc="Blind (to) or consultative (consult) transfer.", result="{}")
register_op("call.send_dtmf", {
    "call": _call(),
    "digits": string("the keys to send", required=True, max_length=128, **_KEYS),
    "duration_ms": integer("tone length of each key", default=100, minimum=40, maximum=1000),
    "gap_ms": integer("silence between keys", default=100, minimum=40, maximum=1000),
}, doc="Sends DTMF on a connected call; replies when sent.", result="{}")
register_op("call.play", {
    "call": _call(),
    "file": string("a WAV file on the gateway host", max_length=1024),
    "tone": string("a tone of the channel's country plan (dial, ringback, busy, ...)", max_length=32,
                   pattern=r"[a-z0-9_-]{1,32}", pattern_doc="a tone name"),
    "repeat": integer("times to play it", default=1, minimum=1, maximum=1000),
    "barge_in": boolean("a DTMF key stops the playback", default=False),
}, one_of=(("file", "tone"),), doc="Plays a file or a tone; replies when it has ended.",
   result='{"reason": "done" | "digit" | "hangup" | "stopped"}')
register_op("call.record", {
    "call": _call(),
    "file": string("the WAV file to write on the gateway host", required=True, max_length=1024),
    "max_seconds": number("longest recording", default=60, minimum=0.1, maximum=3600),
    "silence_seconds": number("stop after this much silence", minimum=0.5, maximum=60),
    "terminator": string("keys that stop the recording", max_length=16, **_KEYS),
    "beep": boolean("play a beep first", default=False),
}, doc="Records the far end to a file; replies when it has ended.",
   result='{"file": PATH, "seconds": S, "reason": "max" | "silence" | "digit" | "hangup"}')
register_op("call.collect", {
    "call": _call(),
    "max_digits": integer("stop after this many keys", required=True, minimum=1, maximum=64),
    "terminator": string("keys that end the input (not included)", max_length=16, **_KEYS),
    "first_timeout": number("seconds to wait for the first key", default=5, minimum=0.1, maximum=600),
    "inter_timeout": number("seconds to wait for each next key", default=3, minimum=0.1, maximum=600),
    "flush": boolean("forget keys pressed before the op", default=False),
}, doc="Collects DTMF keys; replies when the input is complete.",
   result='{"digits": "...", "reason": "max" | "terminator" | "timeout" | "hangup"}')

_CALL_FIELDS = {"call": "the call's id", "channel": "the channel's id"}
register_event("call.offered", {**_CALL_FIELDS, "ani": "the calling number, or null",
                                "dnis": "the called number, or null", "name": "the caller's name, or null"},
               doc="An inbound call rings on a channel.")
register_event("call.dialing", {**_CALL_FIELDS, "to": "the number being dialled",
                                "from": "the calling number presented, or \"\""},
               doc="An outbound call has seized a channel and dials.")
register_event("call.proceeding", dict(_CALL_FIELDS),
               doc="The number has been dialled; the call waits for the far end.")
register_event("call.progress", {**_CALL_FIELDS, "tone": "the call-progress class the detector heard: dial, "
                                 "ringback, busy, congestion, sit-ic, sit-vc, sit-ro, sit-nc, sit-itu, fax_cng, "
                                 "fax_ced, modem"},
               doc="A call-progress tone was recognised.")
register_event("call.alerting", dict(_CALL_FIELDS), doc="The far end rings.")
register_event("call.connected", {**_CALL_FIELDS, "answered_by": "how the answer was known: polarity (a reversal), "
                                  "cpt (voice or a fax/modem tone after ringing), phone (an FXS phone went "
                                  "off-hook), local (we answered), signalling"},
               doc="The call is answered.")
register_event("call.amd", {**_CALL_FIELDS, "result": '"human", "machine" or "notsure"',
                            "beep": "true when a greeting's end-of-message beep was heard"},
               doc="The answering-machine detector decided (and again when a beep follows).")
register_event("call.digits", {**_CALL_FIELDS, "digits": "the DTMF keys received"},
               doc="DTMF keys came in on a connected call.")
register_event("call.held", dict(_CALL_FIELDS), doc="The call is on hold.")
register_event("call.retrieved", dict(_CALL_FIELDS), doc="The call is back from hold.")
register_event("call.disconnected", {**_CALL_FIELDS, "cause": "the Q.850 cause (16 normal clearing, 17 busy, "
                                     "19 no answer, 1 unallocated number, ...)",
                                     "by": '"local" (a host application or the gateway ended it), "remote" '
                                           '(the far end) or "network" (the exchange: congestion, SIT, no dial tone)',
                                     "reason": "what showed it: busy, sit-ic, no-dialtone, no-answer, loop-drop, "
                                               "polarity-reversal, busy-tone, transferred, caller-gave-up, ... or null"},
               doc="The call has ended; its id is not used again.")
register_event("channel.state", {"channel": "the channel's id", "state": "the channel's new state: idle, "
                                 "dialing, proceeding, alerting, offered, connected, held, clearing, "
                                 "out-of-service, blocked", "previous": "the state before",
                                 "call": "the call on it, or null"},
               doc="A channel changed state.")
register_event("channel.alarm", {"channel": "the channel's id", "alarms": "the alarms now raised "
                                 "(los, ais, lof, rai, no-battery, modem-not-answering, modem-gone, modem-error); [] when cleared"},
               doc="A channel's line raised or cleared alarms.")
register_event("call.played", {**_CALL_FIELDS, "reason": "done, digit (barge-in), hangup or stopped"},
               doc="A call.play has ended.")
register_event("call.recorded", {**_CALL_FIELDS, "file": "the WAV file written", "seconds": "its length",
                                 "reason": "max, silence, digit or hangup"},
               doc="A call.record has ended.")
register_event("call.collected", {**_CALL_FIELDS, "digits": "the keys collected",
                                  "reason": "max, terminator, timeout or hangup"},
               doc="A call.collect has ended.")
register_event("call.transferring", {**_CALL_FIELDS, "to": "the number the exchange is asked to transfer to"},
               doc="A blind transfer by hook flash has begun on an analog line.")
register_event("call.transferred", {**_CALL_FIELDS, "to_call": "the call it is now connected with"},
               doc="The call was bridged with another of the gateway's calls (a transfer); the host is out of it.")
register_event("call.flash", {**_CALL_FIELDS, "ms": "the hook flash's length"},
               doc="The phone on an FXS port flashed its hook during a call.")
