"""Voice compression methods of a V.253 modem (+VSM) and their samples.

``AT+VSM=?`` lists what a modem can do, a line per method::

    <cml>,<cmid>,<bps>,<tm>,<vsr>,<sds>,<sel>
    128,"8-BIT LINEAR",8,0,(7200,8000),(0),(0)     USRobotics / Conexant HSF (quoted, ranges)
    +VSM: 131,ULAW,8,0,8000,0,0                      some Conexant firmware (a prefix, no quotes)
    1;CELP;1;0;(9600)                                ZyXEL (semicolons, five fields)

The number (<cml>) is the modem's own: V.253 gives 0 signed linear PCM, 1
unsigned linear PCM, 4 G.711 mu-law and 5 A-law, and leaves 128 and up to
vendors, who number as they like (Conexant: 1 and 130 unsigned PCM, 128
8-bit linear, 131 mu-law, 132 A-law, 133 16-bit linear; Intel's 128 is signed
8-bit; ELSA's 131 is mu-law). So a method is recognised by its name and bits
first, by the V.253 number only when the name says nothing; whatever stays
unknown (ADPCM, CELP: codecs this driver does not decode) is listed with
``encoding=None`` and never chosen. Sources: the USRobotics 56K command
reference and Conexant's 100498E / 100722A references (+VSM), ZyXEL's U-1496
manual, mgetty's voice/libvoice/V253modem.c (the ELSA numbers).

Encodings and the samples they carry, 8000 per second:
``ulaw`` / ``alaw`` G.711 bytes; ``u8`` unsigned 8-bit linear (128 = 0);
``s8`` two's-complement 8-bit; ``s16le`` 16-bit little-endian.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from gateway.dsp import g711
from gateway.errors import ModemError, UsageError

ENCODINGS = ("ulaw", "alaw", "s16le", "u8", "s8")   # also the order of preference
BYTES_PER_SAMPLE = {"ulaw": 1, "alaw": 1, "u8": 1, "s8": 1, "s16le": 2}
V253_NUMBERS = {0: "s8", 1: "u8", 4: "ulaw", 5: "alaw"}
RATE = 8000

_CODECS = ("ADPCM", "CELP", "GSM", "G721", "G723", "G726", "G729", "CVSD")


@dataclass(frozen=True)
class CompressionMethod:
    """One line of +VSM=?: the modem's number and name for the method, its bits per sample, the
    sample rates it takes (inclusive ranges) and the encoding we read it as (None: not decoded here)."""

    number: int
    name: str
    bits: int
    rates: tuple[tuple[int, int], ...]
    encoding: str | None

    def takes_rate(self, rate: int) -> bool:
        return any(low <= rate <= high for low, high in self.rates)


def encoding_of(number: int, name: str, bits: int) -> str | None:
    """The encoding a method's name, bits and number mean, None when we cannot read it."""
    key = re.sub(r"[^A-Z0-9]", "", name.upper())
    if any(codec in key for codec in _CODECS):
        return None
    if "ULAW" in key or "MULAW" in key or "G711U" in key or key == "PCMU":
        return "ulaw"
    if "ALAW" in key or "G711A" in key or key == "PCMA":
        return "alaw"
    if "UNSIGNED" in key:
        return "u8" if bits == 8 else None
    if "SIGNED" in key or "LINEAR" in key or "PCM" in key or not key:
        if bits == 16:
            return "s16le"
        if bits == 8:
            # "8-BIT LINEAR" is two's complement on the modems that document it (Intel, USRobotics);
            # a bare "PCM" or nothing says no more than the V.253 number does.
            return V253_NUMBERS.get(number, "s8") if key in ("PCM", "") else "s8"
    return None


def _split(line: str) -> list[str]:
    """Top-level fields of a +VSM=? line: commas (or ZyXEL's semicolons) outside quotes and parentheses."""
    separator = ";" if ";" in line and "," not in line.split("(")[0] else ","
    fields, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == separator:
            fields.append(line[start:index].strip())
            start = index + 1
    fields.append(line[start:].strip())
    return fields


