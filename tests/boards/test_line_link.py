"""The line side's codec (boards/sim/line_link.py) against boards/sim/LINESIDE.md: the
document's example, round trips of every message, refusals that name the field, fuzzing of
the decoder, and the board's own TOCK receiver (C, network_link.c, through the simulator's
--selftest-line-decode) held to the Python decoder on the same bytes."""

import random
import re
import subprocess
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.boards.protocol import FrameError
from gateway.boards.sim import line_link as ll
from gateway.boards.sim.line_link import Hello, LineDecoder, Refused, Welcome
from gateway.boards.sim.lineside import BoardAttached, PortDrive, PortSense, SpanDrive, SpanSense, Tick, Tock
from gateway.errors import InputError, UsageError
from tests.boards.test_protocol_fuzz import mutate, mutations   # the frame codec's mutations, on line frames

FXO = BoardAttached("fxo4", "FXO4-0000ABCD", 4, 0)
E1 = BoardAttached("e1x2", "E1X2-00000001", 0, 2)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def frame(type_code: int, seq: int, payload: bytes) -> bytes:
    """PROTOCOL.md's frame, written out here apart from the codec."""
    body = bytes([1, type_code]) + seq.to_bytes(2, "little") + len(payload).to_bytes(2, "little") + payload
    return b"LG" + body + zlib.crc32(body).to_bytes(4, "little")


def block(seed: int) -> bytes:
    return random.Random(seed).randbytes(160)


def fxo_tick(time_ms=1000) -> Tick:
    return Tick(FXO.serial, time_ms, (
        PortDrive(0, "alaw", offhook=True, hook_changes=((10, True),), battery=False, audio=block(1)),
        *(PortDrive(p, "alaw", battery=False) for p in (1, 2, 3))))


def e1_tick() -> Tick:
    return Tick(E1.serial, 123456, (), (
        SpanDrive(0, "ulaw", audio={1: block(2), 31: block(3)}, cas={}, hdlc=(b"\x00\x01\x7f", bytes(260))),
        SpanDrive(1, "alaw", audio={17: block(4)}, cas={ts: ts % 16 for ts in ll.TIMESLOTS}, hdlc=(b"\x02",))))


def test_the_example_of_the_document():
    payload = h("e8 03 00 00  04  00 01 00 01 0a 00 01  01 00 00 00  02 00 00 00  03 00 00 00  00  01 00")
    data = ll.encode_tick(fxo_tick(), 5)
    assert data == frame(0x53, 5, payload) + frame(0x55, 5, h("00 00") + block(1))
    [(seq, tick)] = LineDecoder(FXO).feed(data)
    assert seq == 5 and tick == fxo_tick()


@pytest.mark.parametrize("board,message,encode", [
    (None, Hello(FXO), lambda m, s: ll.encode_hello(m, s)),
    (None, Hello(E1, version=7), lambda m, s: ll.encode_hello(m, s)),
    (None, Welcome(), lambda m, s: ll.encode_welcome(s)),
    (None, Refused("a board with serial FXO4-1 is attached already ✓"), lambda m, s: ll.encode_refused(m.reason, s)),
    (FXO, fxo_tick(), ll.encode_tick),
    (FXO, Tick(FXO.serial, 2 ** 32 - 1, tuple(
        PortDrive(p, "ulaw", offhook=p % 2 == 1, ringing=p == 2, battery=p != 3, reversed=p == 0,
                  hook_changes=((15, True), (10, False), (10, True))[: p] if p % 2 else ((5, True), (0, False))[:p],
                  audio=None) for p in range(4))), ll.encode_tick),
    (E1, e1_tick(), ll.encode_tick),
    (FXO, Tock((PortSense(3, ring=True, audio=block(5)), PortSense(0, battery=False, reversed=True),
                PortSense(1, offhook=True, audio=block(6)))), ll.encode_tock),
    (FXO, Tock(), ll.encode_tock),
    (E1, Tock(spans=(SpanSense(1, signal=False, cas={5: 9, 31: 0}, audio={2: block(7)}, hdlc=(b"\x01" * 17,)),
                     SpanSense(0, audio={1: block(8), 15: block(9)}, hdlc=(b"\x00\x03",) * 16))), ll.encode_tock),
])
def test_round_trips(board, message, encode):
    data = encode(message, 0x1234 if not isinstance(message, (Hello, Welcome, Refused)) else 0)
    for chunk in (len(data), 1, 7):          # any chunking
        decoder = LineDecoder(board)
        got = []
        for at in range(0, len(data), chunk):
            got += decoder.feed(data[at:at + chunk])
        [(seq, decoded)] = got
        if isinstance(message, Tock):           # ports and spans come back in wire order
            message = Tock(tuple(sorted(message.ports, key=lambda p: p.port)),
                           tuple(sorted(message.spans, key=lambda s: s.span)))
        assert decoded == message and not decoder.in_message


