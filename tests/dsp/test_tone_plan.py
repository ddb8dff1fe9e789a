"""Country tone plans (gateway.dsp.tone_plan, data in dsp/tone_plans/).

Known answers are Asterisk's configs/samples/indications.conf.sample
(asterisk/asterisk commit 0a7fe3097f1e), the Telcordia SIT encoding and, for
Japan's ringback, WDIC / NTT West (400 Hz modulated at 16 Hz, 1 s on, 2 s
off). The corpus cross-check compares with the cadences the CPT corpus was
generated from (../shared/corpus), and skips when the corpus is absent.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.dsp.tone import MAX_SEGMENTS, ToneGenerator, ToneSegment
from gateway.dsp.tone_plan import (
    PLAN_DIR, REQUIRED_TONES, TONE_NAMES, ToneElement, TonePlan, TonePlanError, TonePlayer, ToneSpec,
    known_countries, load_plan, parse_plan_file, parse_tone)
from gateway.errors import InputError, UsageError

RATE = 8000
ASTERISK_SECTIONS = (
    "at au bg br be ch cl cn cz de dk ee es fi fr gr hu id il in it lt jp mx my nl no nz ph pl pt "
    "ru se sg th uk us us-old tw ve za").split()
CORPUS_LABELS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "dev" / "cpt" / "labels.jsonl"


def E(freqs=(), ms=None, *, mod=None, once=False):
    return ToneElement(tuple(float(f) for f in freqs), None if mod is None else float(mod), ms, once)


# ------------------------------------------------------------ shipped plans


def test_every_asterisk_section_has_a_plan():
    assert known_countries() == sorted(ASTERISK_SECTIONS)
    assert {p.stem for p in PLAN_DIR.glob("*.toml")} == set(ASTERISK_SECTIONS)


@pytest.mark.parametrize("country", sorted(ASTERISK_SECTIONS))
def test_plan_loads_and_has_the_required_tones(country):
    plan = load_plan(country)
    assert isinstance(plan, TonePlan)
    assert plan.country == country
    assert plan.name and "indications.conf.sample" in plan.source
    for tone in REQUIRED_TONES + ("congestion",):   # every Asterisk section has congestion
        assert tone in plan.tones, tone
    assert set(plan.tones) <= set(TONE_NAMES)
    assert len(plan.ring_cadence_ms) % 2 == 0
    for name, spec in plan.tones.items():
        assert spec.name == name and spec.elements == parse_tone(spec.text)


def test_lookup_is_case_insensitive_and_knows_aliases():
    assert load_plan("DE") is load_plan("de")
    assert load_plan(" Us ").country == "us"
    assert load_plan("gb") is load_plan("uk")
    assert load_plan("uk").aliases == ("gb",)
    assert all(load_plan(c).aliases == () for c in ASTERISK_SECTIONS if c != "uk")


def test_unknown_country_lists_the_known_ones():
    with pytest.raises(TonePlanError) as info:
        load_plan("xx")
    message = str(info.value)
    assert "'xx'" in message and isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    for code in ASTERISK_SECTIONS:
        assert code in message
    assert "uk (also gb)" in message
    assert info.value.field == "country"
    with pytest.raises(TonePlanError, match="must be a string"):
        load_plan(49)


# ------------------------------------------------------------ known facts


FACTS = [
    # country, tone, elements
    ("us", "busy", (E((480, 620), 500), E((), 500))),
    ("us", "congestion", (E((480, 620), 250), E((), 250))),
    ("us", "ringback", (E((440, 480), 2000), E((), 4000))),
    ("us", "dial", (E((350, 440)),)),
    ("de", "busy", (E((425,), 480), E((), 480))),
    ("de", "congestion", (E((425,), 240), E((), 240))),
    ("de", "ringback", (E((425,), 1000), E((), 4000))),
    ("uk", "ringback", (E((400, 450), 400), E((), 200), E((400, 450), 400), E((), 2000))),
    ("uk", "congestion", (E((400,), 400), E((), 350), E((400,), 225), E((), 525))),
    ("uk", "info", (E((950,), 330), E((), 15), E((1400,), 330), E((), 15), E((1800,), 330), E((), 1000))),
    ("jp", "ringback", (E((400,), 1000, mod=16), E((), 2000))),
    ("jp", "busy", (E((400,), 500), E((), 500))),
    ("in", "dial", (E((400,), mod=25),)),
    ("za", "dial", (E((400,), mod=33),)),
    ("cn", "busy", (E((450,), 350), E((), 350))),
    ("cn", "congestion", (E((450,), 700), E((), 700))),
    ("fr", "dial", (E((440,)),)),
    ("se", "congestion", (E((425,), 250), E((), 750))),
    ("au", "dial", (E((413, 438)),)),
    ("it", "dial", (E((425,), 200), E((), 200), E((425,), 600), E((), 1000))),
    ("us", "info", (E((950,), 330, once=True), E((1400,), 330, once=True), E((1800,), 330, once=True), E(()))),
    # Telcordia SIT: low 913.8 / 1370.6 Hz short (274 ms), high 985.2 / 1428.5 Hz long (380 ms), 1776.7 Hz 380 ms
    ("us", "sit-ic", (E((913.8,), 274, once=True), E((1370.6,), 274, once=True), E((1776.7,), 380, once=True))),
    ("us", "sit-vc", (E((985.2,), 380, once=True), E((1370.6,), 274, once=True), E((1776.7,), 380, once=True))),
    ("us", "sit-ro", (E((913.8,), 274, once=True), E((1428.5,), 380, once=True), E((1776.7,), 380, once=True))),
    ("us", "sit-nc", (E((985.2,), 380, once=True), E((1428.5,), 380, once=True), E((1776.7,), 380, once=True))),
]


@pytest.mark.parametrize("country, tone, elements", FACTS, ids=[f"{c}-{t}" for c, t, _ in FACTS])
def test_known_facts(country, tone, elements):
    assert load_plan(country).tones[tone].elements == elements


def test_ring_cadences():
    assert load_plan("us").ring_cadence_ms == (2000, 4000)
    assert load_plan("uk").ring_cadence_ms == (400, 200, 400, 2000)
    assert load_plan("de").ring_cadence_ms == (1000, 4000)


def test_congestion_kept_where_it_equals_busy():
    # The data says so rather than leaving it out (Japan, Poland, Malaysia).
    for country in ("jp", "pl", "my"):
        plan = load_plan(country)
        assert plan.tones["congestion"].elements == plan.tones["busy"].elements


@pytest.mark.skipif(not CORPUS_LABELS.exists(), reason="../shared/corpus is absent")
def test_plans_agree_with_the_cpt_corpus():
    """The corpus's cadences (frequencies within 1.5 %, durations exact) are
    the plans'. Australia's congestion differs only in how the quieter
    second burst is made (the corpus: 425 Hz 10 dB down; Asterisk: 420 Hz)."""
    checked = 0
    for line in CORPUS_LABELS.read_text().splitlines():
        label = json.loads(line)
        if label["class"] not in ("dial", "ringback", "busy", "congestion") or not label.get("plan"):
            continue
        spec = load_plan(label["country"]).tones[label["class"]]
        assert len(spec.elements) == len(label["plan"]), (label["id"], spec.text)
        for element, part in zip(spec.elements, label["plan"]):
            assert element.duration_ms == part["ms"], (label["id"], spec.text)
            freqs, mods = [], []
            for hz in part["hz"]:
                carrier, _, mod = str(hz).partition("*")
                freqs.append(float(carrier))
                mods.append(float(mod) if mod else None)
            assert len(freqs) == len(element.freqs), (label["id"], spec.text)
            for want, got in zip(freqs, element.freqs):
                assert abs(got - want) <= 0.015 * want, (label["id"], spec.text)
            assert (mods[0] if mods else None) == element.modulation_hz, (label["id"], spec.text)
        checked += 1
    assert checked > 50


# ------------------------------------------------------------ audio


def _spectrum_peaks(x, freqs, modulation_hz):
    """Check each stated frequency (and AM sidebands) stands out in x."""
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window))
    hz = np.fft.rfftfreq(len(x), 1 / RATE)
    top = spectrum.max()
    expected = [f for f in freqs if f >= 100]      # jp callwaiting's 16 Hz "tone" is below the band
    if modulation_hz:
        expected += [f + s for f in freqs for s in (-modulation_hz, modulation_hz)]
    for f in expected:
        near = (hz > f - 6) & (hz < f + 6)
        assert spectrum[near].max() > 0.15 * top, f"no energy at {f} Hz"
    # And nothing strong far from them.
    far = np.ones_like(hz, bool)
    for f in expected + [f for f in freqs]:
        far &= np.abs(hz - f) > 25
    assert spectrum[far].max() < 0.05 * top


def _first_sounding(spec):
    """(start sample, element) of the first element with a frequency."""
    start = 0
    for element in spec.elements:
        if element.freqs:
            return start, element
        start += element.duration_ms * RATE // 1000
    raise AssertionError(spec.text)


@pytest.mark.parametrize("country", sorted(ASTERISK_SECTIONS))
def test_every_tone_plays_and_shows_its_frequencies(country):
    plan = load_plan(country)
    for name, spec in plan.tones.items():
        segments = spec.segments()
        assert len(segments) == len(spec.elements)
        assert all(isinstance(s, ToneSegment) for s in segments)
        player = spec.player()
        audio = player.generate(RATE)                 # one second
        if spec.repeat_from is None and not spec.continuous:
            assert len(audio) == min(RATE, player.total_samples)
        else:
            assert len(audio) == RATE and player.total_samples is None
        assert np.abs(audio.astype(np.int32)).max() > 1000, (name, spec.text)
        if name in ("dial", "ringback", "busy", "congestion", "info", "sit-ic", "sit-nc"):
            start, element = _first_sounding(spec)
            length = min(element.duration_ms or 250, 250) * RATE // 1000
            burst = np.concatenate([audio, spec.player().generate(RATE)])[start:start + length]
            # Trim the edges a little: the burst is exact, the window is not.
            _spectrum_peaks(burst.astype(np.float64), element.freqs, element.modulation_hz)


def test_cadence_of_the_audio_follows_the_plan():
    """us busy: 480+620 for 500 ms, silence for 500 ms, repeated."""
    audio = load_plan("us").tones["busy"].player().generate(3 * RATE)
    blocks = np.abs(audio.reshape(-1, RATE // 20).astype(np.int32)).max(axis=1)   # 50 ms blocks
    on = blocks > 1000
    assert on.tolist() == ([True] * 10 + [False] * 10) * 3


def test_once_elements_play_once_then_the_rest_repeats():
    spec = ToneSpec("t", "!1000/100,!0/100,500/50,0/50", parse_tone("!1000/100,!0/100,500/50,0/50"))
    assert spec.repeat_from == 2
    audio = spec.player().generate(RATE // 1000 * 500)
    ms = audio.reshape(-1, 8 * 10)                      # 10 ms blocks
    loud = np.abs(ms.astype(np.int32)).max(axis=1) > 1000
    assert loud.tolist() == [True] * 10 + [False] * 10 + ([True] * 5 + [False] * 5) * 3


def test_all_once_tone_ends_and_long_lists_play_in_chunks():
    spec = load_plan("pl").tones["info"]                 # 12 elements, all '!'
    player = spec.player()
    assert player.total_samples == 3 * (3 * 330 + 1000) * 8
    audio = player.generate(10 * RATE)
    assert len(audio) == player.total_samples and player.finished
    assert len(player.generate(100)) == 0
    long = load_plan("se").tones["info"]                 # 30 elements: more than one generator
    assert len(long.elements) > MAX_SEGMENTS
    player = long.player()
    first = player.generate(12 * RATE)
    assert len(first) == 12 * RATE and player.total_samples is None
    # Element 17 of se info (the second generator's first) is 1800 Hz for 332 ms.
    assert long.elements[16] == E((1800,), 332, once=True)
    start = sum(e.duration_ms for e in long.elements[:16]) * 8
    _spectrum_peaks(first[start:start + 332 * 8].astype(np.float64), (1800.0,), None)
    # A short repeating list is one generator that repeats inside the core.
    assert load_plan("de").tones["busy"].segments() == (
        ToneSegment((425,), -13.0, 480), ToneSegment.silence(480))
    ToneGenerator(load_plan("de").tones["busy"].segments(), repeat=0)


def test_player_blocks_equal_one_shot():
    spec = load_plan("de").tones["callwaiting"]          # 20 elements, '!' prefix
    whole = spec.player().generate(9 * RATE)
    player = spec.player()
    parts = [player.generate(n) for n in [1, 159, 160, 7999, 3, 40000, 23678]]
    assert np.array_equal(np.concatenate(parts), whole)
    with pytest.raises(UsageError):
        player.generate(-1)
    with pytest.raises(UsageError):
        TonePlayer("busy")


def test_levels_and_depth_are_arguments():
    spec = load_plan("in").tones["dial"]                 # 400*25
    (segment,) = spec.segments(level_dbm0=-20.0, am_depth=0.5)
    assert segment.levels_dbm0 == (-20.0,) and segment.am_hz == 25.0 and segment.am_depth == 0.5
    assert segment.forever
    (default,) = spec.segments()
    assert default.levels_dbm0 == (-13.0,) and default.am_depth == 0.9


# ------------------------------------------------------------ bad input


GOOD = """\
country = "zz"
name = "Testland"
source = "made up for a test"
ring_cadence_ms = [1000, 4000]

