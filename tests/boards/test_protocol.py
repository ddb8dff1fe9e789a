"""The frame codec against boards/PROTOCOL.md: the example frame, each message's layout
(written out by hand from the document's tables), round trips, every refusal and
resynchronisation."""

import zlib

import pytest

from gateway.boards import protocol as p
from gateway.boards.kinds import Capability
from gateway.boards.protocol import FrameError, FrameReader, decode_frame, encode_frame
from gateway.errors import InputError, UsageError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


SAMPLES = bytes(range(160))

# (message, its payload as PROTOCOL.md lays it out)
LAYOUTS = [
    (p.Identify(), h("")),
    (p.Reset(p.ResetMode.BOOTLOADER), h("01")),
    (p.ConfigureSpan(1, p.Framing.CCS, True, p.LineCoding.HDB3, 2, p.Law.ALAW), h("01 01 01 00 02 00")),
    (p.ConfigurePort(3, p.Law.ULAW, "de", -35, 60), h("03 01 64 65 dd ff 3c 00")),
    (p.PortCommand(2, p.PortAction.FLASH, 600), h("02 02 58 02")),
    (p.Tone(0, 5, 425, 0, -130, 1000, 4000, 0), h("00 05 a9 01 00 00 7e ff e8 03 a0 0f 00")),
    (p.Status(), h("")),
    (p.ConfigGet(p.ConfigWhat.PORT, 3), h("01 03")),
    (p.BlErase(p.Slot.B), h("01")),
    (p.BlWrite(p.Slot.A, 0x12345, b"\x01\x02\x03"), h("00 45 23 01 00 01 02 03")),
    (p.BlRead(p.Slot.B, 1024, 1024), h("01 00 04 00 00 00 04")),
    (p.BlSetPending(p.Slot.B), h("01")),
    (p.BlConfirm(), h("")),
    (p.BlSlotInfo(p.Slot.A), h("00")),
    (p.BlKeys(), h("")),
    (p.Result(p.ResultCode.BAD_IMAGE, "key"), h("05 6b 65 79")),
    (p.Result(p.ResultCode.OK), h("00")),
    (p.Identity(p.BoardCode.E1X2, "LG-0001", 2, p.Version(1, 2, 3), p.Version(1, 0, 0), p.Slot.B, None,
                p.Running.FIRMWARE, Capability.E1 | Capability.CAS, 0, 2),
     h("01 4c 47 2d 30 30 30 31 00 00 00 00 00 00 00 00 00 02 01 02 03 01 00 00 01 ff 00 0c 00 00 00 00 02")),
    (p.StatusReport((p.PortStatus(p.PortState.OFF_HOOK | p.PortState.BATTERY, 25),), (),
                    70000),
     h("01 05 19 00 00 70 11 01 00")),
    (p.StatusReport((), (p.SpanStatus(p.Alarm.LOS | p.Alarm.RAI, 1, 2, 3),), 5),
     h("00 01 09 01 00 00 00 02 00 00 00 03 00 00 00 05 00 00 00")),
    (p.SpanConfig(0, p.Framing.CAS, False, p.LineCoding.AMI, 0, p.Law.ULAW), h("00 00 00 01 00 01")),
    (p.PortConfig(2, p.Law.ALAW, "fr", 120, -120), h("02 00 66 72 78 00 88 ff")),
    (p.BlData(p.Slot.A, 2048, b"\xff"), h("00 00 08 00 00 ff")),
    (p.SlotInfo(p.Slot.B, p.SlotState.PENDING, p.Version(2, 0, 1), 4096, bytes(range(32))),
     h("01 03 02 00 01 00 10 00 00") + bytes(range(32))),
    (p.TrustedKeys((bytes(range(32)), bytes(32))), h("02") + bytes(range(32)) + bytes(32)),
    (p.PortEvent(1, p.PortEventCode.LOOP_CURRENT, 28, 1000), h("01 07 1c 00 e8 03 00 00")),
    (p.Alarms(0, p.Alarm.AIS, 1, 2, 3, 4), h("00 02 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00")),
    (p.Cas(1, 17, 0b1001), h("01 11 09")),
    (p.Hdlc(0, b"\x00\x01\x7f"), h("00 00 01 7f")),
    (p.Audio(1, 30, p.Law.ULAW, 160, SAMPLES), h("01 1e 01 a0 00 00 00") + SAMPLES),
    (p.Log(p.LogLevel.WARNING, "slip"), h("02 73 6c 69 70")),
    (p.SimAdvance(70000), h("70 11 01 00")),
    (p.SimClock(20), h("14 00 00 00")),
]


