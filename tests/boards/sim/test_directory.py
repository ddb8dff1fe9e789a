"""The simulated network's directory: the format of DIRECTORY.md, checked with lines."""

import pytest
from hypothesis import given, settings, strategies as st

from gateway.boards.sim.directory import (BEHAVIOURS, DEFAULT_DIRECTORY, DirectoryError, Exchange, load_directory,
                                          parse_directory)
from gateway.boards.sim.voices import voice_names
from gateway.errors import InputError


def test_the_default_directory_is_valid_and_has_every_behaviour():
    directory = load_directory()
    assert directory.country == "us"
    assert {e.behaviour for e in directory.entries} == set(BEHAVIOURS)
    assert directory.inbound.calls_per_hour > 0 and len(directory.inbound.callers) >= 2
    assert any(e.pattern.is_pattern for e in directory.entries)
    assert str(DEFAULT_DIRECTORY) == directory.source


def test_defaults_are_filled_per_behaviour():
    d = parse_directory("""
[numbers."1"]
behaviour = "human"
[numbers."2"]
behaviour = "machine"
beep = "multi"
[numbers."3"]
behaviour = "sit"
[numbers."4"]
behaviour = "fax"
""")
    human, machine, sit, fax = d.entries
    assert human.answer_after_rings == 3 and human.hangup_after_s == 30.0 and human.voice == voice_names("person")
    assert machine.answer_after_rings == 4 and machine.beep_hz == (1000.0, 1400.0, 1800.0) and machine.beep_ms == 150
    assert sit.sit == "ic" and sit.announcement == "announcement-not-in-service-en"
    assert fax.hangup_after_s == 35.0
    assert d.exchange == Exchange()
    assert set(human.settings()) >= {"answer_after_rings", "voice", "battery_drop_ms"}
    assert "beep" not in human.settings() and "cause" not in human.settings()


def test_sit_defaults_to_the_itu_tone_where_the_plan_has_no_telcordia_codes():
    d = parse_directory('country = "de"\n[numbers."1"]\nbehaviour = "sit"\n')
    assert d.entries[0].sit == "itu"


def test_lookup_prefers_numbers_then_the_narrowest_pattern():
    d = parse_directory("""
[numbers."_X."]
behaviour = "congestion"
[numbers."_555XXXX"]
behaviour = "busy"
[numbers."_5551XXX"]
behaviour = "no-answer"
[numbers."5551234"]
behaviour = "human"
""")
    assert d.lookup("5551234").behaviour == "human"
    assert d.lookup("5551235").behaviour == "no-answer"
    assert d.lookup("5552000").behaviour == "busy"
    assert d.lookup("12").behaviour == "congestion"
    assert d.lookup("") is None
    assert d.extends("555") and d.extends("5551234")          # _X. could always go on


def test_phones_and_lines():
    d = parse_directory("""
[lines]
first = "0301230000"
"FXO4-ABC.1" = "0309999999"
[phones."*"]
talk_s = 5.0
[phones."FXS4-X.2"]
answer_after_rings = 4
originate = "123"
""")
    assert d.first_line == "0301230000" and d.line_numbers == (("FXO4-ABC", 1, "0309999999"),)
    assert d.phone("FXS4-X", 2).answer_after_rings == 4 and d.phone("FXS4-X", 2).talk_s == 5.0
    assert d.phone("FXS4-X", 1).answer_after_rings == 2 and d.phone("FXS4-X", 1).originate is None


