"""The V.253 wire format without I/O: replies, caller ID lines, <DLE> events and shielding, by state."""

import pytest

from gateway.errors import ModemError, UsageError
from gateway.modem import caller_id as cid
from gateway.modem import v253
from gateway.modem.v253 import (NEED_DATA, CallerIdPacketReceived, CallerIdReceived, CommandEchoed,
                                CommandLineReceived, ComplexEventReceived, ConnectionClosed, DceConnection,
                                DleActionReceived, DleEventReceived, DteConnection, HostInputRejected, Mode,
                                ReplyRejected, ResultReceived, RingCadenceReported, RingReceived, TextReceived,
                                VoiceDataReceived, VoiceEnded, VoiceReceived, shield)


def events(conn, data=None):
    if data is not None:
        conn.receive_data(data)
    out = []
    while (event := conn.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def voice_of(evs):
    return b"".join(e.data for e in evs if isinstance(e, VoiceReceived))


def in_state(command: str) -> DteConnection:
    """A connection brought into a voice state the way a modem does it: the command, then CONNECT."""
    conn = DteConnection()
    assert conn.send_command(command) == command.encode() + b"\r"
    assert events(conn, b"\r\nCONNECT\r\n") == [ResultReceived("CONNECT", "CONNECT")]
    return conn


@pytest.mark.parametrize("line,code", [(code, code) for code in v253.RESULT_CODES] +
                         [("NO DIAL TONE", "NO DIALTONE"), ("CONNECT 33600", "CONNECT"), ("ok", "OK")])
def test_final_result_codes(line, code):
    conn = DteConnection()
    conn.send_command("AT")
    assert events(conn, f"\r\n{line}\r\n".encode()) == [ResultReceived(code, line)]
    assert conn.pending is None


def test_information_text_echo_and_result_in_any_pieces():
    reply = b"ATI3\r\r\nCX93001-EIS_V0.2013-V92\r\n\r\nOK\r\n"
    for size in (1, 2, 3, 7, len(reply)):
        conn = DteConnection()
        conn.send_command("ATI3")
        got = []
        for start in range(0, len(reply), size):
            got += events(conn, reply[start:start + size])
        assert got == [CommandEchoed("ATI3"), TextReceived("CX93001-EIS_V0.2013-V92"), ResultReceived("OK", "OK")]


def test_unsolicited_unknown_line_is_rejected_quoted_and_the_next_line_still_parses():
    conn = DteConnection()
    got = events(conn, b"\r\nHELLO THERE\r\n\r\nRING\r\n")
    assert isinstance(got[0], ReplyRejected) and got[0].data == b"HELLO THERE"
    error = got[0].error()
    assert isinstance(error, ModemError) and isinstance(error, ValueError)
    assert "b'HELLO THERE'" in str(error) and error.line == b"HELLO THERE"
    assert got[1] == RingReceived("RING")


def test_garbled_line_names_the_byte_and_offset():
    conn = DteConnection()
    conn.send_command("AT+FCLASS=?")
    got = events(conn, b"\r\n0,1\x00\xff8\r\nOK\r\n")
    assert isinstance(got[0], ReplyRejected)
    assert got[0].data == b"0,1\x00\xff8" and "0x00 at offset 3" in got[0].reason
    assert "AT+FCLASS=?" in str(got[0].error())
    assert got[1] == ResultReceived("OK", "OK")


def test_overlong_line_is_rejected_without_keeping_it():
    conn = DteConnection()
    conn.send_command("ATI")
    got = events(conn, b"X" * 10_000 + b"\r\nOK\r\n")
    assert isinstance(got[0], ReplyRejected) and "longer than 256" in got[0].reason
    assert len(got[0].data) < 100 and len(conn._line) == 0
    assert got[1] == ResultReceived("OK", "OK")


def test_ring_and_distinctive_ring_reports():
    conn = DteConnection()
    assert events(conn, b"\r\nDRON=20\r\n\r\nRING\r\n\r\nDROF=40\r\n") == [
        RingCadenceReported(True, 20), RingReceived("RING"), RingCadenceReported(False, 40)]


def test_caller_id_formatted_lines_with_and_without_spaces():
    # +VCID=1 / #CID=1 presentation (Hayes, USRobotics references); some modems omit the spaces.
    conn = DteConnection()
    got = events(conn, b"\r\nRING\r\n\r\nDATE = 0321\r\nTIME = 1405\r\nNMBR = 5551234\r\nNAME = JOHN Q. DOE\r\n"
                       b"DDN_NMBR=2010\r\nMESG = 060101\r\n\r\nRING\r\n")
    fields = [(e.tag, e.value) for e in got if isinstance(e, CallerIdReceived)]
    assert fields == [("DATE", "0321"), ("TIME", "1405"), ("NMBR", "5551234"), ("NAME", "JOHN Q. DOE"),
                      ("DDN_NMBR", "2010"), ("MESG", "060101")]
    assert cid.from_fields(fields) == cid.CallerId(number="5551234", name="JOHN Q. DOE", date="0321", time="1405",
                                                   dialled="2010", messages=("060101",))
    assert sum(isinstance(e, RingReceived) for e in got) == 2


def test_caller_id_unformatted_packet():
    caller = cid.CallerId(number="8475550001", name="U.S.ROBOTICS", date="1015", time="2038")
    packet = cid.encode_packet(caller)
    conn = DteConnection()
    got = events(conn, f"\r\nRING\r\n\r\n{packet}\r\n".encode())
    assert got[1] == CallerIdPacketReceived(caller, packet)
    # One bit off: the checksum catches it; the reply is quoted.
    bad = packet[:-2] + format((int(packet[-2:], 16) + 1) % 256, "02X")
    got = events(conn, f"\r\n{bad}\r\n".encode())
    assert isinstance(got[0], ReplyRejected) and "checksum" in got[0].reason and got[0].data == bad.encode()


@pytest.mark.parametrize("code,name", sorted(v253.EVENTS.items()))
def test_every_dle_event_in_command_and_in_receive_state(code, name):
    command = DteConnection()
    assert events(command, b"\x10" + code.encode()) == [DleEventReceived(code, name)]
    receive = in_state("AT+VRX")
    got = events(receive, b"\x80\x81\x10" + code.encode() + b"\x82")
    assert got == [VoiceReceived(b"\x80\x81"), DleEventReceived(code, name), VoiceReceived(b"\x82")]
    if name == "dtmf":
        assert got[1].digit == code


def test_unknown_dle_code_is_rejected_quoted_and_the_stream_goes_on():
    conn = in_state("AT+VRX")
    got = events(conn, b"\x01\x10\x7f\x02")
    assert got[0] == VoiceReceived(b"\x01") and isinstance(got[1], ReplyRejected)
    assert got[1].data == b"\x10\x7f" and "0x7F" in got[1].reason
    assert got[2] == VoiceReceived(b"\x02") and conn.mode is Mode.VOICE_RX


def test_shielding_round_trip_split_at_every_byte():
    samples = bytes(range(256)) + b"\x10\x10\x10" + bytes(range(16, 0, -1))
    wire = shield(samples) + b"\x10\x03\r\nOK\r\n"
    assert wire.count(b"\x10") == 2 * samples.count(b"\x10") + 1
    for cut in range(1, len(wire)):
        conn = in_state("AT+VRX")
        conn.abort_receive()
        got = events(conn, wire[:cut]) + events(conn, wire[cut:])
        assert voice_of(got) == samples
        assert got[-2:] == [VoiceEnded(), ResultReceived("OK", "OK")]
        assert conn.mode is Mode.COMMAND and not conn.ending


def test_dle_sub_is_two_dle_samples():
    conn = in_state("AT+VRX")
    assert voice_of(events(conn, b"\x01\x10\x1a\x02")) == b"\x01\x10\x10\x02"


def test_the_same_bytes_mean_text_in_command_state_and_samples_in_receive_state():
    reply = b"\r\nOK\r\n"
    assert events(DteConnection(), reply) == [ResultReceived("OK", "OK")]
    assert voice_of(events(in_state("AT+VRX"), reply)) == reply


def test_the_lf_after_connect_is_no_sample_even_in_its_own_piece():
    conn = DteConnection()
    conn.send_command("AT+VRX")
    got = events(conn, b"\r\nCONNECT\r") + events(conn, b"\n") + events(conn, b"\n\x11")
    assert got == [ResultReceived("CONNECT", "CONNECT"), VoiceReceived(b"\n\x11")]


def test_transmit_state_shields_our_samples_reads_events_and_ends_on_ok():
    conn = in_state("AT+VTX")
    assert conn.mode is Mode.VOICE_TX
    assert conn.send_voice(b"\x10\x00\x10") == b"\x10\x10\x00\x10\x10"
    assert events(conn, b"\x10b\x105") == [DleEventReceived("b", "busy"), DleEventReceived("5", "dtmf")]
    assert conn.end_transmit() == b"\x10\x03"
    with pytest.raises(UsageError):
        conn.send_voice(b"\x00")
    assert events(conn, b"\r\nOK\r\n") == [ResultReceived("OK", "OK")]
    assert conn.mode is Mode.COMMAND
    assert in_state("AT+VTX").clear_and_end_transmit() == b"\x10\x18\x10\x03"


def test_duplex_both_ways_and_its_end():
    conn = in_state("AT+VTR")
    assert conn.send_voice(b"\x10") == b"\x10\x10"
    assert voice_of(events(conn, b"ab\x10\x10")) == b"ab\x10"
    assert conn.end_duplex() == b"\x10^"
    assert events(conn, b"c\x10\x03\r\nOK\r\n") == [VoiceReceived(b"c"), VoiceEnded(), ResultReceived("OK", "OK")]


def test_state_errors_are_usage_errors():
    conn = in_state("AT+VRX")
    with pytest.raises(UsageError, match="voice receive"):
        conn.send_command("ATH")
    with pytest.raises(UsageError):
        conn.end_transmit()
    with pytest.raises(UsageError):
        DteConnection().send_voice(b"x")
    with pytest.raises(UsageError, match="starts with AT"):
        DteConnection().send_command("ATH\r".replace("AT", "XX"))
    with pytest.raises(UsageError, match="printable"):
        DteConnection().send_command("AT\x10")


def test_complex_event_report_and_end_of_stream():
    conn = DteConnection()
    assert events(conn, b"\x10XNMBR=5551234\x10.") == [ComplexEventReceived("NMBR=5551234")]
    assert events(conn, b"\x10X" + b"y" * 300 + b"\x10.")[0].reason.startswith("a <DLE>X report longer")
    conn.receive_data(b"")
    assert events(conn) == [ConnectionClosed()]


# ---- the modem's side ----

def test_dce_splits_command_lines_after_noise_and_edits_backspace():
    dce = DceConnection()
    dce.receive_data(b"\x10!\x10\x03\rxyAT+VSM=?\rat+vls=1\x080\r\r")
    assert events(dce) == [CommandLineReceived("AT+VSM=?"), CommandLineReceived("at+vls=0")]


def test_dce_transmit_state_unshields_and_takes_actions_in_order():
    dce = DceConnection()
    dce.mode = Mode.VOICE_TX
    dce.receive_data(b"\x01\x10\x10\x02\x10\x1a\x10\x18\x03\x10\x03")
    assert events(dce) == [VoiceDataReceived(b"\x01\x10\x02\x10\x10"), DleActionReceived("\x18", "clear"),
                           VoiceDataReceived(b"\x03"), DleActionReceived("\x03", "end")]


def test_dce_receive_state_ignores_samples_and_rejects_unknown_actions():
    dce = DceConnection()
    dce.mode = Mode.VOICE_RX
    dce.receive_data(b"abc\x10z\x10!")
    got = events(dce)
    assert isinstance(got[0], HostInputRejected) and got[0].data == b"\x10z"
    assert got[1] == DleActionReceived("!", "abort")
