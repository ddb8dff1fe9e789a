"""Board configuration files: TOML of spans and ports, checked with line numbers, turned into requests.

    kind = "e1x2"              # the board kind the file is for
    tone_zone = "de"           # default for every port (country code)

    [span.0]
    framing = "ccs"            # cas | ccs
    crc4 = true
    coding = "hdb3"            # hdb3 | ami
    clock_priority = 1         # 0 never the clock source, 1 first choice, 2 next...
    law = "alaw"               # alaw | ulaw
    signalling = "pri-cpe"     # ccs: pri-cpe | pri-net; cas: r2 | em
    [span.0.channels]          # per timeslot, optional: "N" or "N-M" = a signalling or "unused"
    "17-31" = "unused"

    [port.0]
    signalling = "loopstart"   # loopstart | groundstart | kewlstart
    law = "alaw"
    tone_zone = "fr"
    rx_gain = 0.0              # dB, -12.0 .. 12.0 in steps of 0.1
    tx_gain = -3.5

Every error names the file, the line, the key, the value and what is allowed.
tomllib keeps no positions for values, so ``KeyLines`` finds each table
header and key in the text and errors are placed on the line of the key (or
of the table) they are about.

What goes to the board is CONFIGURE_SPAN (framing, CRC-4, coding, clock
priority, law) and CONFIGURE_PORT (law, tone zone, gains). Signalling per
channel is the host's business (the signalling stacks read it); it is checked
here and kept with the config, not sent.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from gateway.boards import protocol as p
from gateway.boards.kinds import KINDS, BoardKind, kind_by_code, kind_by_name
from gateway.errors import IncompatibleError, InputError

FRAMINGS = {"cas": p.Framing.CAS, "ccs": p.Framing.CCS}
CODINGS = {"hdb3": p.LineCoding.HDB3, "ami": p.LineCoding.AMI}
LAWS = {"alaw": p.Law.ALAW, "ulaw": p.Law.ULAW}
SPAN_SIGNALLING = {"ccs": ("pri-cpe", "pri-net"), "cas": ("r2", "em")}
CHANNEL_SIGNALLING = {"ccs": ("bearer", "unused"), "cas": ("r2", "em", "unused")}
PORT_SIGNALLING = ("loopstart", "groundstart", "kewlstart")
MAX_GAIN_DB = 12.0
SIGNALLING_TIMESLOT = 16  # CAS multiframe or the CCS D-channel: never a voice channel

SPAN_KEYS = ("framing", "crc4", "coding", "clock_priority", "law", "signalling", "channels")
PORT_KEYS = ("signalling", "law", "tone_zone", "rx_gain", "tx_gain")
TOP_KEYS = ("kind", "tone_zone", "span", "port")


class ConfigError(InputError):
    """A config file that is not valid: ``line`` is where (1-based), ``field`` the dotted key."""

    def __init__(self, message, *, source, line=None, field=None, value=None):
        where = f"{source}:{line}" if line else str(source)
        shown = f"{field} = {value!r}: " if field is not None and value is not None else (
            f"{field}: " if field is not None else "")
        super().__init__(shown + message, source=where, field=field, value=value)
        self.line = line


class ConfigIncompatibleError(ConfigError, IncompatibleError):
    """A valid config for another kind of board."""


# --- where keys are in the text -------------------------------------------------------------------------

_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER_RE = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]\s*(?:#.*)?$")
_KEYLINE_RE = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART_RE = re.compile(_KEY)


def _parts(dotted: str) -> tuple[str, ...]:
    out = []
    for part in _PART_RE.findall(dotted):
        if part[0] in "\"'":
            part = part[1:-1]
        out.append(part)
    return tuple(out)


class KeyLines:
    """The line of each table header and key of a TOML text, by its full dotted path. Good enough for
    the files people write (one key per line); a key it cannot place falls back to its table's line."""

    def __init__(self, text: str):
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        in_multiline = None
        for number, line in enumerate(text.splitlines(), 1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER_RE.match(line)
            if header:
                table = _parts(header.group(1))
                self.lines.setdefault(table, number)
                continue
            key = _KEYLINE_RE.match(line)
            if key:
                self.lines.setdefault(table + _parts(key.group(1)), number)
                for quote in ('"""', "'''"):  # a multi-line string: its lines are not keys
                    if line.count(quote) % 2 == 1:
                        in_multiline = quote

    def line(self, *path) -> int | None:
        path = tuple(str(x) for x in path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


# --- the config ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpanConfig:
    span: int
    framing: str
    crc4: bool
    coding: str
    clock_priority: int
    law: str
    signalling: str
    channels: tuple[tuple[int, str], ...]  # (timeslot, signalling) for every voice timeslot 1..31 but 16

    def request(self) -> p.ConfigureSpan:
        return p.ConfigureSpan(self.span, FRAMINGS[self.framing], self.crc4, CODINGS[self.coding],
                               self.clock_priority, LAWS[self.law])


@dataclass(frozen=True)
class PortConfig:
    port: int
    signalling: str
    law: str
    tone_zone: str
    rx_gain: float  # dB
    tx_gain: float

    def request(self) -> p.ConfigurePort:
        return p.ConfigurePort(self.port, LAWS[self.law], self.tone_zone, round(self.rx_gain * 10),
                               round(self.tx_gain * 10))


@dataclass(frozen=True)
class BoardConfig:
    kind: BoardKind
    spans: tuple[SpanConfig, ...]
    ports: tuple[PortConfig, ...]

    def requests(self) -> list[p.Message]:
        return [s.request() for s in self.spans] + [q.request() for q in self.ports]

    def flat(self) -> dict[str, object]:
        """Every setting by its dotted key, for showing and comparing."""
        out: dict[str, object] = {"kind": self.kind.name}
        for s in self.spans:
            for key in SPAN_KEYS[:-1]:
                out[f"span.{s.span}.{key}"] = getattr(s, key)
            for timeslot, signalling in s.channels:
                out[f"span.{s.span}.channels.{timeslot}"] = signalling
        for q in self.ports:
            for key in PORT_KEYS:
                out[f"port.{q.port}.{key}"] = getattr(q, key)
        return out

    def to_toml(self) -> str:
        """The canonical file of this config (every setting spelled out); parse_config reads it back."""
        lines = [f"kind = {_toml(self.kind.name)}"]
        for s in self.spans:
            lines += ["", f"[span.{s.span}]"] + [f"{k} = {_toml(getattr(s, k))}" for k in SPAN_KEYS[:-1]]
            lines += [f"[span.{s.span}.channels]"] + [f'"{r}" = {_toml(v)}' for r, v in _ranges(s.channels)]
        for q in self.ports:
            lines += ["", f"[port.{q.port}]"] + [f"{k} = {_toml(getattr(q, k))}" for k in PORT_KEYS]
        return "\n".join(lines) + "\n"


def _ranges(channels) -> list[tuple[str, str]]:
    """(timeslot, signalling) pairs as runs: "1-15" = "r2" rather than fifteen lines."""
    runs: list[list] = []
    for timeslot, value in channels:
        if runs and runs[-1][2] == value and runs[-1][1] == timeslot - 1:
            runs[-1][1] = timeslot
        else:
            runs.append([timeslot, timeslot, value])
    return [(f"{a}-{b}" if a != b else str(a), value) for a, b, value in runs]


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def diff(old: BoardConfig | None, new: BoardConfig) -> list[str]:
    """Lines naming each setting that differs: ``- key = old``, ``+ key = new`` or ``~ key: old -> new``."""
    return diff_flat(old.flat() if old else {}, new.flat())


def diff_flat(a: dict, b: dict) -> list[str]:
    """``diff``'s lines for two configs given as flat key -> value dicts (``BoardConfig.flat()``)."""
    out = []
    for key in sorted(set(a) | set(b), key=_natural):
        if key not in b:
            out.append(f"- {key} = {_toml(a[key])}")
        elif key not in a:
            out.append(f"+ {key} = {_toml(b[key])}")
        elif a[key] != b[key]:
            out.append(f"~ {key}: {_toml(a[key])} -> {_toml(b[key])}")
    return out


def _natural(key: str):
    return [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in key.split(".")]


# --- parsing and checking ---------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def parse_config(text: str, source="config") -> BoardConfig:
    """The config in ``text``; ConfigError (exit 2) naming the line for anything wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        if found:
            raise ConfigError(f"not valid TOML: {message[:found.start()]} (column {found.group(2)})",
                              source=source, line=int(found.group(1))) from None
        raise ConfigError(f"not valid TOML: {message}", source=source) from None
    return _Checker(data, KeyLines(text), source).config()


class _Checker:
    def __init__(self, data: dict, where: KeyLines, source):
        self.data, self.where, self.source = data, where, source

    def fail(self, path: tuple, message: str, value=None, cls=ConfigError):
        dotted = ".".join(str(x) for x in path) if path else None
        raise cls(message, source=self.source, line=self.where.line(*path) if path else None, field=dotted,
                  value=value)

    def table(self, path: tuple, value) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"is a {_type(value)}; a table ([{'.'.join(map(str, path))}]) is expected", value)
        return value

    def keys(self, path: tuple, table: dict, allowed: tuple) -> None:
        for key in table:
            if key not in allowed:
                self.fail(path + (key,), f"unknown key (keys here: {', '.join(allowed)})")

    def choice(self, path: tuple, value, allowed) -> str:
        if not isinstance(value, str) or value not in allowed:
            self.fail(path, f"not one of {', '.join(allowed)}", value)
        return value

    def integer(self, path: tuple, value, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, f"a whole number {low}..{high} is expected", value)
        return value

    def gain(self, path: tuple, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -MAX_GAIN_DB <= value <= MAX_GAIN_DB:
            self.fail(path, f"a gain in dB, -{MAX_GAIN_DB:g} .. {MAX_GAIN_DB:g}, is expected", value)
        if abs(value * 10 - round(value * 10)) > 1e-6:
            self.fail(path, "the board sets gains in steps of 0.1 dB", value)
        return round(float(value), 1)

    def tone_zone(self, path: tuple, value) -> str:
        if not isinstance(value, str) or not re.fullmatch("[a-z]{2}", value):
            self.fail(path, "a country code of two lowercase letters (such as \"de\") is expected", value)
        return value

    def units(self, name: str, count: int, kind: BoardKind) -> list[tuple[int, dict]]:
        tables = self.data.get(name)
        if tables is None:
            return []
        tables = self.table((name,), tables)
        out = []
        for key, table in tables.items():
            if not key.isdigit():
                self.fail((name, key), f"a {name} number is expected ([{name}.0], [{name}.1], ...)")
            number = int(key)
            if count == 0:
                self.fail((name, key), f"a {kind.name} has no {name}s", cls=ConfigIncompatibleError)
            if number >= count:
                self.fail((name, key), f"a {kind.name} has {name}s 0..{count - 1}", cls=ConfigIncompatibleError)
            out.append((number, self.table((name, key), table)))
        return sorted(out)

    def config(self) -> BoardConfig:
        data = self.data
        self.keys((), data, TOP_KEYS)
        if "kind" not in data:
            raise ConfigError("no `kind = \"...\"`: say which board kind the file is for "
                              f"({', '.join(k.name for k in KINDS)})", source=self.source, line=1)
        kind_name = self.choice(("kind",), data["kind"], [k.name for k in KINDS])
        kind = kind_by_name(kind_name)
        default_zone = self.tone_zone(("tone_zone",), data["tone_zone"]) if "tone_zone" in data else None
        spans, priorities = [], {}
        for number, table in self.units("span", kind.spans, kind):
            at = ("span", number)
            self.keys(at, table, SPAN_KEYS)
            framing = self.choice(at + ("framing",), table.get("framing", "ccs"), tuple(FRAMINGS))
            crc4 = table.get("crc4", True)
            if not isinstance(crc4, bool):
                self.fail(at + ("crc4",), "true or false is expected", crc4)
            coding = self.choice(at + ("coding",), table.get("coding", "hdb3"), tuple(CODINGS))
            priority = self.integer(at + ("clock_priority",), table.get("clock_priority", 0), 0, 255)
            if priority and priority in priorities:
                self.fail(at + ("clock_priority",), f"span {priorities[priority]} has this clock priority too; "
                          "each clock source has its own rank (0: never the clock source)", priority)
            priorities[priority] = number
            law = self.choice(at + ("law",), table.get("law", "alaw"), tuple(LAWS))
            signalling = self.choice(at + ("signalling",), table.get("signalling", SPAN_SIGNALLING[framing][0]),
                                     SPAN_SIGNALLING[framing])
            channels = self.channels(at, framing, signalling, kind, table.get("channels", {}))
            spans.append(SpanConfig(number, framing, crc4, coding, priority, law, signalling, channels))
        ports = []
        for number, table in self.units("port", kind.ports, kind):
            at = ("port", number)
            self.keys(at, table, PORT_KEYS)
            signalling = self.choice(at + ("signalling",), table.get("signalling", "loopstart"), PORT_SIGNALLING)
            law = self.choice(at + ("law",), table.get("law", "alaw"), tuple(LAWS))
            if "tone_zone" in table:
                zone = self.tone_zone(at + ("tone_zone",), table["tone_zone"])
            elif default_zone is None:
                self.fail(at, "no tone_zone: set one here or at the top of the file (tone_zone = \"de\")")
            else:
                zone = default_zone
            rx = self.gain(at + ("rx_gain",), table.get("rx_gain", 0.0))
            tx = self.gain(at + ("tx_gain",), table.get("tx_gain", 0.0))
            ports.append(PortConfig(number, signalling, law, zone, rx, tx))
        return BoardConfig(kind, tuple(spans), tuple(ports))

    def channels(self, at: tuple, framing: str, signalling: str, kind: BoardKind, table) -> tuple:
        at = at + ("channels",)
        table = self.table(at, table)
        default = "bearer" if framing == "ccs" else signalling
        allowed = CHANNEL_SIGNALLING[framing]
        chosen = {t: default for t in range(1, 32) if t != SIGNALLING_TIMESLOT}
        seen: dict[int, str] = {}
        for key, value in table.items():
            found = re.fullmatch(r"(\d+)(?:-(\d+))?", key)
            low, high = (int(found.group(1)), int(found.group(2) or found.group(1))) if found else (0, -1)
            if not found or not 1 <= low <= high <= 31:
                self.fail(at + (key,), "a timeslot \"N\" or a range \"N-M\" within 1..31 is expected")
            if low <= SIGNALLING_TIMESLOT <= high:
                self.fail(at + (key,), f"timeslot {SIGNALLING_TIMESLOT} carries the span's signalling "
                          f"({'the D-channel' if framing == 'ccs' else 'CAS'}), not a voice channel; "
                          f"split the range around it")
            self.choice(at + (key,), value, allowed)
            for timeslot in range(low, high + 1):
                if timeslot in seen:
                    self.fail(at + (key,), f"timeslot {timeslot} is in \"{seen[timeslot]}\" too")
                seen[timeslot] = key
                chosen[timeslot] = value
        return tuple(sorted(chosen.items()))


def _type(value) -> str:
    return {dict: "table", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


def check_board(config: BoardConfig, kind_code: int, text: str, source) -> None:
    """The config is for this board's kind; ConfigIncompatibleError (exit 5) otherwise."""
    if config.kind.code != kind_code:
        board = kind_by_code(kind_code)
        raise ConfigIncompatibleError(f"the file is for kind {config.kind.name}; the board is "
                                      f"{board.name if board else kind_code}", source=source,
                                      line=KeyLines(text).line("kind"), field="kind", value=config.kind.name)
