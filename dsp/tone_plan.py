"""Country tone plans: the call-progress tones of a network, as data.

One TOML file per country in ``tone_plans/`` (``de.toml``, ``us.toml``,
``uk.toml`` ...), named by the lowercase code Asterisk's
``indications.conf.sample`` uses (ISO 3166 alpha-2 except ``uk``, which
answers to ``gb`` as an alias, and ``us-old``, the 1950s Bell System tones)::

    country = "de"
    name = "Germany"
    source = "Asterisk configs/samples/indications.conf.sample ..."
    ring_cadence_ms = [1000, 4000]      # the ring signal to phones: on, off, ...
    aliases = []                        # optional
    [tones]
    dial = "425"
    ringback = "425/1000,0/4000"
    busy = "425/480,0/480"

Tone values are in Asterisk's notation, copied as the source gives them so
that every fact can be traced::

    tonelist = element ("," element)*
    element  = ["!"] freq [("+" | "*") freq] ["/" duration_ms]

``f1+f2`` is a dual tone, ``f1*f2`` carrier f1 amplitude-modulated at f2
Hz, ``0`` is silence, an element without a duration plays for ever (only the
last may), and ``!`` marks an element that is played once: when the list
ends, playing resumes at the first element without ``!`` (main/indications.c
``ast_playtones_start``: ``reppos``), and a list whose elements all carry
``!`` ends. Two extensions to Asterisk's integer-only notation: frequencies
may have decimals (Telcordia's SIT is 913.8 Hz, 1370.6 Hz, ...), and nothing
that Asterisk would silently skip or misread is accepted (its ``sscanf``
parser plays ``350+375+400`` as 350+375 Hz; here that is an error).

The names of tones are Asterisk's (``callwaiting``, ``dialrecall``,
``info`` for the special information tone ...) except ``ringback``, which
Asterisk calls ``ring``: the corpus, the detector and the CLI call the tone
a caller hears while the far end rings ``ringback``. ``TONE_NAMES`` lists
the accepted names; every plan has ``dial``, ``ringback`` and ``busy``.

Every defect of a plan file is a ``TonePlanError`` (an ``InputError``, so a
``ValueError`` too) naming the file, the field (``tones.busy``), the value
and what is allowed.
"""

from __future__ import annotations

import math
import re
import threading
import tomllib
import types
from collections.abc import Mapping
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.dsp.tone import MAX_SEGMENTS, NYQUIST_HZ, ToneGenerator, ToneSegment
from gateway.errors import InputError, UsageError

PLAN_DIR = Path(__file__).resolve().parent / "tone_plans"

# Every tone name a plan may use, with what it is. The first nine are the
# indications Asterisk documents; the others are the extra tones its sample
# defines for single countries, and the Telcordia SIT codes.
TONE_NAMES: Mapping[str, str] = types.MappingProxyType({
    "dial": "dial tone: the exchange is ready for digits",
    "ringback": "ringing tone heard by the caller while the far end rings (Asterisk: ring)",
    "busy": "the called line is busy (engaged)",
    "congestion": "the network is congested (reorder); some networks use the busy tone",
    "callwaiting": "a call is waiting (Asterisk's fr section spells it callwait)",
    "dialrecall": "recall dial tone after a hook flash",
    "record": "the call is being recorded",
    "info": "special information tone (SIT) before an announcement, or the country's equivalent",
    "stutter": "stuttered dial tone: message waiting or a feature active",
    "sit-ic": "Telcordia SIT, intercept (vacant number, customer irregularity)",
    "sit-vc": "Telcordia SIT, vacant code",
    "sit-ro": "Telcordia SIT, reorder (equipment irregularity)",
    "sit-nc": "Telcordia SIT, no circuit (trunk blockage)",
    "unobtainable": "number unobtainable (uk, nz)",
    "specialdial": "intermittent dial tone, e.g. a divert is active (uk)",
    "specialcongestion": "special congestion (uk)",
    "specialcallwaiting": "special call waiting (uk)",
    "creditexpired": "payphone pips (uk)",
    "confirm": "service request confirmed (uk)",
    "switching": "switching tone (uk)",
    "std": "STD pips: not an untimed local call (au)",
    "facility": "facility confirmation, e.g. call forward activated (au)",
    "ringmobile": "ringing tone for calls to mobiles (au)",
    "dialout": "dial-out tone (es)",
    "nutone": "number unobtainable tone (sg)",
    "intrusion": "intrusion tone (sg)",
    "warning": "end-of-period warning (sg)",
    "acceptance": "acceptance tone (sg)",
    "holdinga": "holding tone A, followed by holding tone B (sg)",
    "holdingb": "holding tone B (sg)",
})
REQUIRED_TONES = ("dial", "ringback", "busy")

