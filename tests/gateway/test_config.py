"""The daemon's config file: what it takes, and errors that name the line and key."""

import pytest

from gateway.boards.config import ConfigError
from gateway.config import default_config, load_config, parse_daemon_config

GOOD = """
country = "de"
log_level = "debug"

[cti]
socket = "/tmp/x/cti.sock"
mode = "0600"
allow_users = ["dialer", 1001]

[store]
db = "cdr.db"

[network]
seed = 7

[[boards]]
simulated = "fxo4"
name = "fxo1"
law = "ulaw"
[boards.fxo]
dial_method = "pulse"
no_answer_timeout = 45

[[boards]]
url = "tcp://127.0.0.1:7001"
name = "fxs1"
extensions = ["201", "202"]
country = "gb"
[boards.fxs]
interdigit = 3
"""


def test_a_full_config():
    c = parse_daemon_config(GOOD, "gw.toml")
    assert c.country == "de" and c.log_level == "debug" and c.seed == 7 and c.db == "cdr.db"
    assert c.cti.mode == 0o600 and c.cti.allow_users == ("dialer", 1001)
    fxo, fxs = c.boards
    assert fxo.simulated == "fxo4" and fxo.law == "ulaw" and fxo.fxo.dial_method == "pulse"
    assert fxo.fxo.no_answer_timeout == 45
    assert fxs.url.startswith("tcp://") and fxs.extensions == ("201", "202") and fxs.fxs == {"interdigit": 3}
    assert c.simulated


MODEMS = """
country = "de"

[[modems]]
url = "serial:///dev/ttyACM0?baud=115200"
name = "usb0"
number = "2015550199"
keepalive = 10
[modems.fxo]
no_answer_timeout = 40

[[modems]]
simulated = true
name = "sim0"
group = "outside"
country = "us"
"""


def test_modems():
    c = parse_daemon_config(MODEMS, "gw.toml")
    usb, sim = c.modems
    assert (usb.url, usb.simulated, usb.group, usb.number, usb.keepalive) == (
        "serial:///dev/ttyACM0?baud=115200", False, "modem", "2015550199", 10.0)
    assert usb.fxo.no_answer_timeout == 40 and usb.law is None and usb.country is None
    assert (sim.simulated, sim.url, sim.group, sim.country) == (True, None, "outside", "us")
    assert c.simulated and not c.boards


def test_default_is_simulated_fxo_and_fxs():
    c = default_config()
    assert [b.simulated for b in c.boards] == ["fxo4", "fxs4"]


@pytest.mark.parametrize("text,line,words", [
    ('colour = "red"', 1, "unknown key"),
    ('country = "xx"', 1, "not a known country"),
    ('log_level = "loud"', 1, "one of debug"),
    ('[cti]\nmode = "rwx"', 2, "octal mode"),
    ('[cti]\nallow_users = [true]', 2, "names"),
    ('[[boards]]\nname = "a"', 1, "either url"),
    ('[[boards]]\nurl = "x"\nsimulated = "fxo4"\nname = "a"', 1, "either url"),
    ('[[boards]]\nsimulated = "e1x9"\nname = "a"', 2, "one of fxo4"),
    ('[[boards]]\nsimulated = "fxo4"', 1, "needs a name"),
    ('[[boards]]\nsimulated = "fxo4"\nname = "Bad Name"', 3, "short name"),
    ('[[boards]]\nsimulated = "fxo4"\nname = "a"\nlaw = "pcm"', 4, "alaw or ulaw"),
    ('[[boards]]\nsimulated = "fxo4"\nname = "a"\n[boards.fxo]\ndial_method = "tones"', 1, "dial_method"),
    ('[[boards]]\nsimulated = "fxo4"\nname = "a"\n[boards.fxo]\nwait = 3', 5, "unknown key"),
    ('[[boards]]\nsimulated = "fxo4"\nname = "a"\n[boards.fxo]\nno_answer_timeout = "long"', 5, "number"),
    ('[[boards]]\nsimulated = "fxs4"\nname = "a"\nextensions = [201]', 4, "strings"),
    ('[[boards]]\nsimulated = "fxo4"\nname = "a"\n[[boards]]\nsimulated = "fxo4"\nname = "a"', 6, "two boards"),
    ('[store]\ndb = 3', 2, "string"),
    ('[[modems]]\nname = "m"', 1, "either url"),
    ('[[modems]]\nsimulated = "yes"\nname = "m"', 2, "true or false"),
    ('[[modems]]\nurl = "x"\nsimulated = true\nname = "m"', 1, "either url"),
    ('[[modems]]\nurl = "sim://fxo4"\nname = "m"', 2, "a modem is reached by"),
    ('[[modems]]\nurl = "serial:dev"\nname = "m"', 2, "device path"),
    ('[[modems]]\nsimulated = true', 1, "needs a name"),
    ('[[modems]]\nsimulated = true\nname = "m"\nnumber = 2015550199', 4, "string"),
    ('[[modems]]\nsimulated = true\nname = "m"\nnumber = "201-555"', 4, "up to 20 digits"),
    ('[[modems]]\nsimulated = true\nname = "m"\nkeepalive = 0', 4, "1 .. 3600"),
    ('[[modems]]\nsimulated = true\nname = "m"\nextensions = ["1"]', 4, "unknown key"),
    ('[[modems]]\nsimulated = true\nname = "m"\n[modems.fxo]\ndial_method = "pulse"', 5, "DTMF only"),
    ('[[boards]]\nsimulated = "fxo4"\nname = "a"\n[[modems]]\nsimulated = true\nname = "a"', 6, "has this name"),
    ('country = ', 1, "not valid TOML"),
])
def test_errors_name_line_and_key(text, line, words):
    with pytest.raises(ConfigError) as err:
        parse_daemon_config(text, "gw.toml")
    assert words in str(err.value)
    if line:
        assert f"gw.toml:{line}" in str(err.value) or err.value.line in (None, line)


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "none.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(tmp_path / "bin.toml")
