"""Caller ID: the on-hook data messages of Telcordia GR-30 and ETSI EN 300 659,
sent as Bell 202 or V.23 FSK, and DTMF CLIP.

    cid = CallerId(number="6095551212", name="JOHN DOE", time="09301224")
    message = encode(cid)                       # MDMF bytes, checksum included
    audio = fsk_audio(message, "bell202")       # int16 samples (or G.711 codes)
    decode(message) == dataclasses.replace(cid, format="mdmf", message_type=0x80)

    bank = DetectorBank(channels=8, detect=("callerid", "dtmf"))
    for event in bank.feed(block):
        if event.kind == "callerid":
            cid = from_event(event)             # CallerIdError when the checksum failed
    clip = DtmfClipAssembler()                  # DTMF CLIP from the "dtmf" events
    cid = clip.feed(event)                      # a CallerId when a string is complete

Messages (GR-30; EN 300 659-3): a type byte, a length byte, that many bytes,
and a checksum, the two's complement of the modulo-256 sum of the others.
SDMF (type 0x04) carries MMDDHHMM and the number, or "O" (out of area,
unavailable) or "P" (private); type 0x06 is the SDMF message waiting
indicator (0x42 x3 on, 0x6F x3 off). MDMF (types with the top bit set: 0x80
call setup, 0x82 message waiting, 0x81, 0x86, 0x89) carries parameters,
each a code, a length and a value. Decoded here: 0x01 date and time
(MMDDHHMM), 0x02 calling number, 0x03 called number, 0x04 reason the number
is absent, 0x07 name, 0x08 reason the name is absent, 0x0B visual
indicator (message waiting), 0x11 call type, 0x1A redirecting number; any
other parameter is kept as it came in ``CallerId.extra``. Parameter codes as
GR-30 and EN 300 659-3 assign them (listed in spandsp's adsi.h, and in the
ETSI table of Dialogic's NaturalAccess CAS API manual).

DTMF CLIP (EN 300 659-1 annex; the variants spandsp's adsi.h describes and
Asterisk's callerid_get_dtmf reads): ``A<number>C`` or ``D<number>C``, with
``D<redirecting number>`` and ``B<information>`` fields after the number,
``B00C`` (number unavailable), ``B10C`` (private), ``D1#`` (private),
``D2#`` / ``D3#`` (unavailable), ``A<number>#``, and ``<number>#`` when the
assembler is told to accept a bare number.

Every defect of outside input is a ``CallerIdError`` (an ``InputError``)
naming the field, the value and the byte offset; misuse of the API is a
``UsageError``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gateway.dsp import g711
from gateway.dsp.native import as_pointer, check, ffi, lib
from gateway.dsp.tone import int_field, level_field, real_field
from gateway.errors import CallerIdError, UsageError

STANDARDS = {"bell202": lib.LG_FSK_TX_BELL202, "v23": lib.LG_FSK_TX_V23}
ENCODINGS = ("linear", "ulaw", "alaw")
MAX_MESSAGE = lib.LG_FSK_TX_MAX_MESSAGE  # type, length (255), 255 bytes, checksum

SDMF_CALLER_ID = 0x04
SDMF_MESSAGE_WAITING = 0x06
MDMF_CALL_SETUP = 0x80

# Parameter codes (GR-30; EN 300 659-3).
PARAM_TIME = 0x01
PARAM_NUMBER = 0x02
PARAM_CALLED_NUMBER = 0x03
PARAM_NUMBER_ABSENT = 0x04
PARAM_NAME = 0x07
PARAM_NAME_ABSENT = 0x08
PARAM_MESSAGE_WAITING = 0x0B
PARAM_CALL_TYPE = 0x11
PARAM_REDIRECTING_NUMBER = 0x1A

# Reasons a number or name is absent: "O" out of area / unavailable, "P"
# private (GR-30 and EN 300 659-3 alike).
ABSENT_REASONS = {"O": "unavailable", "P": "private"}
_ABSENT_CODES = {word: code for code, word in ABSENT_REASONS.items()}

# GR-30's SDMF message waiting indicator: the same byte three times.
_SDMF_WAITING = {b"\x42\x42\x42": True, b"\x6f\x6f\x6f": False}

# GR-30 and EN 300 659-1 send 300 bits of channel seizure and 180 of mark
# before an on-hook message; -13.5 dBm is GR-30's nominal transmit level.
SEIZURE_BITS = 300
MARK_BITS = 180
LEVEL_DBM0 = -13.5


@dataclass(frozen=True)
class CallerId:
    """What a caller ID message says. ``time`` is "MMDDHHMM" as sent;
    ``number_absent_reason`` / ``name_absent_reason`` are "unavailable" or
    "private"; ``format`` is "sdmf", "mdmf" or "dtmf" and ``standard``
    "bell202", "v23" or "dtmf" (how it arrived; None for one built by hand);
    ``extra`` holds the MDMF parameters not decoded, as (code, value bytes)."""

    number: str | None = None
    name: str | None = None
    time: str | None = None
    number_absent_reason: str | None = None
    name_absent_reason: str | None = None
    called_number: str | None = None
    redirecting_number: str | None = None
    call_type: int | None = None
    message_waiting: bool | None = None
    format: str | None = None
    standard: str | None = None
    message_type: int | None = None
    extra: tuple[tuple[int, bytes], ...] = ()

    @property
    def month(self) -> int | None:
        return None if self.time is None else int(self.time[0:2])

    @property
    def day(self) -> int | None:
        return None if self.time is None else int(self.time[2:4])

    @property
    def hour(self) -> int | None:
        return None if self.time is None else int(self.time[4:6])

    @property
    def minute(self) -> int | None:
        return None if self.time is None else int(self.time[6:8])


# ---------------------------------------------------------------------------
# Messages

def checksum(body: bytes) -> int:
    """The checksum byte of a message's type, length and payload: the two's
    complement of their modulo-256 sum."""
    return -sum(body) & 0xFF


def _fail(what: str, field: str, value, offset: int | None = None) -> CallerIdError:
    return CallerIdError(what, field=field, value=value, offset=offset)


def _time_from(raw: bytes, offset: int) -> str:
    """MMDDHHMM, checked: 8 ASCII digits, a month, day, hour and minute."""
    text = raw.decode("latin-1")
    if len(raw) != 8 or not all(0x30 <= b <= 0x39 for b in raw):
        raise _fail(f"date and time {text!r}: expected 8 digits MMDDHHMM", "time", raw, offset)
    month, day, hour, minute = int(text[0:2]), int(text[2:4]), int(text[4:6]), int(text[6:8])
    for name, value, low, high, at in (("month", month, 1, 12, 0), ("day", day, 1, 31, 2),
                                       ("hour", hour, 0, 23, 4), ("minute", minute, 0, 59, 6)):
        if not low <= value <= high:
            raise _fail(f"date and time {text!r}: {name} {value:02d} is outside {low:02d}..{high:02d}",
                        "time", raw, offset + at)
    return text


def _text_from(raw: bytes, field: str, offset: int) -> str:
    """A number or name: 8-bit text (EN 300 659-3 allows more than ASCII in
    names) without control characters."""
    for k, b in enumerate(raw):
        if b < 0x20 or b == 0x7F:
            raise _fail(f"{field} has control character 0x{b:02X}", field, raw, offset + k)
    return raw.decode("latin-1")


def _reason_from(raw: bytes, field: str, offset: int) -> str:
    letter = raw.decode("latin-1")
    if letter not in ABSENT_REASONS:
        raise _fail(f"{field} {letter!r}: expected 'O' (unavailable) or 'P' (private)", field, raw, offset)
    return ABSENT_REASONS[letter]


def _check_frame(data: bytes) -> None:
    if len(data) < 3:
        raise _fail(f"a message of {len(data)} bytes: it needs at least its type, length and checksum",
                    "length", len(data), len(data))
    if data[1] + 3 != len(data):
        raise _fail(f"the length byte says {data[1]} bytes follow, the message carries {len(data) - 3}",
                    "length", data[1], 1)
    total = sum(data) & 0xFF
    if total:
        raise _fail(f"checksum 0x{data[-1]:02X} does not match: the bytes sum to 0x{total:02X}, "
                    f"not 0 (the checksum should be 0x{checksum(data[:-1]):02X})",
                    "checksum", data[-1], len(data) - 1)


def decode(data, standard: str | None = None) -> CallerId:
    """The CallerId of one message (type .. checksum). ``standard`` says how it
    arrived ("bell202", "v23"), kept in the result. CallerIdError for a bad
    length, checksum, message type or parameter."""
    if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
        raise UsageError(f"data must be bytes, not {type(data).__name__}")
    data = bytes(data)
    _check_frame(data)
    kind = data[0]
    payload = data[2:-1]
    if kind & 0x80:
        return _decode_mdmf(kind, payload, standard)
    if kind == SDMF_CALLER_ID:
        return _decode_sdmf(payload, standard)
    if kind == SDMF_MESSAGE_WAITING:
        if payload not in _SDMF_WAITING:
            raise _fail(f"SDMF message waiting payload {payload.hex(' ')}: expected 42 42 42 (on) or "
                        f"6f 6f 6f (off)", "payload", payload, 2)
        return CallerId(message_waiting=_SDMF_WAITING[payload], format="sdmf", standard=standard,
                        message_type=kind)
    raise _fail(f"message type 0x{kind:02X} is not one this decoder knows (SDMF 0x04, 0x06; MDMF 0x80-0xFF)",
                "type", kind, 0)


def _decode_sdmf(payload: bytes, standard) -> CallerId:
    if len(payload) < 9:
        raise _fail(f"SDMF caller ID of {len(payload)} bytes: it needs MMDDHHMM and a number or 'O'/'P'",
                    "payload", payload, 2)
    time = _time_from(payload[:8], 2)
    rest = payload[8:]
    if len(rest) == 1 and rest.decode("latin-1") in ABSENT_REASONS:
        return CallerId(time=time, number_absent_reason=ABSENT_REASONS[rest.decode("latin-1")], format="sdmf",
                        standard=standard, message_type=SDMF_CALLER_ID)
    for k, b in enumerate(rest):
        if not 0x30 <= b <= 0x39:
            raise _fail(f"SDMF number {rest.decode('latin-1')!r}: 0x{b:02X} is not a digit", "number", rest,
                        10 + k)
    return CallerId(number=rest.decode("ascii"), time=time, format="sdmf", standard=standard,
                    message_type=SDMF_CALLER_ID)


def _decode_mdmf(kind: int, payload: bytes, standard) -> CallerId:
    fields: dict = {}
    seen: dict[int, int] = {}
    extra = []
    at = 0
    while at < len(payload):
        offset = 2 + at  # of the parameter in the message
        if at + 2 > len(payload):
            raise _fail(f"parameter 0x{payload[at]:02X} has no length byte", "parameter", payload[at], offset)
        code, size = payload[at], payload[at + 1]
        if at + 2 + size > len(payload):
            raise _fail(f"parameter 0x{code:02X} says {size} bytes, only {len(payload) - at - 2} remain",
                        "parameter", code, offset + 1)
        raw = payload[at + 2:at + 2 + size]
        value_at = offset + 2
        at += 2 + size
        if code in seen and code in _DECODERS:
            raise _fail(f"parameter 0x{code:02X} appears twice (bytes {seen[code]} and {offset})",
                        "parameter", code, offset)
        seen[code] = offset
        decoder = _DECODERS.get(code)
        if decoder is None:
            extra.append((code, raw))
            continue
        name, convert = decoder
        fields[name] = convert(raw, value_at)
    return CallerId(**fields, format="mdmf", standard=standard, message_type=kind, extra=tuple(extra))


def _one_byte(field):
    def convert(raw, offset):
        if len(raw) != 1:
            raise _fail(f"{field} has {len(raw)} bytes, expected 1", field, raw, offset)
        return raw[0]
    return convert


def _reason(field):
    def convert(raw, offset):
        if len(raw) != 1:
            raise _fail(f"{field} has {len(raw)} bytes, expected 1", field, raw, offset)
        return _reason_from(raw, field, offset)
    return convert


def _text(field):
    return lambda raw, offset: _text_from(raw, field, offset)


_DECODERS = {
    PARAM_TIME: ("time", lambda raw, offset: _time_from(raw, offset)),
    PARAM_NUMBER: ("number", _text("number")),
    PARAM_CALLED_NUMBER: ("called_number", _text("called_number")),
    PARAM_NUMBER_ABSENT: ("number_absent_reason", _reason("number_absent_reason")),
    PARAM_NAME: ("name", _text("name")),
    PARAM_NAME_ABSENT: ("name_absent_reason", _reason("name_absent_reason")),
    PARAM_MESSAGE_WAITING: ("message_waiting", lambda raw, offset: _one_byte("message_waiting")(raw, offset) != 0),
    PARAM_CALL_TYPE: ("call_type", _one_byte("call_type")),
    PARAM_REDIRECTING_NUMBER: ("redirecting_number", _text("redirecting_number")),
}


def _usage_text(field: str, value, *, digits: bool = False) -> bytes:
    if not isinstance(value, str):
        raise UsageError(f"{field} must be a str, not {type(value).__name__}")
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise UsageError(f"{field}={value!r}: only 8-bit (Latin-1) characters can be sent") from None
    if digits and not value.isdigit():
        raise UsageError(f"{field}={value!r}: SDMF carries digits only")
    if any(b < 0x20 or b == 0x7F for b in raw):
        raise UsageError(f"{field}={value!r}: control characters cannot be sent")
    return raw


def _usage_time(time) -> bytes:
    raw = _usage_text("time", time)
    try:
        _time_from(raw, 0)
    except CallerIdError as exc:
        raise UsageError(f"time={time!r}: {exc}") from None
    return raw


def _usage_reason(field: str, reason) -> bytes:
    if reason not in _ABSENT_CODES:
        raise UsageError(f"{field}={reason!r}: one of {', '.join(map(repr, _ABSENT_CODES))}")
    return _ABSENT_CODES[reason].encode("ascii")


def encode(cid: CallerId, format: str | None = None) -> bytes:
    """The message (type .. checksum) for ``cid``: ``format`` "sdmf" (time and
    number, or the number's absence; nothing else fits) or "mdmf" (type
    ``cid.message_type`` or 0x80); by default ``cid.format``, else MDMF."""
    if not isinstance(cid, CallerId):
        raise UsageError(f"cid must be a CallerId, not {type(cid).__name__}")
    format = format or (cid.format if cid.format in ("sdmf", "mdmf") else "mdmf")
    if format == "sdmf":
        return _encode_sdmf(cid)
    if format != "mdmf":
        raise UsageError(f"format={format!r}: 'sdmf' or 'mdmf'")
    kind = MDMF_CALL_SETUP if cid.message_type is None else cid.message_type
    if not isinstance(kind, int) or not 0x80 <= kind <= 0xFF:
        raise UsageError(f"message_type={kind!r}: an MDMF type is 0x80..0xFF")
    params = []
    if cid.time is not None:
        params.append((PARAM_TIME, _usage_time(cid.time)))
    if cid.number is not None and cid.number_absent_reason is not None:
        raise UsageError("a number and a reason for its absence cannot both be sent")
    if cid.number is not None:
        params.append((PARAM_NUMBER, _usage_text("number", cid.number)))
    if cid.number_absent_reason is not None:
        params.append((PARAM_NUMBER_ABSENT, _usage_reason("number_absent_reason", cid.number_absent_reason)))
    if cid.name is not None and cid.name_absent_reason is not None:
        raise UsageError("a name and a reason for its absence cannot both be sent")
    if cid.name is not None:
        params.append((PARAM_NAME, _usage_text("name", cid.name)))
    if cid.name_absent_reason is not None:
        params.append((PARAM_NAME_ABSENT, _usage_reason("name_absent_reason", cid.name_absent_reason)))
    if cid.called_number is not None:
        params.append((PARAM_CALLED_NUMBER, _usage_text("called_number", cid.called_number)))
    if cid.redirecting_number is not None:
        params.append((PARAM_REDIRECTING_NUMBER, _usage_text("redirecting_number", cid.redirecting_number)))
    if cid.call_type is not None:
        params.append((PARAM_CALL_TYPE, bytes([int_field("call_type", cid.call_type, 0, 255)])))
    if cid.message_waiting is not None:
        params.append((PARAM_MESSAGE_WAITING, b"\xff" if cid.message_waiting else b"\x00"))
    for item in cid.extra:
        try:
            code, raw = item
            code = int_field("extra parameter code", code, 0, 255)
            raw = bytes(raw)
        except (TypeError, ValueError):
            raise UsageError(f"extra must hold (code, bytes) pairs, not {item!r}") from None
        params.append((code, raw))
    payload = b""
    for code, raw in params:
        if len(raw) > 255:
            raise UsageError(f"parameter 0x{code:02X} of {len(raw)} bytes: at most 255")
        payload += bytes([code, len(raw)]) + raw
    return _frame(kind, payload)


def _encode_sdmf(cid: CallerId) -> bytes:
    if cid.time is None:
        raise UsageError("an SDMF message needs the time (MMDDHHMM)")
    if (cid.number is None) == (cid.number_absent_reason is None):
        raise UsageError("an SDMF message carries a number or the reason it is absent, one of the two")
    others = [f.name for f in dataclasses.fields(cid)
              if f.name in ("name", "name_absent_reason", "called_number", "redirecting_number", "call_type",
                            "message_waiting") and getattr(cid, f.name) is not None]
    if others or cid.extra:
        raise UsageError(f"SDMF carries only the time and the number: {', '.join(others) or 'extra'} would be lost")
    number = (_usage_text("number", cid.number, digits=True) if cid.number is not None
              else _usage_reason("number_absent_reason", cid.number_absent_reason))
    return _frame(SDMF_CALLER_ID, _usage_time(cid.time) + number)


def _frame(kind: int, payload: bytes) -> bytes:
    if len(payload) > 255:
        raise UsageError(f"a message carries at most 255 bytes, this one {len(payload)}")
    body = bytes([kind, len(payload)]) + payload
    return body + bytes([checksum(body)])


# ---------------------------------------------------------------------------
# Audio

def _encoded(samples: np.ndarray, encoding: str) -> np.ndarray:
    if encoding not in ENCODINGS:
        raise UsageError(f"encoding={encoding!r}: one of {', '.join(ENCODINGS)}")
    return samples if encoding == "linear" else g711.encode(samples, encoding)


def fsk_audio(message, standard: str = "bell202", encoding: str = "linear", level_dbm0: float = LEVEL_DBM0,
              *, twist_db: float = 0.0, seizure_bits: int = SEIZURE_BITS, mark_bits: int = MARK_BITS) -> np.ndarray:
    """A message (bytes, checksum included, or a CallerId to ``encode``) as FSK
    (native/fsk_tx.h): ``seizure_bits`` of channel seizure, ``mark_bits`` of
    mark, the characters, a few mark bits. 16-bit samples for
    ``encoding="linear"``, else G.711 codes ("ulaw", "alaw"). The mark plays
    at ``level_dbm0``, the space ``twist_db`` lower."""
    if isinstance(message, CallerId):
        message = encode(message)
    if isinstance(message, str) or not isinstance(message, (bytes, bytearray, memoryview)):
        raise UsageError(f"message must be bytes or a CallerId, not {type(message).__name__}")
    message = bytes(message)
    if not 1 <= len(message) <= MAX_MESSAGE:
        raise UsageError(f"message of {len(message)} bytes: 1..{MAX_MESSAGE}")
    if standard not in STANDARDS:
        raise UsageError(f"standard={standard!r}: one of {', '.join(STANDARDS)}")
    level = level_field("level_dbm0", level_dbm0)
    twist = real_field("twist_db", twist_db)
    level_field("level_dbm0 - twist_db", level - twist)
    if not -20.0 <= twist <= 20.0:
        raise UsageError(f"twist_db={twist_db!r}: -20..20 dB")
    seizure = int_field("seizure_bits", seizure_bits, 0, lib.LG_FSK_TX_MAX_PREAMBLE_BITS)
    mark = int_field("mark_bits", mark_bits, 0, lib.LG_FSK_TX_MAX_PREAMBLE_BITS)
    if encoding not in ENCODINGS:
        raise UsageError(f"encoding={encoding!r}: one of {', '.join(ENCODINGS)}")
    state = ffi.new("lg_fsk_tx_state *")
    check(lib.lg_fsk_tx_init(state, STANDARDS[standard], level, twist, seizure, mark, message, len(message)),
          "FSK generator")
    total = check(lib.lg_fsk_tx_samples(state), "FSK generator")
    out = np.empty(total, dtype=np.int16)
    written = check(lib.lg_fsk_tx_generate(state, as_pointer("int16_t *", out), total), "FSK generation")
    return _encoded(out[:written], encoding)


def dtmf_clip_string(cid: CallerId | str, start: str = "A", end: str = "C") -> str:
    """The DTMF CLIP keys for a number (``start`` number ``end``) or for its
    absence ("B10C" private, "B00C" unavailable)."""
    if isinstance(cid, str):
        cid = CallerId(number=cid)
    if not isinstance(cid, CallerId):
        raise UsageError(f"cid must be a CallerId or a number, not {type(cid).__name__}")
    if start not in ("A", "D") or end not in ("C", "#"):
        raise UsageError(f"start={start!r}, end={end!r}: start 'A' or 'D', end 'C' or '#'")
    if cid.number is not None:
        if not cid.number.isdigit() or not cid.number.isascii():
            raise UsageError(f"number={cid.number!r}: DTMF CLIP sends digits only")
        return f"{start}{cid.number}{end}"
    if cid.number_absent_reason in _DTMF_ABSENT_CODES:
        return f"B{_DTMF_ABSENT_CODES[cid.number_absent_reason]}C"
    raise UsageError("DTMF CLIP needs a number or a reason for its absence")


def dtmf_clip_audio(cid: CallerId | str, encoding: str = "linear", level_dbm0: float = -10.0, *,
                    start: str = "A", end: str = "C", on_ms: int = 60, off_ms: int = 60) -> np.ndarray:
    """DTMF CLIP (``dtmf_clip_string``) as audio from the DTMF generator."""
    from gateway.dsp.dtmf import DtmfGenerator

    keys = dtmf_clip_string(cid, start, end)
    return _encoded(DtmfGenerator(keys, on_ms=on_ms, off_ms=off_ms, level_dbm0=level_dbm0).all(), encoding)


# ---------------------------------------------------------------------------
# DTMF CLIP

# Information codes after "B" (spandsp's adsi.h; Asterisk's callerid_get_dtmf).
_DTMF_INFO = {"00": "unavailable", "10": "private"}
_DTMF_ABSENT_CODES = {word: code for code, word in _DTMF_INFO.items()}
# "D<n>#" (Denmark, as Asterisk reads it): 1 private, 2 international, 3 unavailable.
_DTMF_D_CODES = {"1": "private", "2": "unavailable", "3": "unavailable"}


def parse_dtmf_clip(digits: str, *, bare_digits: bool = True) -> CallerId:
    """The CallerId of a complete DTMF CLIP string (its keys, start to
    terminator). ``bare_digits``: accept "<number>#" with no start key.
    CallerIdError (field "digits", the key's index in the message) for
    anything else."""
    if not isinstance(digits, str):
        raise UsageError(f"digits must be a str, not {type(digits).__name__}")
    keys = digits.upper()

    def bad(what: str, index: int | None = None) -> CallerIdError:
        where = "" if index is None else f" (key {index})"
        return CallerIdError(f"DTMF caller ID {digits!r}{where}: {what}", field="digits", value=digits)

    if len(keys) < 2 or keys[-1] not in "C#":
        raise bad("it must end with C or #")
    if any(k not in "0123456789ABCD*#" for k in keys):
        index = next(i for i, k in enumerate(keys) if k not in "0123456789ABCD*#")
        raise bad(f"{digits[index]!r} is not a DTMF key", index)
    body = keys[:-1]
    if keys[0] == "D" and len(keys) == 3 and keys[2] == "#" and keys[1] in _DTMF_D_CODES:
        return CallerId(number_absent_reason=_DTMF_D_CODES[keys[1]], format="dtmf", standard="dtmf")
    if keys[0].isdigit():
        if not bare_digits:
            raise bad("no start key (A, B or D)", 0)
        if not body.isdigit():
            index = next(i for i, k in enumerate(body) if not k.isdigit())
            raise bad(f"{keys[index]!r} inside the number", index)
        return CallerId(number=body, format="dtmf", standard="dtmf")
    if keys[0] not in "ABD":
        raise bad(f"{keys[0]!r} does not start a caller ID (A, B or D)", 0)
    # Fields: a start letter, then digits; "A"/first "D" the number, a later "D"
    # the redirecting number, "B" the information code.
    fields: dict[str, str] = {}
    index = 0
    while index < len(body):
        letter = body[index]
        if letter not in "ABD":
            raise bad(f"{letter!r} where a field letter (A, B, D) belongs", index)
        name = {"A": "number", "B": "info"}.get(letter) or ("number" if index == 0 else "redirecting_number")
        end = index + 1
        while end < len(body) and body[end].isdigit():
            end += 1
        if name in fields:
            raise bad(f"a second {letter} field", index)
        fields[name] = body[index + 1:end]
        index = end
    info = fields.pop("info", None)
    reason = None
    if info is not None:
        if info not in _DTMF_INFO:
            raise bad(f"information code {info!r} is not one of {', '.join(_DTMF_INFO)}")
        reason = _DTMF_INFO[info]
    number = fields.get("number") or None
    if number is None and reason is None:
        raise bad("no number and no information code")
    return CallerId(number=number, number_absent_reason=reason if number is None else None,
                    redirecting_number=fields.get("redirecting_number") or None, format="dtmf", standard="dtmf")


class DtmfClipAssembler:
    """DTMF CLIP from one channel's "dtmf" DetectorEvents (a core: events in,
    caller IDs out; times are the events' sample positions).

    ``feed(event)`` returns a CallerId when a string is complete, else None.
    Keys outside a string (no start key yet) are ignored. A string whose
    next key does not come within ``max_gap_ms``, or longer than
    ``MAX_KEYS``, is dropped with a CallerIdError (raised after the key
    that revealed it has been taken in, so feeding can go on); ``expire(now)``
    reports one that the stream ended under. Each key counts once, whether
    its begin report, its end report or both are fed."""

    MAX_KEYS = 40

    def __init__(self, max_gap_ms: int = 1000, *, bare_digits: bool = False, rate: int = 8000):
        self.max_gap = int_field("max_gap_ms", max_gap_ms, 1, 60_000) * int_field("rate", rate, 1) // 1000
        self.bare_digits = bool(bare_digits)
        self._keys: list[str] = []
        self._last_start: int | None = None  # of the last key taken in (any)
        self._last_at: int | None = None     # of the string's last key

    @property
    def pending(self) -> str:
        """The keys of the string under way."""
        return "".join(self._keys)

    def _stale(self, now: int) -> CallerIdError | None:
        if self._keys and now - self._last_at > self.max_gap:
            keys = self.pending
            self._keys = []
            return CallerIdError(f"DTMF caller ID {keys!r} incomplete: no key for {self.max_gap} samples",
                                 field="digits", value=keys)
        return None

    def expire(self, now: int) -> None:
        """Drops a string whose next key is overdue at sample ``now``
        (CallerIdError naming its keys)."""
        error = self._stale(now)
        if error is not None:
            raise error

    def feed(self, event) -> CallerId | None:
        if getattr(event, "kind", None) != "dtmf":
            raise UsageError(f"DtmfClipAssembler takes 'dtmf' events, not {event!r}")
        if event.start == self._last_start:
            return None  # the same key's other report
        self._last_start = event.start
        error = self._stale(event.start)
        key = event.value
        result = None
        if self._keys or key in "ABD" or (self.bare_digits and key.isdigit()):
            self._keys.append(key)
            self._last_at = event.start
            if key in "C#":
                keys, self._keys = self.pending, []
                try:
                    result = parse_dtmf_clip(keys, bare_digits=self.bare_digits)
                except CallerIdError as exc:
                    error = error or exc
            elif len(self._keys) > self.MAX_KEYS:
                keys, self._keys = self.pending, []
                error = error or CallerIdError(f"DTMF caller ID {keys!r}: more than {self.MAX_KEYS} keys",
                                               field="digits", value=keys)
        if error is not None:
            raise error
        return result


# ---------------------------------------------------------------------------
# DetectorBank events

CALLERID_FAILURES = ("checksum-failed", "truncated")


def from_event(event) -> CallerId:
    """The CallerId of a DetectorBank "callerid" event (value: the message's
    bytes as hex; reason: "bell202" or "v23", or why it failed). A failed
    message raises CallerIdError naming the failure and the bytes heard."""
    if getattr(event, "kind", None) != "callerid":
        raise UsageError(f"from_event takes a 'callerid' event, not {event!r}")
    data = bytes.fromhex(event.value)
    if event.reason not in STANDARDS:
        raise CallerIdError(f"caller ID message {event.reason} on channel {event.channel}: {event.value}",
                            field="message", value=data)
    return decode(data, standard=event.reason)


# ---------------------------------------------------------------------------
# Which signal a country's exchanges send

# DTMF CLIP (ETSI EN 300 659-1 annex B; Asterisk's cidsignalling=dtmf) where
# it is the usual on-hook caller ID: Denmark, Finland, Sweden, the
# Netherlands, India, Brazil (ETSI TR 101 084 and the Asterisk sample
# configs' notes); Bell 202 in North America; V.23 FSK (EN 300 659) elsewhere.
_DTMF_CLIP_COUNTRIES = frozenset({"dk", "fi", "se", "nl", "in", "br"})
_BELL_COUNTRIES = frozenset({"us", "us-old", "ca"})


def standard_for_country(country: str | None) -> str:
    """The caller-ID signal an exchange of ``country`` sends on-hook: "bell202", "v23" or "dtmf"."""
    if country in _BELL_COUNTRIES or country is None:
        return "bell202"
    return "dtmf" if country in _DTMF_CLIP_COUNTRIES else "v23"


def callerid_audio(cid: CallerId, country: str | None, encoding: str = "linear",
                   level_dbm0: float = LEVEL_DBM0) -> np.ndarray:
    """The on-hook caller-ID signal of ``country`` for ``cid`` (MDMF by FSK, or DTMF CLIP)."""
    standard = standard_for_country(country)
    if standard == "dtmf":
        return dtmf_clip_audio(cid, encoding)
    return fsk_audio(cid, standard, encoding, level_dbm0)
