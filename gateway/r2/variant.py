"""MFC/R2 variants as data: one TOML table per country in ``variants/``.

R2 is one system (ITU-T Q.400-Q.490) that every country adapts: which
backward signal asks for the caller's number, whether the end of the number
has a signal, which B-signal means "busy". ``itu.toml`` holds the ITU table;
a country's table names it as ``base`` and lists only what differs, the way
openr2 1.3.3 builds its variants (r2proto.c: ``openr2_proto_configure_context``
sets the ITU values, then ``r2config_<country>`` changes a few). A signal of
``0`` means the variant has no such signal (openr2's ``OR2_MF_TONE_INVALID``).

Fields (meaning -> signal number 1..15):

- ``line``: the ABCD patterns (A first, as "1001"). R2 signals with A and B;
  C and D are fixed per variant (Q.421: 0 and 1; China: 1 and 1).
- ``group_a`` (backward, the called side's requests during group I):
  ``next_dnis``, ``dnis_minus_1/2/3`` (repeat an earlier digit),
  ``all_dnis_again``, ``category`` (send the calling party's category),
  ``next_ani``, ``category_to_group_c`` (Mexico: category, then group C),
  ``change_to_group_b`` (address complete, send the category as a group II
  signal and expect a B-signal), ``accept_charge`` (address complete, charge,
  set up speech: accepted without group B), ``congestion``,
  ``congestion_international``.
- ``group_b`` (backward, the called side's decision): ``accept_charge``,
  ``accept_no_charge``, and the refusals ``busy``, ``congestion``,
  ``unallocated``, ``number_changed``, ``out_of_order``, ``collect_rejected``,
  ``special_info`` (send special information tone). A refusal's Q.850 cause
  is ``REFUSAL_CAUSES``.
- ``group_c`` (backward, Mexico): ``next_ani``, ``change_to_group_b``,
  ``next_dnis_to_group_a``, ``congestion``.
- ``group_i`` (forward besides the digits I-1..I-10): ``end_of_dnis``,
  ``end_of_ani``, ``ani_restricted``.
- ``group_ii`` (forward, the calling party's category): ``national``,
  ``national_priority``, ``international``, ``international_priority``,
  ``collect``, ``test``.
- ``timers`` in milliseconds, ``ani_first`` (the called side asks for the
  caller's number after the first digit of the called number, not after
  the whole of it).

Two meanings may share a signal only where the order of the dialogue tells
them apart, as the variants do: ``category`` and ``next_ani`` (ITU A-5: the
first asks for the category, the next ones for digits of the caller's
number), ``next_dnis`` and ``next_ani`` (China A-1: after the category and
until the end of the caller's number it asks for that number), refusals in
group B (the one first in ``REFUSALS`` is what a receiver reads),
``end_of_ani`` and ``ani_restricted`` (Mexico I-15: restricted when it
comes before any digit) and ``end_of_dnis`` and ``end_of_ani`` (ITU I-15).
Anything else a table says twice is an error naming the file and fields.
"""

from __future__ import annotations

import threading
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import R2VariantError, UsageError

VARIANT_DIR = Path(__file__).resolve().parent / "variants"

LINE_FIELDS = ("idle", "seize", "seize_ack", "answer", "clear_back", "clear_forward", "blocked",
               "forced_release")
GROUP_A_FIELDS = ("next_dnis", "dnis_minus_1", "dnis_minus_2", "dnis_minus_3", "all_dnis_again",
                  "category", "next_ani", "category_to_group_c", "change_to_group_b", "accept_charge",
                  "congestion", "congestion_international")
ACCEPTS = ("accept_charge", "accept_no_charge")
# A receiver reads a B-signal that several refusals share as the first of these
# (openr2's handle_group_b_request checks them in this order).
REFUSALS = ("busy", "congestion", "unallocated", "number_changed", "out_of_order", "collect_rejected",
            "special_info")
