"""Numbers and patterns of the directory (Asterisk's extension notation)."""

import pytest
from hypothesis import given, strategies as st

from gateway.boards.sim.number_pattern import DIGITS, PatternSyntaxError, parse_pattern


@pytest.mark.parametrize("text,yes,no", [
    ("5551234", ["5551234"], ["555123", "55512345", "5551235"]),
    ("*69", ["*69"], ["69"]),
    ("_1800NXXXXXX", ["18002345678", "18009999999"], ["18001345678", "1800234567", "180023456789"]),
    ("_XZN", ["012", "999"], ["001", "911" + "1", "91"]),
    ("_55[1-3]X", ["5510", "5539"], ["5540", "551"]),
    ("_5[15-7*]", ["51", "55", "57", "5*"], ["52", "58"]),
    ("_555.", ["5550", "555123#"], ["555"]),
    ("_555!", ["555", "5551"], ["55"]),
    ("_!", ["", "1", "*#"], []),
    ("_nxx", ["200", "299"], ["100"]),
])
def test_matches(text, yes, no):
    pattern = parse_pattern(text)
    for number in yes:
        assert pattern.matches(number), number
    for number in no:
        assert not pattern.matches(number), number


def test_extends_says_whether_more_digits_could_match():
    assert parse_pattern("5551234").extends("555")
    assert not parse_pattern("5551234").extends("5551234")
    assert not parse_pattern("5551234").extends("556")
    assert parse_pattern("_1800NXXXXXX").extends("1800")
    assert not parse_pattern("_1800NXXXXXX").extends("18001")
    assert parse_pattern("_9.").extends("9") and parse_pattern("_9.").extends("912345")


def test_specificity_orders_numbers_before_patterns_and_narrow_before_wide():
    texts = ["_X.", "_555XXXX", "5551234", "_555NXXX", "_5551XXX", "_555!"]
    ordered = sorted((parse_pattern(t) for t in texts), key=lambda p: p.specificity())
    assert [p.text for p in ordered] == ["5551234", "_5551XXX", "_555NXXX", "_555XXXX", "_555!", "_X."]


@pytest.mark.parametrize("text,message", [
    ("", "empty"),
    ("555-1234", "character 4 '-'"),
    ("_", "at least one position"),
    ("_55.5", "may only end a pattern"),
    ("_5[12", "without its ]"),
    ("_5[]", "allows nothing"),
    ("_5[3-1]", "runs backwards"),
    ("_5[a]", "'a' is not a digit"),
    ("_5Q", "character 3 'Q'"),
    ("1" * 40, "at most 32"),
])
def test_errors_name_what_is_wrong(text, message):
    with pytest.raises(PatternSyntaxError, match=message):
        parse_pattern(text)


@given(st.text(alphabet="_0123456789*#XZNxzn[]-.!ab ", max_size=20))
def test_any_text_is_a_pattern_or_a_clear_error(text):
    try:
        pattern = parse_pattern(text)
    except PatternSyntaxError as exc:
        assert str(exc)
        return
    example = pattern.example()
    assert pattern.matches(example)
    assert all(c in DIGITS for c in example)
    for i in range(len(example)):
        assert pattern.extends(example[:i])
