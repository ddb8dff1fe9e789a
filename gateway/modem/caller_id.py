"""Caller ID as a voice modem reports it, after the first ring.

A modem demodulates the line's FSK burst itself and tells the host in one of
two presentations (+VCID=n in V.253 / IS-101, #CID=n on Rockwell/Conexant and
USRobotics modems; the values mean the same):

1, formatted: one ``TAG = VALUE`` line per item, spaces around ``=`` (some
   modems leave them out)::

       DATE = 0321          month and day, MMDD
       TIME = 1405          hour and minute, HHMM
       NMBR = 5551234       the number; P (private) or O (out of area) when absent
       NAME = JOHN DOE      the name, or P / O
       MESG = 060103...     an item the modem has no tag for, as hex (MDMF only)

   (Hayes and USRobotics command references, +VCID / #CID; Conexant modems
   add DDN_NMBR, the dialled number, on some lines.)

2, unformatted: the whole message, without the channel seizure and marks, as
   one line of ASCII hex: SDMF (type 0x04: MMDDHHMM then the number) or MDMF
   (type 0x80: parameters 0x01 date/time, 0x02 number, 0x04 reason the number
   is absent, 0x07 name, 0x08 reason the name is absent), a length byte, and a
   checksum that makes all bytes sum to 0 modulo 256 (Telcordia GR-30-CORE;
   the parameter codes as minimodem's databits_callerid.c decodes them).

This module turns either into a ``CallerId`` and back (the simulated modem
presents caller ID with the same functions). Bad input is a ``ModemError``
naming what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import ModemError

SDMF, MDMF = 0x04, 0x80
PARAM_DATE_TIME, PARAM_NUMBER, PARAM_NUMBER_ABSENT, PARAM_NAME, PARAM_NAME_ABSENT = 0x01, 0x02, 0x04, 0x07, 0x08
ABSENT = {"P": "private", "O": "unavailable"}
TAGS = ("DATE", "TIME", "NMBR", "NAME", "MESG", "DDN_NMBR")
MAX_TEXT = 80  # an MDMF parameter holds at most 255 bytes; a number or name far less

_TAG_LINE = re.compile(r"^(DATE|TIME|NMBR|NAME|MESG|DDN_NMBR)\s*=\s?(.*)$")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


@dataclass(frozen=True)
class CallerId:
    """What the line said about a caller. ``number`` and ``name`` are None when not sent;
    ``number_absent`` / ``name_absent`` say why ("private" or "unavailable")."""

    number: str | None = None
    name: str | None = None
    date: str | None = None          # MMDD
    time: str | None = None          # HHMM
    number_absent: str | None = None
    name_absent: str | None = None
    dialled: str | None = None       # DDN_NMBR, when the modem reports it
    messages: tuple[str, ...] = ()   # MESG items, hex as reported

    @property
    def empty(self) -> bool:
        return self == CallerId()


def tag_line(line: str) -> tuple[str, str] | None:
    """(TAG, VALUE) of a formatted caller-ID line, None for any other line."""
    match = _TAG_LINE.match(line)
    return (match.group(1), match.group(2).strip()) if match else None


def looks_like_packet(line: str) -> bool:
    """A line that can only be an unformatted caller-ID report: hex, starting with the type of an
    SDMF or MDMF message, long enough for type, length and checksum."""
    return len(line) >= 6 and bool(_HEX.match(line)) and line[:2] in ("04", "80")


def from_fields(fields) -> CallerId:
    """A CallerId from formatted (TAG, VALUE) pairs, in the order the modem sent them.
    ModemError for a date or time that is not MMDD / HHMM."""
    items: dict = {}
    messages = []
    for tag, value in fields:
        if tag in ("DATE", "TIME"):
            _check_clock(tag, value, f"{tag} = {value}")
            items[tag.lower()] = value
        elif tag in ("NMBR", "NAME"):
            key = "number" if tag == "NMBR" else "name"
            if value.upper() in ABSENT:
                items[f"{key}_absent"] = ABSENT[value.upper()]
            else:
                items[key] = value[:MAX_TEXT]
        elif tag == "DDN_NMBR":
            items["dialled"] = value[:MAX_TEXT]
        elif tag == "MESG":
            messages.append(value[:2 * MAX_TEXT])
        else:
            raise ModemError(f"caller ID tag {tag!r} is not one of {', '.join(TAGS)}", line=f"{tag}={value}".encode())
    return CallerId(messages=tuple(messages), **items)


def _check_clock(tag: str, value: str, line: str) -> None:
    limits = ((1, 12), (1, 31)) if tag == "DATE" else ((0, 23), (0, 59))
    if len(value) != 4 or not value.isdigit() or not all(
            low <= int(value[i:i + 2]) <= high for i, (low, high) in zip((0, 2), limits)):
        form = "MMDD" if tag == "DATE" else "HHMM"
        raise ModemError(f"caller ID {tag} {value!r} is not {form}", line=line.encode())


def decode_packet(text: str) -> CallerId:
    """The CallerId in an unformatted report (hex of an SDMF or MDMF message). ModemError
    naming the byte offset for a bad length, checksum or parameter."""
    line = text.encode("ascii", "replace")
    if not _HEX.match(text):
        raise ModemError(f"unformatted caller ID {text!r} is not hex digits in pairs", line=line)
    data = bytes.fromhex(text)
    if len(data) < 3:
        raise ModemError(f"unformatted caller ID {text!r} is {len(data)} bytes; a message has at least 3", line=line)
    kind, length = data[0], data[1]
    if kind not in (SDMF, MDMF):
        raise ModemError(f"unformatted caller ID {text!r}: message type 0x{kind:02X} at byte 0 is neither "
                         f"SDMF (0x04) nor MDMF (0x80)", line=line)
    if len(data) != length + 3:
        raise ModemError(f"unformatted caller ID {text!r}: the length byte says {length} bytes of data, "
                         f"{len(data) - 3} came", line=line)
    if sum(data) % 256:
        raise ModemError(f"unformatted caller ID {text!r}: checksum 0x{data[-1]:02X} at byte {len(data) - 1} "
                         f"is wrong (the bytes sum to 0x{sum(data) % 256:02X}, not 0)", line=line)
    body = data[2:-1]
    fields = []
    if kind == SDMF:
        if len(body) < 8:
            raise ModemError(f"unformatted caller ID {text!r}: SDMF data is {len(body)} bytes, "
                             f"shorter than its date and time", line=line)
        stamp = _ascii(body[:8], text, 2)
        fields += [("DATE", stamp[:4]), ("TIME", stamp[4:])]
        fields.append(("NMBR", _ascii(body[8:], text, 10)))
        return from_fields(fields)
    offset = 0
    while offset < len(body):
        if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
            raise ModemError(f"unformatted caller ID {text!r}: parameter at byte {offset + 2} runs past the "
                             f"end of the message", line=line)
        param, size = body[offset], body[offset + 1]
        value = body[offset + 2:offset + 2 + size]
        where = offset + 4
        if param == PARAM_DATE_TIME:
            stamp = _ascii(value, text, where)
            if len(stamp) != 8:
                raise ModemError(f"unformatted caller ID {text!r}: date and time at byte {where} is "
                                 f"{len(stamp)} characters, not 8 (MMDDHHMM)", line=line)
            fields += [("DATE", stamp[:4]), ("TIME", stamp[4:])]
        elif param in (PARAM_NUMBER, PARAM_NUMBER_ABSENT):
            fields.append(("NMBR", _ascii(value, text, where)))
        elif param in (PARAM_NAME, PARAM_NAME_ABSENT):
            fields.append(("NAME", _ascii(value, text, where)))
        else:
            fields.append(("MESG", bytes([param, size]).hex().upper() + value.hex().upper()))
        offset += 2 + size
    return from_fields(fields)


def _ascii(data: bytes, text: str, offset: int) -> str:
    for index, byte in enumerate(data):
        if not 0x20 <= byte < 0x7F:
            raise ModemError(f"unformatted caller ID {text!r}: byte 0x{byte:02X} at byte {offset + index} is not "
                             f"printable ASCII", line=text.encode("ascii", "replace"))
    return data.decode("ascii")


# ---- presentation (the simulated modem's side) ----

def formatted_lines(caller_id: CallerId) -> list[str]:
    """The formatted presentation (+VCID=1): TAG = VALUE lines."""
    lines = []
    if caller_id.date:
        lines.append(f"DATE = {caller_id.date}")
    if caller_id.time:
        lines.append(f"TIME = {caller_id.time}")
    lines.append(f"NMBR = {caller_id.number or _absent_code(caller_id.number_absent)}")
    if caller_id.name or caller_id.name_absent:
        lines.append(f"NAME = {caller_id.name or _absent_code(caller_id.name_absent)}")
    return lines


def encode_packet(caller_id: CallerId) -> str:
    """The unformatted presentation (+VCID=2): the MDMF message as hex."""
    body = b""
    if caller_id.date and caller_id.time:
        body += _param(PARAM_DATE_TIME, (caller_id.date + caller_id.time).encode())
    if caller_id.number:
        body += _param(PARAM_NUMBER, caller_id.number.encode())
    else:
        body += _param(PARAM_NUMBER_ABSENT, _absent_code(caller_id.number_absent).encode())
    if caller_id.name:
        body += _param(PARAM_NAME, caller_id.name.encode())
    elif caller_id.name_absent:
        body += _param(PARAM_NAME_ABSENT, _absent_code(caller_id.name_absent).encode())
    message = bytes([MDMF, len(body)]) + body
    return (message + bytes([-sum(message) % 256])).hex().upper()


def _param(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


def _absent_code(reason: str | None) -> str:
    return "P" if reason == "private" else "O"
