"""Fuzzing the modem parsers: any bytes, in any state and any pieces, give events or a ModemError,
never another exception, and the parsers keep no more than their bounds."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.errors import InputError, ModemError
from gateway.modem import at_command, caller_id as cid, compression, v253
from gateway.modem.v253 import NEED_DATA, DceConnection, DteConnection, Mode

# Bytes that steer the parsers (DLE and its codes, line ends, the start of result codes) mixed with any byte.
_STEERING = st.sampled_from([0x10, 0x03, 0x1A, 0x0D, 0x0A, ord("X"), ord("."), ord("O"), ord("K"),
                             ord("b"), ord("!"), ord("^"), ord("A"), ord("T")])
_CHUNK = st.lists(st.one_of(_STEERING, st.integers(0, 255)), max_size=300).map(bytes)
_DTE_EVENTS = (v253.ResultReceived, v253.TextReceived, v253.CommandEchoed, v253.RingReceived,
               v253.CallerIdReceived, v253.CallerIdPacketReceived, v253.RingCadenceReported,
               v253.DleEventReceived, v253.ComplexEventReceived, v253.VoiceReceived, v253.VoiceEnded,
               v253.ReplyRejected, v253.ConnectionClosed)
_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _into(state: str) -> DteConnection:
    conn = DteConnection()
    if state == "command-pending":
        conn.send_command("ATI3")
    elif state != "command":
        conn.send_command({"receive": "AT+VRX", "transmit": "AT+VTX", "duplex": "AT+VTR"}[state])
        conn.receive_data(b"\r\nCONNECT\r\n")
        assert conn.next_event().code == "CONNECT"
    return conn


@_FUZZ
@given(st.sampled_from(["command", "command-pending", "receive", "transmit", "duplex"]), st.lists(_CHUNK, max_size=8),
       st.booleans())
def test_dte_connection_takes_any_bytes(state, chunks, close):
    conn = _into(state)
    for chunk in [c for c in chunks if c] + ([b""] if close else []):
        conn.receive_data(chunk)
        # Bounded: what the parser holds between pieces never grows with the input.
        assert len(conn._line) <= v253.MAX_LINE
        assert conn._packet is None or len(conn._packet) <= v253.MAX_PACKET
        assert not conn._voice
        while (event := conn.next_event()) is not NEED_DATA:
            assert isinstance(event, _DTE_EVENTS), event
            if isinstance(event, v253.ReplyRejected):
                assert isinstance(event.error(), ModemError) and repr(event.data)[:20] in str(event.error())
            if isinstance(event, v253.VoiceReceived):
                assert 0 < len(event.data) <= v253.MAX_VOICE_EVENT
        assert conn.mode in Mode


@_FUZZ
@given(st.sampled_from(list(Mode)), st.lists(_CHUNK, max_size=8))
def test_dce_connection_takes_any_bytes(mode, chunks):
    dce = DceConnection()
    dce.mode = mode
    for chunk in chunks:
        dce.receive_data(chunk)
        while (event := dce.next_event()) is not NEED_DATA:
            assert isinstance(event, (v253.CommandLineReceived, v253.VoiceDataReceived, v253.DleActionReceived,
                                      v253.HostInputRejected))
            if isinstance(event, v253.CommandLineReceived):
                assert event.line[:2].upper() == "AT" and len(event.line) <= v253.MAX_LINE
        assert dce.buffered == 0 and len(dce._line) <= v253.MAX_LINE


@_FUZZ
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=60))
def test_at_command_lines(text):
    for line in ("AT" + text, text):
        try:
            commands = at_command.split(line)
        except InputError as error:
            assert error.offset is not None and 0 <= error.offset <= len(line)
        else:
            assert all(isinstance(c, at_command.AtCommand) for c in commands)


@_FUZZ
@given(st.text(alphabet='0123456789,;()"-+VSM: ABCDLINEARPCMUx', max_size=60))
def test_vsm_lines(text):
    try:
        method = compression.parse_method(text)
    except ModemError as error:
        assert error.line == text.encode()
    else:
        assert method.encoding in compression.ENCODINGS + (None,)


@_FUZZ
@given(st.one_of(st.binary(max_size=40).map(lambda b: b.hex().upper()),
                 st.binary(max_size=40).map(lambda b: (bytes([0x80, len(b)]) + b).hex()),
                 st.text(max_size=40)))
def test_caller_id_packets(text):
    try:
        caller = cid.decode_packet(text)
    except ModemError as error:
        assert error.line is not None
    else:
        assert isinstance(caller, cid.CallerId)
