"""Q.931 call control, both sides: every state transition of the call state machines
(table-driven: a path to each state, then each input it takes), the timers, the answers
of clause 5.8 to what is wrong, RESTART, the data link's failures and resets, B-channel
selection, the host's misuse, and fuzzing with random message sequences."""

import dataclasses

import pytest
from hypothesis import given, settings, strategies as st

from gateway.errors import UsageError
from gateway.isdn import Role
from gateway.isdn.call_control import (CallControl, CallControlConfig, CallDisconnected, CallOffered,
                                       ChannelsRestarted, Q931Timers, RestartFailed, SendMessage, State,
                                       StatusReceived)
from gateway.isdn.ie import (BearerCapability, CallingPartyNumber, Display, RawIe, RedirectingNumber,
                             RestartIndicator)
from gateway.isdn.q931 import Message, decode_message, encode_message
from gateway.isdn.switch_type import SWITCH_TYPES, switch_type

from tests.isdn.calls import (CalledPartyNumber, CallState, Cause, ChannelIdentification, M, ProgressIndicator,
                              SendingComplete, Side, event_names, events, sent, sent_types)

USER, NETWORK = Role.USER, Role.NETWORK
CH1 = ChannelIdentification((1,))
PI8 = ProgressIndicator(8, 1)


def host(name, *args, **kw):
    return lambda s: s.host(name, *args, **kw)


def rx(mtype, *ies):
    return lambda s: s.peer(mtype, *ies)


def timer(name):
    return lambda s: s.expire(name)


def twice(name):
    return lambda s: (s.expire(name), s.expire(name))[1]


# How to reach each state: (our side, config, steps). "o" marks our own call, "i" the peer's.
PATHS = {
    "U1": (USER, {}, [host("setup", "4000", 1)]),
    "U2": (USER, {}, [host("setup", "40", 1, complete=False), rx(M.SETUP_ACKNOWLEDGE, CH1)]),
    "U3": (USER, {}, [host("setup", "4000", 1), rx(M.CALL_PROCEEDING, CH1)]),
    "U4": (USER, {}, [host("setup", "4000", 1), rx(M.CALL_PROCEEDING, CH1), rx(M.ALERTING)]),
    "U10o": (USER, {}, [host("setup", "4000", 1), rx(M.CALL_PROCEEDING, CH1), rx(M.CONNECT)]),
    "U11": (USER, {}, [host("setup", "4000", 1), rx(M.CONNECT, CH1), host("hangup")]),
    "U19": (USER, {}, [host("setup", "4000", 1), rx(M.CONNECT, CH1), rx(M.DISCONNECT, Cause(16))]),
    "U6": (USER, {"auto_proceeding": False}, [lambda s: s.incoming()]),
    "U7": (USER, {"auto_proceeding": False}, [lambda s: s.incoming(), host("alerting")]),
    "U8": (USER, {"auto_proceeding": False}, [lambda s: s.incoming(), host("alerting"), host("answer")]),
    "U9": (USER, {}, [lambda s: s.incoming()]),
    "U10i": (USER, {}, [lambda s: s.incoming(), host("answer"), rx(M.CONNECT_ACKNOWLEDGE)]),
    "U12": (USER, {"wait_inband_on_disconnect": True},
            [host("setup", "4000", 1), rx(M.CONNECT, CH1), rx(M.DISCONNECT, Cause(17, 4), PI8)]),
    "U25": (USER, {"overlap_receiving": True}, [lambda s: s.incoming(number="40", complete=False)]),
    "U25e": (USER, {"overlap_receiving": True}, [lambda s: s.incoming(number="", complete=False)]),
    "N1": (NETWORK, {"auto_proceeding": False}, [lambda s: s.incoming()]),
    "N2": (NETWORK, {"overlap_receiving": True}, [lambda s: s.incoming(number="40", complete=False)]),
    "N2e": (NETWORK, {"overlap_receiving": True}, [lambda s: s.incoming(number="", complete=False)]),
    "N3": (NETWORK, {}, [lambda s: s.incoming()]),
    "N4": (NETWORK, {}, [lambda s: s.incoming(), host("alerting")]),
    "N10i": (NETWORK, {}, [lambda s: s.incoming(), host("answer")]),
    "N12": (NETWORK, {}, [lambda s: s.incoming(), host("answer"), host("hangup")]),
    "N19": (NETWORK, {}, [lambda s: s.incoming(), host("answer"), rx(M.DISCONNECT, Cause(16))]),
    "N6": (NETWORK, {}, [host("setup", "4000", 1)]),
    "N7": (NETWORK, {}, [host("setup", "4000", 1), rx(M.ALERTING, CH1)]),
    "N9": (NETWORK, {}, [host("setup", "4000", 1), rx(M.CALL_PROCEEDING, CH1)]),
    "N10o": (NETWORK, {}, [host("setup", "4000", 1), rx(M.CONNECT, CH1)]),
    "N25": (NETWORK, {}, [host("setup", "40", 1, complete=False), rx(M.SETUP_ACKNOWLEDGE, CH1)]),
}

D, R = "CallDisconnected", "CallReleased"

