"""Our TE against our NT, back to back over a simulated D-channel on virtual time: the
link coming up from both ends, calls both ways, rejection, overlap dialling both ways,
RESTART, a lost span and its return, and the Signal the call model is given."""

import pytest
from hypothesis import given, settings, strategies as st

from gateway.isdn import Role
from gateway.isdn.call_control import (CallAlerting, CallConnected, CallControlConfig, CallDisconnected, CallOffered,
                                       CallProceeding, CallReleased, ChannelsRestarted, DigitsReceived,
                                       SetupAcknowledged, StatusReceived)
from gateway.isdn.dchannel import DChannel, DChannelDown, DChannelUp, to_signal
from gateway.isdn.q921 import (ErrorReported, FrameDiscarded, FrameKind, LapdFrame, LapdParameters, SendFrame,
                               decode_frame, encode_frame)
from gateway.line_signal import Signal


class BackToBack:
    """Frames from one D-channel handed to the other; ``cut`` loses them (a broken span)."""

    def __init__(self, te_config=None, nt_config=None, lapd=None):
        self.te = DChannel(Role.USER, config=te_config, lapd=lapd)
        self.nt = DChannel(Role.NETWORK, config=nt_config, lapd=lapd)
        self.now = 0.0
        self.cut = False
        self.got = {"te": [], "nt": []}
        self.frames = []

    def name(self, dc):
        return "te" if dc is self.te else "nt"

    def deliver(self, out, sender):
        queue = [(sender, o) for o in out]
        while queue:
            side, item = queue.pop(0)
            if isinstance(item, SendFrame):
                self.frames.append((self.name(side), item.frame))
                if self.cut:
                    continue
                other = self.nt if side is self.te else self.te
                queue += [(other, o) for o in other.receive(item.frame, self.now)]
            else:
                self.got[self.name(side)].append(item)
        return out

    def run(self, seconds, step=0.05):
        end = self.now + seconds
        while self.now < end - 1e-9:
            self.now = round(self.now + step, 6)
            self.deliver(self.te.tick(self.now), self.te)
            self.deliver(self.nt.tick(self.now), self.nt)

    def start(self):
        self.deliver(self.te.start(self.now), self.te)
        self.deliver(self.nt.start(self.now), self.nt)
        assert self.te.up and self.nt.up

    def take(self, side, cls, **fields):
        for i, e in enumerate(self.got[side]):
            if isinstance(e, cls) and all(getattr(e, k) == v for k, v in fields.items()):
                return self.got[side].pop(i)
        raise AssertionError(f"no {cls.__name__} {fields} for {side}: {self.got[side]}")

    def kinds(self, side):
        return [type(e).__name__ for e in self.got[side]]


@pytest.fixture
def b2b():
    b = BackToBack()
    b.start()
    return b


def test_link_comes_up_once_from_both_ends(b2b):
    assert b2b.kinds("te") == ["DChannelUp"] and b2b.kinds("nt") == ["DChannelUp"]
    assert [decode_frame(f).kind.name for _, f in b2b.frames] == ["SABME", "UA"]
    b2b.run(25)                         # T203 enquiries keep an idle link up
    assert b2b.kinds("te") == ["DChannelUp"] and b2b.te.up and b2b.nt.up


@pytest.mark.parametrize("caller", ["te", "nt"])
def test_call_set_up_answered_and_cleared_by_either_side(b2b, caller):
    callee = "nt" if caller == "te" else "te"
    a, b = getattr(b2b, caller), getattr(b2b, callee)
    call, out = a.setup(b2b.now, "4000", 5, calling="0215551234", calling_type=2, presentation=1)
    b2b.deliver(out, a)
    offered = b2b.take(callee, CallOffered)
    assert (offered.called, offered.calling, offered.presentation, offered.b_channel) == ("4000", "0215551234", 1, 5)
    b2b.take(caller, CallProceeding, call=call, b_channel=5)           # auto CALL PROCEEDING
    b2b.deliver(b.alerting(offered.call, b2b.now, inband=True), b)
    assert b2b.take(caller, CallAlerting, call=call).inband
    b2b.deliver(b.answer(offered.call, b2b.now), b)
    b2b.take(caller, CallConnected, call=call)
    b2b.take(callee, CallConnected, call=offered.call)
    # The callee hangs up this time, the caller next time.
    b2b.deliver(b.hangup(offered.call, b2b.now, 16), b)
    d = b2b.take(caller, CallDisconnected, call=call)
    assert (d.cause, d.by) == (16, "remote")
    b2b.take(caller, CallReleased, call=call)
    b2b.take(callee, CallReleased, call=offered.call)
    assert a.calls.calls == {} and b.calls.calls == {}
    call, out = a.setup(b2b.now, "4001", 6)
    b2b.deliver(out, a)
    offered = b2b.take(callee, CallOffered)
    b2b.deliver(b.answer(offered.call, b2b.now), b)
    b2b.deliver(a.hangup(call, b2b.now, 16), a)
    assert b2b.take(callee, CallDisconnected, call=offered.call).cause == 16
    assert a.calls.calls == {} and b.calls.calls == {}


