"""The R2 variant tables: every country openr2 1.3.3 has loads, says what openr2's
r2proto.c says, and a broken table is refused naming the file, field and value."""

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from gateway.errors import R2VariantError, UsageError
from gateway.r2.variant import VARIANT_DIR, get_variant, parse_variant, variants

OPENR2_VARIANTS = {"AR", "BR", "CN", "CZ", "CO", "EC", "ID", "ITU", "MX", "PH", "VE"}
ITU_TEXT = (VARIANT_DIR / "itu.toml").read_text()


def test_every_openr2_variant_is_there():
    # openr2 1.3.3's r2proto.h lists these eleven (OR2_VAR_ARGENTINA ... OR2_VAR_VENEZUELA).
    assert set(variants()) == OPENR2_VARIANTS
    for name, v in variants().items():
        assert v.name == name and v.sources and v.country


def test_itu_is_q441():
    v = get_variant("itu")
    a, b, i = v.a, v.b, v.i
    assert (a["next_dnis"], a["dnis_minus_1"], a["change_to_group_b"], a["congestion"], a["category"],
            a["accept_charge"], a["dnis_minus_2"], a["dnis_minus_3"]) == (1, 2, 3, 4, 5, 6, 7, 8)
    assert (b["special_info"], b["busy"], b["congestion"], b["unallocated"], b["accept_charge"],
            b["accept_no_charge"], b["out_of_order"]) == (2, 3, 4, 5, 6, 7, 8)
    assert i["end_of_dnis"] == i["end_of_ani"] == 15
    assert v.categories == {"national": 1, "national-priority": 2, "test": 3, "international": 7,
                            "international-priority": 9}
    line = v.line
    assert (line.idle, line.seize, line.seize_ack, line.answer, line.clear_back, line.clear_forward,
            line.blocked) == (0b1001, 0b0001, 0b1101, 0b0101, 0b1101, 0b1001, 0b1101)
    assert v.timers.recognition == 0.020 and v.timers.pulse == 0.150 and v.ani_first


@pytest.mark.parametrize("name, facts", [
    # (openr2 1.3.3 r2config_<country>)
    ("AR", {"i.end_of_dnis": None, "i.end_of_ani": 12, "i.ani_restricted": 15, "timers.metering_pulse": 0.4}),
    ("BR", {"a.dnis_minus_1": 9, "a.all_dnis_again": 2, "a.accept_charge": None, "b.accept_charge": 1,
            "b.accept_no_charge": 5, "b.busy": 2, "b.number_changed": 3, "b.special_info": 6, "b.unallocated": 7,
            "b.collect_rejected": 7, "cat.collect": 8, "i.end_of_dnis": None}),
    ("CN", {"a.next_ani": 1, "a.next_dnis": 1, "a.category": 6, "a.accept_charge": None, "b.accept_charge": 1,
            "b.busy": 2, "b.special_info": None, "i.end_of_dnis": None, "line.idle": 0b1011,
            "line.seize": 0b0011, "line.answer": 0b0111}),
    ("CO", {"b.accept_charge": 1, "b.accept_no_charge": 5, "b.busy": 2, "b.unallocated": 6, "a.next_ani": 5}),
    ("ID", {"a.category": 6, "a.next_ani": 6, "a.accept_charge": 5, "a.dnis_minus_1": 8, "a.dnis_minus_2": 9,
            "a.dnis_minus_3": None, "a.all_dnis_again": 2}),
    ("MX", {"ani_first": False, "a.category": None, "a.category_to_group_c": 6, "a.next_ani": None,
            "c.next_ani": 1, "c.change_to_group_b": 3, "c.next_dnis_to_group_a": 5, "c.congestion": 4,
            "b.accept_charge": 1, "b.accept_no_charge": 5, "b.busy": 2, "b.unallocated": 2,
            "i.end_of_dnis": None, "i.ani_restricted": 15, "i.end_of_ani": 15}),
    ("VE", {"a.next_ani": 9, "i.ani_restricted": 12, "i.end_of_dnis": None}),
])
def test_country_tables_say_what_openr2_says(name, facts):
    v = get_variant(name)
    for key, expected in facts.items():
        part, _, field = key.partition(".")
        if part == "ani_first":
            value = v.ani_first
        elif part == "cat":
            value = v.categories.get(field)
        elif part in ("line", "timers"):
            value = getattr(getattr(v, part), field)
        else:
            value = getattr(v, part)[field]
        assert value == expected, f"{name} {key}"


@pytest.mark.parametrize("name", ["CZ", "EC", "PH"])
def test_openr2_configures_these_as_itu(name):
    v, itu = get_variant(name), get_variant("ITU")
    assert (v.a, v.b, v.c, v.i, v.categories, v.line, v.timers) == (itu.a, itu.b, itu.c, itu.i, itu.categories,
                                                                    itu.line, itu.timers)