PLAN_KEYS: Mapping[str, str] = types.MappingProxyType({
    "country": "the plan's code, the file's name without .toml",
    "name": "the country's name in English",
    "source": "where the frequencies and cadences come from",
    "tones": "a table of tone name = tone list in Asterisk's notation",
    "ring_cadence_ms": "the ring signal to phones: on, off, ... in ms",
    "aliases": "other codes that load this plan (optional)",
    "levels_db": "a table of tone name = level of each element in dB relative to the loudest (optional; "
                 "for cadences whose bursts differ in level, which Asterisk's notation cannot say)",
})
REQUIRED_KEYS = ("country", "name", "source", "tones", "ring_cadence_ms")

# Limits. A tone below 1 Hz or at/above half the sample rate cannot be
# played at 8 kHz; a segment longer than a minute (uk record: 0/60000 is the
# longest in the sources) is a typo; a cadence of more than 64 elements or a
# tone list over 4096 characters is not a tone plan.
MIN_FREQ_HZ = 1.0
MAX_FREQ_HZ = math.ceil(NYQUIST_HZ) - 1.0          # 3999 Hz at 8 kHz
MAX_DURATION_MS = 60_000
MAX_ELEMENTS = 64
MAX_TONE_TEXT = 4096
MAX_RING_CADENCE = 16                               # values: 8 on/off pairs
MAX_FILE_BYTES = 64 * 1024
MAX_NAME = 100

# Defaults for turning plan tones into audio. -13 dBm0 per frequency is a
# typical network tone level; 0.9 is the modulation depth
# indications.conf.sample states for "f1*f2" ("The implicit modulation depth
# is fixed at 90%").
DEFAULT_LEVEL_DBM0 = -13.0
DEFAULT_AM_DEPTH = 0.9

_COUNTRY_RE = re.compile(r"[a-z]{2}(?:-[a-z0-9]{1,8})?", re.ASCII)
_NUMBER = r"[0-9]{1,6}(?:\.[0-9]{1,3})?"
_ELEMENT_RE = re.compile(
    rf"(?P<once>!)?(?P<f1>{_NUMBER})(?:(?P<op>[+*])(?P<f2>{_NUMBER}))?(?:/(?P<ms>[0-9]{{1,9}}))?",
    re.ASCII)
_ELEMENT_FORM = "[!]freq[+freq2|*freq2][/ms], e.g. 425/500, 480+620/250, 400*25, !950/330, 0/1000"


class TonePlanError(InputError):
    """A tone plan file, a tone list or a country code is not valid."""


def _fail(source, field: str, value, what: str) -> TonePlanError:
    shown = repr(value)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    return TonePlanError(f"{field} = {shown}: {what}", source=source, field=field, value=value)


@dataclass(frozen=True)
class ToneElement:
    """One element of a tone list: ``freqs`` (empty for silence; two for a
    dual tone), ``modulation_hz`` (for ``a*b``, the carrier in ``freqs``),
    ``duration_ms`` (None: for ever) and ``once`` (``!``: not repeated)."""

    freqs: tuple[float, ...]
    modulation_hz: float | None
    duration_ms: int | None
    once: bool

    @property
    def silent(self) -> bool:
        return not self.freqs

    def segment(self, level_dbm0: float = DEFAULT_LEVEL_DBM0,
                am_depth: float = DEFAULT_AM_DEPTH) -> ToneSegment:
        """This element as a ToneSegment (duration 0 = for ever)."""
        duration = self.duration_ms or 0
        if self.silent:
            return ToneSegment.silence(duration)
        if self.modulation_hz is not None:
            return ToneSegment(self.freqs, level_dbm0, duration, am_hz=self.modulation_hz, am_depth=am_depth)
        return ToneSegment(self.freqs, level_dbm0, duration)