@pytest.mark.parametrize("caller", ["te", "nt"])
def test_call_rejected_with_a_cause(caller):
    callee = "nt" if caller == "te" else "te"
    b2b = BackToBack(te_config=CallControlConfig(auto_proceeding=False),
                     nt_config=CallControlConfig(auto_proceeding=False))
    b2b.start()
    a, b = getattr(b2b, caller), getattr(b2b, callee)
    call, out = a.setup(b2b.now, "4000", 1)
    b2b.deliver(out, a)
    offered = b2b.take(callee, CallOffered)
    b2b.deliver(b.hangup(offered.call, b2b.now, 17), b)
    d = b2b.take(caller, CallDisconnected, call=call)
    assert (d.cause, d.reason) == (17, "rejected")
    assert b2b.take(caller, CallReleased).b_channel == 1


def test_overlap_dialling_both_ways():
    b2b = BackToBack(te_config=CallControlConfig(overlap_receiving=True, number_length=4),
                     nt_config=CallControlConfig(overlap_receiving=True, number_length=4))
    b2b.start()
    for caller, callee in (("te", "nt"), ("nt", "te")):
        a = getattr(b2b, caller)
        call, out = a.setup(b2b.now, "4", 2, complete=False)
        b2b.deliver(out, a)
        b2b.take(caller, SetupAcknowledged, call=call, b_channel=2)
        assert not [e for e in b2b.got[callee] if isinstance(e, CallOffered)]
        b2b.deliver(a.information(call, "0", b2b.now), a)
        b2b.deliver(a.information(call, "12", b2b.now), a)
        assert b2b.take(callee, CallOffered).called == "4012"
        b2b.take(caller, CallProceeding, call=call)
        b2b.deliver(a.information(call, "9", b2b.now), a)              # after the number: keypad-like digits
        assert b2b.take(callee, DigitsReceived).digits == "9"
        b2b.deliver(a.hangup(call, b2b.now), a)
        b2b.take(caller, CallReleased, call=call)


def test_restart_from_either_side(b2b):
    call, out = b2b.te.setup(b2b.now, "4000", 3)
    b2b.deliver(out, b2b.te)
    offered = b2b.take("nt", CallOffered)
    b2b.deliver(b2b.nt.answer(offered.call, b2b.now), b2b.nt)
    b2b.deliver(b2b.nt.restart(b2b.now, [3]), b2b.nt)
    assert b2b.take("te", CallDisconnected, call=call).cause == 41
    assert b2b.take("te", ChannelsRestarted) == ChannelsRestarted((3,), "remote")
    assert b2b.take("nt", ChannelsRestarted) == ChannelsRestarted((3,), "local")
    assert b2b.te.calls.calls == {} and b2b.nt.calls.calls == {}
    b2b.deliver(b2b.te.restart(b2b.now), b2b.te)
    assert b2b.take("nt", ChannelsRestarted) == ChannelsRestarted(None, "remote")
    assert b2b.take("te", ChannelsRestarted) == ChannelsRestarted(None, "local")
    assert len(b2b.te.calls.free_channels()) == 30


def test_span_lost_and_back_keeps_the_active_call():
    b2b = BackToBack(lapd=LapdParameters(t200=0.5, t203=2.0))
    b2b.start()
    active, out = b2b.te.setup(b2b.now, "4000", 1)
    b2b.deliver(out, b2b.te)
    answered = b2b.take("nt", CallOffered)
    b2b.deliver(b2b.nt.answer(answered.call, b2b.now), b2b.nt)
    ringing, out = b2b.te.setup(b2b.now, "4001", 2)
    b2b.deliver(out, b2b.te)
    b2b.take("nt", CallOffered)
    b2b.cut = True
    b2b.run(6)
    assert not b2b.te.up and not b2b.nt.up
    b2b.take("te", DChannelDown)
    b2b.take("nt", DChannelDown)
    d = b2b.take("te", CallDisconnected, call=ringing)
    assert (d.cause, d.reason) == (27, "data link failure")
    assert "t309" in b2b.te.calls.by_id[active].timers
    b2b.cut = False
    b2b.run(3)
    assert b2b.te.up and b2b.nt.up
    b2b.take("te", DChannelUp)
    # STATUS (cause 31) told each side the other's state: Active, compatible; the call is still up.
    assert b2b.take("nt", StatusReceived).state == 10
    assert b2b.te.calls.state_of(active) == 10 and not b2b.te.calls.by_id[active].timers
    b2b.deliver(b2b.te.hangup(active, b2b.now), b2b.te)
    b2b.take("te", CallReleased, call=active)
    assert b2b.nt.calls.calls == {}
    assert [e.code for e in b2b.got["te"] if isinstance(e, ErrorReported)]      # I and G were reported


