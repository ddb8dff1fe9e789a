"""The LAPD frame codec: known frames from real traces, round trips, every error with its
field, octet and MDL-ERROR code, and fuzzing (any octets: a frame or a LapdFrameError)."""

import pytest
from hypothesis import given, settings, strategies as st

from gateway.errors import InputError, LapdFrameError, UsageError
from gateway.isdn.q921 import FrameKind, LapdFrame, decode_frame, encode_frame

# Linkbit's "simple ISDN call" trace of a primary rate interface
# (linkbit.com/static/examples/simple-isdn-call.htm): link set-up both ways and a SETUP in
# an I frame N(S)=1 N(R)=1.
LINKBIT_SABME_USER = bytes.fromhex("00017f")
LINKBIT_SABME_NETWORK = bytes.fromhex("02017f")
LINKBIT_UA_BY_NETWORK = bytes.fromhex("020173")
LINKBIT_UA_BY_USER = bytes.fromhex("000173")
LINKBIT_SETUP_FRAME = bytes.fromhex(
    "00010202080200320504038090a31803a983851e0281886c09218032323232323035"
    "7008a131313131313035a1")
# A basic-access DSS1 trace (www2.informatik.hu-berlin.de/~goeller/isdn/DatenD2ToGSM.html):
# TEI 70, the network's SETUP ACKNOWLEDGE as a command (C/R 1), N(S)=0 N(R)=1.
BERLIN_SETUP_ACK_FRAME = bytes.fromhex("028d00020801810d180189")


def test_known_unnumbered_frames():
    assert decode_frame(LINKBIT_SABME_USER) == LapdFrame(FrameKind.SABME, cr=0, pf=True)
    assert decode_frame(LINKBIT_SABME_NETWORK) == LapdFrame(FrameKind.SABME, cr=1, pf=True)
    assert decode_frame(LINKBIT_UA_BY_NETWORK) == LapdFrame(FrameKind.UA, cr=1, pf=True)
    for frame in (LINKBIT_SABME_USER, LINKBIT_SABME_NETWORK, LINKBIT_UA_BY_NETWORK, LINKBIT_UA_BY_USER):
        assert encode_frame(decode_frame(frame)) == frame


def test_known_i_frames():
    f = decode_frame(LINKBIT_SETUP_FRAME)
    assert (f.kind, f.cr, f.ns, f.nr, f.pf, f.sapi, f.tei) == (FrameKind.I, 0, 1, 1, False, 0, 0)
    assert f.info[:5] == bytes.fromhex("0802003205")
    assert encode_frame(f) == LINKBIT_SETUP_FRAME
    g = decode_frame(BERLIN_SETUP_ACK_FRAME)
    assert (g.kind, g.cr, g.tei, g.ns, g.nr) == (FrameKind.I, 1, 70, 0, 1)
    assert g.info == bytes.fromhex("0801810d180189")
    assert encode_frame(g) == BERLIN_SETUP_ACK_FRAME


@pytest.mark.parametrize("frame, octets", [
    (LapdFrame(FrameKind.RR, cr=1, pf=True, nr=5), "0201010b"),      # the network's enquiry
    (LapdFrame(FrameKind.RNR, cr=0, pf=False, nr=127), "000105fe"),
    (LapdFrame(FrameKind.REJ, cr=1, pf=False, nr=0), "02010900"),
    (LapdFrame(FrameKind.DM, cr=1, pf=True), "02011f"),
    (LapdFrame(FrameKind.DISC, cr=0, pf=True), "000153"),
    (LapdFrame(FrameKind.UI, cr=0, pf=False, info=b"\x08\x01"), "0001030801"),
    (LapdFrame(FrameKind.FRMR, cr=1, pf=True, info=bytes(5)), "0201970000000000"),
    (LapdFrame(FrameKind.XID, cr=0, pf=False, info=b"\x82"), "0001af82"),
    (LapdFrame(FrameKind.I, cr=0, pf=True, ns=127, nr=64, info=b"x"), "0001fe8178"),
    (LapdFrame(FrameKind.SABME, cr=0, pf=True, sapi=63, tei=127), "fcff7f"),
])
def test_round_trips(frame, octets):
    assert encode_frame(frame).hex() == octets
    assert decode_frame(bytes.fromhex(octets)) == frame


