"""The directory of the simulated telephone network: which number does what,
our own lines' numbers, inbound traffic and the phones on FXS ports. The
file format is documented in DIRECTORY.md beside this module; the default
directory (``default_directory.toml``) is package data.

Every error is a ``DirectoryError`` naming the file, the line and the key,
the value and what is allowed; unknown keys are errors.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.boards.config import _TOML_POSITION, ConfigError, KeyLines
from gateway.boards.config import _Checker as _ConfigChecker
from gateway.boards.sim import voices
from gateway.boards.sim.number_pattern import NumberPattern, PatternSyntaxError, parse_pattern
from gateway.dsp.tone_plan import TonePlanError, known_countries, load_plan

DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "default_directory.toml"
MAX_FILE_BYTES = 1024 * 1024

BEHAVIOURS = ("human", "machine", "busy", "congestion", "no-answer", "sit", "fax", "modem", "reject")
ANSWERING = ("human", "machine", "fax", "modem")
RELEASING = ("human", "machine", "fax", "modem", "no-answer", "sit", "reject")   # the far end may clear
DISCONNECT_TONES = ("busy", "congestion", "none")
BEEPS = ("sine", "multi", "none")
SIT_SUBTYPES = ("ic", "vc", "ro", "nc", "itu")
PRESENTATIONS = ("allowed", "restricted", "unavailable")

# Defaults an Asterisk/DAHDI user would recognise: chan_dahdi.c waits 16 s for the first digit
# (firstdigittimeout); DAHDI's kewlstart disconnect is a 500 ms loop-current drop (DAHDI_KEWLTIME),
# so 600 ms is seen by any port; T.30's T1 (35 s) for a fax that hears nothing.
ANSWER_AFTER_RINGS = {"human": 3, "machine": 4, "fax": 2, "modem": 2}
HANGUP_AFTER_S = {"human": 30.0, "fax": 35.0, "modem": 15.0}
DEFAULT_ANNOUNCEMENT = {"ic": "announcement-not-in-service-en", "vc": "announcement-not-in-service-en",
                        "ro": "announcement-cannot-complete-en", "nc": "announcement-all-circuits-busy-en",
                        "itu": "announcement-not-in-service-en"}
DEFAULT_MULTI_BEEP_HZ = (1000.0, 1400.0, 1800.0)


class DirectoryError(ConfigError):
    """A directory file that is not valid: ``line`` is where (1-based), ``field`` the dotted key."""


# ---------------------------------------------------------------- what the file holds


@dataclass(frozen=True)
class Exchange:
    """How the exchange treats our FXO lines."""

    first_digit_timeout_s: float = 16.0   # chan_dahdi's firstdigittimeout; then reorder (congestion)
    interdigit_timeout_s: float = 4.0     # a number is complete this long after its last digit
    post_dial_delay_s: float = 0.5        # silence between the last digit and the first sound of the call
    hangup_ms: int = 400                  # on-hook longer than this ends a call (shorter: a flash or a pulse)
    noise_dbm0: float = -65.0             # the line's noise: silence is never digital zero


@dataclass(frozen=True)
class Entry:
    """A number or pattern and what answers it. Fields that do not apply to the behaviour keep their
    defaults; ``settings()`` gives those that apply."""

    number: str
    pattern: NumberPattern
    behaviour: str
    line: int | None = None
    name: str = ""
    answer_after_rings: int | None = None
    answer_after_s: float | None = None
    reversal: bool = False
    hangup_after_s: float | None = None
    battery_drop_ms: int = 600
    disconnect_tone: str = "busy"
    disconnect_tone_after_s: float = 1.0
    voice: tuple[str, ...] = ()
    greetings: int = 2
    pause_s: tuple[float, float] = (2.0, 3.5)
    greeting: str | None = None
    greeting_s: float | None = None
    beep: str = "sine"
    beep_hz: tuple[float, ...] = (1000.0,)
    beep_ms: int = 400
    record_max_s: float = 30.0
    rings: int | None = None
    sit: str = "ic"
    announcement: str | None = None
    repeat: int = 2
    ced_s: float = 3.0
    ans_s: float = 3.3
    cause: int = 21

    def settings(self) -> dict:
        """The settings that apply to this entry's behaviour, by key (for showing)."""
        return {key: _shown(getattr(self, key)) for key, spec in ENTRY_KEYS.items()
                if key != "behaviour" and self.behaviour in spec.behaviours}

    def as_json(self) -> dict:
        return {"number": self.number, "behaviour": self.behaviour, "pattern": self.pattern.is_pattern,
                **self.settings()}