GROUP_B_FIELDS = ACCEPTS + REFUSALS
GROUP_C_FIELDS = ("next_ani", "change_to_group_b", "next_dnis_to_group_a", "congestion")
GROUP_I_FIELDS = ("end_of_dnis", "end_of_ani", "ani_restricted")
CATEGORIES = ("national", "national_priority", "international", "international_priority", "collect", "test")
TIMER_FIELDS = ("recognition_ms", "seize_ack_ms", "mf_cycle_ms", "silent_wait_ms", "pulse_ms", "answer_ms",
                "answer_delay_ms", "setup_ms", "release_guard_ms", "metering_pulse_ms")
TOP_FIELDS = ("name", "country", "sources", "base", "ani_first", "line", "group_a", "group_b", "group_c",
              "group_i", "group_ii", "timers")

# Q.850 cause of each refusal. Congestion is "no circuit/channel available" (34), as
# Asterisk's chan_dahdi gives openr2's OR2_CAUSE_NETWORK_CONGESTION; the special
# information tone announces an unobtainable number, read as 1 like the SIT in
# gateway.loopstart.
REFUSAL_CAUSES: Mapping[str, int] = types.MappingProxyType({
    "busy": 17, "congestion": 34, "unallocated": 1, "number_changed": 22, "out_of_order": 27,
    "collect_rejected": 21, "special_info": 1,
})
# Which refusal a Q.850 cause asks for (reject(cause)); others get out_of_order,
# as openr2's send_disconnect does for causes it has no signal for.
CAUSE_REFUSALS: Mapping[int, str] = types.MappingProxyType({
    17: "busy", 34: "congestion", 42: "congestion", 41: "congestion", 44: "congestion", 1: "unallocated",
    22: "number_changed", 27: "out_of_order", 21: "collect_rejected",
})

# Timers a table must give, with their bounds in ms.
_TIMER_BOUNDS = {"recognition_ms": (0, 200), "pulse_ms": (50, 1000), "metering_pulse_ms": (0, 5000)}
_TIMER_DEFAULT_BOUNDS = (1, 600_000)
# Meanings that may share a signal (see the module docstring).
_SHARED_A = ({"category", "next_ani"}, {"next_dnis", "next_ani"})


@dataclass(frozen=True)
class LinePatterns:
    """ABCD nibbles (A = 8 ... D = 1) as a variant sends them."""
    idle: int
    seize: int
    seize_ack: int
    answer: int
    clear_back: int
    clear_forward: int
    blocked: int
    forced_release: int | None


@dataclass(frozen=True)
class Timers:
    """Seconds (the tables give milliseconds)."""
    recognition: float       # a new ABCD pattern must hold this long (Q.422: 20 +- 10 ms)
    seize_ack: float         # seize to its acknowledgement
    mf_cycle: float          # each step of a compelled cycle: the other side's next edge
    silent_wait: float       # caller out of digits without an end signal: wait for a pulsed request
    pulse: float             # a pulsed backward signal (Q.442: 150 +- 50 ms)
    answer: float            # accepted to answered
    answer_delay: float      # the called side's last tone off to its answer pattern
    setup: float             # seize to the end of the register signalling
    release_guard: float     # clear forward to the far end's idle (release guard)
    metering_pulse: float    # a clear back shorter than this after answer is a metering pulse; 0: none