@pytest.mark.parametrize("octets, code, field, offset", [
    ("", None, "length", 0),
    ("0001", None, "length", 2),
    ("0101 7f", None, "address EA", 0),            # a one-octet address (LAPB's)
    ("0000 7f", None, "address EA", 1),            # a three-octet address
    ("0001 00", "N", "control", 3),                # an I frame cut after its first control octet
    ("0001 0d00", "L", "control", 2),              # supervisory function 11 is undefined
    ("0001 1100", "L", "control", 2),              # bits 5-8 of a supervisory frame are 0
    ("0001 0100", None, None, None),               # RR: fine
    ("0001 01", "N", "length", 3),                 # RR without its N(R) octet
    ("0001 010000", "N", "length", 4),             # RR with an information field
    ("0001 7f00", "M", "information", 3),          # SABME with information
    ("0001 73aa", "M", "information", 3),          # UA with information
    ("0001 87000000", "N", "information", 3),      # FRMR's information field is 5 octets
    ("0001 e3", "L", "control", 2),                # an unnumbered code Q.921 does not define
])
def test_errors_name_field_offset_and_code(octets, code, field, offset):
    data = bytes.fromhex(octets.replace(" ", ""))
    if field is None:
        decode_frame(data)
        return
    with pytest.raises(LapdFrameError) as info:
        decode_frame(data)
    err = info.value
    assert isinstance(err, InputError) and isinstance(err, ValueError)
    assert (err.code, err.field, err.offset) == (code, field, offset)
    assert f"byte {offset}" in str(err)


def test_n201_limits_information():
    decode_frame(bytes.fromhex("00010000") + bytes(260))
    with pytest.raises(LapdFrameError) as info:
        decode_frame(bytes.fromhex("00010000") + bytes(261))
    assert info.value.code == "O" and info.value.offset == 4
    with pytest.raises(LapdFrameError) as info:
        decode_frame(bytes.fromhex("000103") + bytes(300))
    assert info.value.code == "O"
    decode_frame(bytes.fromhex("00010000") + bytes(300), n201=300)


def test_encoding_refuses_what_cannot_be_sent():
    with pytest.raises(UsageError):
        encode_frame(LapdFrame(FrameKind.I, cr=0, ns=128, nr=0))
    with pytest.raises(UsageError):
        encode_frame(LapdFrame(FrameKind.RR, cr=0, nr=None))
    with pytest.raises(UsageError):
        encode_frame(LapdFrame(FrameKind.RR, cr=0, nr=1, info=b"x"))
    with pytest.raises(UsageError):
        encode_frame(LapdFrame(FrameKind.SABME, cr=0, info=b"x"))
    with pytest.raises(UsageError):
        encode_frame(LapdFrame(FrameKind.SABME, cr=2))
    with pytest.raises(UsageError):
        encode_frame(LapdFrame(FrameKind.SABME, cr=0, sapi=64))


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_any_octets_give_a_frame_or_a_lapd_error(data):
    try:
        frame = decode_frame(data)
    except LapdFrameError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(data)
        assert exc.code in (None, "L", "M", "N", "O")
        return
    # What decodes encodes back to the same octets (the codec loses nothing).
    assert encode_frame(frame) == data


frames = st.builds(
    LapdFrame,
    kind=st.sampled_from(FrameKind), cr=st.integers(0, 1), pf=st.booleans(),
    ns=st.integers(0, 127), nr=st.integers(0, 127), info=st.binary(max_size=40),
    sapi=st.integers(0, 63), tei=st.integers(0, 127))


@settings(max_examples=1000, deadline=None)
@given(frames)
def test_fuzz_round_trip_of_valid_frames(frame):
    kind = frame.kind
    ns = frame.ns if kind is FrameKind.I else None
    nr = frame.nr if kind in (FrameKind.I, FrameKind.RR, FrameKind.RNR, FrameKind.REJ) else None
    info = frame.info if kind in (FrameKind.I, FrameKind.UI, FrameKind.XID) else \
        (frame.info[:5].ljust(5, b"\0") if kind is FrameKind.FRMR else b"")
    frame = LapdFrame(kind, frame.cr, frame.pf, ns, nr, info, frame.sapi, frame.tei)
    assert decode_frame(encode_frame(frame)) == frame
