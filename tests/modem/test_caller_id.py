"""Caller ID as modems report it: formatted TAG = VALUE lines and unformatted SDMF/MDMF hex."""

import pytest

from gateway.errors import ModemError
from gateway.modem import caller_id as cid
from gateway.modem.caller_id import CallerId


def message(kind: int, body: bytes) -> str:
    data = bytes([kind, len(body)]) + body
    return (data + bytes([-sum(data) % 256])).hex().upper()


def test_sdmf_known_layout():
    # SDMF (GR-30-CORE): MMDDHHMM then the number.
    text = message(0x04, b"03211405" + b"5551234")
    assert cid.decode_packet(text) == CallerId(number="5551234", date="0321", time="1405")


def test_mdmf_parameters_and_absence_reasons():
    body = b"\x01\x0810152038" + b"\x04\x01P" + b"\x08\x01O" + b"\x09\x02hi"
    got = cid.decode_packet(message(0x80, body))
    assert got == CallerId(date="1015", time="2038", number_absent="private", name_absent="unavailable",
                           messages=("09026869",))


def test_encode_then_decode_is_the_same_caller():
    for caller in (CallerId(number="8475550001", name="U.S.ROBOTICS", date="1015", time="2038"),
                   CallerId(number_absent="private", date="0101", time="0000"),
                   CallerId(number="1", name_absent="unavailable")):
        assert cid.decode_packet(cid.encode_packet(caller)) == caller
        lines = cid.formatted_lines(caller)
        assert cid.from_fields([cid.tag_line(line) for line in lines]) == caller


@pytest.mark.parametrize("text,complaint", [
    ("80", "at least 3"),
    ("8G01", "hex digits"),
    ("050100FA", "message type 0x05 at byte 0"),
    ("8005010100", "length byte says 5"),
    (message(0x80, b"\x02\x03123")[:-2] + "00", "checksum"),
    (message(0x80, b"\x02\x09123"), "runs past the end"),
    (message(0x80, b"\x01\x031015"[:5]), "not 8"),
    (message(0x04, b"0321"), "shorter than its date"),
    (message(0x80, b"\x02\x0212\x07\x02\x00A"), "byte 0x00 at byte 8"),
])
def test_bad_packets_say_what_and_where(text, complaint):
    with pytest.raises(ModemError, match=complaint) as info:
        cid.decode_packet(text)
    assert info.value.line == text.encode()


def test_formatted_fields_are_checked():
    with pytest.raises(ModemError, match="DATE '1332' is not MMDD"):
        cid.from_fields([("DATE", "1332")])
    with pytest.raises(ModemError, match="TIME '2460' is not HHMM"):
        cid.from_fields([("TIME", "2460")])
    assert cid.from_fields([("NMBR", "O"), ("NAME", "P")]) == CallerId(number_absent="unavailable",
                                                                     name_absent="private")
