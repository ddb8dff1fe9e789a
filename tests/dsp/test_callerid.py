"""Caller ID: the message codec and DTMF CLIP (dsp/callerid.py), the FSK
receiver (native/fsk_rx.c, through DetectorBank "callerid") and generator
(native/fsk_tx.c).

Receiver signals come from tests/dsp/fsk_signals.py (NumPy, written from the
specifications, sharing no code with the core's generator); noise and G.711
from tests/dsp/dtmf_signals.py. The acceptance structure of the DTMF suite:
level, noise, frequency and bit-rate tolerance, twist, codec, timing, then
talk-off (speech, music, DTMF). Many cases run as the channels of one bank.

Known-answer messages: microEngineering Labs, "Caller ID"
(melabs.com/resources/callerid.htm), the SDMF, blocked SDMF and MDMF
examples, byte for byte as published. Two of the three carry a checksum that
does not sum to zero, so they are checksum failures here, and their
corrected forms are decoded.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.dsp import DetectorBank, FskParams
from gateway.dsp import callerid as C
from gateway.dsp.detector_bank import DetectorEvent
from gateway.dsp.dtmf import DtmfGenerator
from gateway.dsp.native import check, ffi, lib
from gateway.errors import CallerIdError, InputError, UsageError
from tests.dsp import dtmf_signals as sig
from tests.dsp import fsk_signals as fsk
from tests.dsp.measure import amplitudes
from tests.dsp.wav_writer import read_pcm16
from tests.reference import spandsp

FS = 8000
BLOCK = 160  # 20 ms, the media tick
needs_spandsp = pytest.mark.skipif(not spandsp.available(),
                                   reason=f"spandsp reference not available: {spandsp.unavailable_reason()}")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = Path(os.environ.get("LINEGATE_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus"))

# microEngineering Labs' examples, as published.
MELABS_SDMF = bytes.fromhex("04 12 30 39 33 30 31 32 32 34 36 30 39 35 35 35 31 32 31 32 51")
MELABS_SDMF_BLOCKED = bytes.fromhex("04 09 30 39 33 30 31 32 32 34 50 12")
MELABS_MDMF = bytes.fromhex("80 20 01 08 30 33 32 34 30 39 30 32 07 08 4A 4F 48 4E 20 44 4F 45 02 0A "
                            "38 30 30 35 35 35 31 32 31 32 7D")

MDMF = C.encode(C.CallerId(number="6095551212", name="JOHN DOE", time="09301224"))
SDMF = MELABS_SDMF


# ---------------------------------------------------------------------------
# The message codec

def test_published_sdmf_example_decodes():
    cid = C.decode(MELABS_SDMF)
    assert (cid.number, cid.time, cid.format, cid.message_type) == ("6095551212", "09301224", "sdmf", 0x04)
    assert (cid.month, cid.day, cid.hour, cid.minute) == (9, 30, 12, 24)
    assert cid.name is None and cid.number_absent_reason is None


def test_published_blocked_sdmf_has_a_wrong_checksum_and_its_corrected_form_is_private():
    with pytest.raises(CallerIdError) as info:
        C.decode(MELABS_SDMF_BLOCKED)
    assert (info.value.field, info.value.offset, info.value.value) == ("checksum", 11, 0x12)
    assert "0x0E" in str(info.value)  # what the checksum should have been
    fixed = MELABS_SDMF_BLOCKED[:-1] + bytes([C.checksum(MELABS_SDMF_BLOCKED[:-1])])
    assert fixed[-1] == 0x0E
    cid = C.decode(fixed)
    assert (cid.number, cid.number_absent_reason, cid.time) == (None, "private", "09301224")


def test_published_mdmf_has_a_wrong_checksum_and_its_corrected_form_decodes():
    with pytest.raises(CallerIdError) as info:
        C.decode(MELABS_MDMF)
    assert (info.value.field, info.value.offset) == ("checksum", 34)
    fixed = MELABS_MDMF[:-1] + bytes([C.checksum(MELABS_MDMF[:-1])])
    cid = C.decode(fixed, standard="bell202")
    assert (cid.time, cid.name, cid.number) == ("03240902", "JOHN DOE", "8005551212")
    assert (cid.format, cid.standard, cid.message_type, cid.extra) == ("mdmf", "bell202", 0x80, ())


def test_checksum_makes_the_bytes_sum_to_zero():
    for message in (MELABS_SDMF, MDMF):
        assert C.checksum(message[:-1]) == message[-1]
        assert sum(message) % 256 == 0


ROUND_TRIPS = [
    (C.CallerId(number="6095551212", time="09301224"), "sdmf"),
    (C.CallerId(number_absent_reason="unavailable", time="12312359"), "sdmf"),
    (C.CallerId(number="6095551212", name="JOHN DOE", time="09301224"), "mdmf"),
    (C.CallerId(number_absent_reason="private", name_absent_reason="private", time="01010000"), "mdmf"),
    (C.CallerId(number="+441234567890", name="Zoë Müller", called_number="0800123456",
                redirecting_number="0301234567", call_type=1), "mdmf"),
    (C.CallerId(message_waiting=True, message_type=0x82), "mdmf"),
    (C.CallerId(number="5551212", extra=((0x06, b"L"), (0xE0, b"0010001001"))), "mdmf"),
]


@pytest.mark.parametrize("cid, form", ROUND_TRIPS)
def test_encode_decode_round_trip(cid, form):
    message = C.encode(cid, form)
    assert message[1] == len(message) - 3 and sum(message) % 256 == 0
    back = C.decode(message)
    expected_type = cid.message_type or (0x04 if form == "sdmf" else 0x80)
    assert back == dataclasses.replace(cid, format=form, message_type=expected_type)


def test_sdmf_message_waiting():
    assert C.decode(C._frame(0x06, b"\x42\x42\x42")).message_waiting is True
    assert C.decode(C._frame(0x06, b"\x6f\x6f\x6f")).message_waiting is False
    with pytest.raises(CallerIdError) as info:
        C.decode(C._frame(0x06, b"\x42\x6f\x42"))
    assert (info.value.field, info.value.offset) == ("payload", 2)


def test_mdmf_keeps_unknown_parameters_raw_in_order():
    payload = bytes([0x02, 3]) + b"123" + bytes([0x05, 1, 0x01, 0x99, 0]) + bytes([0x06, 1]) + b"L"
    cid = C.decode(C._frame(0x80, payload))
    assert cid.number == "123"
    assert cid.extra == ((0x05, b"\x01"), (0x99, b""), (0x06, b"L"))


MALFORMED = [
    # (message without its checksum, whether to spoil the checksum, field, offset)
    (b"\x04", None, "length", 1),
    (b"\x04\x05\x30\x30\xcb", None, "length", 1),
    (b"\x04\x09" + b"09301224P", True, "checksum", 11),
    (b"\x04\x0a" + b"1330122406", None, "time", 2 + 0),    # month 13
    (b"\x04\x0a" + b"0931252406", None, "time", 2 + 4),    # hour 25
    (b"\x04\x0a" + b"09301261" + b"06", None, "time", 2 + 6),  # minute 61
    (b"\x04\x0a" + b"0930122X06", None, "time", 2),
    (b"\x04\x0a" + b"09301224X6", None, "number", 10),
    (b"\x04\x05" + b"09301", None, "payload", 2),
    (b"\x04\x09" + b"09301224" + b"Q", None, "number", 10),
    (b"\x02\x00", None, "type", 0),
    (b"\x80\x03" + b"\x02\x05\x31", None, "parameter", 3),
    (b"\x80\x01" + b"\x02", None, "parameter", 2),
    (b"\x80\x06" + b"\x04\x01O\x04\x01P", None, "parameter", 5),
    (b"\x80\x03" + b"\x04\x01X", None, "number_absent_reason", 4),
    (b"\x80\x04" + b"\x04\x02OP", None, "number_absent_reason", 4),
    (b"\x80\x05" + b"\x07\x03A\x07B", None, "name", 5),
    (b"\x80\x06" + b"\x01\x08" + b"0230", None, "parameter", 3),
    (b"\x80\x09" + b"\x01\x07" + b"0230122", None, "time", 4),
]


@pytest.mark.parametrize("body, wrong_checksum, field, offset", MALFORMED)
def test_malformed_messages_name_the_field_and_the_offset(body, wrong_checksum, field, offset):
    message = body + bytes([(C.checksum(body) + bool(wrong_checksum)) & 0xFF])
    if field == "length" and len(body) < 2:
        message = body
    with pytest.raises(CallerIdError) as info:
        C.decode(message)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    assert (info.value.field, info.value.offset) == (field, offset), str(info.value)
    assert f"byte {offset}" in str(info.value)


def test_encode_refuses_what_a_format_cannot_carry():
    with pytest.raises(UsageError, match="name"):
        C.encode(C.CallerId(number="123", name="X", time="09301224"), "sdmf")
    with pytest.raises(UsageError, match="digits"):
        C.encode(C.CallerId(number="12-3", time="09301224"), "sdmf")
    with pytest.raises(UsageError, match="time"):
        C.encode(C.CallerId(number="123"), "sdmf")
    with pytest.raises(UsageError, match="month"):
        C.encode(C.CallerId(number="123", time="13301224"))
    with pytest.raises(UsageError, match="255"):
        C.encode(C.CallerId(name="x" * 254, number="1"))
    with pytest.raises(UsageError, match="both"):
        C.encode(C.CallerId(number="1", number_absent_reason="private"))
    with pytest.raises(UsageError, match="control"):
        C.encode(C.CallerId(name="a\nb"))
    with pytest.raises(UsageError):
        C.decode("04 12")


digits = st.text("0123456789", min_size=1, max_size=20)
text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
               min_size=1, max_size=30)
times = st.builds(lambda m, d, h, mi: f"{m:02d}{d:02d}{h:02d}{mi:02d}", st.integers(1, 12), st.integers(1, 31),
                  st.integers(0, 23), st.integers(0, 59))


@st.composite
def caller_ids(draw):
    number = draw(st.one_of(st.none(), digits))
    name = draw(st.one_of(st.none(), text))
    reasons = st.one_of(st.none(), st.sampled_from(["private", "unavailable"]))
    return C.CallerId(
        number=number,
        number_absent_reason=None if number else draw(reasons),
        name=name,
        name_absent_reason=None if name else draw(reasons),
        time=draw(st.one_of(st.none(), times)),
        called_number=draw(st.one_of(st.none(), digits)),
        call_type=draw(st.one_of(st.none(), st.integers(0, 255))),
        extra=tuple(draw(st.lists(st.tuples(st.sampled_from([0x05, 0x06, 0x0D, 0x13, 0xE0]),
                                            st.binary(max_size=12)), max_size=3))),
    )


@settings(max_examples=300, deadline=None)
@given(caller_ids())
def test_hypothesis_mdmf_round_trip(cid):
    assert C.decode(C.encode(cid)) == dataclasses.replace(cid, format="mdmf", message_type=0x80)


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
def test_hypothesis_decoder_takes_any_bytes(data):
    try:
        cid = C.decode(data)
    except CallerIdError as exc:
        assert exc.field and exc.offset is not None and 0 <= exc.offset <= len(data)
    else:
        assert isinstance(cid, C.CallerId)


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from([0x04, 0x06, 0x80, 0x82, 0x86, 0x89]), st.binary(max_size=255))
def test_hypothesis_decoder_takes_any_well_framed_message(kind, payload):
    """Length and checksum right, the rest anything: the parameter parser."""
    message = C._frame(kind, payload)
    try:
        cid = C.decode(message)
    except CallerIdError as exc:
        assert exc.field not in ("length", "checksum") and 0 <= exc.offset < len(message)
    else:
        assert cid.message_type == kind


# ---------------------------------------------------------------------------
# DTMF CLIP

@pytest.mark.parametrize("keys, number, reason, redirect", [
    ("A0123456789C", "0123456789", None, None),
    ("D0123456789C", "0123456789", None, None),
    ("A0123456789#", "0123456789", None, None),
    ("A012D345C", "012", None, "345"),
    ("B00C", None, "unavailable", None),
    ("B10C", None, "private", None),
    ("A5551212B10C", "5551212", None, None),
    ("D1#", None, "private", None),
    ("D2#", None, "unavailable", None),
    ("D3#", None, "unavailable", None),
    ("0123456789#", "0123456789", None, None),
    ("a0123c", "0123", None, None),
])
def test_parse_dtmf_clip_variants(keys, number, reason, redirect):
    cid = C.parse_dtmf_clip(keys)
    assert (cid.number, cid.number_absent_reason, cid.redirecting_number) == (number, reason, redirect)
    assert (cid.format, cid.standard) == ("dtmf", "dtmf")


@pytest.mark.parametrize("keys, what", [
    ("A0123", "end with C or #"),
    ("C", "end with C or #"),
    ("A01*3C", "'*' where a field letter"),
    ("B99C", "information code '99'"),
    ("AC", "no number"),
    ("A12A34C", "a second A field"),
    ("*123C", "does not start"),
    ("A12X3C", "'X' is not a DTMF key"),
])
def test_parse_dtmf_clip_refuses_malformed_strings(keys, what):
    with pytest.raises(CallerIdError, match=what) as info:
        C.parse_dtmf_clip(keys)
    assert info.value.field == "digits" and keys in str(info.value)
    with pytest.raises(CallerIdError):
        C.parse_dtmf_clip("0123#", bare_digits=False)


def key_events(keys, start=0, spacing=960, both_reports=True):
    events = []
    for k, key in enumerate(keys):
        at = start + k * spacing
        events.append(DetectorEvent(0, "dtmf", key, at, None))
        if both_reports:
            events.append(DetectorEvent(0, "dtmf", key, at, at + 480))
    return events


def test_assembler_collects_a_string_once_per_key_and_ignores_other_keys():
    clip = C.DtmfClipAssembler()
    results = [clip.feed(ev) for ev in key_events("12*A5551212C9")]
    cids = [r for r in results if r is not None]
    assert [c.number for c in cids] == ["5551212"]
    assert clip.pending == ""


def test_assembler_reports_a_string_that_stops_and_goes_on():
    clip = C.DtmfClipAssembler(max_gap_ms=500)
    for ev in key_events("A555"):
        clip.feed(ev)
    late = key_events("A123C", start=3 * 960 + 8000)
    with pytest.raises(CallerIdError, match="'A555' incomplete") as info:
        clip.feed(late[0])
    assert info.value.value == "A555"
    assert clip.pending == "A"  # the key that revealed it was taken in
    assert [r for r in map(clip.feed, late[1:]) if r] == [C.CallerId(number="123", format="dtmf", standard="dtmf")]
    clip.feed(key_events("B1")[0])
    with pytest.raises(CallerIdError):
        clip.expire(10**6)
    clip.expire(10**7)  # nothing pending: nothing to say


def test_assembler_refuses_a_malformed_string_and_other_events():
    clip = C.DtmfClipAssembler()
    with pytest.raises(CallerIdError, match="B77"):
        for ev in key_events("B77C"):
            clip.feed(ev)
    with pytest.raises(UsageError):
        clip.feed(DetectorEvent(0, "cpt", "busy", 0, None))


@pytest.mark.parametrize("encoding", ["linear", "alaw"])
def test_dtmf_clip_through_the_dtmf_receiver(encoding):
    audio = np.concatenate([C.dtmf_clip_audio("0123456789", encoding), C.dtmf_clip_audio(
        C.CallerId(number_absent_reason="private"), encoding, start="D", end="#")])
    bank = DetectorBank(1, detect=("dtmf",), encoding=encoding)
    clip = C.DtmfClipAssembler()
    found = []
    for at in range(0, len(audio), BLOCK):
        for ev in bank.feed(audio[np.newaxis, at:at + BLOCK]):
            cid = clip.feed(ev)
            if cid:
                found.append(cid)
    assert [(c.number, c.number_absent_reason) for c in found] == [("0123456789", None), (None, "private")]
    assert C.dtmf_clip_string("555", start="D", end="#") == "D555#"


# ---------------------------------------------------------------------------
# The FSK receiver, through DetectorBank

def to_codes(x: np.ndarray, encoding: str) -> np.ndarray:
    pcm = sig.quantize(x, clip=True)
    return pcm if encoding == "linear" else sig.G711_ENCODERS[encoding](pcm)


def run_bank(signals, encoding="linear", block=BLOCK, params=None):
    """Each signal a channel of one bank fed in `block`s: per channel, its
    callerid events."""
    n = max(len(x) for x in signals)
    n += -n % block
    audio = np.zeros((len(signals), n))
    for i, x in enumerate(signals):
        audio[i, :len(x)] = x
    codes = to_codes(audio, encoding)
    bank = DetectorBank(len(signals), detect=("callerid",), encoding=encoding, callerid=params)
    events = []
    for at in range(0, n, block):
        events += bank.feed(codes[:, at:at + block])
    events += bank.flush()
    per_channel = [[] for _ in signals]
    for ev in events:
        assert ev.kind == "callerid"
        per_channel[ev.channel].append(ev)
    return per_channel


def padded(x, lead, tail=800):
    return np.concatenate([np.zeros(lead), x, np.zeros(tail)])


def assert_heard(events, message, standard):
    assert [(ev.value, ev.reason) for ev in events] == [(message.hex(), standard)], events


@pytest.mark.parametrize("encoding", ["linear", "ulaw", "alaw"])
def test_levels_both_standards(encoding):
    rng = sig.rng_for("levels", encoding)
    cases = [(std, level, message) for std in ("bell202", "v23") for level in (-8.0, -13.5, -20.0, -30.0, -40.0)
             for message in (SDMF, MDMF)]
    signals = [padded(fsk.message_signal(m, std, level, rng), int(rng.integers(200, 2000))) for std, level, m in cases]
    for (std, level, message), events in zip(cases, run_bank(signals, encoding)):
        assert_heard(events, message, std)
        assert events[0].confidence > 0.9


def test_start_and_end_times():
    rng = sig.rng_for("times")
    lead = 1234
    x = fsk.message_signal(MDMF, "bell202", -20.0, rng)
    (event,), = run_bank([padded(x, lead)])
    bits = len(fsk.bits_of(MDMF)) - 5  # up to the last stop bit
    assert lead <= event.start <= lead + 16  # the carrier's first 10 ms
    assert lead + bits * FS / 1200 - 7 <= event.end <= lead + bits * FS / 1200 + 8


@pytest.mark.parametrize("snr_db", [20.0, 15.0, 12.0])
def test_white_noise(snr_db):
    rng = sig.rng_for("noise", snr_db)
    cases = [(std, level) for std in ("bell202", "v23") for level in (-20.0, -35.0) for _ in range(4)]
    signals = []
    for std, level in cases:
        x = padded(fsk.message_signal(MDMF, std, level, rng), int(rng.integers(400, 1600)))
        signals.append(x + sig.white_noise(len(x), level - snr_db, rng))
    for (std, _), events in zip(cases, run_bank(signals)):
        assert_heard(events, MDMF, std)


@pytest.mark.parametrize("std, offsets", [("bell202", (-1.0, 1.0)), ("v23", (-1.5, 1.5))])
def test_frequency_and_bit_rate_tolerance(std, offsets):
    """The tones at the edges of their tolerance (GR-30 1 %, EN 300 659-1
    1.5 %) and 1200 baud +- 1 %, in every combination, at 20 dB SNR."""
    rng = sig.rng_for("offsets", std)
    cases = [(offset, baud) for offset in offsets for baud in (-1.0, 1.0) for _ in range(3)]
    signals = []
    for offset, baud in cases:
        x = padded(fsk.message_signal(MDMF, std, -25.0, rng, offset_pct=offset, baud_pct=baud), 700)
        signals.append(x + sig.white_noise(len(x), -45.0, rng))
    for events in run_bank(signals):
        assert_heard(events, MDMF, std)


@pytest.mark.parametrize("std, twists", [("bell202", (-6.0, 10.0)), ("v23", (-6.0, 6.0))])
def test_twist(std, twists):
    """Mark over space: TIA-716 allows -6..+10 dB, EN 300 659-1 +-6 dB (MT88E45
    data sheet, Table 4), at 20 dB SNR and 1 % off in frequency and rate."""
    rng = sig.rng_for("twist", std)
    cases = [(twist, sign) for twist in twists for sign in (-1.0, 1.0) for _ in range(3)]
    signals = []
    for twist, sign in cases:
        x = padded(fsk.message_signal(MDMF, std, -20.0, rng, twist_db=twist, offset_pct=sign, baud_pct=-sign), 500)
        signals.append(x + sig.white_noise(len(x), -40.0, rng))
    for events in run_bank(signals):
        assert_heard(events, MDMF, std)


def test_message_after_ringing_and_silence():
    """Ring-like bursts (a loud 25 Hz with harmonics, as a ring leaks into the
    audio path) and quiet line, then the message between rings."""
    rng = sig.rng_for("ring")
    t = np.arange(int(1.6 * FS)) / FS
    ring = sig.dbm0_to_peak(-6.0) * np.sign(np.sin(2 * np.pi * 25 * t)) * 0.7
    quiet = sig.white_noise(int(0.8 * FS), -65.0, rng)
    x = fsk.message_signal(SDMF, "bell202", -30.0, rng)
    tape = np.concatenate([ring, quiet, x, quiet, ring])
    (events,) = run_bank([tape])
    assert_heard(events, SDMF, "bell202")
    assert len(ring) + len(quiet) <= events[0].start <= len(ring) + len(quiet) + 16


def test_two_messages_in_one_stream():
    rng = sig.rng_for("two")
    first = fsk.message_signal(SDMF, "v23", -18.0, rng)
    second = fsk.message_signal(MDMF, "v23", -18.0, rng, seizure=0, mark=80)
    # Back to back on one carrier: the second's mark signal follows the
    # first's last stop bit at once.
    joint = fsk.fsk(fsk.bits_of(SDMF, 300, 180, tail=0) + fsk.bits_of(MDMF, 0, 80), "bell202", -18.0)
    events = run_bank([np.concatenate([first, np.zeros(4000), second]), padded(joint, 100)])
    assert [(e.value, e.reason) for e in events[0]] == [(SDMF.hex(), "v23"), (MDMF.hex(), "v23")]
    assert [(e.value, e.reason) for e in events[1]] == [(SDMF.hex(), "bell202"), (MDMF.hex(), "bell202")]
    assert events[1][1].start == events[1][0].end


def test_corrupted_byte_gives_checksum_failed_not_a_wrong_number():
    rng = sig.rng_for("corrupt")
    bits = fsk.bits_of(SDMF)
    at = 300 + 180 + 12 * 10 + 1 + 2  # data bit 2 of the number's third digit ("9" -> "=")
    bits[at] ^= 1
    x = padded(fsk.fsk(bits, "bell202", -20.0, phase=1.0), 600)
    (events,) = run_bank([x])
    (event,) = events
    assert event.reason == "checksum-failed"
    heard = bytes.fromhex(event.value)
    assert heard[:12] == SDMF[:12] and heard[12] == SDMF[12] ^ 0x04 and heard[13:] == SDMF[13:]
    with pytest.raises(CallerIdError, match="checksum-failed"):
        C.from_event(event)


def test_signal_cut_short_gives_truncated_with_the_bytes_heard():
    rng = sig.rng_for("cut")
    x = fsk.message_signal(MDMF, "v23", -20.0, rng)
    cut = int((300 + 180 + 10 * 10) * FS / 1200)  # ten characters
    (events,) = run_bank([padded(x[:cut], 400)])
    (event,) = events
    assert event.reason == "truncated" and bytes.fromhex(event.value) == MDMF[:10]
    with pytest.raises(CallerIdError, match="truncated"):
        C.from_event(event)


def test_from_event_decodes_and_refuses_other_events():
    rng = sig.rng_for("from-event")
    (events,) = run_bank([padded(fsk.message_signal(MDMF, "v23", -20.0, rng), 300)])
    cid = C.from_event(events[0])
    assert (cid.number, cid.name, cid.time, cid.standard, cid.format) == (
        "6095551212", "JOHN DOE", "09301224", "v23", "mdmf")
    with pytest.raises(UsageError):
        C.from_event(DetectorEvent(0, "dtmf", "1", 0, None))


def test_block_size_does_not_change_the_events():
    rng = sig.rng_for("blocks")
    signals = [padded(fsk.message_signal(m, std, -25.0, rng), int(rng.integers(0, 900)))
               for m, std in ((SDMF, "bell202"), (MDMF, "v23"), (MDMF, "bell202"))]
    reference = run_bank(signals, block=BLOCK)
    for block in (37, 320, 8000):
        assert run_bank(signals, block=block) == reference


def test_whole_recording_in_one_feed_is_cut_into_pieces():
    """More samples than one feed of the unit may take (LG_FSK_RX_MAX_FEED):
    DetectorBank feeds them in pieces, each message read out in time."""
    rng = sig.rng_for("pieces")
    short = np.concatenate([fsk.fsk(fsk.bits_of(SDMF, 0, 48, tail=0), "bell202", -15.0, phase=0.5)] * 3)
    audio = np.stack([to_codes(padded(short, 100), "linear")] * 3)
    bank = DetectorBank(3, detect=("callerid",))
    events = bank.feed(audio) + bank.flush()
    assert len(events) == 9 and all(e.value == SDMF.hex() for e in events)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(channels=st.integers(1, 10), encoding=st.sampled_from(["linear", "ulaw", "alaw"]),
       sizes=st.lists(st.integers(0, 1500), min_size=1, max_size=10), seed=st.integers(0, 2**32 - 1),
       flips=st.lists(st.integers(0, 700), max_size=4))
def test_any_audio_and_damaged_messages_give_well_formed_events(channels, encoding, sizes, seed, flips):
    """Noise, and messages with bits flipped anywhere, in blocks of any size:
    every event names bytes the core held and a known reason, and decodes
    or fails with a CallerIdError."""
    rng = np.random.default_rng(seed)
    total = sum(sizes)
    audio = sig.white_noise(channels * total, -40.0, rng).reshape(channels, total)
    for ch in range(channels):
        bits = fsk.bits_of(MDMF, int(rng.integers(0, 300)), int(rng.integers(40, 180)))
        for flip in flips:
            bits[min(flip + 300, len(bits) - 1)] ^= 1
        x = fsk.fsk(bits, ("bell202", "v23")[ch % 2], float(rng.uniform(-40, -10)), phase=rng.uniform(0, 6.3))
        at = int(rng.integers(0, max(1, total - len(x))))
        audio[ch, at:at + len(x)] += x[:total - at]
    codes = to_codes(audio, encoding)
    bank = DetectorBank(channels, detect=("callerid",), encoding=encoding)
    events, fed = [], 0
    for n in sizes:
        events += bank.feed(np.ascontiguousarray(codes[:, fed:fed + n]))
        fed += n
    events += bank.flush()
    for ev in events:
        assert ev.kind == "callerid" and 0 <= ev.channel < channels and 0 <= ev.start <= ev.end <= fed
        assert ev.reason in ("bell202", "v23", "checksum-failed", "truncated")
        data = bytes.fromhex(ev.value)
        assert len(data) >= 2 and data[0] in (0x04, 0x06, 0x0B, 0x80, 0x81, 0x82, 0x86, 0x89)
        try:
            cid = C.from_event(ev)
        except CallerIdError:
            assert ev.reason in ("checksum-failed", "truncated") or sum(data) % 256 == 0
        else:
            assert cid.standard == ev.reason
        if not flips and ev.reason in ("bell202", "v23"):
            assert data == MDMF


def test_set_active_and_reset():
    rng = sig.rng_for("active")
    x = padded(fsk.message_signal(SDMF, "bell202", -20.0, rng), 800)
    audio = np.stack([to_codes(x, "linear")] * 2)
    bank = DetectorBank(2, detect=("callerid", "dtmf"))
    bank.set_active(1, ("dtmf",))
    assert bank.active(1) == ("dtmf",)
    events = []
    for at in range(0, audio.shape[1], BLOCK):
        events += bank.feed(audio[:, at:at + BLOCK])
    assert [e.channel for e in events] == [0]
    bank.set_active(1, ("callerid",))
    bank.reset(0)
    again = []
    for at in range(0, audio.shape[1], BLOCK):
        again += bank.feed(audio[:, at:at + BLOCK])
    assert sorted(e.channel for e in again) == [0, 1]
    first = {e.channel: e for e in again}
    assert first[0].start == events[0].start  # channel 0's clock restarted
    assert first[1].start == events[0].start + audio.shape[1]  # channel 1's went on


def test_no_seizure_call_waiting_and_seizure_flag():
    """An off-hook message (call waiting: no seizure, 80 bits of mark) is read
    like an on-hook one; the core says which had a seizure."""
    rng = sig.rng_for("cidcw")
    signals = [padded(fsk.message_signal(SDMF, "bell202", -20.0, rng, seizure=0, mark=80), 300),
               padded(fsk.message_signal(SDMF, "bell202", -20.0, rng), 300)]
    rx = NativeRx(2)
    audio = to_codes(np.stack([padded(s, 0, 7000 - len(s)) for s in signals]), "linear")
    reasons = [reason for _, _, reason, _, _ in rx.feed(audio)]
    assert reasons == [lib.LG_FSK_RX_BELL202, lib.LG_FSK_RX_BELL202 | lib.LG_FSK_RX_SEIZED]


def test_mark_signal_too_short_or_off_frequency_starts_nothing():
    rng = sig.rng_for("preamble")
    # Mark 1250 and 1140 Hz: between the standards, and 5 % under Bell 202's.
    signals = [padded(fsk.message_signal(SDMF, "bell202", -20.0, rng, seizure=0, mark=30), 300),
               padded(fsk.message_signal(SDMF, "bell202", -20.0, rng, offset_pct=4.17), 300),
               padded(fsk.message_signal(SDMF, "bell202", -20.0, rng, offset_pct=-5.0), 300)]
    assert run_bank(signals) == [[], [], []]


# ---------------------------------------------------------------------------
# Talk-off: speech, music and DTMF are not caller ID

def read_wav(path: Path) -> np.ndarray:
    samples, rate = read_pcm16(path)
    assert rate == FS
    return samples


def test_no_messages_from_speech_music_and_dtmf_fixtures():
    files = sorted((FIXTURES / "talkoff").glob("*.wav")) + sorted((FIXTURES / "dtmf").glob("*.wav"))
    signals = [read_wav(f).astype(float) for f in files]
    rng = sig.rng_for("dtmf-talkoff")
    keys = "".join(rng.choice(list(sig.KEYS), 64))
    signals.append(DtmfGenerator(keys, on_ms=60, off_ms=40, level_dbm0=-8.0).all().astype(float))
    signals.append(DtmfGenerator(keys, on_ms=200, off_ms=20, level_dbm0=-20.0, twist_db=3.0).all().astype(float))
    for encoding in ("linear", "ulaw"):
        assert run_bank(signals, encoding) == [[] for _ in signals]


@pytest.mark.skipif(not (CORPUS / "dev" / "talkoff").is_dir(),
                    reason=f"corpus talk-off set not found at {CORPUS / 'dev' / 'talkoff'} (set LINEGATE_CORPUS)")
def test_no_messages_from_the_corpus():
    """The dev talk-off set (31 min of speech and music) and the DTMF, call
    progress and AMD sets (tones, greetings, beeps): 58 minutes, fed 64 files
    at a time as the channels of a bank."""
    files = [f for part in ("talkoff", "dtmf", "cpt", "amd") for f in sorted((CORPUS / "dev" / part).glob("*.wav"))]
    for first in range(0, len(files), 64):
        group = [read_wav(f) for f in files[first:first + 64]]
        n = max(len(x) for x in group)
        audio = np.zeros((len(group), n + -n % 320), np.int16)
        for i, x in enumerate(group):
            audio[i, :len(x)] = x
        bank = DetectorBank(len(group), detect=("callerid",))
        events = [ev for at in range(0, audio.shape[1], 320) for ev in bank.feed(audio[:, at:at + 320])]
        assert events + bank.flush() == [], [files[first + ev.channel].name for ev in events]


# ---------------------------------------------------------------------------
# The core's own contract

class NativeRx:
    """The fsk_rx unit at its defaults, straight through cffi."""

    def __init__(self, channels):
        params = ffi.new("lg_fsk_rx_params *")
        lib.lg_fsk_rx_params_default(params)
        self.desc = ffi.new("lg_fsk_rx_desc *")
        check(lib.lg_fsk_rx_desc_init(self.desc, params), "desc")
        self.bank = ffi.new("lg_fsk_rx_bank *")
        self.lanes = ffi.new("lg_fsk_rx_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
        self.states = ffi.new("lg_fsk_rx_state[]", channels)
        check(lib.lg_fsk_rx_bank_init(self.bank, self.lanes, self.states, channels), "bank")
        self.channels = channels

    def feed_once(self, block):
        n = block.shape[1]
        room = lib.lg_fsk_rx_max_events(self.channels, n)
        events = ffi.new("lg_event[]", room)
        count = lib.lg_fsk_rx_feed(self.desc, self.bank, self.lanes, self.states, ffi.from_buffer(block),
                                   lib.LG_ENC_S16, n, n, events, room)
        return count, events

    def feed(self, audio):
        """Every event, as (channel, value, reason, start, end)."""
        out = []
        for at in range(0, audio.shape[1], BLOCK):
            count, events = self.feed_once(np.ascontiguousarray(audio[:, at:at + BLOCK]))
            out += [(e.channel, e.value, e.reason, e.start, e.end) for e in events[0:check(count, "feed")]]
        return out

    def message(self, channel, serial):
        buf = ffi.new("uint8_t[]", lib.LG_FSK_RX_MAX_MESSAGE)
        n = lib.lg_fsk_rx_message(self.bank, self.states, channel, serial, buf, lib.LG_FSK_RX_MAX_MESSAGE)
        return n if n < 0 else bytes(ffi.buffer(buf, n))


def test_feed_longer_than_the_limit_is_refused_before_anything_runs():
    rx = NativeRx(1)
    count, _ = rx.feed_once(np.zeros((1, lib.LG_FSK_RX_MAX_FEED + 1), np.int16))
    assert count == lib.LG_E_RANGE
    # In a detector set, before any unit has consumed anything.
    s = ffi.new("lg_detector_set *")
    check(lib.lg_detector_set_init(s, 1), "set")
    check(lib.lg_detector_set_add(s, lib.LG_UNIT_FSK_RX, rx.desc, rx.bank, rx.lanes, rx.states), "add")
    assert lib.lg_detector_set_max_feed(s) == lib.LG_FSK_RX_MAX_FEED
    block = np.zeros((1, 400), np.int16)
    room = lib.lg_detector_set_max_events(s, 400)
    events = ffi.new("lg_event[]", room)
    assert lib.lg_detector_set_feed(s, ffi.from_buffer(block), lib.LG_ENC_S16, 400, 400, events, room) == \
        lib.LG_E_RANGE


def test_messages_stay_readable_for_the_slots_and_no_longer():
    x = fsk.fsk(fsk.bits_of(SDMF, 0, 48, tail=0), "bell202", -15.0)
    five = np.concatenate([x] * (lib.LG_FSK_RX_SLOTS + 1) + [np.zeros(800)])
    rx = NativeRx(1)
    events = rx.feed(to_codes(five[np.newaxis, :], "linear"))
    assert [value for _, value, _, _, _ in events] == list(range(lib.LG_FSK_RX_SLOTS + 1))
    assert rx.message(0, 0) == lib.LG_E_RANGE  # replaced by the fifth
    assert all(rx.message(0, k) == SDMF for k in range(1, lib.LG_FSK_RX_SLOTS + 1))
    assert rx.message(0, lib.LG_FSK_RX_SLOTS + 1) == lib.LG_E_RANGE
    assert rx.message(1, 1) == lib.LG_E_RANGE
    buf = ffi.new("uint8_t[]", 4)
    assert lib.lg_fsk_rx_message(rx.bank, rx.states, 0, 1, buf, 4) == lib.LG_E_SPACE


def test_params_are_checked_field_by_field():
    with pytest.raises(UsageError, match="min_mark_bits"):
        DetectorBank(1, detect=("callerid",), callerid=FskParams(min_mark_bits=5))
    with pytest.raises(UsageError, match="max_freq_dev_pct"):
        DetectorBank(1, detect=("callerid",), callerid=FskParams(max_freq_dev_pct=5.0))


# ---------------------------------------------------------------------------
# The generator

@pytest.mark.parametrize("std", ["bell202", "v23"])
def test_generator_tones_levels_and_timing(std):
    mark_hz, space_hz = fsk.TONES[std]
    audio = C.fsk_audio(SDMF, std, level_dbm0=-13.5, twist_db=4.0, seizure_bits=30, mark_bits=150)
    bits = 30 + 150 + 10 * len(SDMF) + lib.LG_FSK_TX_TAIL_BITS
    assert len(audio) == -(-bits * 20 // 3)  # bit k starts at ceil(20 k / 3)
    marks = audio[int(40 * 20 / 3):int(170 * 20 / 3)].astype(float)
    amp_mark, amp_space = amplitudes(marks, [mark_hz, space_hz])
    assert 20 * np.log10(amp_mark / sig.dbm0_to_peak(-13.5)) == pytest.approx(0.0, abs=0.05)
    assert amp_space < 0.01 * amp_mark
    # Every bit, read back by correlating its samples with both tones: the
    # seizure alternates from 0, then the mark, then the characters.
    heard = []
    for k in range(bits):
        t = np.arange(-(-k * 20 // 3), -(-(k + 1) * 20 // 3))
        powers = [abs(np.sum(audio[t] * np.exp(-2j * np.pi * f * t / FS))) for f in (space_hz, mark_hz)]
        heard.append(int(np.argmax(powers)))
    assert heard == fsk.bits_of(SDMF, 30, 150, tail=lib.LG_FSK_TX_TAIL_BITS)
    # Phase continuity: no jump bigger than a sine's largest step at 2200 Hz.
    step = sig.dbm0_to_peak(-13.5) * 2 * np.sin(np.pi * space_hz / FS)
    assert np.abs(np.diff(audio.astype(float))).max() <= step + 2


def test_generator_round_trip_both_laws_and_errors():
    for std in ("bell202", "v23"):
        for encoding in ("linear", "ulaw", "alaw"):
            codes = C.fsk_audio(C.CallerId(number="0301234567", name="Büro", time="11231745"), std, encoding)
            assert codes.dtype == (np.int16 if encoding == "linear" else np.uint8)
            bank = DetectorBank(1, detect=("callerid",), encoding=encoding)
            events = bank.feed(codes) + bank.flush()
            assert [(C.from_event(e).name, e.reason) for e in events] == [("Büro", std)]
    for kwargs, what in [({"standard": "v21"}, "standard"), ({"level_dbm0": 4.0}, "level_dbm0"),
                         ({"twist_db": 30.0}, "twist_db"), ({"seizure_bits": -1}, "seizure_bits"),
                         ({"encoding": "gsm"}, "encoding")]:
        with pytest.raises(UsageError, match=what):
            C.fsk_audio(SDMF, **kwargs)
    with pytest.raises(UsageError, match="bytes"):
        C.fsk_audio("04120930")


# ---------------------------------------------------------------------------
# Against spandsp (adsi_tx / adsi_rx, Debian libspandsp 0.0.6)

SPANDSP_MESSAGES = [SDMF, MDMF, C.encode(C.CallerId(number_absent_reason="private", time="01010000"), "sdmf"),
                    C.encode(C.CallerId(number="0301234567", name="Lisa Müller", call_type=1, called_number="123"))]


@needs_spandsp
@pytest.mark.parametrize("std", ["bell202", "v23"])
def test_spandsp_adsi_tx_messages_are_decoded(std):
    """spandsp's transmitter (300 seizure bits, then 80 mark bits, its
    default, or GR-30's 180) at two levels: our receiver reads every message."""
    rng = sig.rng_for("spandsp-tx", std)
    cases = [(m, level, mark) for m in SPANDSP_MESSAGES for level in (-13.5, -30.0) for mark in (80, 180)]
    signals = [padded(spandsp.adsi_tx(m[:-1], standard=std, mark_bits=mark, level_dbm0=level).astype(float),
                      int(rng.integers(100, 900))) for m, level, mark in cases]
    for (message, _, _), events in zip(cases, run_bank(signals)):
        assert_heard(events, message, std)