@dataclass(frozen=True)
class Caller:
    """Someone who calls our lines (inbound traffic)."""

    key: str
    number: str | None = None          # the ANI; None when not presented
    name: str | None = None
    presentation: str = "allowed"
    weight: float = 1.0
    digits: str = ""                   # DTMF sent once answered
    talk_s: tuple[float, float] | None = None
    voice: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inbound:
    """Calls to our FXO lines: a Poisson stream per line."""

    calls_per_hour: float = 0.0        # per line; 0: none (place_call still works)
    give_up_after_rings: int = 6
    talk_s: tuple[float, float] = (5.0, 15.0)
    lines: tuple[str, ...] = ()        # our numbers that get calls; empty: all
    callers: tuple[Caller, ...] = (Caller("anonymous", presentation="unavailable"),)
    battery_drop_ms: int = 600         # when the caller hangs up
    disconnect_tone: str = "busy"
    disconnect_tone_after_s: float = 1.0


@dataclass(frozen=True)
class Phone:
    """The phone on an FXS port and its user."""

    answer_after_rings: int = 2
    talk_s: float = 8.0
    voice: tuple[str, ...] = ()
    originate: str | None = None       # a number the user dials on their own
    originate_after_s: float = 10.0
    originate_every_s: float = 0.0     # 0: once
    dial_wait_s: float = 5.0           # how long the user waits for dial tone


@dataclass(frozen=True)
class Directory:
    source: str
    country: str
    exchange: Exchange
    entries: tuple[Entry, ...]
    first_line: str | None = None                 # our FXO lines' numbers, in order of attachment
    line_numbers: tuple[tuple[str, int, str], ...] = ()   # (serial, port, number) fixed in the file
    inbound: Inbound = Inbound()
    phones: tuple[tuple[str, Phone], ...] = (("*", Phone()),)

    def __post_init__(self):
        ordered = sorted(self.entries, key=lambda e: e.pattern.specificity())
        object.__setattr__(self, "_ordered", tuple(ordered))

    def lookup(self, number: str) -> Entry | None:
        """The entry that answers ``number`` (see number_pattern for the order), or None."""
        for entry in self._ordered:
            if entry.pattern.matches(number):
                return entry
        return None

    def extends(self, digits: str) -> bool:
        """Some entry could still match if more digits came."""
        return any(entry.pattern.extends(digits) for entry in self.entries)

    def phone(self, serial: str, port: int) -> Phone:
        table = dict(self.phones)
        return table.get(f"{serial}.{port}", table.get("*", Phone()))

    def by_behaviour(self, behaviour: str) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.behaviour == behaviour)


def _shown(value):
    return list(value) if isinstance(value, tuple) else value


# ---------------------------------------------------------------- keys and their checks


@dataclass(frozen=True)
class _Key:
    check: str                 # the name of the _Checker method that reads the value
    behaviours: tuple = BEHAVIOURS
    args: tuple = ()


ENTRY_KEYS = {
    "behaviour": _Key("choice", BEHAVIOURS, (BEHAVIOURS,)),
    "name": _Key("text"),
    "answer_after_rings": _Key("integer", ANSWERING, (0, 100)),
    "answer_after_s": _Key("seconds", ANSWERING, (0.0, 600.0)),
    "reversal": _Key("boolean", ANSWERING),
    "hangup_after_s": _Key("seconds", ("human", "fax", "modem"), (0.1, 86400.0)),
    "battery_drop_ms": _Key("integer", RELEASING, (0, 10_000)),
    "disconnect_tone": _Key("choice", RELEASING, (DISCONNECT_TONES,)),
    "disconnect_tone_after_s": _Key("seconds", RELEASING, (0.0, 600.0)),
    "voice": _Key("voices", ("human",), ("person",)),
    "greetings": _Key("integer", ("human",), (1, 5)),
    "pause_s": _Key("span", ("human",), (0.2, 60.0)),
    "greeting": _Key("voice", ("machine",), ("greeting",)),
    "greeting_s": _Key("seconds", ("machine",), (0.5, 120.0)),
    "beep": _Key("choice", ("machine",), (BEEPS,)),
    "beep_hz": _Key("frequencies", ("machine",), (100.0, 3900.0)),
    "beep_ms": _Key("integer", ("machine",), (20, 5000)),
    "record_max_s": _Key("seconds", ("machine",), (1.0, 3600.0)),
    "rings": _Key("integer", ("no-answer",), (1, 1000)),
    "sit": _Key("choice", ("sit",), (SIT_SUBTYPES,)),
    "announcement": _Key("voice", ("sit", "reject"), ("announcement",)),
    "repeat": _Key("integer", ("sit", "reject"), (1, 20)),
    "ced_s": _Key("seconds", ("fax",), (0.5, 10.0)),
    "ans_s": _Key("seconds", ("modem",), (0.5, 10.0)),
    "cause": _Key("integer", ("reject",), (1, 127)),
}
TOP_KEYS = ("country", "exchange", "numbers", "lines", "inbound", "phones")
EXCHANGE_KEYS = {"first_digit_timeout_s": ("seconds", (1.0, 600.0)), "interdigit_timeout_s": ("seconds", (0.5, 60.0)),
                 "post_dial_delay_s": ("seconds", (0.0, 30.0)), "hangup_ms": ("integer", (150, 5000)),
                 "noise_dbm0": ("level", (-90.0, -30.0))}
