"""Q.931 messages and information elements: known messages from real traces and from the
project's interop notes, round trips, each element's coding errors with element, field and
octet, and fuzzing (any octets: a message or a Q931Error)."""

import pytest
from hypothesis import given, settings, strategies as st

from gateway.errors import InputError, Q931Error, UsageError
from gateway.isdn.ie import (BearerCapability, CalledPartyNumber, CallingPartyNumber, CallState, Cause,
                             ChannelIdentification, Display, ProgressIndicator, RawIe, RedirectingNumber,
                             RestartIndicator, SendingComplete, Shift, SingleOctet, decode_ies, encode_ie)
from gateway.isdn.q931 import Message, MessageType as M, decode_message, encode_message, mandatory_ies

# shared/INTEROP.md: a TE's SETUP as libpri reads it (address and control stripped here).
INTEROP_SETUP = bytes.fromhex("080200010504038090a31803a983816c0c2180") + b"0215551234" + \
    bytes.fromhex("7005a1") + b"4000" + bytes.fromhex("a1")
# Linkbit's primary rate trace (linkbit.com/static/examples/simple-isdn-call.htm): SETUP with
# a progress indicator (private network serving the local user, in-band information).
LINKBIT_SETUP = bytes.fromhex("0802003205" "04038090a3" "1803a98385" "1e028188" "6c092180") + b"2222205" + \
    bytes.fromhex("7008a1") + b"1111105" + bytes.fromhex("a1")
# A basic-access DSS1 trace (www2.informatik.hu-berlin.de/~goeller/isdn/DatenD2ToGSM.html):
# one-octet call reference, unrestricted digital, any B-channel, and the SETUP ACK to it.
BERLIN_SETUP = bytes.fromhex("0801010504028890180183" "6c03008030" "700c80") + b"01736233106"
BERLIN_SETUP_ACK = bytes.fromhex("0801810d180189")
# libpri 1.6.0 as network side, its answers to the INTEROP SETUP (recorded from pri_peer).
LIBPRI_CALL_PROCEEDING = bytes.fromhex("0802800102" "1803a98381")
LIBPRI_DISCONNECT = bytes.fromhex("08028001450802" "8290")


def test_interop_setup():
    m = decode_message(INTEROP_SETUP)
    assert (m.type, m.call_ref, m.to_originator, m.defects) == (M.SETUP, 1, False, ())
    assert m.get(BearerCapability) == BearerCapability(0, layer1=3)
    assert m.get(ChannelIdentification) == ChannelIdentification((1,), exclusive=True)
    assert m.get(CallingPartyNumber) == CallingPartyNumber("0215551234", 2, 1, 0, 0)
    assert m.get(CalledPartyNumber) == CalledPartyNumber("4000", 2, 1)
    assert m.get(SendingComplete) == SendingComplete()
    assert encode_message(m) == INTEROP_SETUP
    # Built from parts, the same octets.
    built = Message(M.SETUP, 1, False, (
        BearerCapability(BearerCapability.SPEECH, layer1=BearerCapability.G711_ALAW),
        ChannelIdentification((1,)), CallingPartyNumber("0215551234", 2, 1, 0, 0), CalledPartyNumber("4000", 2, 1),
        SendingComplete()))
    assert encode_message(built) == INTEROP_SETUP


def test_linkbit_setup():
    m = decode_message(LINKBIT_SETUP)
    assert m.call_ref == 50 and m.get(ChannelIdentification).channels == (5,)
    assert m.get(ProgressIndicator) == ProgressIndicator(8, location=1)
    assert m.get(CallingPartyNumber).digits == "2222205" and m.get(CalledPartyNumber).digits == "1111105"
    assert encode_message(m) == LINKBIT_SETUP


def test_basic_access_setup_and_setup_ack():
    m = decode_message(BERLIN_SETUP)
    assert (m.call_ref_length, m.call_ref, m.to_originator) == (1, 1, False)
    assert m.get(BearerCapability) == BearerCapability(BearerCapability.UNRESTRICTED_DIGITAL)
    ident = m.get(ChannelIdentification)
    assert (ident.primary, ident.exclusive, ident.selection, ident.channels) == (False, False, 3, ())
    assert m.get(CallingPartyNumber) == CallingPartyNumber("0", 0, 0, 0, 0)
    assert m.get(CalledPartyNumber) == CalledPartyNumber("01736233106", 0, 0)
    assert encode_message(m) == BERLIN_SETUP
    ack = decode_message(BERLIN_SETUP_ACK)
    assert (ack.type, ack.call_ref, ack.to_originator) == (M.SETUP_ACKNOWLEDGE, 1, True)
    assert ack.get(ChannelIdentification) == ChannelIdentification((), True, False, False, 1)
    assert encode_message(ack) == BERLIN_SETUP_ACK


def test_libpri_messages():
    cp = decode_message(LIBPRI_CALL_PROCEEDING)
    assert (cp.type, cp.to_originator, cp.get(ChannelIdentification).channels) == (M.CALL_PROCEEDING, True, (1,))
    disc = decode_message(LIBPRI_DISCONNECT)
    assert disc.get(Cause) == Cause(16, location=2)
    for octets in (LIBPRI_CALL_PROCEEDING, LIBPRI_DISCONNECT):
        assert encode_message(decode_message(octets)) == octets