@dataclass(frozen=True)
class R2Variant:
    """One country's R2: ``a``, ``b``, ``c``, ``i`` map meanings to signals
    (``None``: the variant has no such signal); ``categories`` names the
    group II signals."""
    name: str
    country: str
    sources: tuple[str, ...]
    ani_first: bool
    line: LinePatterns
    a: Mapping[str, int | None]
    b: Mapping[str, int | None]
    c: Mapping[str, int | None]
    i: Mapping[str, int | None]
    categories: Mapping[str, int]
    timers: Timers

    def category_name(self, signal: int) -> str:
        """The name of a group II signal (``national-priority``), or ``II-<n>`` if the variant has none."""
        for name, value in self.categories.items():
            if value == signal:
                return name
        return f"II-{signal}"

    def category_signal(self, category: str) -> int:
        try:
            return self.categories[category]
        except KeyError:
            raise UsageError(f"category {category!r}: {self.name} has {', '.join(self.categories)}") from None

    def refusal(self, signal: int) -> str | None:
        """The refusal a B-signal means, or None."""
        for name in REFUSALS:
            if self.b[name] == signal:
                return name
        return None

    def refusal_signal(self, cause: int) -> tuple[str, int]:
        """The refusal and B-signal that say Q.850 ``cause`` in this variant."""
        name = CAUSE_REFUSALS.get(cause, "out_of_order")
        if name == "number_changed" and self.b[name] is None:
            name = "unallocated"               # openr2 does the same
        for candidate in (name, "out_of_order", "congestion", "busy"):
            if self.b[candidate] is not None:
                return candidate, self.b[candidate]
        raise UsageError(f"{self.name} has no refusal in group B")   # tables are checked at load


def _bits(source, field, value) -> int:
    if not isinstance(value, str) or len(value) != 4 or set(value) - {"0", "1"}:
        raise R2VariantError(f"{field} = {value!r}: four bits A, B, C, D such as \"1001\"",
                             source=source, field=field, value=value)
    return int(value, 2)