BAD = [
    ('country = "us"\n[numbers."1"\nbehaviour = "busy"\n', 2, None, "not valid TOML"),
    ('colour = "red"\n', 1, "colour", "unknown key (keys here: country, exchange"),
    ('country = "xx"\n', 1, "country", "no tone plan for this country (plans: at, au,"),
    ('[exchange]\ninterdigit_timeout_s = 0.1\n', 2, "exchange.interdigit_timeout_s", "0.5..60"),
    ('[exchange]\nhangup = 400\n', 2, "exchange.hangup", "keys here: first_digit_timeout_s"),
    ('\n[numbers."1"]\nname = "x"\n', 2, "numbers.1", "no behaviour"),
    ('[numbers."1"]\nbehaviour = "bsy"\n', 2, "numbers.1.behaviour", "not one of human, machine, busy"),
    ('[numbers."1"]\nbehaviour = "busy"\nbeep = "sine"\n', 3, "numbers.1.beep",
     "does not apply to behaviour busy (it applies to machine)"),
    ('[numbers."1"]\nbehaviour = "human"\nbeeep = "sine"\n', 3, "numbers.1.beeep", "unknown key (keys for human:"),
    ('[numbers."1"]\nbehaviour = "human"\nanswer_after_rings = 2\nanswer_after_s = 3\n', 4,
     "numbers.1.answer_after_s", "not both"),
    ('[numbers."1"]\nbehaviour = "human"\nanswer_after_rings = "two"\n', 3, "numbers.1.answer_after_rings",
     "a whole number 0..100"),
    ('[numbers."1"]\nbehaviour = "human"\nreversal = 1\n', 3, "numbers.1.reversal", "true or false"),
    ('[numbers."1"]\nbehaviour = "human"\nvoice = "greeting-fr"\n', 3, "numbers.1.voice", "not a person voice"),
    ('[numbers."1"]\nbehaviour = "human"\npause_s = [3.0, 1.0]\n', 3, "numbers.1.pause_s", "first must not be"),
    ('[numbers."1"]\nbehaviour = "machine"\nbeep_hz = [1000, 5000]\n', 3, "numbers.1.beep_hz", "Hz 100..3900"),
    ('[numbers."1"]\nbehaviour = "reject"\ncause = 200\n', 3, "numbers.1.cause", "1..127"),
    ('[numbers."1"]\nbehaviour = "sit"\nsit = "xx"\n', 3, "numbers.1.sit", "ic, vc, ro, nc, itu"),
    ('[numbers."_55.5"]\nbehaviour = "busy"\n', 1, "numbers._55.5", "may only end a pattern"),
    ('[numbers.1]\nbehaviour = "busy"\n[numbers."12-3"]\nbehaviour = "busy"\n', 3, "numbers.12-3",
     "character 3 '-'"),
    ('numbers = 3\n', 1, "numbers", "a table ([numbers]) is expected"),
    ('[lines]\nfirst = "_1X"\n', 2, "lines.first", "not a pattern"),
    ('[lines]\nsecond = "1"\n', 2, "lines.second", "\"SERIAL.PORT\" = number"),
    ('[lines]\n"A.0" = "1"\n"B.1" = "1"\n', 3, "lines.B.1", "line A.0 has this number too"),
    ('[inbound]\ncalls_per_hour = -1\n', 2, "inbound.calls_per_hour", "calls an hour 0..3600"),
    ('[inbound.callers.x]\nname = "X"\n', 1, "inbound.callers.x", "needs a number"),
    ('[inbound.callers.x]\nnumber = "1"\ndigits = "12E"\n', 3, "inbound.callers.x.digits", "DTMF keys"),
    ('[inbound.callers.x]\nnumber = "1"\nweight = 0\n', 1, "inbound.callers.x", "add up to 0"),
    ('[phones.port1]\ntalk_s = 3\n', 1, "phones.port1", "[phones.\"SERIAL.PORT\"]"),
    ('[phones."*"]\nring_after = 3\n', 2, "phones.*.ring_after", "unknown key"),
]


@pytest.mark.parametrize("text,line,field,message", BAD, ids=[b[3][:30] for b in BAD])
def test_every_error_names_the_file_the_line_and_the_key(text, line, field, message):
    with pytest.raises(DirectoryError) as info:
        parse_directory(text, source="dir.toml")
    error = info.value
    assert isinstance(error, InputError) and isinstance(error, ValueError)
    assert error.line == line and error.field == field
    assert message in str(error)
    assert str(error).startswith(f"dir.toml:{line}") if line else str(error).startswith("dir.toml")


def test_file_errors(tmp_path):
    with pytest.raises(DirectoryError, match="cannot read"):
        load_directory(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'country = "us"\n# caf\xe9\n')
    with pytest.raises(DirectoryError, match=r"bad.toml:2: not UTF-8 text: byte 0xe9"):
        load_directory(bad)
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (1024 * 1024 + 1))
    with pytest.raises(DirectoryError, match="larger than"):
        load_directory(big)


LINES = st.sampled_from([
    'country = "us"', 'country = "de"', 'country = 3', '[exchange]', 'interdigit_timeout_s = 2.5', 'noise_dbm0 = -99',
    '[numbers."1"]', '[numbers."_1X."]', '[numbers."_1[2"]', 'behaviour = "human"', 'behaviour = "machine"',
    'behaviour = "reject"', 'cause = 17', 'beep = "multi"', 'beep_hz = []', 'voice = []', 'rings = 0',
    'greeting = "greeting-fr"', '[inbound]', 'calls_per_hour = 1e9', '[inbound.callers.a]', 'number = "12"',
    'presentation = "restricted"', '[phones."*"]', 'talk_s = 3', '[lines]', '"X.1" = "5"', 'x = [', '"', '',
])


@settings(max_examples=300)
@given(st.lists(LINES, max_size=12))
def test_any_file_is_a_directory_or_a_clear_error(lines):
    try:
        directory = parse_directory("\n".join(lines), source="f.toml")
    except DirectoryError as exc:
        assert str(exc).startswith("f.toml")
        return
    for entry in directory.entries:
        assert entry.behaviour in BEHAVIOURS and entry.as_json()["number"] == entry.number