def test_refusals_and_causes():
    itu, mx, br = get_variant("ITU"), get_variant("MX"), get_variant("BR")
    assert itu.refusal_signal(17) == ("busy", 3) and itu.refusal_signal(1) == ("unallocated", 5)
    assert itu.refusal_signal(34) == ("congestion", 4) and itu.refusal_signal(99) == ("out_of_order", 8)
    assert itu.refusal_signal(22) == ("unallocated", 5)       # no "number changed" in ITU: as openr2
    assert br.refusal_signal(22) == ("number_changed", 3)
    assert mx.refusal(2) == "busy" and br.refusal(7) == "unallocated"   # shared signals read as the first
    assert itu.category_name(7) == "international" and itu.category_name(11) == "II-11"
    with pytest.raises(UsageError, match="collect"):
        itu.category_signal("collect")
    with pytest.raises(UsageError, match="one of"):
        get_variant("XX")


@pytest.mark.parametrize("old, new, field, words", [
    ("busy = 3 ", "busy = 16 ", "group_b.busy", "1..15"),
    ("busy = 3 ", "busy = true ", "group_b.busy", "1..15"),
    ("busy = 3 ", "busy = 6 ", "group_b.busy", "accept_charge"),
    ("next_dnis = 1 ", "next_dnis = 3 ", "group_a", "both signal 3"),
    ("next_dnis = 1 ", "next_dnis = 0 ", "group_a.next_dnis", "required"),
    ("ani_restricted = 12", "ani_restricted = 9", "group_i.ani_restricted", "digits"),
    ('idle = "1001"', 'idle = "100"', "line.idle", "four bits"),
    ('seize = "0001"', 'seize = "1001"', "line.seize", "idle"),
    ('seize = "0001"', 'seize = "0011"', "line", "C and D"),
    ('clear_forward = "1001"', 'clear_forward = "0101"', "line.clear_forward", "idle"),
    ("pulse_ms = 150", "pulse_ms = 5", "timers.pulse_ms", "50..1000"),
    ("setup_ms = 45000", "setup_ms = 20000", "timers.setup_ms", "silent_wait"),
    ("[group_c]", "[group_c]\nnext_ani = 1", "group_c", "nothing leads to group C"),
    ("international = 7 ", "international = 1 ", "group_ii", "both signal 1"),
    ("[timers]", "[timers]\nbogus_ms = 1", "timers.bogus_ms", "unknown"),
    ('name = "ITU"', 'name = "ITU"\ncolour = "red"', "colour", "unknown"),
    ("sources = [\n", "sources = [\n    3,\n", "sources", "where the table's facts"),
    ("ani_first = true", 'ani_first = "yes"', "ani_first", "true or false"),
    ("metering_pulse_ms = 0 ", "", None, "not TOML"),
], ids=lambda value: value if isinstance(value, str) and "." in value else None)
def test_a_broken_table_is_refused_naming_the_field(old, new, field, words):
    assert old in ITU_TEXT
    text = ITU_TEXT.replace(old, new, 1) if field else ITU_TEXT + "\n[[oops"
    with pytest.raises(R2VariantError) as info:
        parse_variant(text, source="itu.toml")
    error = info.value
    assert isinstance(error, ValueError) and "itu.toml" in str(error) and words in str(error)
    if field is not None:
        assert error.field is not None and error.field.startswith(field)


def test_a_group_must_be_a_table():
    with pytest.raises(R2VariantError, match="group_b must be a table") as info:
        parse_variant('name = "Q"\ncountry = "Q"\nsources = ["x"]\nbase = "ITU"\ngroup_b = 3\n', source="q.toml",
                      bases=variants())
    assert info.value.field == "group_b"


def test_a_country_table_needs_a_known_base():
    with pytest.raises(R2VariantError, match="base = 'XX'") as info:
        parse_variant('name = "Q"\ncountry = "Q"\nsources = ["x"]\nbase = "XX"\n', source="q.toml")
    assert info.value.field == "base"


def test_base_tables_are_loaded_first_whatever_their_file_names(tmp_path, monkeypatch):
    import gateway.r2.variant as module
    (tmp_path / "a_child.toml").write_text('name = "KID"\ncountry = "K"\nsources = ["x"]\nbase = "ZBASE"\n'
                                           '[group_b]\nbusy = 2\n')
    (tmp_path / "z_base.toml").write_text(ITU_TEXT.replace('name = "ITU"', 'name = "ZBASE"'))
    monkeypatch.setattr(module, "VARIANT_DIR", Path(tmp_path))
    loaded = module._load_all()
    assert loaded["KID"].b["busy"] == 2 and loaded["KID"].b["accept_charge"] == 6


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(ITU_TEXT) - 1), st.text(max_size=8))
def test_mangled_tables_load_or_are_refused_cleanly(position, junk):
    text = ITU_TEXT[:position] + junk + ITU_TEXT[position + len(junk):]
    try:
        parse_variant(text, source="mangled.toml")
    except R2VariantError:
        pass