[tones]
dial = "425"
ringback = "425/1000,0/4000"
busy = "425/500,0/500"
"""


def write(tmp_path, text, name="zz.toml"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def bad(tmp_path, text, *fragments, name="zz.toml"):
    path = write(tmp_path, text, name)
    with pytest.raises(TonePlanError) as info:
        parse_plan_file(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def test_levels_of_bursts_are_read(tmp_path):
    plan = parse_plan_file(write(tmp_path, GOOD.replace("[tones]", "levels_db = { busy = [-10, 0] }\n[tones]")))
    assert plan.levels_db["busy"] == (-10.0, 0.0)


def test_a_good_file_parses(tmp_path):
    plan = parse_plan_file(write(tmp_path, GOOD))
    assert plan.country == "zz" and list(plan.tones) == ["dial", "ringback", "busy"]


@pytest.mark.parametrize("text, fragments", [
    (GOOD + 'bussy = "425"\n', ["tones.bussy", "unknown tone 'bussy'", "known: dial, ringback, busy"]),
    (GOOD.replace("[tones]", 'colour = "red"\n[tones]'), ["unknown key 'colour'", "known: country"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "5000/500,0/500"'),
     ["tones.busy", "frequency 5000 Hz is outside 1..3999 Hz"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "4000/500,0/500"'), ["tones.busy", "4000 Hz"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "0+425/500"'), ["tones.busy", "silence"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "425/0,0/500"'), ["tones.busy", "duration 0 ms is outside"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "425/-500,0/500"'), ["tones.busy", "malformed"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "425/999999,0/500"'), ["tones.busy", "999999 ms"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "425/"'), ["tones.busy", "malformed"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "/500"'), ["tones.busy", "malformed"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "425+"'), ["tones.busy", "malformed"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "abc"'), ["tones.busy", "malformed", "[!]freq"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = ""'), ["tones.busy", "empty"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "425/500,,0/500"'), ["tones.busy", "element 2"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "425,0/500"'), ["tones.busy", "only the last"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "350+375+400"'), ["tones.busy", "malformed"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "400*500"'), ["tones.busy", "below the carrier"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "425/500,!0/500"'), ["tones.busy", "'!'"]),
    (GOOD.replace('busy = "425/500,0/500"', 'busy = "0/500"'), ["tones.busy", "all silence"]),
    (GOOD.replace('busy = "425/500,0/500"', "busy = 425"), ["tones.busy", "must be a string, not int"]),
    (GOOD.replace('busy = "425/500,0/500"\n', ""), ["tones.busy", "missing required tone 'busy'"]),
    (GOOD.replace('name = "Testland"\n', ""), ["name", "missing required key 'name'"]),
    (GOOD.replace('name = "Testland"', "name = 7"), ["name = 7", "must be a string"]),
    (GOOD.replace('country = "zz"', 'country = "de"'), ["country = 'de'", "named for 'zz'"]),
    (GOOD.replace('country = "zz"', 'country = "ZZ"'), ["country = 'ZZ'", "lowercase"]),
    (GOOD.replace("[1000, 4000]", "[1000]"), ["ring_cadence_ms", "on/off pairs"]),
    (GOOD.replace("[1000, 4000]", "[1000, 0]"), ["ring_cadence_ms[1] = 0", "outside 1..60000"]),
    (GOOD.replace("[1000, 4000]", '[1000, "4000"]'), ["ring_cadence_ms[1]", "integer"]),
    (GOOD.replace("[1000, 4000]", '"1000,4000"'), ["ring_cadence_ms", "array"]),
    (GOOD.replace("[tones]", 'aliases = "gb"\n[tones]'), ["aliases", "array"]),
    (GOOD.split("[tones]")[0] + "tones = 3\n", ["tones = 3", "must be a table"]),
    (GOOD.replace('dial = "425"', 'dial = "425"\ndial = "400"'), ["not valid TOML"]),
    ("this is not toml at all", ["not valid TOML"]),
    (GOOD.encode() + b'# caf\xe9\n', ["not UTF-8", "0xe9"]),
    (GOOD.replace("[tones]", "levels_db = { busy = [0, -10, 0] }\n[tones]"),
     ["levels_db.busy", "array of 2 numbers"]),
    (GOOD.replace("[tones]", "levels_db = { busy = [0, 5] }\n[tones]"), ["levels_db.busy[1] = 5", "-40..0"]),
    (GOOD.replace("[tones]", 'levels_db = { busy = [0, "x"] }\n[tones]'), ["levels_db.busy[1]", "number"]),
    (GOOD.replace("[tones]", "levels_db = { congestion = [0, 0] }\n[tones]"),
     ["levels_db.congestion", "no tone 'congestion'"]),
    (GOOD.replace("[tones]", "levels_db = 3\n[tones]"), ["levels_db = 3", "must be a table"]),
])
def test_bad_files_name_the_file_and_the_field(tmp_path, text, fragments):
    bad(tmp_path, text, *fragments)


def test_missing_and_huge_files(tmp_path):
    with pytest.raises(TonePlanError, match="cannot read"):
        parse_plan_file(tmp_path / "nope.toml")
    bad(tmp_path, GOOD + "#" * 70000 + "\n", "larger than")


def test_plan_directories_check_aliases(tmp_path):
    write(tmp_path, GOOD.replace("[tones]", 'aliases = ["yy"]\n[tones]'))
    write(tmp_path, GOOD.replace('"zz"', '"yy"'), name="yy.toml")
    with pytest.raises(TonePlanError, match="already names the plan"):
        load_plan("qq", directory=tmp_path)
    other = tmp_path / "ok"
    other.mkdir()
    write(other, GOOD.replace("[tones]", 'aliases = ["yy"]\n[tones]'))
    assert known_countries(directory=other) == ["zz"]
    assert load_plan("YY", directory=other).country == "zz"


@pytest.mark.parametrize("text", ["425/", "/500", "425+", "abc", "", " ", "!", "425/500,", ",425",
                                  "425*", "*16", "425++450", "425/500/500", "4 25", "425;500", "٤٢٥",
                                  "1e3/500", "0x1A9", "425.", ".5", "425|0/500", "M69/500", "nan", "-425"])
def test_malformed_tone_lists(text):
    with pytest.raises(TonePlanError) as info:
        parse_tone(text, source="x.toml", field="tones.busy")
    assert "x.toml" in str(info.value) and "tones.busy" in str(info.value)


def test_parse_tone_accepts_asterisk_spacing_and_decimals():
    assert parse_tone("425/500, 0/500") == (E((425,), 500), E((), 500))
    assert parse_tone("913.8/274") == (E((913.8,), 274),)
    with pytest.raises(TonePlanError, match="must be a string"):
        parse_tone(b"425", field="tones.dial")
    with pytest.raises(TonePlanError, match="at most 64"):
        parse_tone(",".join(["425/10"] * 65))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.text(alphabet="0123456789+*/!,. 0", max_size=40)))
def test_fuzz_parse_tone_only_raises_tone_plan_error(text):
    try:
        elements = parse_tone(text, source="fuzz", field="tones.x")
    except TonePlanError:
        return
    # Whatever parses can be played.
    spec = ToneSpec("x", text, elements)
    spec.player().generate(160)