def _signal(source, field, value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
        raise R2VariantError(f"{field} = {value!r}: a signal 1..15, or 0 for none",
                             source=source, field=field, value=value)
    return value or None


def _table(source, doc, key) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise R2VariantError(f"{key} must be a table, not {value!r}", source=source, field=key, value=value)
    return value


def _group(source, doc, base, key, names) -> dict:
    table = _table(source, doc, key)
    for name in table:
        if name not in names:
            raise R2VariantError(f"{key}.{name}: unknown; {key} has {', '.join(names)}",
                                 source=source, field=f"{key}.{name}", value=table[name])
    merged = dict(base) if base is not None else {}
    for name in names:
        if name in table:
            merged[name] = _signal(source, f"{key}.{name}", table[name])
        elif base is None:
            merged[name] = None
    return merged


def _no_clash(source, key, meanings: dict, allowed=()) -> None:
    """Two meanings of one group on the same signal only where ``allowed``."""
    seen: dict[int, str] = {}
    for name, signal in meanings.items():
        if signal is None:
            continue
        other = seen.get(signal)
        if other is not None and {name, other} not in allowed:
            raise R2VariantError(f"{key}.{name} and {key}.{other} are both signal {signal}",
                                 source=source, field=f"{key}.{name}", value=signal)
        seen.setdefault(signal, name)


def _line(source, doc, base: LinePatterns | None) -> LinePatterns:
    table = _table(source, doc, "line")
    for name in table:
        if name not in LINE_FIELDS:
            raise R2VariantError(f"line.{name}: unknown; line has {', '.join(LINE_FIELDS)}",
                                 source=source, field=f"line.{name}", value=table[name])
    values = {}
    for name in LINE_FIELDS:
        if name in table:
            values[name] = _bits(source, f"line.{name}", table[name])
        elif base is not None:
            values[name] = getattr(base, name)
        elif name == "forced_release":
            values[name] = None
        else:
            raise R2VariantError(f"line.{name} is missing", source=source, field=f"line.{name}")
    cd = {v & 3 for v in values.values() if v is not None}
    if len(cd) != 1:
        raise R2VariantError("line patterns differ in C and D: R2 signals with A and B only",
                             source=source, field="line")

    def ab(name):
        return None if values[name] is None else values[name] >> 2

    rules = [
        (ab("seize") != ab("idle"), "seize", "the idle pattern"),
        (ab("clear_forward") == ab("idle"),
         "clear_forward", "not the idle pattern: a circuit is released by going idle (Q.421 Table 1)"),
        (ab("seize_ack") != ab("idle"), "seize_ack", "the idle pattern"),
        (ab("answer") not in (ab("idle"), ab("seize_ack")), "answer", "idle or seize_ack"),
        (ab("clear_back") != ab("answer"), "clear_back", "answer"),
        (ab("blocked") != ab("idle"), "blocked", "the idle pattern"),
        (ab("forced_release") != ab("answer"), "forced_release", "answer"),
    ]
    for ok, name, what in rules:
        if not ok:
            raise R2VariantError(f"line.{name} = {values[name]:04b} is the same as {what}",
                                 source=source, field=f"line.{name}", value=values[name])
    return LinePatterns(**values)


def _timers(source, doc, base: Timers | None) -> Timers:
    table = _table(source, doc, "timers")
    values = {}
    for name in table:
        if name not in TIMER_FIELDS:
            raise R2VariantError(f"timers.{name}: unknown; timers has {', '.join(TIMER_FIELDS)}",
                                 source=source, field=f"timers.{name}", value=table[name])
    for name in TIMER_FIELDS:
        key = name[:-3]
        if name in table:
            value = table[name]
            low, high = _TIMER_BOUNDS.get(name, _TIMER_DEFAULT_BOUNDS)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise R2VariantError(f"timers.{name} = {value!r}: milliseconds {low}..{high}",
                                     source=source, field=f"timers.{name}", value=value)
            values[key] = value / 1000
        elif base is not None:
            values[key] = getattr(base, key)
        else:
            raise R2VariantError(f"timers.{name} is missing", source=source, field=f"timers.{name}")
    timers = Timers(**values)
    if timers.setup <= timers.silent_wait:
        raise R2VariantError("timers.setup_ms must be longer than timers.silent_wait_ms",
                             source=source, field="timers.setup_ms", value=round(timers.setup * 1000))
    return timers


def parse_variant(text: str, source: str = "<string>", bases: Mapping[str, R2Variant] | None = None) -> R2Variant:
    """One table; ``bases`` holds the variants a ``base`` may name."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise R2VariantError(f"not TOML: {exc}", source=source) from None
    for key in doc:
        if key not in TOP_FIELDS:
            raise R2VariantError(f"{key}: unknown; a table has {', '.join(TOP_FIELDS)}",
                                 source=source, field=key, value=doc[key])
    for key in ("name", "country"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise R2VariantError(f"{key} must be a non-empty string", source=source, field=key,
                                 value=doc.get(key))
    sources = doc.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        raise R2VariantError("sources must list where the table's facts come from", source=source,
                             field="sources", value=sources)
    base = None
    if "base" in doc:
        base = (bases or {}).get(str(doc["base"]).upper())
        if base is None:
            raise R2VariantError(f"base = {doc['base']!r} is not a known variant", source=source,
                                 field="base", value=doc["base"])
    ani_first = doc.get("ani_first", base.ani_first if base else None)
    if not isinstance(ani_first, bool):
        raise R2VariantError("ani_first must be true or false", source=source, field="ani_first",
                             value=ani_first)

    line = _line(source, doc, base.line if base else None)
    a = _group(source, doc, base.a if base else None, "group_a", GROUP_A_FIELDS)
    b = _group(source, doc, base.b if base else None, "group_b", GROUP_B_FIELDS)
    c = _group(source, doc, base.c if base else None, "group_c", GROUP_C_FIELDS)
    i = _group(source, doc, base.i if base else None, "group_i", GROUP_I_FIELDS)
    ii = _group(source, doc, base.categories if base else None, "group_ii", CATEGORIES)
    timers = _timers(source, doc, base.timers if base else None)

    _no_clash(source, "group_a", a, _SHARED_A)
    _no_clash(source, "group_b", {k: b[k] for k in ACCEPTS})
    for refusal in REFUSALS:
        for accept in ACCEPTS:
            if b[refusal] is not None and b[refusal] == b[accept]:
                raise R2VariantError(f"group_b.{refusal} and group_b.{accept} are both signal {b[refusal]}",
                                     source=source, field=f"group_b.{refusal}", value=b[refusal])
    _no_clash(source, "group_c", c)
    _no_clash(source, "group_ii", ii)
    for name, signal in i.items():
        if signal is not None and signal <= 10:
            raise R2VariantError(f"group_i.{name} = {signal}: I-1..I-10 are the digits", source=source,
                                 field=f"group_i.{name}", value=signal)
    if i["ani_restricted"] is not None and i["ani_restricted"] == i["end_of_dnis"] != i["end_of_ani"]:
        raise R2VariantError("group_i.ani_restricted and group_i.end_of_dnis are the same signal",
                             source=source, field="group_i.ani_restricted", value=i["ani_restricted"])
    required = [("group_a.next_dnis", a["next_dnis"]), ("group_b.accept_charge", b["accept_charge"]),
                ("group_ii.national", ii["national"]),
                ("group_a.category or group_a.category_to_group_c", a["category"] or a["category_to_group_c"]),
                ("group_a.change_to_group_b or group_c.change_to_group_b",
                 a["change_to_group_b"] or c["change_to_group_b"])]
    for field, value in required:
        if value is None:
            raise R2VariantError(f"{field} is required", source=source, field=field)
    if not any(b[r] for r in REFUSALS):
        raise R2VariantError("group_b needs at least one refusal", source=source, field="group_b")
    if a["category_to_group_c"] is not None:
        for name in ("next_ani", "change_to_group_b"):
            if c[name] is None:
                raise R2VariantError(f"group_a.category_to_group_c needs group_c.{name}", source=source,
                                     field=f"group_c.{name}")
    elif any(v is not None for v in c.values()):
        raise R2VariantError("group_c without group_a.category_to_group_c: nothing leads to group C",
                             source=source, field="group_c")

    freeze = types.MappingProxyType
    return R2Variant(doc["name"], doc["country"], tuple(sources), ani_first, line, freeze(a), freeze(b),
                     freeze(c), freeze(i), freeze({k.replace("_", "-"): v for k, v in ii.items() if v}),
                     timers)


_lock = threading.Lock()
_variants: dict[str, R2Variant] | None = None


def _load_all() -> dict[str, R2Variant]:
    pending = {}
    for path in sorted(VARIANT_DIR.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        try:
            base = tomllib.loads(text).get("base")
        except tomllib.TOMLDecodeError:
            base = None                     # parse_variant says what is wrong
        pending[path] = (text, str(base).upper() if base is not None else None)
    loaded: dict[str, R2Variant] = {}
    while pending:
        # Bases first; when none is ready, parse one anyway and let it name its unknown base.
        ready = [p for p, (_, base) in pending.items() if base is None or base in loaded] or [next(iter(pending))]
        for path in ready:
            variant = parse_variant(pending.pop(path)[0], source=path.name, bases=loaded)
            if variant.name.upper() in loaded:
                raise R2VariantError(f"name {variant.name!r} is used twice", source=path.name, field="name",
                                     value=variant.name)
            loaded[variant.name.upper()] = variant
    return loaded


def variants() -> Mapping[str, R2Variant]:
    """Every table in ``variants/``, by upper-case name (``ITU``, ``CN``, ``MX`` ...)."""
    global _variants
    with _lock:
        if _variants is None:
            _variants = _load_all()
        return types.MappingProxyType(_variants)


def get_variant(name: str | R2Variant) -> R2Variant:
    """A variant by name (any case), or the variant itself."""
    if isinstance(name, R2Variant):
        return name
    table = variants()
    try:
        return table[str(name).upper()]
    except KeyError:
        raise UsageError(f"R2 variant {name!r}: one of {', '.join(sorted(table))}") from None


__all__ = ["R2Variant", "LinePatterns", "Timers", "REFUSALS", "REFUSAL_CAUSES", "CAUSE_REFUSALS",
           "parse_variant", "variants", "get_variant"]