def _integer(text: str, field: str, line: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ModemError(f"+VSM=? line {line!r}: {field} {text!r} is not a number {low}..{high}",
                         line=line.encode(), command="AT+VSM=?")
    return int(text)


def _ranges(text: str, field: str, line: str) -> tuple[tuple[int, int], ...]:
    body = text[1:-1] if text.startswith("(") and text.endswith(")") else text
    ranges = []
    for item in body.split(","):
        low, _, high = item.strip().partition("-")
        low_value = _integer(low.strip(), field, line, 0, 100_000)
        high_value = _integer(high.strip(), field, line, 0, 100_000) if high else low_value
        if high_value < low_value:
            raise ModemError(f"+VSM=? line {line!r}: {field} range {item.strip()!r} runs backwards",
                             line=line.encode(), command="AT+VSM=?")
        ranges.append((low_value, high_value))
    return tuple(ranges)


def parse_method(line: str) -> CompressionMethod:
    """One line of +VSM=?; ModemError quoting the line and naming the field that is wrong."""
    text = line.strip()
    if text.upper().startswith("+VSM:"):
        text = text[5:].strip()
    if text.count('"') % 2:
        raise ModemError(f"+VSM=? line {line!r} has an unmatched quote", line=line.encode(), command="AT+VSM=?")
    fields = _split(text)
    if len(fields) < 5:
        raise ModemError(f"+VSM=? line {line!r} has {len(fields)} fields; a method has at least 5 "
                         f"(<cml>,<cmid>,<bps>,<tm>,<vsr>)", line=line.encode(), command="AT+VSM=?")
    number = _integer(fields[0], "<cml>", line, 0, 255)
    name = fields[1].strip('"').strip()
    bits = _integer(fields[2], "<bps>", line, 1, 32)
    _integer(fields[3].strip("()") or "0", "<tm>", line, 0, 255)
    rates = _ranges(fields[4], "<vsr>", line)
    return CompressionMethod(number, name, bits, rates, encoding_of(number, name, bits))


def parse_methods(lines) -> tuple[CompressionMethod, ...]:
    """Every method a +VSM=? answer lists (its information lines, without OK)."""
    methods = tuple(parse_method(line) for line in lines if line.strip())
    if not methods:
        raise ModemError("+VSM=? listed no compression method", command="AT+VSM=?")
    return methods


def choose(methods, prefer=ENCODINGS, rate: int = RATE) -> CompressionMethod:
    """The method to use: the first encoding of ``prefer`` the modem offers at ``rate``.
    ModemError listing what the modem offers when none fits."""
    for encoding in prefer:
        if encoding not in ENCODINGS:
            raise UsageError(f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
        for method in methods:
            if method.encoding == encoding and method.takes_rate(rate):
                return method
    offered = "; ".join(f"{m.number} {m.name!r} ({m.encoding or 'not decoded here'})" for m in methods)
    raise ModemError(f"the modem offers no voice compression we read at {rate} Hz among "
                     f"{', '.join(prefer)}: it offers {offered}", command="AT+VSM=?")


# ---- samples ----

def decode(payload: bytes, encoding: str) -> np.ndarray:
    """16-bit linear samples of a payload (whole samples only: an s16le payload has even length)."""
    if encoding in ("ulaw", "alaw"):
        return g711.decode(payload, encoding)
    if encoding == "u8":
        return ((np.frombuffer(payload, np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if encoding == "s8":
        return (np.frombuffer(payload, np.int8).astype(np.int16) << 8).astype(np.int16)
    if encoding == "s16le":
        if len(payload) % 2:
            raise UsageError(f"an s16le payload has whole samples; {len(payload)} bytes is odd")
        return np.frombuffer(payload, "<i2").astype(np.int16)
    raise UsageError(f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")


def encode(samples: np.ndarray, encoding: str) -> bytes:
    """A payload of 16-bit linear samples (int16) in ``encoding``."""
    if not isinstance(samples, np.ndarray) or samples.dtype != np.int16:
        raise UsageError(f"samples must be a NumPy int16 array, not {type(samples).__name__}"
                         f"{'' if not isinstance(samples, np.ndarray) else ' of ' + str(samples.dtype)}")
    if encoding in ("ulaw", "alaw"):
        return g711.encode(np.ascontiguousarray(samples.ravel()), encoding).tobytes()
    if encoding == "u8":
        return ((samples.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    if encoding == "s8":
        return (samples.astype(np.int32) >> 8).astype(np.int8).tobytes()
    if encoding == "s16le":
        return samples.astype("<i2").tobytes()
    raise UsageError(f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
