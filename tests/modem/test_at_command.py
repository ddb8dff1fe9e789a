"""AT command lines split as a modem reads them (V.250)."""

import pytest

from gateway.errors import InputError
from gateway.modem.at_command import AtCommand, split


@pytest.mark.parametrize("line,commands", [
    ("AT", []),
    ("AT&FE0V1Q0", [AtCommand("&F", "action"), AtCommand("E", "action", "0"), AtCommand("V", "action", "1"),
                    AtCommand("Q", "action", "0")]),
    ("at i3", [AtCommand("I", "action", "3")]),
    ("AT+VSM=131,8000;+VLS=1", [AtCommand("+VSM", "set", "131,8000"), AtCommand("+VLS", "set", "1")]),
    ("AT+FCLASS=?;+FCLASS?", [AtCommand("+FCLASS", "test"), AtCommand("+FCLASS", "read")]),
    ("ATS7=30S0?", [AtCommand("S7", "set", "30"), AtCommand("S0", "read")]),
    ("AT#CID=1", [AtCommand("#CID", "set", "1")]),
    ("ATE0+VRX", [AtCommand("E", "action", "0"), AtCommand("+VRX", "action")]),
    ('AT+VTS=[933,0,50],{1,10}', [AtCommand("+VTS", "set", "[933,0,50],{1,10}")]),
    ('AT+XNAME="a;b";H', [AtCommand("+XNAME", "set", '"a;b"'), AtCommand("H", "action")]),
    ("ATX4DT 555-1234;", [AtCommand("X", "action", "4"), AtCommand("D", "action", "T 555-1234;")]),
])
def test_split(line, commands):
    assert split(line) == commands


@pytest.mark.parametrize("line,offset", [("XY", 0), ("ATS=1", 2), ("ATS7", 4), ("AT&", 2), ("AT+", 2),
                                         ("AT+VSM=?X", 8), ('AT+X="a', 5), ("AT%", 2), ("ATS1=", 5)])
def test_errors_name_the_offset(line, offset):
    with pytest.raises(InputError) as info:
        split(line)
    assert info.value.offset == offset and repr(line) in str(info.value)