INBOUND_KEYS = {"calls_per_hour": ("rate", (0.0, 3600.0)), "give_up_after_rings": ("integer", (1, 100)),
                "talk_s": ("span", (0.5, 3600.0)), "lines": ("numbers", ()),
                "battery_drop_ms": ("integer", (0, 10_000)), "disconnect_tone": ("choice", (DISCONNECT_TONES,)),
                "disconnect_tone_after_s": ("seconds", (0.0, 600.0)), "callers": None}
CALLER_KEYS = {"number": ("number", ()), "name": ("text", ()), "presentation": ("choice", (PRESENTATIONS,)),
               "weight": ("rate", (0.0, 1e6)), "digits": ("digits", ()), "talk_s": ("span", (0.5, 3600.0)),
               "voice": ("voices", ("person",))}
PHONE_KEYS = {"answer_after_rings": ("integer", (1, 100)), "talk_s": ("seconds", (0.5, 86400.0)),
              "voice": ("voices", ("person",)), "originate": ("number", ()),
              "originate_after_s": ("seconds", (0.0, 86400.0)), "originate_every_s": ("seconds", (0.0, 86400.0)),
              "dial_wait_s": ("seconds", (0.5, 120.0))}
_LINE_KEY_RE = re.compile(r"(.+)\.(\d+)")
_NAME_MAX = 200


