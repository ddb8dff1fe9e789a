"""The call-progress classifier's cadence table, compiled from the tone plans.

Every country's ``dial``, ``ringback``, ``busy`` and ``congestion`` tones and
its special information tones become cadences of the native ``cpt`` unit
(native/cpt.h): steps of tone and silence with their frequencies, lengths and
relative levels. Special information tones are the plans' ``sit-*`` tones
(North American encoding) and ``info`` tones of three or more tones, all of
850 Hz and more (the ITU 950/1400/1800 Hz triplet and national variants);
an ``info`` tone in the call-progress band (Australia's, China's, New
Zealand's) is a different signal and is left out. Other tones (call waiting,
record, stutter, ...) are not answers to a call attempt and are left out too.

What the matcher cannot use is simplified, with the reason here:
- a modulated tone ``a*b`` is matched by its carrier ``a`` and its
  sidebands ``a-b`` and ``a+b``;
- a silence under MIN_GAP_MS inside a special information tone (Sweden's
  24 ms, the Czech Republic's 30 ms) is too short for the segmenter to see:
  it is counted into the tone before it;
- a special information tone is its first three tones, heard once; the
  repetitions and announcements that follow are not needed to name it;
- a burst 10 dB or more below the loudest (Australia's congestion) may be
  lost in line noise: such a cadence is entered twice, as written and with
  its quiet bursts heard as silence;
- where a plan's congestion tone is its busy tone (Japan, Poland, Malaysia),
  the signal is reported as busy: no detector can tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.dsp import tone_plan
from gateway.dsp.native import ffi, lib

CLASSES = {"dial": lib.LG_CPT_DIAL, "ringback": lib.LG_CPT_RINGBACK, "busy": lib.LG_CPT_BUSY,
           "congestion": lib.LG_CPT_CONGESTION, "sit": lib.LG_CPT_SIT}
CLASS_NAMES = {code: name for name, code in CLASSES.items()}
SIT_SUBTYPES = ("sit-ic", "sit-vc", "sit-ro", "sit-nc", "sit-itu")

MIN_SIT_HZ = 850.0
MIN_GAP_MS = 40
SIT_TONES = 3


@dataclass(frozen=True)
class Cadence:
    """One cadence of the table: where it comes from and its steps."""

    country: str
    tone: str          # the plan's tone name
    cls: str           # CLASSES key
    subtype: str       # for SIT the subtype, else the class
    cyclic: bool
    steps: tuple[tuple[int, tuple[float, ...], float], ...]  # (ms or 0 for ever, freqs, gain dB)
    am_hz: tuple[float, ...] = ()  # per step: the modulation of an a*b tone, 0 for none


def _class_of(name: str, spec: tone_plan.ToneSpec) -> tuple[str, str] | None:
    if name in ("dial", "ringback", "busy", "congestion"):
        return name, name
    if name.startswith("sit-"):
        return "sit", name
    if name == "info" and len(spec.frequencies) >= SIT_TONES and min(spec.frequencies) >= MIN_SIT_HZ:
        return "sit", "sit-itu"
    return None


def _steps(spec: tone_plan.ToneSpec, cls: str, gains: tuple[float, ...] | None):
    steps: list[list] = []
    tones = 0
    for i, element in enumerate(spec.elements):
        gain = gains[i] if gains else 0.0
        ms = element.duration_ms or 0
        freqs = tuple(element.freqs[:2])
        if cls == "sit":
            if element.silent and ms and ms < MIN_GAP_MS and steps:
                steps[-1][0] += ms
                continue
            if tones == SIT_TONES:
                break
        if steps and not freqs and not steps[-1][1]:
            steps[-1][0] = 0 if (ms == 0 or steps[-1][0] == 0) else steps[-1][0] + ms
            continue
        if steps and freqs and steps[-1][1] == freqs and steps[-1][2] == gain and steps[-1][0] and ms:
            steps[-1][0] += ms
            continue
        steps.append([ms, freqs, gain])
        tones += bool(freqs)
        if ms == 0:
            break
    while cls == "sit" and steps and not steps[-1][1]:
        steps.pop()  # silence after the third tone says nothing
    return tuple((ms, freqs, gain) for ms, freqs, gain in steps)


def plan_cadences(plan: tone_plan.TonePlan) -> list[Cadence]:
    """The cadences one plan contributes."""
    out = []
    busy = plan.tones.get("busy")
    for name, spec in plan.tones.items():
        if name == "congestion" and busy is not None and spec.elements == busy.elements:
            continue
        kind = _class_of(name, spec)
        if kind is None:
            continue
        cls, subtype = kind
        steps = _steps(spec, cls, plan.levels_db.get(name))
        if not any(freqs for _, freqs, _ in steps):
            continue
        cyclic = cls != "sit" and spec.repeat_from is not None
        am = {element.freqs: element.modulation_hz or 0.0 for element in spec.elements if element.freqs}
        am_hz = tuple(am.get(freqs, 0.0) if freqs else 0.0 for _, freqs, _ in steps)
        out.append(Cadence(plan.country, name, cls, subtype, cyclic, steps, am_hz))
        if any(freqs and gain <= QUIET_BURST_DB for _, freqs, gain in steps):
            quiet = _without_quiet_bursts(steps)
            out.append(Cadence(plan.country, name, cls, subtype, cyclic, quiet,
                               tuple(am.get(freqs, 0.0) if freqs else 0.0 for _, freqs, _ in quiet)))
    return out


QUIET_BURST_DB = -10.0


def _without_quiet_bursts(steps):
    """The steps with every burst QUIET_BURST_DB or more down heard as silence, merged."""
    merged: list[list] = []
    for ms, freqs, gain in steps:
        if freqs and gain <= QUIET_BURST_DB:
            freqs, gain = (), 0.0
        if merged and not freqs and not merged[-1][1]:
            merged[-1][0] += ms
        else:
            merged.append([ms, freqs, gain])
    if len(merged) > 1 and not merged[0][1] and not merged[-1][1]:
        merged[-1][0] += merged.pop(0)[0]  # cyclic: a leading silence joins the trailing one
    return tuple((ms, freqs, gain) for ms, freqs, gain in merged)


class CadenceTable:
    """All plans' cadences, with the country codes the native unit knows by index."""

    def __init__(self, countries=None):
        codes = list(countries) if countries is not None else list(tone_plan.known_countries())
        self.countries = tuple(codes)
        self._index = {code: i for i, code in enumerate(codes)}
        self.cadences: list[Cadence] = []
        for code in codes:
            self.cadences.extend(plan_cadences(tone_plan.load_plan(code)))

    def country_index(self, country: str | None) -> int:
        """The native index of a country (-1 for None); unknown countries are
        refused by tone_plan.load_plan's error, which lists the known ones."""
        if country is None:
            return -1
        code = tone_plan.load_plan(country).country  # resolves aliases (uk/gb), names the known ones
        return self._index[code]

    def load_into(self, desc) -> None:
        """Adds every cadence to a native lg_cpt_desc."""
        c = ffi.new("lg_cpt_cadence *")
        for cadence in self.cadences:
            if len(cadence.steps) > lib.LG_CPT_MAX_STEPS:
                raise ValueError(f"{cadence.country}.{cadence.tone}: {len(cadence.steps)} steps, the native "
                                 f"table holds {lib.LG_CPT_MAX_STEPS}")
            c.cls = CLASSES[cadence.cls]
            c.subtype = SIT_SUBTYPES.index(cadence.subtype) if cadence.cls == "sit" else 0
            c.country = self._index[cadence.country]
            c.steps = len(cadence.steps)
            c.cyclic = int(cadence.cyclic)
            for s, (ms, freqs, gain) in enumerate(cadence.steps):
                c.ms[s] = ms
                c.freq[s][0] = freqs[0] if freqs else 0.0
                c.freq[s][1] = freqs[1] if len(freqs) > 1 else 0.0
                c.gain_db[s] = gain
                c.am_hz[s] = cadence.am_hz[s] if cadence.am_hz else 0.0
            rv = lib.lg_cpt_add_cadence(desc, c)
            if rv < 0:
                raise ValueError(f"{cadence.country}.{cadence.tone}: the native table refused {cadence.steps}")

    def describe(self, index: int) -> Cadence:
        return self.cadences[index]