# (start, what happens, messages we send, events for the host, end state, timers running after)
TRANSITIONS = [
    # ---- user side, a call we make (Q.931 5.1) ----
    ("U1", rx(M.SETUP_ACKNOWLEDGE, CH1), [], ["SetupAcknowledged"], 2, {"t304"}),
    ("U1", rx(M.CALL_PROCEEDING, CH1), [], ["CallProceeding"], 3, {"t310"}),
    ("U1", rx(M.ALERTING, CH1), [], ["CallAlerting"], 4, set()),
    ("U1", rx(M.CONNECT, CH1), [M.CONNECT_ACKNOWLEDGE], ["CallConnected"], 10, set()),
    ("U1", rx(M.PROGRESS, PI8), [], ["CallProgressed"], 1, {"t303"}),
    ("U1", rx(M.RELEASE_COMPLETE, Cause(17, 4)), [], [D, R], 0, set()),
    ("U1", rx(M.RELEASE, Cause(34, 2)), [M.RELEASE_COMPLETE], [D, R], 0, set()),
    ("U1", rx(M.DISCONNECT, Cause(17, 4)), [M.RELEASE], [D], 19, {"t308"}),
    ("U1", timer("t303"), [M.SETUP], [], 1, {"t303"}),
    ("U1", twice("t303"), [M.RELEASE_COMPLETE], [D, R], 0, set()),
    ("U1", host("hangup"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U1", rx(M.STATUS_ENQUIRY), [M.STATUS], [], 1, {"t303"}),
    ("U1", rx(M.CONNECT_ACKNOWLEDGE), [M.STATUS], ["ProtocolError"], 1, {"t303"}),
    ("U1", rx(M.INFORMATION), [M.STATUS], ["ProtocolError"], 1, {"t303"}),
    ("U2", host("information", "01"), [M.INFORMATION], [], 2, {"t304"}),
    ("U2", rx(M.CALL_PROCEEDING), [], ["CallProceeding"], 3, {"t310"}),
    ("U2", rx(M.ALERTING), [], ["CallAlerting"], 4, set()),
    ("U2", rx(M.CONNECT), [M.CONNECT_ACKNOWLEDGE], ["CallConnected"], 10, set()),
    ("U2", rx(M.PROGRESS, PI8), [], ["CallProgressed"], 2, {"t304"}),
    ("U2", rx(M.INFORMATION, Display("x")), [], [], 2, {"t304"}),
    ("U2", timer("t304"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U2", host("hangup"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U3", rx(M.ALERTING, PI8), [], ["CallAlerting"], 4, set()),
    ("U3", rx(M.CONNECT), [M.CONNECT_ACKNOWLEDGE], ["CallConnected"], 10, set()),
    ("U3", rx(M.PROGRESS, PI8), [], ["CallProgressed"], 3, set()),
    ("U3", timer("t310"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U3", rx(M.SETUP_ACKNOWLEDGE), [M.STATUS], ["ProtocolError"], 3, {"t310"}),
    ("U3", host("hangup"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U4", rx(M.CONNECT), [M.CONNECT_ACKNOWLEDGE], ["CallConnected"], 10, set()),
    ("U4", rx(M.PROGRESS, PI8), [], ["CallProgressed"], 4, set()),
    ("U4", rx(M.DISCONNECT, Cause(19, 4), PI8), [M.RELEASE], [D], 19, {"t308"}),
    ("U4", host("hangup"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U4", rx(M.NOTIFY, RawIe(0x27, b"\x80")), [], [], 4, set()),
    ("U10o", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [D], 19, {"t308"}),
    ("U10o", host("hangup"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U10o", rx(M.INFORMATION, RawIe(0x2c, b"5")), [], ["DigitsReceived"], 10, set()),
    ("U10o", rx(M.NOTIFY, RawIe(0x27, b"\x80")), [], [], 10, set()),
    ("U10o", rx(M.ALERTING), [M.STATUS], ["ProtocolError"], 10, set()),
    ("U10o", host("information", "7"), [M.INFORMATION], [], 10, set()),
    ("U11", rx(M.RELEASE, Cause(16)), [M.RELEASE_COMPLETE], [R], 0, set()),
    ("U11", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [], 19, {"t308"}),          # clear collision
    ("U11", rx(M.RELEASE_COMPLETE), [], [R], 0, set()),
    ("U11", timer("t305"), [M.RELEASE], [], 19, {"t308"}),
    ("U11", host("hangup"), [], [], 11, {"t305"}),
    ("U11", rx(M.CONNECT), [M.STATUS], ["ProtocolError"], 11, {"t305"}),
    ("U11", rx(M.CONNECT_ACKNOWLEDGE), [], [], 11, {"t305"}),                  # crossed our DISCONNECT
    ("U12", host("hangup"), [M.RELEASE], [], 19, {"t308"}),
    ("U12", rx(M.RELEASE, Cause(16)), [M.RELEASE_COMPLETE], [R], 0, set()),
    ("U12", rx(M.DISCONNECT, Cause(16)), [M.STATUS], ["ProtocolError"], 12, set()),
    ("U19", rx(M.RELEASE_COMPLETE), [], [R], 0, set()),
    ("U19", rx(M.RELEASE, Cause(16)), [], [R], 0, set()),                        # RELEASE crossed ours
    ("U19", timer("t308"), [M.RELEASE], [], 19, {"t308"}),
    ("U19", twice("t308"), [M.RESTART], [R], 0, set()),                          # channel to maintenance
    ("U19", rx(M.DISCONNECT, Cause(16)), [M.STATUS], ["ProtocolError"], 19, {"t308"}),
    ("U19", host("hangup"), [], [], 19, {"t308"}),
    # ---- user side, a call the network makes (Q.931 5.2) ----
    ("U6", host("proceeding"), [M.CALL_PROCEEDING], [], 9, set()),
    ("U6", host("alerting"), [M.ALERTING], [], 7, set()),
    ("U6", host("answer"), [M.CONNECT], [], 8, {"t313"}),
    ("U6", host("hangup", 21), [M.RELEASE_COMPLETE], [D, R], 0, set()),
    ("U6", rx(M.RELEASE, Cause(16)), [M.RELEASE_COMPLETE], [D, R], 0, set()),
    ("U6", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [D], 19, {"t308"}),
    ("U6", rx(M.INFORMATION), [M.STATUS], ["ProtocolError"], 6, set()),
    ("U7", host("answer"), [M.CONNECT], [], 8, {"t313"}),
    ("U7", host("hangup"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U7", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [D], 19, {"t308"}),
    ("U8", rx(M.CONNECT_ACKNOWLEDGE), [], ["CallConnected"], 10, set()),
    ("U8", timer("t313"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U8", host("hangup"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U9", host("alerting", True), [M.ALERTING], [], 7, set()),
    ("U9", host("answer"), [M.CONNECT], [], 8, {"t313"}),
    ("U9", host("progress"), [M.PROGRESS], [], 9, set()),
    ("U9", host("hangup", 17), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U10i", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [D], 19, {"t308"}),
    ("U10i", host("hangup"), [M.DISCONNECT], [D], 11, {"t305"}),
    ("U25", rx(M.INFORMATION, CalledPartyNumber("0")), [], [], 25, {"t302"}),
    ("U25", rx(M.INFORMATION, CalledPartyNumber("01"), SendingComplete()), [M.CALL_PROCEEDING], ["CallOffered"],
     9, set()),
    ("U25", timer("t302"), [M.CALL_PROCEEDING], ["CallOffered"], 9, set()),
    ("U25e", timer("t302"), [M.DISCONNECT], [], 11, {"t305"}),
    ("U25", rx(M.RELEASE, Cause(16)), [M.RELEASE_COMPLETE], [], 0, set()),
    # ---- network side, a call the user makes ----
    ("N1", host("proceeding"), [M.CALL_PROCEEDING], [], 3, set()),
    ("N1", host("alerting"), [M.ALERTING], [], 4, set()),
    ("N1", host("answer"), [M.CONNECT], ["CallConnected"], 10, set()),
    ("N1", host("hangup", 17), [M.RELEASE_COMPLETE], [D, R], 0, set()),
    ("N1", rx(M.INFORMATION), [M.STATUS], ["ProtocolError"], 1, set()),
    ("N1", rx(M.RELEASE, Cause(16)), [M.RELEASE_COMPLETE], [D, R], 0, set()),
    ("N2", rx(M.INFORMATION, CalledPartyNumber("0")), [], [], 2, {"t302"}),
    ("N2", rx(M.INFORMATION, CalledPartyNumber("01"), SendingComplete()), [M.CALL_PROCEEDING], ["CallOffered"],
     3, set()),
    ("N2", timer("t302"), [M.CALL_PROCEEDING], ["CallOffered"], 3, set()),
    ("N2e", timer("t302"), [M.DISCONNECT], [], 12, {"t305"}),
    ("N3", host("alerting"), [M.ALERTING], [], 4, set()),
    ("N3", host("answer"), [M.CONNECT], ["CallConnected"], 10, set()),
    ("N3", host("progress"), [M.PROGRESS], [], 3, set()),
    ("N3", host("hangup", 17), [M.DISCONNECT], [D], 12, {"t305"}),
    ("N3", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [D], 19, {"t308"}),
    ("N3", rx(M.INFORMATION, CalledPartyNumber("9")), [], ["DigitsReceived"], 3, set()),
    ("N4", host("answer"), [M.CONNECT], ["CallConnected"], 10, set()),
    ("N4", host("hangup"), [M.DISCONNECT], [D], 12, {"t305"}),
    ("N4", rx(M.CONNECT), [M.STATUS], ["ProtocolError"], 4, set()),
    ("N10i", rx(M.CONNECT_ACKNOWLEDGE), [], [], 10, set()),
    ("N10i", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [D], 19, {"t308"}),
    ("N10i", host("hangup"), [M.DISCONNECT], [D], 12, {"t305"}),
    ("N12", rx(M.RELEASE, Cause(16)), [M.RELEASE_COMPLETE], [R], 0, set()),
    ("N12", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [], 19, {"t308"}),         # clear collision
    ("N12", timer("t305"), [M.RELEASE], [], 19, {"t308"}),
    ("N12", host("hangup"), [], [], 12, {"t305"}),
    ("N12", rx(M.CONNECT_ACKNOWLEDGE), [], [], 12, {"t305"}),
    ("N19", rx(M.RELEASE_COMPLETE), [], [R], 0, set()),
    ("N19", rx(M.RELEASE), [], [R], 0, set()),
    ("N19", timer("t308"), [M.RELEASE], [], 19, {"t308"}),
    ("N19", twice("t308"), [M.RESTART], [R], 0, set()),
    # ---- network side, a call we make ----
    ("N6", rx(M.CALL_PROCEEDING, CH1), [], ["CallProceeding"], 9, {"t310"}),
    ("N6", rx(M.ALERTING, CH1), [], ["CallAlerting"], 7, {"t301"}),
    ("N6", rx(M.CONNECT, CH1), [M.CONNECT_ACKNOWLEDGE], ["CallConnected"], 10, set()),
    ("N6", rx(M.SETUP_ACKNOWLEDGE, CH1), [], ["SetupAcknowledged"], 25, {"t304"}),
    ("N6", rx(M.RELEASE_COMPLETE, Cause(21)), [], [D, R], 0, set()),
    ("N6", timer("t303"), [M.SETUP], [], 6, {"t303"}),
    ("N6", twice("t303"), [M.RELEASE_COMPLETE], [D, R], 0, set()),
    ("N6", host("hangup"), [M.DISCONNECT], [D], 12, {"t305"}),
    ("N7", rx(M.CONNECT), [M.CONNECT_ACKNOWLEDGE], ["CallConnected"], 10, set()),
    ("N7", timer("t301"), [M.DISCONNECT], [D], 12, {"t305"}),
    ("N7", rx(M.PROGRESS, PI8), [], ["CallProgressed"], 7, {"t301"}),
    ("N7", host("hangup"), [M.DISCONNECT], [D], 12, {"t305"}),
    ("N9", rx(M.ALERTING), [], ["CallAlerting"], 7, {"t301"}),
    ("N9", rx(M.CONNECT), [M.CONNECT_ACKNOWLEDGE], ["CallConnected"], 10, set()),
    ("N9", rx(M.PROGRESS, PI8), [], ["CallProgressed"], 9, {"t310"}),
    ("N9", timer("t310"), [M.DISCONNECT], [D], 12, {"t305"}),
    ("N9", rx(M.DISCONNECT, Cause(17)), [M.RELEASE], [D], 19, {"t308"}),
    ("N10o", rx(M.DISCONNECT, Cause(16)), [M.RELEASE], [D], 19, {"t308"}),
    ("N10o", host("hangup"), [M.DISCONNECT], [D], 12, {"t305"}),
    ("N25", host("information", "01"), [M.INFORMATION], [], 25, {"t304"}),
    ("N25", rx(M.CALL_PROCEEDING), [], ["CallProceeding"], 9, {"t310"}),
    ("N25", rx(M.ALERTING), [], ["CallAlerting"], 7, {"t301"}),
    ("N25", rx(M.CONNECT), [M.CONNECT_ACKNOWLEDGE], ["CallConnected"], 10, set()),
    ("N25", timer("t304"), [M.DISCONNECT], [D], 12, {"t305"}),
]


def reach(path: str) -> Side:
    role, config, steps = PATHS[path]
    s = Side(role, **config)
    for step in steps:
        step(s)
    wanted = int(path[1:].rstrip("oie"))
    assert s.state() == wanted, f"the path to {path} ends in {s.state()}"
    return s


def _ids():
    seen = {}
    for row in TRANSITIONS:
        n = seen[row[0]] = seen.get(row[0], 0) + 1
        yield f"{row[0]}-{n}"


@pytest.mark.parametrize("start, action, messages, names, end, timers", TRANSITIONS, ids=list(_ids()))
def test_transition(start, action, messages, names, end, timers):
    s = reach(start)
    out = action(s)
    assert sent_types(out) == messages
    assert event_names(out) == names
    if end == 0:
        assert s.cc.by_id.get(s.call) is None and s.cc.calls == {}
    else:
        assert s.state() == end
    assert s.timers() == timers
    for m in sent(out):
        assert m.defects == ()            # everything we send decodes cleanly
        if not m.is_global:
            assert m.call_ref == s.ref and m.to_originator == (not s.outgoing)


def test_every_state_is_covered_for_both_sides():
    covered = {(PATHS[row[0]][0], int(row[0][1:].rstrip("oie"))) for row in TRANSITIONS}
    user = {State.CALL_INITIATED, State.OVERLAP_SENDING, State.OUTGOING_CALL_PROCEEDING, State.CALL_DELIVERED,
            State.CALL_PRESENT, State.CALL_RECEIVED, State.CONNECT_REQUEST, State.INCOMING_CALL_PROCEEDING,
            State.ACTIVE, State.DISCONNECT_REQUEST, State.DISCONNECT_INDICATION, State.RELEASE_REQUEST,
            State.OVERLAP_RECEIVING}
    network = {State.CALL_INITIATED, State.OVERLAP_SENDING, State.OUTGOING_CALL_PROCEEDING, State.CALL_DELIVERED,
               State.CALL_PRESENT, State.CALL_RECEIVED, State.INCOMING_CALL_PROCEEDING, State.ACTIVE,
               State.DISCONNECT_INDICATION, State.RELEASE_REQUEST, State.OVERLAP_RECEIVING}
    # N8 and N11 are passed through at once (call_control's docstring says why).
    assert {int(x) for x in user} <= {st for role, st in covered if role is USER}
    assert {int(x) for x in network} <= {st for role, st in covered if role is NETWORK}


# ---- details of the transitions ----

def test_setup_carries_numbers_and_the_channel():
    s = Side(USER)
    out = s.host("setup", "4000", 5, calling="0215551234", calling_type=2, presentation=1,
                 display="Sales", redirecting=RedirectingNumber("100", 0, 1, 0, 0, 1))
    m = sent(out)[0]
    assert m.get(ChannelIdentification) == ChannelIdentification((5,), exclusive=True)
    assert m.get(CallingPartyNumber) == CallingPartyNumber("0215551234", 2, 1, 1, 0)
    assert m.get(CalledPartyNumber) == CalledPartyNumber("4000", 0, 1)
    assert m.get(Display).text == "Sales" and m.get(RedirectingNumber).reason == 1
    assert m.get(SendingComplete) is not None and m.to_originator is False
    assert [getattr(ie, "IE_ID") for ie in m.ies] == sorted(getattr(ie, "IE_ID") for ie in m.ies)


def test_offered_call_gives_ani_dnis_presentation_and_channel():
    s = Side(USER, auto_proceeding=False)
    out = s.incoming(RedirectingNumber("100", 0, 1), Display("Bob"), channel=17)
    offered = events(out, CallOffered)[0]
    assert (offered.b_channel, offered.called, offered.calling, offered.presentation, offered.screening) == \
           (17, "4000", "0215551234", 0, 0)
    assert (offered.calling_type, offered.calling_plan, offered.redirecting, offered.display) == (2, 1, "100", "Bob")
    # The first answer names the channel, later ones do not.
    first = sent(s.host("proceeding"))[0]
    assert first.get(ChannelIdentification) == ChannelIdentification((17,), exclusive=True)
    assert sent(s.host("alerting"))[0].get(ChannelIdentification) is None


def test_disconnect_reports_cause_location_and_who():
    s = reach("U4")
    out = s.peer(M.DISCONNECT, Cause(17, 4))
    d = events(out, CallDisconnected)[0]
    assert (d.cause, d.location, d.by) == (17, 4, "remote")
    s = reach("U4")
    d = events(s.peer(M.DISCONNECT, Cause(34, 2)), CallDisconnected)[0]
    assert (d.cause, d.by) == (34, "network")
    # Our RELEASE answers with the cause we were given.
    assert sent(s.last)[0].get(Cause).value == 34


def test_disconnect_with_inband_waits_in_u12_when_asked():
    s = reach("U12")
    d = [e for e in s.last if isinstance(e, CallDisconnected)][0]
    assert d.inband and s.state() == 12 and sent_types(s.last) == []


def test_rejection_by_release_complete_says_rejected():
    s = reach("U1")
    d = events(s.peer(M.RELEASE_COMPLETE, Cause(21, 4)), CallDisconnected)[0]
    assert (d.cause, d.reason) == (21, "rejected")


def test_t303_second_expiry_causes():
    s = reach("U1")
    s.expire("t303")
    d = events(s.expire("t303"), CallDisconnected)[0]
    assert (d.cause, d.by) == (102, "network")
    assert sent(s.last)[0].get(Cause).value == 102
    s = reach("N6")
    s.expire("t303")
    assert events(s.expire("t303"), CallDisconnected)[0].cause == 18         # no user responding


def test_t301_t310_t304_t313_causes():
    cases = [("N7", "t301", 19, 19), ("N9", "t310", 18, 102), ("U3", "t310", 102, 102), ("N25", "t304", 28, 102),
             ("U2", "t304", 102, 102), ("U8", "t313", 102, 102)]
    for start, name, reported, sent_cause in cases:
        s = reach(start)
        out = s.expire(name)
        assert events(out, CallDisconnected)[0].cause == reported, start
        assert sent(out)[0].get(Cause).value == sent_cause, start


def test_overlap_receiving_collects_digits_to_the_number_length():
    s = Side(NETWORK, overlap_receiving=True, number_length=4)
    out = s.incoming(number="4", complete=False)
    assert sent_types(out) == [M.SETUP_ACKNOWLEDGE] and s.state() == 2
    assert sent(out)[0].get(ChannelIdentification).channels == (1,)
    s.peer(M.INFORMATION, CalledPartyNumber("00"))
    out = s.peer(M.INFORMATION, CalledPartyNumber("1"))
    assert events(out, CallOffered)[0].called == "4001" and s.state() == 3
    # A SETUP whose number is long enough is taken en bloc.
    s = Side(NETWORK, overlap_receiving=True, number_length=4)
    assert event_names(s.incoming(number="4000", complete=False)) == ["CallOffered"]


def test_release_timer_twice_puts_the_channel_in_maintenance():
    s = reach("U19")
    s.expire("t308")
    out = s.expire("t308")
    restart = [m for m in sent(out) if m.type is M.RESTART][0]
    assert restart.is_global and restart.get(ChannelIdentification).channels == (1,)
    assert 1 not in s.cc.free_channels()
    ack = encode_message(Message(M.RESTART_ACKNOWLEDGE, 0, True, restart.ies))
    out = s.raw(ack)
    assert events(out, ChannelsRestarted) == [ChannelsRestarted((1,), "local")] and 1 in s.cc.free_channels()


# ---- clause 5.8: what is wrong gets the answer the spec gives ----

def first_sent(out):
    msgs = sent(out)
    assert len(msgs) == 1, msgs
    return msgs[0]


@pytest.mark.parametrize("mtype", [M.ALERTING, M.CONNECT, M.DISCONNECT, M.INFORMATION, M.PROGRESS, M.NOTIFY,
                                   M.CALL_PROCEEDING, M.CONNECT_ACKNOWLEDGE, M.SETUP_ACKNOWLEDGE])
def test_unknown_call_reference_gets_release_complete_81(mtype):
    s = Side(USER)
    m = first_sent(s.peer(mtype, ref=99, to_originator=False))
    assert (m.type, m.call_ref, m.to_originator, m.get(Cause).value) == (M.RELEASE_COMPLETE, 99, True, 81)
    assert s.cc.calls == {}


def test_unknown_call_reference_other_cases():
    s = Side(NETWORK)
    m = first_sent(s.peer(M.RELEASE, Cause(16), ref=5, to_originator=True))
    assert (m.type, m.get(Cause).value, m.to_originator) == (M.RELEASE_COMPLETE, 81, False)
    assert sent(s.peer(M.RELEASE_COMPLETE, ref=5)) == []
    m = first_sent(s.peer(M.STATUS_ENQUIRY, ref=5))
    assert (m.type, m.get(Cause).value, m.get(CallState).state) == (M.STATUS, 30, 0)
    m = first_sent(s.peer(M.STATUS, Cause(30), CallState(10), ref=5))
    assert (m.type, m.get(Cause).value) == (M.RELEASE_COMPLETE, 101)
    assert sent(s.peer(M.STATUS, Cause(30), CallState(0), ref=5)) == []
    # A SETUP with the flag of an answer (5.8.3.2 d) is ignored.
    out = s.peer(M.SETUP, BearerCapability(0), ref=5, to_originator=True)
    assert sent(out) == [] and event_names(out) == ["ProtocolError"]


def test_setup_for_a_call_reference_in_use_is_ignored():
    s = reach("U9")
    out = s.incoming()
    assert sent(out) == [] and event_names(out) == ["ProtocolError"] and s.state() == 9


@pytest.mark.parametrize("ies, cause", [
    ((), 96),                                                          # no bearer capability
    ((RawIe(0x04, b"\x00\x90"),), 100),                                # bearer capability miscoded
    ((BearerCapability(8),), 65),                                      # 64 kbit/s data: not a voice call
    ((BearerCapability(0), RawIe(0x01, b"\x00")), 96),                 # an unknown "comprehension required" element
])
def test_setup_refused_with_release_complete(ies, cause):
    s = Side(NETWORK)
    s.ref, s.outgoing = 3, False
    out = s.peer(M.SETUP, *ies, ChannelIdentification((1,)), CalledPartyNumber("4000"))
    m = first_sent(out)
    assert (m.type, m.get(Cause).value) == (M.RELEASE_COMPLETE, cause) and s.cc.calls == {}


def test_user_side_needs_the_channel_in_setup():
    s = Side(USER)
    s.ref, s.outgoing = 3, False
    m = first_sent(s.peer(M.SETUP, BearerCapability(0), CalledPartyNumber("4000")))
    assert m.get(Cause).value == 96


@pytest.mark.parametrize("ident, cause, channel", [
    (ChannelIdentification((2,), exclusive=True), 44, None),           # busy, and only that one will do
    (ChannelIdentification((2,), exclusive=False), None, 1),           # busy, preferred: another one
    (ChannelIdentification((16,)), 82, None),                          # the D-channel's timeslot
    (ChannelIdentification((40,)), 82, None),
    (ChannelIdentification((), selection=3, exclusive=False), None, 1),
    (ChannelIdentification((), selection=0), 34, None),
    (ChannelIdentification((1, 3)), 66, None),                          # multirate
    (ChannelIdentification((5,), interface_id=b"\x81"), 82, None),
])
def test_incoming_channel_selection(ident, cause, channel):
    s = Side(USER, auto_proceeding=False)
    s.host("setup", "1", 2)                                            # our call holds channel 2
    s.ref, s.outgoing = 9, False
    out = s.peer(M.SETUP, BearerCapability(0), ident, CalledPartyNumber("4000"), SendingComplete())
    if cause is None:
        assert events(out, CallOffered)[0].b_channel == channel
    else:
        m = first_sent(out)
        assert (m.type, m.get(Cause).value) == (M.RELEASE_COMPLETE, cause)


def test_no_channel_free_is_34():
    s = Side(NETWORK)
    for n in s.cc.switch.b_channels:
        s.host("setup", "1", n)
    s.ref, s.outgoing = 900, False
    m = first_sent(s.peer(M.SETUP, BearerCapability(0), CalledPartyNumber("4000")))
    assert m.get(Cause).value == 34


def test_answer_moving_a_preferred_channel_or_refusing_an_exclusive_one():
    s = Side(USER)
    s.host("setup", "4000", None)                                      # preferred: channel 1
    s.peer(M.CALL_PROCEEDING, ChannelIdentification((9,)))
    assert s.cc.channel_of(s.call) == 9 and 1 in s.cc.free_channels()
    s = Side(USER)
    s.host("setup", "4000", 1, exclusive=True)
    out = s.peer(M.CALL_PROCEEDING, ChannelIdentification((9,)))
    assert sent(out)[0].type is M.RELEASE and sent(out)[0].get(Cause).value == 6
    assert events(out, CallDisconnected)[0].cause == 6


def test_unknown_message_type_status_97_and_state_kept():
    s = reach("U3")
    for octet in (0x7f, 0x20, 0x85):
        payload = encode_message(Message(octet, s.ref, True))
        m = first_sent(s.raw(payload))
        assert (m.type, m.get(Cause).value, m.get(CallState).state) == (M.STATUS, 97, 3)
    assert s.state() == 3


def test_missing_mandatory_element_status_96_no_action():
    s = reach("U3")
    m = first_sent(s.peer(M.PROGRESS))
    assert (m.type, m.get(Cause).value) == (M.STATUS, 96) and s.state() == 3 and s.timers() == {"t310"}
    m = first_sent(s.peer(M.PROGRESS, RawIe(0x1e, b"\x81")))
    assert m.get(Cause).value == 100


def test_unrecognised_optional_element_acted_on_then_status_99():
    s = reach("U3")
    out = s.peer(M.ALERTING, RawIe(0x4b, b"\x00"))
    assert sent_types(out) == [M.STATUS] and sent(out)[0].get(Cause).value == 99 and s.state() == 4
    assert "CallAlerting" in event_names(out)
    s = reach("U3")
    out = s.peer(M.ALERTING, RawIe(0x1e, b"\x01\x02"))                 # a progress indicator miscoded
    assert sent(out)[0].get(Cause).value == 100 and s.state() == 4
    s = reach("U3")
    out = s.raw(encode_message(Message(M.ALERTING, s.ref, True)) + bytes.fromhex("1e0581"))   # cut short
    assert sent(out)[0].get(Cause).value == 95 and s.state() == 4
    # Known elements of other codesets, and recognised ones kept raw, need no answer.
    s = reach("U3")
    assert sent(s.peer(M.ALERTING, RawIe(0x1c, b"\x91"))) == []


def test_clearing_messages_with_defects():
    s = reach("U4")
    out = s.peer(M.DISCONNECT)                                         # no cause: as if 16, RELEASE says 96
    assert events(out, CallDisconnected)[0].cause == 16
    assert (sent(out)[0].type, sent(out)[0].get(Cause).value) == (M.RELEASE, 96)
    s = reach("U4")
    out = s.peer(M.DISCONNECT, Cause(17), RawIe(0x4b, b""))
    assert (sent(out)[0].type, sent(out)[0].get(Cause).value) == (M.RELEASE, 99)
    s = reach("U4")
    out = s.peer(M.RELEASE)                                            # first clearing message without cause
    assert (sent(out)[0].type, sent(out)[0].get(Cause).value) == (M.RELEASE_COMPLETE, 96)
    assert events(out, CallDisconnected)[0].cause == 31
    s = reach("U11")
    out = s.peer(M.RELEASE)                                            # not the first: no cause needed
    assert sent(out)[0].get(Cause) is None
    s = reach("U4")
    out = s.peer(M.RELEASE_COMPLETE)
    assert events(out, CallDisconnected)[0].cause == 31 and sent(out) == []


def test_status_enquiry_and_status():
    s = reach("U10o")
    m = first_sent(s.peer(M.STATUS_ENQUIRY))
    assert (m.get(Cause).value, m.get(CallState).state) == (30, 10)
    out = s.peer(M.STATUS, Cause(30), CallState(10))
    assert sent(out) == [] and events(out, StatusReceived) == [StatusReceived(s.call, 10, 30)]
    out = s.peer(M.STATUS, Cause(30), CallState(7))                    # incompatible: a call the network made
    assert (sent(out)[0].type, sent(out)[0].get(Cause).value) == (M.RELEASE, 101)
    s = reach("U10o")
    out = s.peer(M.STATUS, Cause(81), CallState(0))                    # the peer has no such call
    assert sent(out) == [] and event_names(out) == ["StatusReceived", D, R]
    s = reach("U3")
    out = s.peer(M.STATUS, Cause(97), CallState(4))                    # in flight: compatible
    assert sent(out) == [] and s.state() == 3
    m = first_sent(s.peer(M.STATUS, Cause(30)))                        # no call state: 96
    assert m.get(Cause).value == 96


def test_global_call_reference():
    s = Side(NETWORK)
    m = first_sent(s.peer(M.ALERTING, ref=0, to_originator=False))
    assert m.is_global and (m.type, m.get(Cause).value, m.get(CallState).state) == (M.STATUS, 81, 0)
    out = s.peer(M.RESTART_ACKNOWLEDGE, RestartIndicator(7), ref=0)
    assert sent(out) == [] and event_names(out) == ["ProtocolError"]
    assert event_names(s.peer(M.STATUS, Cause(30), CallState(0), ref=0)) == ["StatusReceived"]
    # RESTART on a call's reference: STATUS 81.
    s = reach("N10i")
    m = first_sent(s.peer(M.RESTART, RestartIndicator(7)))
    assert (m.type, m.get(Cause).value) == (M.STATUS, 81)


def test_header_errors_are_ignored_and_reported():
    s = Side(USER)
    for payload in (b"", b"\x09\x02\x00\x01\x05", b"\x08\x03\x00\x00\x01\x05", b"\x08\x02"):
        out = s.raw(payload)
        assert sent(out) == [] and event_names(out) == ["ProtocolError"]
    out = s.raw(b"\x08\x00\x62")                                        # FACILITY on the dummy call reference
    assert sent(out) == [] and event_names(out) == ["ProtocolError"]


# ---- RESTART (5.5) ----

def test_restart_of_a_channel_from_the_peer_clears_its_call():
    s = reach("U10o")
    out = s.peer(M.RESTART, ChannelIdentification((1,)), RestartIndicator(0), ref=0, to_originator=False)
    m = first_sent(out)
    assert m.type is M.RESTART_ACKNOWLEDGE and m.is_global and m.to_originator
    assert m.get(ChannelIdentification).channels == (1,) and m.get(RestartIndicator).restart_class == 0
    assert event_names(out) == [D, R, "ChannelsRestarted"]
    assert events(out, CallDisconnected)[0].cause == 41 and events(out, ChannelsRestarted)[0].by == "remote"


def test_restart_of_the_interface_from_the_peer_clears_every_call():
    s = Side(NETWORK)
    a, _ = s.cc.setup(0, "1", 1)
    b, _ = s.cc.setup(0, "2", 2)
    out = s.peer(M.RESTART, RestartIndicator(7), ref=0)
    assert sent_types(out) == [M.RESTART_ACKNOWLEDGE] and s.cc.calls == {}
    assert events(out, ChannelsRestarted) == [ChannelsRestarted(None, "remote")]


@pytest.mark.parametrize("ies, cause", [
    ((RestartIndicator(0),), 96),
    ((), 96),
    ((ChannelIdentification((16,)), RestartIndicator(0)), 82),
    ((RawIe(0x79, b"\x83"),), 100),
])
def test_bad_restart_gets_status(ies, cause):
    s = Side(USER)
    m = first_sent(s.peer(M.RESTART, *ies, ref=0, to_originator=False))
    assert (m.type, m.is_global, m.get(Cause).value) == (M.STATUS, True, cause)


def test_our_restart_t316_and_acknowledgement():
    s = Side(USER)
    s.host("setup", "1", 3)
    out = s.host("restart")
    assert event_names(out) == [D, R] and sent_types(out) == [M.RESTART]
    assert sent(out)[0].get(RestartIndicator).restart_class == 7 and s.cc.free_channels() == []
    s.now = s.cc.restart_deadline
    out = s.cc.tick(s.now)
    assert sent_types(out) == [M.RESTART]
    s.now = s.cc.restart_deadline
    out = s.cc.tick(s.now)
    assert events(out, RestartFailed) == [RestartFailed(None)] and s.cc.free_channels() == []
    # Asked again, answered this time.
    out = s.host("restart", (4, 5))
    assert sent(out)[0].get(ChannelIdentification).channels == (4, 5)
    s.host("restart", (6,))                     # queued behind the one under way
    out = s.peer(M.RESTART_ACKNOWLEDGE, ChannelIdentification((4, 5)), RestartIndicator(0), ref=0,
                 to_originator=True)
    assert events(out, ChannelsRestarted) == [ChannelsRestarted((4, 5), "local")]
    assert sent(out)[0].get(ChannelIdentification).channels == (6,)
    with pytest.raises(UsageError):
        s.host("restart", (16,))


# ---- the data link (5.8.8, 5.8.9) ----

def test_link_failure_clears_calls_not_active_and_holds_active_ones():
    s = Side(USER)
    active, _ = s.cc.setup(0, "1", 1)
    s.call, s.ref, s.outgoing = active, s.cc.by_id[active].call_ref, True
    s.peer(M.CONNECT, CH1)
    ringing, _ = s.cc.setup(0, "2", 2)
    out = s.cc.link_released(1.0)
    assert events(out, CallDisconnected) == [CallDisconnected(ringing, 27, "network", 0, "data link failure")]
    assert s.cc.state_of(active) == State.ACTIVE and s.timers() == {"t309"}
    with pytest.raises(UsageError):
        s.cc.setup(1.0, "3", 3)
    out = s.cc.link_established(2.0, confirm=True)
    m = first_sent(out)
    assert (m.type, m.get(Cause).value, m.get(CallState).state) == (M.STATUS, 31, 10) and s.timers() == set()


def test_t309_expiry_clears_the_active_call():
    s = reach("U10o")
    s.cc.link_released(1.0)
    out = s.expire("t309")
    assert events(out, CallDisconnected)[0].cause == 27 and s.cc.calls == {}


def test_link_reset_enquires_or_clears_overlap_calls():
    s = reach("U2")
    overlap = s.call
    s.call = None
    s.incoming(ref=8, channel=2)
    established = s.call
    out = s.cc.link_established(5.0, confirm=False)
    msgs = {m.call_ref: m for m in sent(out)}
    assert msgs[s.cc.by_id[overlap].call_ref].type is M.DISCONNECT
    assert msgs[s.cc.by_id[overlap].call_ref].get(Cause).value == 41
    assert msgs[8].type is M.STATUS_ENQUIRY and "t322" in s.cc.by_id[established].timers
    # Unanswered enquiries end the call.
    s.call = established
    for _ in range(3):
        out = s.expire("t322")
    assert sent_types(out) == [M.DISCONNECT] and events(out, CallDisconnected)[0].cause == 41


# ---- the host's misuse ----

def test_host_errors_are_usage_errors():
    s = Side(USER)
    with pytest.raises(UsageError):
        s.host("setup", "1", 16)
    with pytest.raises(UsageError):
        s.host("setup", "1", 99)
    s.host("setup", "1", 1)
    with pytest.raises(UsageError):
        s.cc.setup(0, "1", 1)
    with pytest.raises(UsageError):
        s.host("answer")                        # our own call
    with pytest.raises(UsageError):
        s.host("proceeding")
    with pytest.raises(UsageError):
        s.host("hangup", 0)
    with pytest.raises(UsageError):
        s.cc.alerting(12345, 0)
    assert s.cc.hangup(12345, 0) == []
    with pytest.raises(UsageError):
        s.cc.information(s.call, "1", 0)        # before SETUP ACKNOWLEDGE
    s = reach("U9")
    with pytest.raises(UsageError):
        s.host("proceeding")
    with pytest.raises(UsageError):
        CallControl(USER, "ni2")


# ---- fuzzing ----

IE_CHOICES = st.sampled_from([
    BearerCapability(0, layer1=3), ChannelIdentification((1,)), ChannelIdentification((2,), exclusive=False),
    Cause(16), Cause(17, 4), CallState(10), CallState(0), ProgressIndicator(8), CalledPartyNumber("12"),
    SendingComplete(), RestartIndicator(7), RestartIndicator(0), RawIe(0x4b, b"\x00"), RawIe(0x01, b""),
    RawIe(0x08, b"\x00"), RawIe(0x18, b"\x29"), Display("x")])
MESSAGES = st.builds(
    lambda mtype, ref, flag, ies: encode_message(Message(mtype, ref, flag, tuple(ies))),
    st.sampled_from(list(M) + [0x7f, 0x00]), st.sampled_from([0, 1, 2, 7, 0x7fff]), st.booleans(),
    st.lists(IE_CHOICES, max_size=4))
HOST = st.sampled_from(["setup", "proceeding", "alerting", "answer", "hangup", "information", "restart", "link",
                        "tick"])


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([USER, NETWORK]), st.booleans(),
       st.lists(st.one_of(MESSAGES, st.binary(max_size=20), HOST), max_size=30))
def test_fuzz_sequences_never_raise_and_always_answer_by_the_spec(role, overlap, steps):
    cc = CallControl(role, config=CallControlConfig(overlap_receiving=overlap, auto_proceeding=overlap))
    cc.link_established(0, True)
    now = 0.0
    for step in steps:
        now += 1.0
        calls = list(cc.by_id)
        try:
            if step == "setup":
                out = cc.setup(now, "123", None)[1]
            elif step == "restart":
                out = cc.restart(now, (1,))
            elif step == "link":
                out = cc.link_released(now) + cc.link_established(now, confirm=False)
            elif step == "tick":
                now += 200
                out = cc.tick(now)
            elif isinstance(step, str):
                if not calls:
                    continue
                args = ("5",) if step == "information" else ()
                out = getattr(cc, step)(calls[-1], *args, now) if step != "information" else \
                    cc.information(calls[-1], "5", now)
            else:
                known = set(cc.calls)
                out = cc.receive(step, now)
                _check_answer(step, known, out, cc)
        except UsageError:
            continue
        for item in out:
            if isinstance(item, SendMessage):
                assert decode_message(item.payload).defects == ()
        assert all(c.state in State and c.state is not State.NULL for c in cc.calls.values())
        assert set(cc.channel_calls.values()) <= set(cc.by_id)
        assert len(cc.calls) == len(cc.by_id)
        if step == "tick":
            assert cc.next_deadline is None or cc.next_deadline > now     # every timer due has run


def _check_answer(payload, known, out, cc):
    """A message for a call reference we do not know gets what 5.8.3.2 says."""
    try:
        m = decode_message(payload)
    except Exception:
        assert [o for o in out if isinstance(o, SendMessage)] == []
        return
    if m.call_ref_length == 0 or m.is_global or (m.call_ref, m.to_originator) in known:
        return
    answers = [decode_message(o.payload) for o in out if isinstance(o, SendMessage)]
    if m.type is M.SETUP:
        return
    if m.type is M.RELEASE_COMPLETE:
        assert answers == []
    elif m.type is M.STATUS_ENQUIRY:
        assert [(a.type, a.get(CallState).state) for a in answers] == [(M.STATUS, 0)]
    elif m.type is M.STATUS:
        assert [a.type for a in answers] in ([], [M.RELEASE_COMPLETE])
    else:
        assert [(a.type, a.get(Cause).value) for a in answers] == [(M.RELEASE_COMPLETE, 81)]


# ---- switch types ----

def test_switch_types():
    e1, t1 = switch_type("EuroISDN-E1"), switch_type("euroisdn-t1")
    assert len(e1.b_channels) == 30 and 16 not in e1.b_channels and t1.b_channels == tuple(range(1, 24))
    cc = CallControl(USER, "euroisdn-t1")
    cc.link_established(0, True)
    with pytest.raises(UsageError):
        cc.setup(0, "1", 24)                    # the T1 D-channel
    call, out = cc.setup(0, "1", 23)
    assert decode_message(out[0].payload).get(ChannelIdentification).channels == (23,)
    with pytest.raises(UsageError) as info:
        switch_type("qsig")
    assert "not implemented yet" in str(info.value) and "euroisdn-e1" in str(info.value)
    with pytest.raises(UsageError) as info:
        switch_type("nonesuch")
    assert "unknown switch type" in str(info.value)
    timer_names = {f.name for f in dataclasses.fields(Q931Timers)}
    for switch in SWITCH_TYPES.values():
        assert set(switch.timer_defaults(USER)) == set(switch.timer_defaults(NETWORK)) == timer_names