IES = [
    (BearerCapability(BearerCapability.AUDIO_3K1, layer1=BearerCapability.G711_ULAW), "04039090a2"),
    (BearerCapability(BearerCapability.UNRESTRICTED_DIGITAL, transfer_rate=0x18, rate_multiplier=2), "0403889882"),
    (BearerCapability(0, layer1=1, layer1_extensions=bytes([0x3b, 0x80])), "04058090213b80"),
    (BearerCapability(0, layer1=3, rest=bytes([0xc2])), "04048090a3c2"),
    (ChannelIdentification((17,), exclusive=False), "1803a18391"),
    (ChannelIdentification((1, 2), exclusive=True), "1804a9830182"),
    (ChannelIdentification((), selection=3, exclusive=False), "1801a3"),
    (ChannelIdentification((), d_channel=True, selection=0), "1801ac"),
    (ChannelIdentification((), map=True, slot_map=bytes([0, 0, 0, 2])), "1806a99300000002"),
    (ChannelIdentification((5,), interface_id=bytes([0x81])), "1804e9818385"),
    (CallingPartyNumber("555", 4, 1), "6c04c1353535"),
    (CallingPartyNumber("", 0, 0, presentation=1, screening=3), "6c0200a3"),
    (CalledPartyNumber("*31#", 0, 0), "7005802a333123"),
    (RedirectingNumber("100", 2, 1, 0, 0, 1), "7406210081313030"),
    (RedirectingNumber("7", 0, 1), "74028137"),
    (Cause(17, 0), "08028091"),
    (Cause(34, 2, recommendation=0, diagnostic=b"\x01"), "08040280a201"),
    (Cause(100, 4, coding_standard=3), "0802e4e4"),
    (ProgressIndicator(1, 4), "1e028481"),
    (Display("Alice"), "2805416c696365"),
    (CallState(10), "14010a"),
    (CallState(61), "14013d"),
    (RestartIndicator(7), "790187"),
    (RestartIndicator(0), "790180"),
    (SendingComplete(), "a1"),
    (SingleOctet(0xa0), "a0"),
    (Shift(6, locking=False), "9e"),
    (RawIe(0x1c, b"\x91\xa1"), "1c0291a1"),
]


@pytest.mark.parametrize("ie, octets", IES, ids=[f"{type(ie).__name__}-{o}" for ie, o in IES])
def test_ie_round_trips(ie, octets):
    assert encode_ie(ie).hex() == octets
    ies, defects = decode_ies(bytes.fromhex(octets))
    assert defects == () and ies == (ie,)


# (element octets, what the error names, the offset of the octet at fault within them)
IE_ERRORS = [
    ("040180", "octet 4", 3),                        # bearer capability that ends after octet 3
    ("04020090", "octet 3", 2),                      # octet 3 without its extension bit
    ("04028010", "octet 4", 3),
    ("04028098", "octet 4.1", 4),                    # multirate (rate 0x18) without its octet 4.1
    ("180289a9", "octets after octet 3", None),      # basic access "B1" followed by another octet
    ("1801b1", "bit 5", 2),                          # the spare bit set
    ("1801a9", "octet 3.2", 3),                      # "as indicated" without the channel type
    ("1802a903", "octet 3.2", 3),                    # octet 3.2 without extension bit
    ("1802a983", "octet 3.3", 4),                    # no channel number
    ("1803a98301", "octet 3.3", 5),                  # a channel number without the last-octet bit
    ("1802a993", "slot map", 4),
    ("6c0100", "octet 3a", 3),                       # calling number: 3a announced, missing
    ("6c020060", "octet 3a", 3),                     # 3a without extension bit
    ("6c0200e0", "presentation", 3),                 # presentation 3 is reserved
    ("6c0281b0", "not a printable IA5 character", 3),
    ("70020131", "octet 3", 2),                      # called number with an octet 3a
    ("700181", "", None),                            # fine: no digits
    ("080180", "octet 4", 3),
    ("08020010", "octet 3a", 3),                     # 3a (recommendation) without extension bit
    ("08028010", "octet 4", 3),                      # cause value without extension bit
    ("1e0181", "octet 4", 3),
    ("1e03818801", "octets after octet 4", None),
    ("790107", "octet 3", 2),
    ("790183", "class 3 is reserved", 2),
    ("79020700", "octet 3", 2),
    ("1402010a", "octets after", None),
    ("2801ff", "IA5", 2),
    ("7403210031", "octet 3b", 4),                   # redirecting: 3b announced by 3a, without its bit 8
]