@dataclass(frozen=True)
class ToneSpec:
    """A named tone of a plan: its text as written and its parsed elements."""

    name: str
    text: str
    elements: tuple[ToneElement, ...]

    @property
    def repeat_from(self) -> int | None:
        """Index of the first element that repeats; None if the tone ends."""
        for i, element in enumerate(self.elements):
            if not element.once:
                return i
        return None

    @property
    def continuous(self) -> bool:
        """True if the tone ends in an element that plays for ever."""
        return self.elements[-1].duration_ms is None

    @property
    def frequencies(self) -> tuple[float, ...]:
        """The distinct tone frequencies (carriers, not modulation rates), ascending."""
        return tuple(sorted({f for element in self.elements for f in element.freqs}))

    def segments(self, level_dbm0: float = DEFAULT_LEVEL_DBM0,
                 am_depth: float = DEFAULT_AM_DEPTH) -> tuple[ToneSegment, ...]:
        """Every element as a ToneSegment, in order, once.

        ``ToneGenerator(spec.segments(), repeat=0)`` plays the tone exactly
        when it has at most MAX_SEGMENTS elements and none is marked ``!``;
        ``player()`` plays any tone (``!`` prefixes, long lists).
        """
        return tuple(element.segment(level_dbm0, am_depth) for element in self.elements)

    def player(self, level_dbm0: float = DEFAULT_LEVEL_DBM0,
               am_depth: float = DEFAULT_AM_DEPTH) -> TonePlayer:
        """A generator of this tone as Asterisk plays it."""
        return TonePlayer(self, level_dbm0, am_depth)


@dataclass(frozen=True)
class TonePlan:
    """The tones of one country's network."""

    country: str
    name: str
    source: str
    tones: Mapping[str, ToneSpec]
    ring_cadence_ms: tuple[int, ...]
    aliases: tuple[str, ...] = ()
    path: str | None = None
    levels_db: Mapping[str, tuple[float, ...]] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))

    def __getitem__(self, tone: str) -> ToneSpec:
        try:
            return self.tones[tone]
        except KeyError:
            raise UsageError(
                f"plan {self.country!r} has no tone {tone!r}; it has: {', '.join(self.tones)}") from None


class TonePlayer:
    """Plays a ToneSpec the way Asterisk's playtones does: every element in
    order, then again from the first element without ``!``; a tone whose
    elements all carry ``!`` ends.

    Built from ToneGenerators of at most MAX_SEGMENTS segments each; a
    repeating part that fits one generator repeats inside it (phases run
    on), longer lists are played generator after generator (each starts at
    phase 0). ``generate(n)`` returns n samples, fewer only at the end.
    """

    def __init__(self, spec: ToneSpec, level_dbm0: float = DEFAULT_LEVEL_DBM0,
                 am_depth: float = DEFAULT_AM_DEPTH):
        if not isinstance(spec, ToneSpec):
            raise UsageError(f"spec must be a ToneSpec, not {spec!r}")
        segments = spec.segments(level_dbm0, am_depth)
        start = spec.repeat_from
        intro = segments if start is None else segments[:start]
        loop = () if start is None else segments[start:]
        stages = [ToneGenerator(chunk, repeat=1) for chunk in _chunks(intro)]
        self._loop_start = None
        if loop:
            self._loop_start = len(stages)
            if len(loop) <= MAX_SEGMENTS:
                # A list ending in a for-ever element never comes back.
                stages.append(ToneGenerator(loop, repeat=1 if loop[-1].forever else 0))
            else:
                stages.extend(ToneGenerator(chunk, repeat=1) for chunk in _chunks(loop))
        self.spec = spec
        self._stages = stages
        self.reset()

    def reset(self) -> None:
        for stage in self._stages:
            stage.reset()
        self._index = 0
        self._position = 0

    @property
    def position(self) -> int:
        return self._position

    @property
    def total_samples(self) -> int | None:
        """Length of the whole tone in samples; None if it plays for ever."""
        if self._loop_start is not None:
            return None
        return sum(stage.total_samples for stage in self._stages)

    @property
    def finished(self) -> bool:
        return self._index >= len(self._stages)

    def generate(self, n: int) -> np.ndarray:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UsageError(f"n must be a non-negative integer, not {n!r}")
        parts = []
        remaining = n
        while remaining > 0 and not self.finished:
            stage = self._stages[self._index]
            block = stage.generate(remaining)
            parts.append(block)
            remaining -= len(block)
            if stage.finished:
                self._index += 1
                if self._index == len(self._stages) and self._loop_start is not None:
                    self._index = self._loop_start
                if not self.finished:
                    self._stages[self._index].reset()
        out = np.concatenate(parts) if parts else np.empty(0, np.int16)
        self._position += len(out)
        return out


