"""Board config files (gateway.boards.config): the requests they make, and errors on the right line."""

import pytest

from gateway.boards import protocol as p
from gateway.boards.config import ConfigError, ConfigIncompatibleError, KeyLines, diff, parse_config

E1 = """\
# two spans: PRI to the exchange, R2 to an old PBX
kind = "e1x2"

[span.0]
framing = "ccs"
crc4 = true
clock_priority = 1
signalling = "pri-cpe"

[span.1]
framing = "cas"
crc4 = false
coding = "ami"
clock_priority = 2
law = "ulaw"
signalling = "r2"
[span.1.channels]
"11-15" = "unused"
"17" = "em"
"""

FXO = """\
kind = "fxo4"
tone_zone = "de"

[port.0]
signalling = "groundstart"
rx_gain = -3.5

[port.3]
tone_zone = "fr"
law = "ulaw"
tx_gain = 2
"""


def test_e1_config_makes_configure_span_requests():
    config = parse_config(E1, "e1.toml")
    assert config.requests() == [
        p.ConfigureSpan(0, p.Framing.CCS, True, p.LineCoding.HDB3, 1, p.Law.ALAW),
        p.ConfigureSpan(1, p.Framing.CAS, False, p.LineCoding.AMI, 2, p.Law.ULAW),
    ]
    channels = dict(config.spans[1].channels)
    assert channels[1] == "r2" and channels[11] == "unused" and channels[17] == "em" and 16 not in channels
    assert set(dict(config.spans[0].channels).values()) == {"bearer"}


def test_fxo_config_makes_configure_port_requests_with_defaults():
    config = parse_config(FXO, "fxo.toml")
    assert config.requests() == [p.ConfigurePort(0, p.Law.ALAW, "de", -35, 0),
                                 p.ConfigurePort(3, p.Law.ULAW, "fr", 0, 20)]
    assert config.ports[0].signalling == "groundstart"


def test_canonical_form_reads_back_and_diff_names_each_change():
    config = parse_config(E1, "e1.toml")
    assert parse_config(config.to_toml(), "canonical") == config
    changed = parse_config(E1.replace("crc4 = false", "crc4 = true").replace('"17" = "em"', ""), "e1.toml")
    assert diff(config, changed) == ['~ span.1.channels.17: "em" -> "r2"', "~ span.1.crc4: false -> true"]
    assert diff(None, config)[0] == '+ kind = "e1x2"'
    assert diff(config, config) == []


def line_of_error(text, source="site.toml"):
    with pytest.raises(ConfigError) as info:
        parse_config(text, source)
    return info.value.line, str(info.value)


@pytest.mark.parametrize("old,new,line,complaint", [
    ('framing = "cas"', 'framing = "cass"', 11, "span.1.framing = 'cass': not one of cas, ccs"),
    ("crc4 = false", 'crc4 = "no"', 12, "span.1.crc4 = 'no': true or false is expected"),
    ("clock_priority = 2", "clock_priority = 1", 14, "span 0 has this clock priority too"),
    ("clock_priority = 2", "clock_priority = 300", 14, "a whole number 0..255"),
    ('law = "ulaw"', 'law = "mu"', 15, "not one of alaw, ulaw"),
    ('"17" = "em"', '"16" = "em"', 19, "timeslot 16 carries the span's signalling"),
    ('"17" = "em"', '"12" = "em"', 19, "timeslot 12 is in \"11-15\" too"),
    ('"17" = "em"', '"17-40" = "em"', 19, "within 1..31"),
    ('"17" = "em"', '"17" = "bearer"', 19, "not one of r2, em, unused"),
    ("[span.1]", "[span.2]", 10, "a e1x2 has spans 0..1"),
    ('coding = "ami"', 'codeing = "ami"', 13, "span.1.codeing: unknown key"),
    ('kind = "e1x2"', 'kind = "e1x3"', 2, "not one of e1x2, fxo4, fxs4"),
    ("crc4 = true", "crc4 = tru", 6, "not valid TOML"),
])
def test_an_error_names_its_line(old, new, line, complaint):
    assert old in E1
    found_line, message = line_of_error(E1.replace(old, new, 1))
    assert found_line == line, message
    assert message.startswith(f"site.toml:{line}: ") and complaint in message


@pytest.mark.parametrize("old,new,line,complaint", [
    ("rx_gain = -3.5", "rx_gain = -3.55", 6, "steps of 0.1 dB"),
    ("tx_gain = 2", "tx_gain = 20", 11, "-12 .. 12"),
    ('tone_zone = "fr"', 'tone_zone = "FR"', 9, "two lowercase letters"),
    ('tone_zone = "de"\n', "", 3, "no tone_zone"),
    ("[port.3]", "[port.4]", 8, "a fxo4 has ports 0..3"),
    ("[port.3]", "[span.0]", 8, "a fxo4 has no spans"),
])
def test_port_errors_name_their_line(old, new, line, complaint):
    found_line, message = line_of_error(FXO.replace(old, new, 1))
    assert (found_line, complaint in message) == (line, True), message


def test_wrong_kind_is_incompatible_and_a_missing_kind_is_named():
    with pytest.raises(ConfigIncompatibleError):
        parse_config(FXO.replace("[port.3]", "[span.0]"), "x")
    line, message = line_of_error("[port.0]\n")
    assert line == 1 and "no `kind" in message


def test_key_lines_handle_quoted_and_dotted_keys_and_multiline_strings():
    where = KeyLines('a = """\nb = 1\n"""\n[t."x.y"]\nc.d = 2\n  e = 3 # c\n')
    assert where.line("a") == 1 and where.line("b") is None
    assert where.line("t", "x.y") == 4 and where.line("t", "x.y", "c", "d") == 5 and where.line("t", "x.y", "e") == 6
    assert where.line("t", "x.y", "zz") == 4  # unknown: its table's line