class _Checker(_ConfigChecker):
    """The board config's checker (the same errors in the same words: fail, table, keys, choice,
    integer), raising DirectoryError, with the directory's kinds of values besides."""

    def __init__(self, where: KeyLines, source):
        super().__init__({}, where, source)

    def fail(self, path: tuple, message: str, value=None, cls=DirectoryError):
        super().fail(path, message, value, cls)

    def text(self, path, value) -> str:
        if not isinstance(value, str) or len(value) > _NAME_MAX:
            self.fail(path, f"a string of at most {_NAME_MAX} characters is expected", value)
        return value

    def boolean(self, path, value) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "true or false is expected", value)
        return value

    def integer(self, path, value, low, high) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, f"a whole number {low}..{high} is expected", value)
        return value

    def _real(self, path, value, low, high, unit) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not low <= value <= high:
            self.fail(path, f"a number of {unit} {low:g}..{high:g} is expected", value)
        return float(value)

    def seconds(self, path, value, low, high) -> float:
        return self._real(path, value, low, high, "seconds")

    def level(self, path, value, low, high) -> float:
        return self._real(path, value, low, high, "dBm0")

    def rate(self, path, value, low, high) -> float:
        return self._real(path, value, low, high, "calls an hour" if path[-1] == "calls_per_hour" else "units")

    def span(self, path, value, low, high) -> tuple[float, float]:
        """Seconds, or [shortest, longest] seconds (a value is drawn between them per call)."""
        if isinstance(value, list):
            if len(value) != 2:
                self.fail(path, f"[shortest, longest] in seconds ({low:g}..{high:g}) is expected", value)
            a = self._real(path, value[0], low, high, "seconds")
            b = self._real(path, value[1], low, high, "seconds")
            if a > b:
                self.fail(path, "[shortest, longest]: the first must not be larger", value)
            return (a, b)
        a = self._real(path, value, low, high, "seconds")
        return (a, a)

    def frequencies(self, path, value, low, high) -> tuple[float, ...]:
        values = value if isinstance(value, list) else [value]
        if not 1 <= len(values) <= 8:
            self.fail(path, "a frequency in Hz or a list of 1..8 of them is expected", value)
        return tuple(self._real(path, v, low, high, "Hz") for v in values)

    def number(self, path, value) -> str:
        if not isinstance(value, str):
            self.fail(path, "a number as a string (digits, * and #) is expected", value)
        try:
            pattern = parse_pattern(value)
        except PatternSyntaxError as exc:
            self.fail(path, str(exc), value)
        if pattern.is_pattern:
            self.fail(path, "a number, not a pattern, is expected here", value)
        return value

    def numbers(self, path, value) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(path, "a list of numbers is expected", value)
        return tuple(self.number(path, v) for v in value)

    def digits(self, path, value) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9*#A-Da-d]{0,32}", value):
            self.fail(path, "DTMF keys (0-9, *, #, A-D), at most 32, are expected", value)
        return value.upper()

    def voice(self, path, value, kind) -> str:
        names = voices.voice_names(kind)
        if not isinstance(value, str) or value not in names:
            self.fail(path, f"not a {kind} voice (voices: {', '.join(names)})", value)
        return value

    def voices(self, path, value, kind) -> tuple[str, ...]:
        values = value if isinstance(value, list) else [value]
        if not values:
            self.fail(path, f"at least one {kind} voice is expected", value)
        return tuple(self.voice(path, v, kind) for v in values)

    def read(self, path, value, check: str, args: tuple):
        return getattr(self, check)(path, value, *args)

    def settings(self, path: tuple, table: dict, specs: dict) -> dict:
        """Every key of ``table`` read by its spec ((check, args) by key)."""
        self.keys(path, table, tuple(specs))
        out = {}
        for key, value in table.items():
            if specs[key] is not None:
                check, args = specs[key]
                out[key] = self.read(path + (key,), value, check, args)
        return out


# ---------------------------------------------------------------- parsing