def _chunks(segments):
    return [segments[i:i + MAX_SEGMENTS] for i in range(0, len(segments), MAX_SEGMENTS)]


# ---------------------------------------------------------------- parsing


def _frequency(source, field, value, where, text: str) -> float:
    hz = float(text)
    if not MIN_FREQ_HZ <= hz <= MAX_FREQ_HZ:
        raise _fail(source, field, value,
                    f"{where}: frequency {text} Hz is outside {MIN_FREQ_HZ:g}..{MAX_FREQ_HZ:g} Hz")
    return hz


def parse_tone(text, *, source=None, field: str = "tone") -> tuple[ToneElement, ...]:
    """The elements of a tone list in Asterisk's notation (see the module
    docstring); TonePlanError naming ``source`` and ``field`` otherwise."""
    if not isinstance(text, str):
        raise _fail(source, field, text, f"must be a string, not {type(text).__name__}")
    if len(text) > MAX_TONE_TEXT:
        raise _fail(source, field, text[:40] + "...",
                    f"a tone list has at most {MAX_TONE_TEXT} characters, not {len(text)}")
    if not text.strip():
        raise _fail(source, field, text, f"empty tone list; expected elements {_ELEMENT_FORM}")
    parts = text.split(",")
    if len(parts) > MAX_ELEMENTS:
        raise _fail(source, field, text, f"{len(parts)} elements; at most {MAX_ELEMENTS}")
    elements = []
    repeating = False
    for i, raw in enumerate(parts, 1):
        part = raw.strip(" \t")
        where = f"element {i} {part!r}"
        match = _ELEMENT_RE.fullmatch(part)
        if match is None:
            raise _fail(source, field, text, f"{where} is malformed; expected {_ELEMENT_FORM}")
        once = match["once"] is not None
        if once and repeating:
            raise _fail(source, field, text,
                        f"{where}: '!' (play once) after a repeating element has no effect; "
                        f"'!' elements must come first")
        repeating = repeating or not once
        f1, op, f2 = match["f1"], match["op"], match["f2"]
        modulation = None
        if float(f1) == 0.0:
            if op is not None:
                raise _fail(source, field, text,
                            f"{where}: 0 is silence and cannot be combined with {op}{f2}")
            freqs = ()
        else:
            carrier = _frequency(source, field, text, where, f1)
            if op == "+":
                second = _frequency(source, field, text, where, f2)
                freqs = (carrier, second)
            elif op == "*":
                modulation = _frequency(source, field, text, where, f2)
                if modulation >= carrier:
                    raise _fail(source, field, text,
                                f"{where}: modulation {f2} Hz must be below the carrier {f1} Hz")
                if carrier + modulation > MAX_FREQ_HZ:
                    raise _fail(source, field, text,
                                f"{where}: sideband {carrier + modulation:g} Hz is above {MAX_FREQ_HZ:g} Hz")
                freqs = (carrier,)
            else:
                freqs = (carrier,)
        duration = None
        if match["ms"] is not None:
            duration = int(match["ms"])
            if not 1 <= duration <= MAX_DURATION_MS:
                raise _fail(source, field, text,
                            f"{where}: duration {duration} ms is outside 1..{MAX_DURATION_MS} ms "
                            f"(leave the duration out for a continuous element)")
        elif i != len(parts):
            raise _fail(source, field, text,
                        f"{where} has no duration, so it plays for ever: only the last element may")
        elements.append(ToneElement(freqs, modulation, duration, once))
    if all(element.silent for element in elements):
        raise _fail(source, field, text, "the tone is all silence")
    return tuple(elements)