@pytest.mark.parametrize("octets, field, offset", IE_ERRORS)
def test_ie_errors_name_element_field_and_octet(octets, field, offset):
    data = bytes.fromhex(octets)
    ies, defects = decode_ies(data, offset=10)
    if not field:
        assert defects == ()
        return
    assert len(defects) == 1, defects
    d = defects[0]
    assert d.kind == "content" and d.ie_id == data[0]
    err = d.error
    assert isinstance(err, Q931Error) and isinstance(err, InputError) and err.cause == 100 and err.ie == data[0]
    assert field in str(err)
    if offset is not None:
        assert err.offset == 10 + offset
    # The element is kept as it came, so the message still encodes to the same octets.
    assert ies == (RawIe(data[0], data[2:]),) and encode_ie(ies[0]) == data


def test_unknown_truncated_and_shifted_elements():
    # 0x4b is no element of codeset 0; 0x01 is one of "comprehension required" identifiers.
    ies, defects = decode_ies(bytes.fromhex("4b0101" "010100"))
    assert [d.kind for d in defects] == ["unrecognized", "unrecognized"]
    assert [d.error.cause for d in defects] == [99, 99] and defects[0].error.offset == 0
    ies, defects = decode_ies(bytes.fromhex("7005a134"), offset=5)
    assert defects[0].kind == "truncated" and defects[0].error.offset == 6 and ies == ()
    assert defects[0].error.cause == 95
    ies, defects = decode_ies(bytes.fromhex("70"), offset=5)
    assert defects[0].kind == "truncated" and defects[0].error.offset == 6
    # A non-locking shift to codeset 6 covers the next element only; locking shifts stay.
    ies, defects = decode_ies(bytes.fromhex("9e" "280141" "2801" "42" "96" "0401ff" "a1"))
    assert defects == ()
    assert ies == (Shift(6), RawIe(0x28, b"A", 6), Display("B"), Shift(6, True), RawIe(0x04, b"\xff", 6),
                   SingleOctet(0xa1))
    # A locking shift back down is not understood.
    _, defects = decode_ies(bytes.fromhex("9690"))
    assert defects[0].kind == "content" and "locking shift" in str(defects[0].error)


def test_repeated_element_first_one_counts():
    m = decode_message(bytes.fromhex("08020001450802809108028092"))
    assert m.get(Cause).value == 17 and len(m.ies) == 2


@pytest.mark.parametrize("octets, field, offset", [
    ("", "protocol discriminator", 0),
    ("0902000105", "protocol discriminator", 0),
    ("0802", "length", 2),
    ("0812000105", "call reference length", 1),
    ("0803000001 05", "call reference length", 1),       # 3 octets: more than a PRI uses
    ("08020001", "length", 4),
])
def test_header_errors_mean_ignore(octets, field, offset):
    with pytest.raises(Q931Error) as info:
        decode_message(bytes.fromhex(octets.replace(" ", "")))
    err = info.value
    assert err.cause is None and err.field == field and err.offset == offset


def test_header_forms():
    assert decode_message(bytes.fromhex("080075")) == Message(M.STATUS_ENQUIRY, 0, False, (), 0)
    glob = decode_message(bytes.fromhex("08020000460790"[:10] + "790187"))
    assert glob.is_global and glob.type is M.RESTART and glob.get(RestartIndicator).restart_class == 7
    flagged = decode_message(bytes.fromhex("0802ffff4d"))
    assert (flagged.call_ref, flagged.to_originator) == (0x7fff, True)
    unknown = decode_message(bytes.fromhex("080200017f"))
    assert unknown.type == 0x7f and unknown.name == "message type 0x7f"
    extension = decode_message(bytes.fromhex("0802000185"))
    assert extension.type == 0x85
    with pytest.raises(UsageError):
        encode_message(Message(M.SETUP, 0x8000))
    with pytest.raises(UsageError):
        encode_message(Message(0x100, 1))
    with pytest.raises(UsageError):
        encode_ie(RawIe(0x7e, bytes(256)))
    with pytest.raises(UsageError):
        encode_ie(CalledPartyNumber("12\u00e9"))
    with pytest.raises(UsageError):
        encode_ie(Cause(128))


def test_check_raises_the_first_defect():
    m = decode_message(bytes.fromhex("080200010504038090a3" "7001"))
    with pytest.raises(Q931Error) as info:
        m.check()
    assert "called party number" in str(info.value)
    assert decode_message(INTEROP_SETUP).check().type is M.SETUP


def test_mandatory_elements_by_direction():
    assert mandatory_ies(M.SETUP, from_network=True) == (0x04, 0x18)
    assert mandatory_ies(M.SETUP, from_network=False) == (0x04,)
    assert mandatory_ies(M.DISCONNECT, False) == (0x08,)
    assert mandatory_ies(M.CONNECT, True) == ()


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_any_octets_give_a_message_or_an_error(data):
    try:
        m = decode_message(data)
    except Q931Error as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(data)
        return
    for d in m.defects:
        assert isinstance(d.error, Q931Error) and d.error.cause in (95, 99, 100)
        assert 0 <= d.error.offset <= len(data)
    if not any(d.kind == "truncated" for d in m.defects):
        assert encode_message(m) == data     # nothing lost, defects included


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=40).map(lambda b: bytes.fromhex("0802000105") + b))
def test_fuzz_element_part(data):
    m = decode_message(data)
    if not any(d.kind == "truncated" for d in m.defects):
        assert encode_message(m) == data