def load_directory(path=None) -> Directory:
    """The directory in the file at ``path`` (the default directory when None)."""
    path = DEFAULT_DIRECTORY if path is None else Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DirectoryError(f"cannot read the directory: {exc.strerror or exc}", source=path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise DirectoryError(f"larger than {MAX_FILE_BYTES} bytes; not a directory", source=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DirectoryError(f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                             source=path, line=line) from None
    return parse_directory(text, source=path)


def parse_directory(text: str, source="directory") -> Directory:
    """The directory in ``text``; DirectoryError naming the line for anything wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        if found:
            raise DirectoryError(f"not valid TOML: {message[:found.start()]} (column {found.group(2)})",
                                 source=source, line=int(found.group(1))) from None
        raise DirectoryError(f"not valid TOML: {message}", source=source) from None
    check = _Checker(KeyLines(text), source)
    check.keys((), data, TOP_KEYS)
    country = data.get("country", "us")
    if not isinstance(country, str):
        check.fail(("country",), "a country code (such as \"us\" or \"de\") is expected", country)
    try:
        country = load_plan(country).country
    except TonePlanError:
        check.fail(("country",), f"no tone plan for this country (plans: {', '.join(known_countries())})", country)
    exchange = Exchange(**check.settings(("exchange",), check.table(("exchange",), data.get("exchange", {})),
                                         EXCHANGE_KEYS))
    entries = _entries(check, data.get("numbers", {}), country)
    first_line, fixed = _lines(check, data.get("lines", {}))
    inbound = _inbound(check, data.get("inbound", {}))
    phones = _phones(check, data.get("phones", {}))
    return Directory(str(source), country, exchange, entries, first_line, fixed, inbound, phones)


def _entries(check: _Checker, table, country: str) -> tuple[Entry, ...]:
    table = check.table(("numbers",), table)
    plan = load_plan(country)
    entries = []
    for number, settings in table.items():
        at = ("numbers", number)
        try:
            pattern = parse_pattern(number)
        except PatternSyntaxError as exc:
            check.fail(at, f"not a number or pattern: {exc}")
        settings = check.table(at, settings)
        if "behaviour" not in settings:
            check.fail(at, f"no behaviour = \"...\" ({', '.join(BEHAVIOURS)})")
        behaviour = check.choice(at + ("behaviour",), settings["behaviour"], BEHAVIOURS)
        values = {}
        for key, value in settings.items():
            spec = ENTRY_KEYS.get(key)
            if spec is None:
                allowed = [k for k, s in ENTRY_KEYS.items() if behaviour in s.behaviours]
                check.fail(at + (key,), f"unknown key (keys for {behaviour}: {', '.join(allowed)})")
            if behaviour not in spec.behaviours:
                check.fail(at + (key,), f"does not apply to behaviour {behaviour} (it applies to "
                           f"{', '.join(spec.behaviours)})")
            values[key] = check.read(at + (key,), value, spec.check, spec.args)
        if "answer_after_rings" in values and "answer_after_s" in values:
            check.fail(at + ("answer_after_s",), "give answer_after_rings or answer_after_s, not both")
        values.pop("behaviour")
        if behaviour in ANSWERING and "answer_after_rings" not in values and "answer_after_s" not in values:
            values["answer_after_rings"] = ANSWER_AFTER_RINGS[behaviour]
        if behaviour in HANGUP_AFTER_S and "hangup_after_s" not in values:
            values["hangup_after_s"] = HANGUP_AFTER_S[behaviour]
        if behaviour == "human" and "voice" not in values:
            values["voice"] = voices.voice_names("person")
        if behaviour == "machine" and values.get("beep") == "multi" and "beep_hz" not in values:
            values["beep_hz"] = DEFAULT_MULTI_BEEP_HZ
        if behaviour == "machine" and values.get("beep") == "multi" and "beep_ms" not in values:
            values["beep_ms"] = 150
        if behaviour == "sit" and "sit" not in values:
            values["sit"] = "ic" if "sit-ic" in plan.tones else "itu"
        if behaviour == "sit" and "announcement" not in values:
            values["announcement"] = DEFAULT_ANNOUNCEMENT[values.get("sit", "ic")]
        entries.append(Entry(number, pattern, behaviour, check.where.line(*at), **values))
    return tuple(entries)


def _lines(check: _Checker, table) -> tuple[str | None, tuple]:
    table = check.table(("lines",), table)
    first = None
    fixed = []
    for key, value in table.items():
        at = ("lines", key)
        if key == "first":
            first = check.number(at, value)
            continue
        found = _LINE_KEY_RE.fullmatch(key)
        if not found:
            check.fail(at, "unknown key (keys here: first, and \"SERIAL.PORT\" = number, e.g. \"FXO4-1A2B3C4D.0\")")
        fixed.append((found.group(1), int(found.group(2)), check.number(at, value)))
    seen = {}
    for serial, port, number in fixed:
        if number in seen:
            check.fail(("lines", f"{serial}.{port}"), f"line {seen[number]} has this number too", number)
        seen[number] = f"{serial}.{port}"
    return first, tuple(fixed)


def _inbound(check: _Checker, table) -> Inbound:
    table = check.table(("inbound",), table)
    values = check.settings(("inbound",), table, INBOUND_KEYS)
    if "callers" in table:
        callers = []
        for key, settings in check.table(("inbound", "callers"), table["callers"]).items():
            at = ("inbound", "callers", key)
            caller = check.settings(at, check.table(at, settings), CALLER_KEYS)
            if caller.get("presentation", "allowed") == "allowed" and "number" not in caller:
                check.fail(at, "a caller presented as allowed needs a number (or set presentation = "
                           "\"restricted\" or \"unavailable\")")
            callers.append(Caller(key, **caller))
        if not callers:
            check.fail(("inbound", "callers"), "no callers: leave the table out for an anonymous caller")
        if sum(c.weight for c in callers) <= 0:
            check.fail(("inbound", "callers", callers[0].key), "the callers' weights add up to 0")
        values["callers"] = tuple(callers)
    return Inbound(**values)


def _phones(check: _Checker, table) -> tuple:
    table = check.table(("phones",), table)
    default = Phone()
    if "*" in table:
        default = Phone(**check.settings(("phones", "*"), check.table(("phones", "*"), table["*"]), PHONE_KEYS))
    phones = [("*", default)]
    for key, settings in table.items():
        if key == "*":
            continue
        at = ("phones", key)
        if not _LINE_KEY_RE.fullmatch(key):
            check.fail(at, "a phone is [phones.\"*\"] (every FXS port) or [phones.\"SERIAL.PORT\"]")
        phones.append((key, dataclasses.replace(default, **check.settings(at, check.table(at, settings),
                                                                          PHONE_KEYS))))
    return tuple(phones)