def _string(source, field, value, *, max_len=None) -> str:
    if not isinstance(value, str):
        raise _fail(source, field, value, f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise _fail(source, field, value, "must not be empty")
    if max_len is not None and len(value) > max_len:
        raise _fail(source, field, value, f"at most {max_len} characters")
    return value


def _country_code(source, field, value) -> str:
    _string(source, field, value)
    if not _COUNTRY_RE.fullmatch(value):
        raise _fail(source, field, value,
                    "a country code is two lowercase letters, optionally with a -suffix (us-old)")
    return value


def _ring_cadence(source, value) -> tuple[int, ...]:
    field = "ring_cadence_ms"
    if not isinstance(value, list):
        raise _fail(source, field, value, f"must be an array of integers, not {type(value).__name__}")
    if not value or len(value) % 2 or len(value) > MAX_RING_CADENCE:
        raise _fail(source, field, value,
                    f"must hold on/off pairs: an even number of values, 2..{MAX_RING_CADENCE}")
    for i, ms in enumerate(value):
        if isinstance(ms, bool) or not isinstance(ms, int):
            raise _fail(source, f"{field}[{i}]", ms, f"must be an integer, not {type(ms).__name__}")
        if not 1 <= ms <= MAX_DURATION_MS:
            raise _fail(source, f"{field}[{i}]", ms, f"outside 1..{MAX_DURATION_MS} ms")
    return tuple(value)


def _known(names) -> str:
    return ", ".join(names)


def parse_plan(data: Mapping, *, source=None, country: str | None = None) -> TonePlan:
    """A TonePlan from the table of a plan file; ``country``, when given, is
    the code the file's name promises."""
    for key in data:
        if key not in PLAN_KEYS:
            raise _fail(source, key, data[key], f"unknown key {key!r}; known: {_known(PLAN_KEYS)}")
    for key in REQUIRED_KEYS:
        if key not in data:
            raise TonePlanError(f"{key}: missing required key {key!r} ({PLAN_KEYS[key]})",
                                source=source, field=key)
    code = _country_code(source, "country", data["country"])
    if country is not None and code != country:
        raise _fail(source, "country", code, f"the file is named for {country!r}")
    name = _string(source, "name", data["name"], max_len=MAX_NAME)
    plan_source = _string(source, "source", data["source"], max_len=MAX_TONE_TEXT)
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list):
        raise _fail(source, "aliases", aliases, f"must be an array of strings, not {type(aliases).__name__}")
    aliases = tuple(_country_code(source, f"aliases[{i}]", alias) for i, alias in enumerate(aliases))
    if code in aliases or len(set(aliases)) != len(aliases):
        raise _fail(source, "aliases", list(aliases), "repeats a code")
    table = data["tones"]
    if not isinstance(table, dict):
        raise _fail(source, "tones", table, f"must be a table, not {type(table).__name__}")
    tones = {}
    for tone_name, text in table.items():
        field = f"tones.{tone_name}"
        if tone_name not in TONE_NAMES:
            raise _fail(source, field, text, f"unknown tone {tone_name!r}; known: {_known(TONE_NAMES)}")
        tones[tone_name] = ToneSpec(tone_name, text, parse_tone(text, source=source, field=field))
    for tone_name in REQUIRED_TONES:
        if tone_name not in tones:
            raise TonePlanError(f"tones.{tone_name}: missing required tone {tone_name!r} (every plan has "
                                f"{', '.join(REQUIRED_TONES)})", source=source, field=f"tones.{tone_name}")
    ring = _ring_cadence(source, data["ring_cadence_ms"])
    levels = _levels(source, data.get("levels_db", {}), tones)
    return TonePlan(code, name, plan_source, types.MappingProxyType(tones), ring, aliases,
                    None if source is None else str(source), types.MappingProxyType(levels))