def test_every_message_type_has_a_layout_test():
    assert {type(m) for m, _ in LAYOUTS} == set(p.MESSAGES)
    assert [c.TYPE for c in p.MESSAGES] == sorted(p.MessageType)


def test_example_frame_of_the_document():
    frame = h("4C 47 01 01 07 00 00 00 0F 63 29 DA")
    assert encode_frame(p.Identify(), 7) == frame
    assert decode_frame(frame) == p.Frame(7, p.Identify())
    assert zlib.crc32(b"123456789") == 0xCBF43926  # the document's check value of CRC-32/ISO-HDLC
    assert crc32_bitwise(b"123456789") == 0xCBF43926 and crc32_bitwise(frame[2:8]) == 0xDA29630F


def crc32_bitwise(data: bytes) -> int:
    """CRC-32/ISO-HDLC as the document defines it, bit by bit: an oracle apart from zlib."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


@pytest.mark.parametrize("message,seq,text", [
    (p.Result(p.ResultCode.BAD_REQUEST, "port"), 7, "4C 47 01 80 07 00 05 00 01 70 6F 72 74 23 8E E0 25"),
    (p.Cas(1, 17, 0b1001), 0x0102, "4C 47 01 13 02 01 03 00 01 11 09 FA 7F E2 33"),
])
def test_more_examples_of_the_document(message, seq, text):
    frame = h(text)
    assert encode_frame(message, seq) == frame and decode_frame(frame) == p.Frame(seq, message)
    assert crc32_bitwise(frame[2:-4]).to_bytes(4, "little") == frame[-4:]


@pytest.mark.parametrize("message,payload", LAYOUTS, ids=lambda x: type(x).__name__ if isinstance(x, p.Message) else "")
def test_layout_and_round_trip(message, payload):
    assert message.payload() == payload
    seq = 0xBEEF
    frame = encode_frame(message, seq)
    header = b"LG\x01" + bytes([message.TYPE]) + seq.to_bytes(2, "little") + len(payload).to_bytes(2, "little")
    assert frame == header + payload + zlib.crc32(frame[2:-4]).to_bytes(4, "little")
    # construct's own description of the frame agrees (an independent build and parse).
    built = p.frame_format.build({"body": {"value": {"type": message.TYPE, "seq": seq, "payload": payload}}})
    assert built == frame
    assert p.frame_format.parse(frame).body.value.payload == payload
    decoded = decode_frame(frame)
    assert decoded == p.Frame(seq, message) and decoded.message.is_reply == (message.TYPE >= 0x80)
    assert type(p.message_class(message.TYPE).decode_payload(payload)) is type(message)


def test_enums_come_back_as_enums():
    ident = decode_frame(encode_frame(next(m for m, _ in LAYOUTS if isinstance(m, p.Identity)), 1)).message
    assert ident.kind is p.BoardCode.E1X2 and ident.active_slot is p.Slot.B and ident.pending_slot is None
    assert isinstance(ident.capabilities, Capability) and str(ident.firmware_version) == "1.2.3"


def payload_error(message_type: int, payload: bytes) -> FrameError:
    frame = b"LG\x01" + bytes([message_type]) + b"\x00\x00" + len(payload).to_bytes(2, "little") + payload
    frame += zlib.crc32(frame[2:]).to_bytes(4, "little")
    with pytest.raises(FrameError) as info:
        decode_frame(frame, offset=100)
    return info.value


@pytest.mark.parametrize("type_code,payload,field,offset", [
    (0x15, h("00 00 02 00 00 00 00") + bytes(160), "AUDIO.law", 110),
    (0x15, h("00 20 00 00 00 00 00") + bytes(160), "AUDIO.channel", 109),
    (0x15, h("00 00 00 00 00 00 00") + bytes(159), "AUDIO.payload", 106),
    (0x15, h("00 00 00 00 00 00 00") + bytes(161), "AUDIO.payload", 106),
    (0x01, h("00"), "IDENTIFY.payload", 106),
    (0x02, h("02"), "RESET.mode", 108),
    (0x03, h("00 02 00 00 00 00"), "CONFIGURE_SPAN.framing", 109),
    (0x03, h("00 00 02 00 00 00"), "CONFIGURE_SPAN.crc4", 110),
    (0x04, h("00 00 44 45 00 00 00 00"), "CONFIGURE_PORT.tone_zone", 110),
    (0x05, h("00 08 00 00"), "PORT_COMMAND.command", 109),
    (0x05, h("00 01 05 00"), "PORT_COMMAND.ms", 110),
    (0x06, h("00 20 00 00 00 00 00 00 00 00 00 00 00"), "TONE.channel", 109),
    (0x13, h("00 10 00"), "CAS.timeslot", 109),
    (0x13, h("00 00 00"), "CAS.timeslot", 109),
    (0x13, h("00 01 10"), "CAS.abcd", 110),
    (0x14, h("00"), "HDLC.payload", 106),
    (0x14, bytes(262), "HDLC.payload", 106),
    (0x21, h("00 00 00 00 00"), "BL_WRITE.payload", 106),
    (0x21, h("02 00 00 00 00 ff"), "BL_WRITE.slot", 108),
    (0x22, h("00 00 00 00 00 00 00"), "BL_READ.length", 113),
    (0x22, h("00 00 00 00 00 01 04"), "BL_READ.length", 113),
    (0x80, h("07"), "RESULT.status", 108),
    (0x80, h("00 61 ff"), "RESULT.detail", 110),
    (0x81, h("04") + bytes(32), "IDENTITY.kind", 108),
    (0x81, h("01 41 07") + bytes(30), "IDENTITY.serial", 110),
    (0x81, h("01") + bytes(16) + h("01 010000 010000 00 02 00 00000000 00 00"), "IDENTITY.pending_slot", 133),
    (0x81, h("01") + bytes(16) + h("01 010000 010000 00 ff 00 00040000 00 00"), "IDENTITY.capabilities", 135),
    (0x87, h("01 10 00 00 00 00 00 00 00"), "STATUS_REPORT.ports[0].state", 109),
    (0x87, h("00 01 10") + bytes(16), "STATUS_REPORT.spans[0].alarms", 110),
    (0x87, h("02 00 00 00 00"), "STATUS_REPORT.payload", 106),
    (0x10, h("00 00 01 00 00 00 00 00"), "PORT_EVENT.value", 110),
    (0x10, h("00 08 00 00 00 00 00 00"), "PORT_EVENT.event", 109),
    (0x11, h("00 10") + bytes(16), "ALARMS.alarms", 109),
    (0xA5, h("00 05") + bytes(39), "SLOT_INFO.state", 109),
    (0xA6, h("00"), "TRUSTED_KEYS.count", 108),
    (0xA6, h("05") + bytes(160), "TRUSTED_KEYS.count", 108),
    (0xA6, h("02") + bytes(32), "TRUSTED_KEYS.payload", 106),
    (0xA6, h(""), "TRUSTED_KEYS.payload", 106),
    (0x26, h("00"), "BL_KEYS.payload", 106),
    (0x30, h("04 41"), "LOG.level", 108),
    (0x7F, h(""), "type", 103),
    (0x40, h("00 00 00"), "SIM_ADVANCE.payload", 106),
    (0xC0, h("00 00 00 00 00"), "SIM_CLOCK.payload", 106),
    (0x53, h(""), "type", 103),   # the simulator's line side (LINESIDE.md) is no host-link message
])
def test_payload_refusals_name_field_value_and_offset(type_code, payload, field, offset):
    error = payload_error(type_code, payload)
    assert (error.field, error.offset) == (field, offset), str(error)
    assert isinstance(error, InputError) and isinstance(error, ValueError)
    assert f"byte {offset}: {field} = " in str(error)


def test_frame_level_refusals():
    good = encode_frame(p.Cas(0, 1, 5), 9)
    with pytest.raises(FrameError) as info:
        decode_frame(good[:-1])
    assert info.value.field == "frame"
    with pytest.raises(FrameError, match="sync"):
        decode_frame(b"LH" + good[2:])
    for at, field in ((2, "version"), (3, "crc"), (4, "crc"), (9, "crc"), (12, "crc")):
        bad = bytearray(good)
        bad[at] ^= 0x01
        with pytest.raises(FrameError) as info:
            decode_frame(bytes(bad))
        assert info.value.field == field
    too_long = b"LG\x01\x13\x00\x00\x01\x05" + bytes(1300)
    with pytest.raises(FrameError) as info:
        decode_frame(too_long)
    assert (info.value.field, info.value.value, info.value.offset) == ("length", 1281, 6)


@pytest.mark.parametrize("message,complaint", [
    (p.Audio(0, 32, p.Law.ALAW, 0, SAMPLES), "AUDIO.channel = 32"),
    (p.Audio(0, 0, 3, 0, SAMPLES), "AUDIO.law = 3"),
    (p.Audio(0, 0, p.Law.ALAW, 0, b"\x00"), "AUDIO"),
    (p.Audio(256, 0, p.Law.ALAW, 0, SAMPLES), "AUDIO"),
    (p.Cas(0, 16, 0), "CAS.timeslot = 16"),
    (p.PortCommand(0, p.PortAction.OFF_HOOK, 5), "PORT_COMMAND.ms = 5"),
    (p.ConfigurePort(0, p.Law.ALAW, "DE"), "CONFIGURE_PORT.tone_zone = 'DE'"),
    (p.BlWrite(p.Slot.A, 0, bytes(1025)), "BL_WRITE.data has 1025 bytes"),
    (p.BlWrite(p.Slot.A, 0, b""), "BL_WRITE.data has 0 bytes"),
    (p.Identity(p.BoardCode.FXO4, "x" * 17, 1, p.Version(1, 0, 0), p.Version(1, 0, 0), p.Slot.A, None,
                p.Running.FIRMWARE, Capability.FXO, 4, 0), "IDENTITY.serial"),
    (p.Log(p.LogLevel.INFO, "x" * 1280), "LOG.text has 1280 bytes"),
    (p.StatusReport((p.PortStatus(16, 0),), (), 0), "STATUS_REPORT"),
])
def test_encoding_refuses_values_out_of_range(message, complaint):
    with pytest.raises(UsageError) as info:
        encode_frame(message, 0)
    assert complaint in str(info.value)
    assert not isinstance(info.value, InputError)


def test_encode_checks_its_arguments():
    with pytest.raises(UsageError, match="seq"):
        encode_frame(p.Identify(), 65536)
    with pytest.raises(UsageError, match="not a board protocol message"):
        encode_frame(b"LG", 0)
    assert p.Version.parse("1.20.255") == (1, 20, 255)
    for text in ("1.2", "1.2.256", "a.b.c", "1.2.-3", "1.2.3.4"):
        with pytest.raises(UsageError, match="X.Y.Z"):
            p.Version.parse(text)


# --- the stream reader ------------------------------------------------------------------------------

def frames_of(reader, chunks):
    out = []
    for chunk in chunks:
        out += reader.feed(chunk)
    return out


def test_reader_takes_any_chunking():
    messages = [m for m, _ in LAYOUTS]
    stream = b"".join(encode_frame(m, i) for i, m in enumerate(messages))
    for size in (1, 2, 3, 7, 100, len(stream)):
        reader = FrameReader()
        got = frames_of(reader, [stream[i:i + size] for i in range(0, len(stream), size)])
        assert [f.message for f in got] == messages and [f.seq for f in got] == list(range(len(messages)))
        assert reader.noise_bytes == 0 and not reader.errors and reader.pending == 0
    offsets = [f.offset for f in got]
    assert offsets[0] == 0 and all(stream[o:o + 2] == b"LG" for o in offsets)


def test_resync_after_a_broken_header_finds_the_frame_inside_it():
    inner = encode_frame(p.Cas(1, 2, 3), 5)
    # A header that claims 200 bytes of payload, with a whole frame where its payload would be.
    outer = b"LG\x01\x13\x00\x00\xc8\x00" + inner + bytes(200 - len(inner)) + b"\x00\x00\x00\x00"
    reader = FrameReader()
    assert [f.message for f in reader.feed(outer)] == [p.Cas(1, 2, 3)]
    assert reader.errors == {"crc": 1}
    error = reader.recent_errors[0]
    assert (error.field, error.offset) == ("crc", 208)
    assert reader.noise_bytes == len(outer) - len(inner)


def test_reader_counts_each_kind_and_keeps_going():
    good = encode_frame(p.Cas(0, 1, 1), 1)
    unknown = bytearray(b"LG\x01\x7e\x00\x00\x00\x00")
    unknown += zlib.crc32(unknown[2:]).to_bytes(4, "little")
    bad_payload = bytearray(b"LG\x01\x13\x00\x00\x03\x00\x00\x10\x00")
    bad_payload += zlib.crc32(bad_payload[2:]).to_bytes(4, "little")
    stream = (b"noise" + b"LG\x02" + b"LG\x01\x13\x00\x00\xff\xff" + good[:-1] + b"\x00"
              + bytes(unknown) + bytes(bad_payload) + good)
    seen = []
    reader = FrameReader(on_error=seen.append)
    got = reader.feed(stream)
    assert [f.message for f in got] == [p.Cas(0, 1, 1)]
    assert reader.errors == {"version": 1, "length": 1, "crc": 1, "type": 1, "payload": 1}
    assert [e.kind for e in seen] == ["version", "length", "crc", "type", "payload"]
    assert seen[0].offset == 7 and seen[1].offset == 14 and seen[3].offset == stream.index(bytes(unknown)) + 3
    # Every byte is either part of an intact frame or noise.
    assert reader.noise_bytes == len(stream) - len(unknown) - len(bad_payload) - len(good)


def test_reader_decides_a_bad_header_without_waiting():
    reader = FrameReader()
    assert reader.feed(b"LG\x09") == [] and reader.errors == {"version": 1} and reader.pending == 0
    assert reader.feed(b"LG\x01\x01\x00\x00\x01\x06") == [] and reader.errors["length"] == 1
    reader.feed(b"L")
    assert reader.pending == 1  # half a sync is kept
    reader.feed(b"G\x01\x01\x00\x00\x00\x05")
    assert reader.pending == 8
    reader.feed(bytes(1284))
    assert reader.errors["crc"] == 1 and reader.pending < p.MAX_FRAME


def test_reader_never_holds_more_than_a_frame():
    reader = FrameReader()
    chunk = b"LG\x01\x15\x00\x00\x00\x05" + bytes(100)
    for _ in range(200):
        reader.feed(chunk)
        assert reader.pending <= p.MAX_FRAME


def test_abandon_frees_a_frame_held_behind_a_false_sync():
    reply = encode_frame(p.Result(p.ResultCode.OK), 3)
    reader = FrameReader()
    assert reader.feed(b"LG\x01\x15\x00\x00\x00\x05" + reply) == []  # held: 1280 bytes are promised
    assert reader.pending == 8 + len(reply)
    assert [f.message for f in reader.abandon()] == [p.Result(p.ResultCode.OK)]
    assert reader.errors == {"timeout": 1} and reader.noise_bytes == 8 and reader.pending == 0
    error = reader.recent_errors[0]
    assert (error.field, error.offset, error.kind) == ("frame", 0, "timeout")
    assert reader.abandon() == [] and reader.errors == {"timeout": 1}
    reader.feed(b"xL")
    assert reader.abandon() == [] and reader.pending == 1


def test_config_get_refusals_and_replies():
    # CONFIG_GET.what is 0 span or 1 port; the replies are held to the CONFIGURE_* checks.
    assert payload_error(0x08, h("02 00")).field == "CONFIG_GET.what"
    assert payload_error(0x08, h("00")).field == "CONFIG_GET.payload"
    assert payload_error(0x88, h("00 02 00 00 01 00")).field == "SPAN_CONFIG.framing"
    assert payload_error(0x89, h("00 00 44 45 00 00 00 00")).field == "PORT_CONFIG.tone_zone"
    assert p.REPLY_TO[p.ConfigGet] == (p.SpanConfig, p.PortConfig)
    with pytest.raises(UsageError, match="CONFIG_GET.what"):
        p.ConfigGet(2, 0).payload()