@needs_spandsp
@pytest.mark.parametrize("std", ["bell202", "v23"])
@pytest.mark.parametrize("encoding", ["linear", "ulaw"])
def test_our_fsk_decodes_with_spandsp_adsi_rx(std, encoding):
    """At -13.5 and -25 dBm0: spandsp's adsi_rx hears nothing under about
    -30 dBm0 (its fsk_rx carrier threshold; measured: -30 for Bell 202, -29
    for V.23, where ours goes to -45)."""
    rng = sig.rng_for("spandsp-rx", std, encoding)
    audio = [C.fsk_audio(m, std, level_dbm0=level) for m in SPANDSP_MESSAGES for level in (-13.5, -25.0)]
    n = max(len(a) for a in audio) + 1600
    block = np.zeros((len(audio), n), np.int16)
    for i, a in enumerate(audio):
        at = int(rng.integers(0, 800))
        block[i, at:at + len(a)] = a
    codes = block if encoding == "linear" else sig.ulaw_encode(block)
    bank = spandsp.SpandspCallerIdBank(len(audio), standard=std, encoding=encoding)
    got = [m for at in range(0, n, BLOCK) for m in bank.feed(codes[:, at:at + BLOCK])]
    expected = [m[:-1] for m in SPANDSP_MESSAGES for _ in range(2)]
    assert sorted((m.channel, m.message) for m in got) == list(enumerate(expected))