def test_a_hello_tells_the_decoder_its_board():
    decoder = LineDecoder()
    out = decoder.feed(ll.encode_hello(Hello(FXO)) + ll.encode_tick(fxo_tick(), 1))
    assert [m for _, m in out] == [Hello(FXO), fxo_tick()] and decoder.board == FXO


def refusal(board, data: bytes) -> FrameError:
    with pytest.raises(FrameError) as info:
        LineDecoder(board).feed(data)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    return info.value


def tick_head(ports=b"", spans=b"", nports=None, nspans=None, counts=b"\x00\x00", time=b"\x00\x00\x00\x00"):
    nports = len(ports) // 4 if nports is None else nports
    return time + bytes([nports]) + ports + bytes([len(spans) // 6 if nspans is None else nspans]) + spans + counts


FOUR_IDLE = b"".join(bytes([p, 0, 0, 0]) for p in range(4))


@pytest.mark.parametrize("board,data,field,offset", [
    (FXO, frame(0x57, 0, b""), "type", 3),
    (FXO, b"xx" + frame(0x51, 0, b"\x01"), "sync", None),
    (None, frame(0x50, 0, h("01 04") + bytes(16) + h("04 00")), "HELLO.kind", 9),
    (None, frame(0x50, 0, h("01 02") + b"FX\x01" + bytes(13) + h("04 00")), "HELLO.serial", 12),
    (None, frame(0x50, 0, h("01 02") + bytes(16) + h("05 00")), "HELLO.ports", 26),
    (None, frame(0x50, 0, h("01 02") + bytes(16) + h("00 00")), "HELLO.ports", 26),
    (None, frame(0x50, 0, h("01 01") + bytes(16) + h("01 02")), "HELLO.ports", 26),
    (None, frame(0x50, 0, h("01 02") + bytes(16) + h("01 01")), "HELLO.spans", 27),
    (None, frame(0x50, 0, h("01 02") + bytes(16) + h("04")), "HELLO.payload", 6),
    (None, frame(0x52, 0, b""), "REFUSED.reason", 8),
    (None, frame(0x52, 0, b"\xff"), "REFUSED.reason", 8),
    (FXO, frame(0x53, 1, tick_head(FOUR_IDLE[:12], nports=3)), "TICK.ports", 12),
    (FXO, frame(0x53, 1, tick_head(FOUR_IDLE[:12] + h("00 00 00 00")[:4])), "TICK.ports[3].port", 25),
    (FXO, frame(0x53, 1, tick_head(h("00 10 00 00") + FOUR_IDLE[4:])), "TICK.ports[0].drive", 14),
    (FXO, frame(0x53, 1, tick_head(h("00 00 02 00") + FOUR_IDLE[4:])), "TICK.ports[0].law", 15),
    (FXO, frame(0x53, 1, tick_head(h("00 00 00 09") + FOUR_IDLE[4:])), "TICK.ports[0].changes", 16),
    (FXO, frame(0x53, 1, tick_head(h("00 01 00 02 05 00 01 0a 00 01") + FOUR_IDLE[4:], nports=4)),
     "TICK.ports[0].changes[1].ms_before", 20),
    (FXO, frame(0x53, 1, tick_head(h("00 00 00 01 05 00 01") + FOUR_IDLE[4:], nports=4)),
     "TICK.ports[0].changes[0].offhook", 19),
    (FXO, frame(0x53, 1, tick_head(FOUR_IDLE)[:-1]), "TICK.payload", 6),
    (FXO, frame(0x53, 1, tick_head(FOUR_IDLE) + b"\x00"), "TICK.payload", 6),
    (E1, frame(0x53, 1, tick_head(spans=h("00 00 01 00 00 00 00") + h("01 00 00 00 00 00"), nspans=2)),
     "TICK.spans[0].cas_mask", 16),
    (E1, frame(0x53, 1, tick_head(spans=h("00 00 02 00 00 00 10") + h("01 00 00 00 00 00"), nspans=2)),
     "TICK.spans[0].abcd", 20),
    (FXO, frame(0x54, 1, h("01 04 00 00 00")), "TOCK.ports[0].port", 9),
    (FXO, frame(0x54, 1, h("02 01 00 01 00 00 00 00")), "TOCK.ports[1].port", 11),
    (FXO, frame(0x54, 1, h("01 01 20 00 00 00")), "TOCK.ports[0].sense", 10),
    (E1, frame(0x54, 1, h("00 01 00 02 00 00 00 00 00 00")), "TOCK.spans[0].signal", 11),
    (FXO, frame(0x54, 1, h("00 00 01 00")) + frame(0x55, 1, h("00 00") + bytes(160)), "LINE_AUDIO.unit", 24),
    (FXO, frame(0x54, 1, h("01 00 00 00 01 00")) + frame(0x55, 2, h("00 00") + bytes(160)), "LINE_AUDIO.seq", 22),
    (FXO, frame(0x55, 1, h("00 00") + bytes(160)), "LINE_AUDIO.seq", 4),
    (FXO, frame(0x54, 1, h("01 00 00 00 01 00")) + frame(0x55, 1, h("00 10") + bytes(160)),
     "LINE_AUDIO.channel", 27),
    (FXO, frame(0x54, 1, h("01 00 00 00 01 00")) + frame(0x55, 1, h("00 00") + bytes(159)),
     "LINE_AUDIO.payload", 24),
    (FXO, frame(0x54, 1, h("02 00 00 01 00 00 02 00")) + frame(0x55, 1, h("01 00") + bytes(160))
     + frame(0x55, 1, h("00 00") + bytes(160)), "LINE_AUDIO.unit", 20 + 174 + 8),
    (FXO, frame(0x54, 1, h("01 00 00 00 01 00")) + frame(0x54, 2, h("00 00 00 00")), "TOCK", 18),
    (E1, frame(0x54, 1, h("00 01 00 01 00 00 00 00 00 01")) + frame(0x56, 1, h("01 7f")), "LINE_HDLC.span", 30),
    (E1, frame(0x54, 1, h("00 01 00 01 00 00 00 00 00 01")) + frame(0x56, 1, h("00")), "LINE_HDLC.payload", 28),
    (E1, frame(0x54, 1, h("00 01 00 01 00 00 00 00 00 11")) + frame(0x56, 1, h("00 01")) * 17, "LINE_HDLC",
     22 + 16 * 14),
])
def test_refusals_name_the_field_and_its_offset(board, data, field, offset):
    error = refusal(board, data)
    assert (error.field, error.offset) == (field, offset), str(error)


@pytest.mark.parametrize("make,complaint", [
    (lambda: ll.encode_tick(Tick("x", -1), 0), "TICK.time_ms"),
    (lambda: ll.encode_tick(Tick("x", 0, (PortDrive(0, "slin"),)), 0), "TICK.ports[0].law"),
    (lambda: ll.encode_tick(Tick("x", 0, (PortDrive(0, "alaw"), PortDrive(0, "alaw"))), 0), "port 0 given twice"),
    (lambda: ll.encode_tick(Tick("x", 0, (PortDrive(0, "alaw", audio=b"\x00"),)), 0), "TICK.ports[0].audio"),
    (lambda: ll.encode_tick(Tick("x", 0, (PortDrive(0, "alaw", hook_changes=((5, True), (10, False))),)), 0),
     "oldest first"),
    (lambda: ll.encode_tick(Tick("x", 0, (PortDrive(0, "alaw", offhook=False, hook_changes=((5, True),)),)), 0),
     "the last hook change"),
    (lambda: ll.encode_tick(Tick("x", 0, (PortDrive(0, "alaw", hook_changes=((0, True),) * 9, offhook=True),)), 0),
     "at most 8"),
    (lambda: ll.encode_tick(Tick("x", 0, (), (SpanDrive(0, "alaw", cas={16: 1}),)), 0), "timeslot 16 carries no CAS"),
    (lambda: ll.encode_tick(Tick("x", 0, (), (SpanDrive(0, "alaw", cas={1: 16}),)), 0), "0..15"),
    (lambda: ll.encode_tock(Tock((PortSense(4),)), 0, FXO), "the board has 4"),
    (lambda: ll.encode_tock(Tock(spans=(SpanSense(0, audio={0: bytes(160)}),)), 0), "no B-channel"),
    (lambda: ll.encode_tock(Tock(spans=(SpanSense(0, hdlc=(b"",)),)), 0), "1..260 bytes"),
    (lambda: ll.encode_tock(Tock(spans=(SpanSense(0, hdlc=(b"x",) * 17),)), 0), "at most 16"),
    (lambda: ll.encode_hello(Hello(BoardAttached("fxo5", "x", 4, 0))), "HELLO.kind"),
    (lambda: ll.encode_hello(Hello(BoardAttached("fxo4", "x" * 17, 4, 0))), "HELLO.serial"),
    (lambda: ll.encode_tock(Tock(), 70000), "seq"),
])
def test_encoding_refuses_what_the_wire_cannot_carry(make, complaint):
    with pytest.raises(UsageError, match=re.escape(complaint)):
        make()


def test_a_head_whose_parts_do_not_come_is_out_of_place():
    decoder = LineDecoder(FXO)
    data = ll.encode_tock(Tock((PortSense(0, audio=block(1)),)), 7)
    assert decoder.feed(data[:18]) == [] and decoder.in_message      # the TOCK; its LINE_AUDIO is due
    with pytest.raises(FrameError, match="TOCK = 7: .*1 blocks, 0 HDLC frames due"):
        decoder.feed(ll.encode_tock(Tock(), 8))


# --- fuzzing ---------------------------------------------------------------------------------

SAMPLES = [(FXO, ll.encode_hello(Hello(FXO)) + ll.encode_tick(fxo_tick(), 1)
            + ll.encode_tock(Tock((PortSense(0, audio=block(2)), PortSense(2, ring=True))), 1)),
           (E1, ll.encode_tick(e1_tick(), 9) + ll.encode_tock(Tock(spans=(SpanSense(0, cas={1: 2}, hdlc=(b"ab",)),)), 9))]


def reencode(board, messages) -> bytes:
    out = b""
    for seq, m in messages:
        if isinstance(m, Hello):
            out += ll.encode_hello(m, seq)
        elif isinstance(m, Welcome):
            out += ll.encode_welcome(seq, m.version)
        elif isinstance(m, Refused):
            out += ll.encode_refused(m.reason, seq)
        elif isinstance(m, Tick):
            out += ll.encode_tick(m, seq)
        else:
            out += ll.encode_tock(m, seq)
    return out


@FUZZ
@given(st.binary(max_size=600), st.sampled_from([None, FXO, E1]))
def test_any_bytes_give_messages_or_a_frame_error(data, board):
    try:
        LineDecoder(board).feed(data)
    except FrameError:
        pass


@FUZZ
@given(st.sampled_from(SAMPLES), mutations)
def test_mutated_streams_are_refused_or_intact(sample, steps):
    board, data = sample
    data = mutate(data, steps)
    try:
        messages = LineDecoder(board).feed(data)
    except FrameError:
        return
    again = reencode(board, messages)
    assert data.startswith(again)         # one encoding per message; a cut leaves a partial tail only


# Frames with valid CRCs and payloads made of pieces of real ones, so the payload checks are reached.
payload_frames = st.tuples(st.sampled_from([0x54, 0x55, 0x56]), st.integers(0, 3), st.binary(max_size=40),
                           st.sampled_from([b"", bytes(160), h("01 00 00 00 01 00"), h("00 01 00 01 00 00 00 00 01 00")]))


@FUZZ
@given(st.lists(payload_frames, min_size=1, max_size=5), st.sampled_from([FXO, E1]))
def test_payload_checks_hold_on_intact_frames(parts, board):
    data = b"".join(frame(t, s, tail + body) for t, s, body, tail in parts)
    try:
        messages = LineDecoder(board).feed(data)
    except FrameError as exc:
        assert exc.field and exc.offset is None or 0 <= exc.offset < len(data)
        return
    assert data.startswith(reencode(board, messages))


# --- the board's receiver (C) on the same bytes --------------------------------------------------

def c_decode(fw_bin, board: BoardAttached, data: bytes) -> list[str]:
    proc = subprocess.run([str(fw_bin), "--selftest-line-decode", str(board.ports), str(board.spans)], input=data,
                          capture_output=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode().splitlines()


def described(seq: int, tock: Tock) -> str:
    """A TOCK as --selftest-line-decode prints it (ports and spans in the order the TOCK lists them)."""
    text = f"tock seq={seq}"
    for p in tock.ports:
        text += f" port={p.port}:{(1 if p.offhook else 0) | (2 if p.ring else 0) | (4 if p.battery else 0) | (8 if p.reversed else 0)}"
    for s in tock.spans:
        text += f" span={s.span}:{int(s.signal)}:" + "".join(f"{ts}={v}," for ts, v in sorted(s.cas.items()))
    blocks = sorted([((p.port, 0), p.audio) for p in tock.ports if p.audio is not None]
                    + [((s.span, ts), a) for s in tock.spans for ts, a in s.audio.items()])
    text += "".join(f" audio={u}/{c}:{a.hex()}" for (u, c), a in blocks)
    text += "".join(f" hdlc={s.span}:{f.hex()}" for s in sorted(tock.spans, key=lambda s: s.span) for f in s.hdlc)
    return text


def test_the_board_takes_what_the_network_sends(fw_bin):
    tocks = [Tock((PortSense(0, offhook=True, audio=block(3)), PortSense(2, ring=True, battery=True))),
             Tock(), Tock((PortSense(1, reversed=True, battery=False, audio=block(4)),))]
    data = ll.encode_welcome(0) + ll.encode_refused("no", 0) + b"".join(ll.encode_tock(t, i + 1)
                                                                       for i, t in enumerate(tocks))
    want = ["welcome", "refused no"] + [described(i + 1, t) for i, t in enumerate(tocks)]
    assert c_decode(fw_bin, FXO, data) == want
    e1 = Tock(spans=(SpanSense(0, audio={1: block(8)}, hdlc=(b"\x00\x03",) * 16),
                     SpanSense(1, signal=False, cas={5: 9, 31: 0}, audio={2: block(7)}, hdlc=(b"\x01" * 260,))))
    assert c_decode(fw_bin, E1, ll.encode_tock(e1, 65535)) == [described(65535, e1)]


@pytest.mark.parametrize("board,data,words", [
    (FXO, frame(0x54, 1, h("01 04 00 00 00")), "TOCK.ports[0].port = 4 at stream byte 9: this board has 4 ports"),
    (FXO, frame(0x54, 1, h("01 01 20 00 00 00")), "TOCK.ports[0].sense = 32 at stream byte 10"),
    (E1, frame(0x54, 1, h("00 01 00 01 01 00 00 00 00 00")), "TOCK.spans[0].cas_mask = 1 at stream byte 12"),
    (FXO, frame(0x53, 1, tick_head(FOUR_IDLE)), "type = 83 at stream byte 3: a board-to-network message"),
    (FXO, frame(0x5F, 1, b""), "type = 95 at stream byte 3: not a line-side message type"),
    (FXO, b"??" + frame(0x51, 0, b"\x01"), "sync = 2"),
    (FXO, frame(0x51, 3, b"\x01"), "WELCOME.seq = 3"),
    (FXO, frame(0x51, 0, b"\x02"), "WELCOME.version = 2"),
    (FXO, frame(0x55, 1, h("00 00") + bytes(160)), "LINE_AUDIO.seq = 1"),
])
def test_the_board_names_what_is_wrong(fw_bin, board, data, words):
    [line] = c_decode(fw_bin, board, data + frame(0x54, 9, h("00 00 00 00")))
    assert line.startswith("error ") and words in line, line


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(payload_frames, min_size=1, max_size=5), st.sampled_from([FXO, E1]))
def test_the_board_and_the_network_agree_on_every_tock(fw_bin, parts, board):
    """The same frames to both receivers: both refuse, or both take the same TOCKs."""
    data = b"".join(frame(t, s, tail + body) for t, s, body, tail in parts)
    lines = c_decode(fw_bin, board, data)
    try:
        messages = LineDecoder(board).feed(data)
    except FrameError as exc:
        assert lines and lines[-1].startswith("error ") and exc.field.split(".")[0] in lines[-1], (str(exc), lines)
        return
    assert lines == [described(seq, m) for seq, m in messages]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), mutations)
def test_the_board_survives_any_bytes(fw_bin, data, steps):
    """Garbage and mutated TOCKs: the receiver names an error or takes whole frames; never a crash."""
    stream = mutate(SAMPLES[0][1][-600:], steps) + data
    for line in c_decode(fw_bin, FXO, stream):
        assert line.split()[0] in ("tock", "welcome", "refused", "error")