MIN_LEVEL_DB = -40.0


def _levels(source, table, tones) -> dict[str, tuple[float, ...]]:
    if not isinstance(table, dict):
        raise _fail(source, "levels_db", table, f"must be a table, not {type(table).__name__}")
    levels = {}
    for tone_name, values in table.items():
        field = f"levels_db.{tone_name}"
        if tone_name not in tones:
            raise _fail(source, field, values, f"the plan has no tone {tone_name!r}")
        count = len(tones[tone_name].elements)
        if not isinstance(values, list) or len(values) != count:
            raise _fail(source, field, values, f"must be an array of {count} numbers, one per element")
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not MIN_LEVEL_DB <= value <= 0:
                raise _fail(source, f"{field}[{i}]", value, f"must be a number of dB in {MIN_LEVEL_DB:g}..0")
        levels[tone_name] = tuple(float(v) for v in values)
    return levels


def parse_plan_file(path) -> TonePlan:
    """Read and validate one plan file; its name (without .toml) must be its country."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise TonePlanError(f"cannot read the tone plan: {e.strerror or e}", source=path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise TonePlanError(f"larger than {MAX_FILE_BYTES} bytes; not a tone plan", source=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TonePlanError(f"not UTF-8 text: byte 0x{raw[e.start]:02x}", source=path,
                            value=raw[e.start:e.start + 1], offset=e.start) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TonePlanError(f"not valid TOML: {e}", source=path) from None
    return parse_plan(data, source=path, country=path.stem if path.suffix == ".toml" else None)


# ---------------------------------------------------------------- loading


class _Index:
    """The plans of one directory: codes, aliases and parsed plans (cached)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.files = {p.stem: p for p in sorted(directory.glob("*.toml"))}
        self.plans: dict[str, TonePlan] = {}
        self.aliases: dict[str, str] | None = None
        self.lock = threading.Lock()

    def plan(self, code: str) -> TonePlan:
        with self.lock:
            if code not in self.plans:
                self.plans[code] = parse_plan_file(self.files[code])
            return self.plans[code]

    def alias_map(self) -> dict[str, str]:
        if self.aliases is None:
            aliases = {}
            for code in self.files:
                plan = self.plan(code)
                for alias in plan.aliases:
                    if alias in self.files or alias in aliases:
                        other = aliases.get(alias, alias)
                        raise _fail(plan.path, "aliases", alias,
                                    f"already names the plan {other!r}")
                    aliases[alias] = code
            self.aliases = aliases
        return self.aliases


_indexes: dict[Path, _Index] = {}
_indexes_lock = threading.Lock()


def _index(directory) -> _Index:
    directory = PLAN_DIR if directory is None else Path(directory).resolve()
    with _indexes_lock:
        if directory not in _indexes:
            _indexes[directory] = _Index(directory)
        return _indexes[directory]


def known_countries(directory=None) -> list[str]:
    """The codes of the shipped plans (or of the plans in ``directory``), sorted."""
    return sorted(_index(directory).files)


def load_plan(country, *, directory=None) -> TonePlan:
    """The plan of ``country`` (case-insensitive; aliases such as ``gb``
    work); TonePlanError listing the known countries otherwise."""
    index = _index(directory)
    if not isinstance(country, str):
        raise _fail(None, "country", country, f"must be a string, not {type(country).__name__}")
    code = country.strip().lower()
    if code not in index.files:
        code = index.alias_map().get(code, code)
    if code not in index.files:
        known = []
        aliases = index.alias_map()
        for c in sorted(index.files):
            also = sorted(a for a, target in aliases.items() if target == c)
            known.append(f"{c} (also {', '.join(also)})" if also else c)
        raise TonePlanError(f"unknown country {country!r}; known: {', '.join(known)}",
                            field="country", value=country)
    return index.plan(code)