def test_span_lost_longer_than_t309_clears_the_active_call():
    b2b = BackToBack(lapd=LapdParameters(t200=0.5, t203=2.0))
    b2b.start()
    call, out = b2b.te.setup(b2b.now, "4000", 1)
    b2b.deliver(out, b2b.te)
    b2b.deliver(b2b.nt.answer(b2b.take("nt", CallOffered).call, b2b.now), b2b.nt)
    b2b.cut = True
    b2b.run(100)
    d = b2b.take("te", CallDisconnected, call=call)
    assert (d.cause, d.reason) == (27, "data link not back in time (T309)")
    assert b2b.te.calls.calls == {} and b2b.nt.calls.calls == {}


def test_a_stopped_end_does_not_set_the_link_up_again(b2b):
    b2b.deliver(b2b.te.stop(b2b.now), b2b.te)
    assert not b2b.te.up and not b2b.nt.up
    b2b.run(5)
    assert b2b.te.up                     # the other end keeps its link up (after T200)
    b2b.deliver(b2b.te.stop(b2b.now), b2b.te)
    b2b.deliver(b2b.nt.stop(b2b.now), b2b.nt)
    b2b.run(5)
    assert not b2b.te.up and not b2b.nt.up
    assert b2b.te.link.state.name == b2b.nt.link.state.name == "TEI_ASSIGNED"


def test_to_signal_has_the_call_models_shape():
    b2b = BackToBack()
    b2b.start()
    call, out = b2b.te.setup(b2b.now, "4000", 7, calling="555")
    b2b.deliver(out, b2b.te)
    offered = b2b.take("nt", CallOffered)
    assert to_signal(offered) == (offered.call, 7, Signal("offered", {"ani": "555", "dnis": "4000", "name": "",
                                                                       "presentation": 0}))
    b2b.deliver(b2b.nt.alerting(offered.call, b2b.now), b2b.nt)
    b2b.deliver(b2b.nt.answer(offered.call, b2b.now), b2b.nt)
    b2b.deliver(b2b.nt.hangup(offered.call, b2b.now, 17), b2b.nt)
    kinds = [to_signal(e)[2].kind for e in b2b.got["te"] if to_signal(e)]
    assert kinds == ["proceeding", "alerting", "connected", "disconnected", "free"]
    d = [to_signal(e)[2] for e in b2b.got["te"] if isinstance(e, CallDisconnected)][0]
    assert d.fields == {"cause": 17, "by": "remote", "reason": None}
    assert to_signal(DChannelUp()) is None


def test_ui_frames_are_reported_not_dropped(b2b):
    out = b2b.te.receive(encode_frame(LapdFrame(FrameKind.UI, cr=1, info=b"\x08\x01\x01\x05")), b2b.now)
    assert len(out) == 1 and isinstance(out[0], FrameDiscarded) and "UI" in out[0].reason


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([Role.USER, Role.NETWORK]),
       st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=30)), max_size=20))
def test_fuzz_frames_into_a_running_dchannel(role, items):
    """I frames carrying random Q.931 octets (and random frames) into a D-channel that is up
    with a call under way: never an exception; whatever it sends decodes."""
    dc = DChannel(role)
    peer_cr = 1 if role is Role.USER else 0              # the peer's commands
    dc.start(0.0)
    dc.receive(encode_frame(LapdFrame(FrameKind.UA, cr=1 - peer_cr, pf=True)), 0.0)
    assert dc.up
    dc.setup(0.0, "4000", 1)
    ns, now = 0, 0.0
    for kind, body in items:
        now += 0.5
        if kind < 200:                                   # mostly well-framed I frames with nonsense inside
            frame = encode_frame(LapdFrame(FrameKind.I, cr=peer_cr, ns=ns, nr=dc.link.vs, info=b"\x08\x02" + body))
            ns = (ns + 1) % 128
        else:
            frame = bytes([kind & 0x03, 0x01]) + body
        for item in dc.receive(frame, now) + dc.tick(now):
            if isinstance(item, SendFrame):
                decode_frame(item.frame)
            else:
                assert type(item).__module__.startswith("gateway.isdn"), item
        assert dc.next_deadline is None or dc.next_deadline > now      # every timer due has run
