"""The LAPD data link (Q.921 Annex B): establishment, I frames and the window,
acknowledgement, REJ and timer recovery, T200/N200/T203, release, re-establishment after
errors, frame rejection; both sides; two links over a lossy wire; fuzzing."""

import random

import pytest
from hypothesis import given, settings, strategies as st

from gateway.isdn import Role
from gateway.isdn.q921 import (DataLink, DataReceived, ErrorReported, FrameDiscarded, FrameKind, LapdFrame,
                               LapdParameters, LinkEstablished, LinkReleased, LinkState, SendFrame, decode_frame,
                               encode_frame)

USER, NETWORK = Role.USER, Role.NETWORK
L = LinkState


def frames(out):
    return [decode_frame(o.frame) for o in out if isinstance(o, SendFrame)]


def events(out):
    return [o for o in out if not isinstance(o, SendFrame)]


def kinds(out):
    return [f.kind for f in frames(out)]


def cmd(kind, role_of_sender, **kw):
    """A frame as ``role_of_sender`` sends it as a command (Q.921 Table 1)."""
    return encode_frame(LapdFrame(kind, cr=1 if role_of_sender is NETWORK else 0, **kw))


def rsp(kind, role_of_sender, **kw):
    return encode_frame(LapdFrame(kind, cr=0 if role_of_sender is NETWORK else 1, **kw))


class Wire:
    """Two links joined frame for frame on virtual time; ``drop`` decides a frame's loss."""

    def __init__(self, params=None, drop=None):
        self.a, self.b = DataLink(USER, params), DataLink(NETWORK, params)
        self.now = 0.0
        self.drop = drop or (lambda frame: False)
        self.got = {id(self.a): [], id(self.b): []}
        self.log = []

    def deliver(self, out, sender):
        queue = [(sender, o) for o in out]
        while queue:
            side, item = queue.pop(0)
            if isinstance(item, SendFrame):
                other = self.b if side is self.a else self.a
                if self.drop(item.frame):
                    continue
                queue += [(other, o) for o in other.receive(item.frame, self.now)]
            else:
                self.got[id(side)].append(item)
                self.log.append((side.role, item))

    def run(self, seconds, step=0.05):
        end = self.now + seconds
        while self.now < end:
            self.now = round(self.now + step, 6)
            self.deliver(self.a.tick(self.now), self.a)
            self.deliver(self.b.tick(self.now), self.b)

    def up(self):
        self.deliver(self.a.establish(self.now), self.a)
        assert self.a.state is L.MULTIPLE_FRAME_ESTABLISHED and self.b.state is L.MULTIPLE_FRAME_ESTABLISHED

    def data(self, link):
        return [e.payload for e in self.got[id(link)] if isinstance(e, DataReceived)]


@pytest.mark.parametrize("role", [USER, NETWORK])
def test_establishment_by_either_side(role):
    link, peer = DataLink(role), DataLink(role.peer)
    out = link.establish(0.0)
    assert frames(out) == [LapdFrame(FrameKind.SABME, cr=1 if role is NETWORK else 0, pf=True)]
    assert link.state is L.AWAITING_ESTABLISHMENT and link.t200 == 1.0
    answer = peer.receive(out[0].frame, 0.0)
    assert kinds(answer) == [FrameKind.UA] and frames(answer)[0].pf
    assert frames(answer)[0].cr == (1 if role is NETWORK else 0)       # the peer's response bit
    assert events(answer) == [LinkEstablished(confirm=False)]
    assert events(link.receive(answer[0].frame, 0.1)) == [LinkEstablished(confirm=True)]
    assert link.established and peer.established
    assert link.t200 is None and link.t203 == pytest.approx(10.1) and link.next_deadline == pytest.approx(10.1)


def test_establishment_collision_settles_with_both_confirmed():
    a, b = DataLink(USER), DataLink(NETWORK)
    sa, sb = a.establish(0), b.establish(0)
    ua_from_b = b.receive(sa[0].frame, 0)         # SABME while awaiting: UA, still waiting
    ua_from_a = a.receive(sb[0].frame, 0)
    assert kinds(ua_from_b) == kinds(ua_from_a) == [FrameKind.UA]
    assert a.state is b.state is L.AWAITING_ESTABLISHMENT
    assert events(a.receive(ua_from_b[0].frame, 0)) == [LinkEstablished(confirm=True)]
    assert events(b.receive(ua_from_a[0].frame, 0)) == [LinkEstablished(confirm=True)]


def test_i_frames_both_ways_are_numbered_and_acknowledged():
    w = Wire()
    w.up()
    for i in range(3):
        w.deliver(w.a.send(b"a%d" % i, w.now), w.a)
        w.deliver(w.b.send(b"b%d" % i, w.now), w.b)
    assert w.data(w.b) == [b"a0", b"a1", b"a2"] and w.data(w.a) == [b"b0", b"b1", b"b2"]
    assert (w.a.vs, w.a.va, w.a.vr) == (3, 3, 3) and (w.b.vs, w.b.va, w.b.vr) == (3, 3, 3)
    assert w.a.outstanding == 0 and w.a.t200 is None


def test_receiver_acknowledges_with_rr_unless_deferred_for_an_answer():
    w = Wire()
    w.up()
    out = w.a.send(b"hello", w.now)
    i_frame = out[0].frame
    answer = w.b.receive(i_frame, w.now)
    assert kinds(answer) == [FrameKind.RR] and frames(answer)[0].nr == 1 and not frames(answer)[0].pf
    # Deferred: layer 3's answer carries the acknowledgement; no RR is needed.
    w2 = Wire()
    w2.up()
    got = w2.b.receive(w2.a.send(b"q", 0)[0].frame, 0, defer_ack=True)
    assert events(got) == [DataReceived(b"q")] and not frames(got)
    reply = frames(w2.b.send(b"r", 0))
    assert reply[0].kind is FrameKind.I and reply[0].nr == 1
    assert w2.b.send_pending_ack(0) == []


def test_window_of_k_frames():
    w = Wire()
    w.up()
    w.drop = lambda f: decode_frame(f).kind is not FrameKind.I      # no acknowledgement gets back
    sent = []
    for i in range(10):
        sent += frames(w.a.send(b"%d" % i, w.now))
    sent_i = [f for f in sent if f.kind is FrameKind.I]
    assert [f.ns for f in sent_i] == list(range(7)) and w.a.queued == 3 and w.a.outstanding == 7
    # The acknowledgement of the first five opens the window for the rest.
    out = w.a.receive(rsp(FrameKind.RR, NETWORK, nr=5), w.now)
    assert [f.ns for f in frames(out)] == [7, 8, 9] and w.a.queued == 0


def test_rej_makes_the_sender_go_back():
    lost = {"n": 0}

    def drop_second_i_frame(f):
        fr = decode_frame(f)
        if fr.kind is FrameKind.I and fr.ns == 1 and lost["n"] == 0:
            lost["n"] += 1
            return True
        return False
    w = Wire()
    w.up()
    w.drop = drop_second_i_frame
    for i in range(4):
        w.deliver(w.a.send(b"m%d" % i, w.now), w.a)
    assert w.data(w.b) == [b"m0", b"m1", b"m2", b"m3"]
    assert w.a.counters["retransmitted"] >= 1 and not w.b.reject_exception


def test_t200_enquiry_timer_recovery_and_retransmission():
    w = Wire()
    w.up()
    w.drop = lambda f: True                     # the line goes quiet
    w.deliver(w.a.send(b"x", w.now), w.a)
    assert w.a.t200 == pytest.approx(1.0)
    out = w.a.tick(1.0)
    assert frames(out) == [LapdFrame(FrameKind.RR, cr=0, pf=True, nr=0)]          # enquiry
    assert w.a.state is L.TIMER_RECOVERY and w.a.rc == 1
    w.now = 1.0
    w.drop = lambda f: False
    w.deliver(out, w.a)                          # the enquiry goes through now
    # The answer RR F=1 N(R)=0 brings the unacknowledged frame back out.
    assert w.a.state is L.MULTIPLE_FRAME_ESTABLISHED
    assert w.data(w.b) == [b"x"] and w.a.outstanding == 0


def test_n200_enquiries_unanswered_reestablish_then_release():
    link = DataLink(USER)
    link.establish(0)
    link.receive(rsp(FrameKind.UA, NETWORK, pf=True), 0)
    link.send(b"x", 0)
    seen = []
    t = 0.0
    for _ in range(20):
        t += 1.0
        seen += link.tick(t)
    codes = [e.code for e in seen if isinstance(e, ErrorReported)]
    assert codes == ["I", "G"]
    # Annex B counts the first enquiry against N200 (RC := 1 on entering timer recovery), not
    # the first SABME: 3 enquiries, then 1 + 3 SABME.
    assert kinds(seen).count(FrameKind.RR) == 3
    assert kinds(seen).count(FrameKind.SABME) == 4
    assert LinkReleased(confirm=False) in seen and link.state is L.TEI_ASSIGNED
    assert link.next_deadline is None


def test_t203_enquiry_on_an_idle_link():
    w = Wire()
    w.up()
    w.run(10.5, step=0.5)
    assert w.a.state is L.MULTIPLE_FRAME_ESTABLISHED and not [e for r, e in w.log if isinstance(e, ErrorReported)]
    assert w.a.t203 is not None and w.a.t203 > 10


def test_release_both_ways():
    w = Wire()
    w.up()
    w.deliver(w.a.release(w.now), w.a)
    assert LinkReleased(confirm=True) in w.got[id(w.a)] and LinkReleased(confirm=False) in w.got[id(w.b)]
    assert w.a.state is w.b.state is L.TEI_ASSIGNED
    # Released: a DISC is answered DM, a SABME sets the link up again.
    out = w.b.receive(cmd(FrameKind.DISC, USER, pf=True), 0)
    assert frames(out) == [LapdFrame(FrameKind.DM, cr=0, pf=True)]


def test_disc_unanswered_gives_h():
    link = DataLink(NETWORK)
    link.receive(cmd(FrameKind.SABME, USER, pf=True), 0)
    link.release(0)
    out = []
    for t in range(1, 6):
        out += link.tick(float(t))
    assert [e.code for e in out if isinstance(e, ErrorReported)] == ["H"]
    assert LinkReleased(confirm=True) in out and kinds(out).count(FrameKind.DISC) == 3


def test_dm_in_awaiting_establishment_means_refused():
    link = DataLink(USER)
    link.establish(0)
    out = link.receive(rsp(FrameKind.DM, NETWORK, pf=True), 0)
    assert events(out) == [LinkReleased(confirm=False)] and link.state is L.TEI_ASSIGNED


@pytest.mark.parametrize("frame, code", [
    (rsp(FrameKind.DM, NETWORK, pf=False), "E"),
    (rsp(FrameKind.FRMR, NETWORK, pf=False, info=bytes(5)), "K"),
    (rsp(FrameKind.RR, NETWORK, nr=9), "J"),                       # acknowledges frames never sent
    (bytes.fromhex("0201e3"), "L"),
    (bytes.fromhex("02017f00"), "M"),
    (bytes.fromhex("020101"), "N"),
    (bytes.fromhex("02010000") + bytes(261), "O"),
])
def test_errors_in_multiple_frame_operation_reestablish(frame, code):
    link = DataLink(USER)
    link.establish(0)
    link.receive(rsp(FrameKind.UA, NETWORK, pf=True), 0)
    out = link.receive(frame, 0.5)
    assert [e.code for e in events(out) if isinstance(e, ErrorReported)] == [code]
    assert kinds(out) == [FrameKind.SABME] and link.state is L.AWAITING_ESTABLISHMENT
    assert not link.l3_initiated


def test_unsolicited_responses_are_reported_not_acted_on():
    link = DataLink(USER)
    link.establish(0)
    link.receive(rsp(FrameKind.UA, NETWORK, pf=True), 0)
    for frame, code in ((rsp(FrameKind.UA, NETWORK, pf=True), "C"), (rsp(FrameKind.UA, NETWORK), "D"),
                        (rsp(FrameKind.DM, NETWORK, pf=True), "B"), (rsp(FrameKind.RR, NETWORK, pf=True, nr=0), "A")):
        out = link.receive(frame, 1)
        assert [e.code for e in events(out)] == [code] and link.established


def test_peer_reestablishment_with_frames_outstanding():
    link = DataLink(USER)
    link.establish(0)
    link.receive(rsp(FrameKind.UA, NETWORK, pf=True), 0)
    link.send(b"lost", 0)
    out = link.receive(cmd(FrameKind.SABME, NETWORK, pf=True), 0.2)
    assert kinds(out) == [FrameKind.UA]
    assert [e.code for e in events(out) if isinstance(e, ErrorReported)] == ["F"]
    assert LinkEstablished(confirm=False) in out                  # Q.931 5.8.8: a data link reset
    assert (link.vs, link.va, link.vr, link.outstanding) == (0, 0, 0, 0)


def test_sabme_without_frames_outstanding_keeps_the_queue():
    link = DataLink(USER)
    link.establish(0)
    link.receive(rsp(FrameKind.UA, NETWORK, pf=True), 0)
    out = link.receive(cmd(FrameKind.SABME, NETWORK, pf=True), 0.2)
    assert LinkEstablished(confirm=False) not in out


def test_data_request_while_released_sets_the_link_up_first():
    link = DataLink(USER)
    out = link.send(b"setup", 0)
    assert kinds(out) == [FrameKind.SABME] and link.queued == 1
    out = link.receive(rsp(FrameKind.UA, NETWORK, pf=True), 0.1)
    assert events(out) == [LinkEstablished(confirm=True)]
    assert frames(out)[0].kind is FrameKind.I and frames(out)[0].info == b"setup"


def test_frames_not_for_this_link_are_discarded_and_said():
    link = DataLink(NETWORK)
    for frame in (bytes.fromhex("fc017f"),            # SAPI 63 (TEI management)
                  bytes.fromhex("00037f"),            # TEI 1
                  rsp(FrameKind.SABME, USER, pf=True),  # SABME as a response
                  bytes.fromhex("01")):
        out = link.receive(frame, 0)
        assert len(out) == 1 and isinstance(out[0], FrameDiscarded) and out[0].frame == frame
    assert link.state is L.TEI_ASSIGNED
    out = link.receive(bytes.fromhex("0001af00"), 0)     # XID: not implemented, said so
    assert isinstance(out[0], FrameDiscarded) and "XID" in out[0].reason


def test_ui_frames_are_unit_data():
    link = DataLink(USER)
    out = link.receive(cmd(FrameKind.UI, NETWORK, info=b"\x08\x01\x01\x05"), 0)
    assert out == [DataReceived(b"\x08\x01\x01\x05", unit=True)]


def test_out_of_sequence_i_frame_gets_one_rej():
    link = DataLink(NETWORK)
    link.receive(cmd(FrameKind.SABME, USER, pf=True), 0)
    out = link.receive(cmd(FrameKind.I, USER, ns=1, nr=0, info=b"b"), 0)
    assert frames(out) == [LapdFrame(FrameKind.REJ, cr=0, pf=False, nr=0)] and link.reject_exception
    out = link.receive(cmd(FrameKind.I, USER, ns=2, nr=0, info=b"c"), 0)
    assert frames(out) == [] and not events(out)            # discarded quietly: one REJ is enough
    out = link.receive(cmd(FrameKind.I, USER, ns=0, nr=0, info=b"a", pf=True), 0)
    assert events(out) == [DataReceived(b"a")] and frames(out) == [LapdFrame(FrameKind.RR, 0, True, None, 1)]


def test_rnr_holds_frames_until_rr():
    link = DataLink(USER)
    link.establish(0)
    link.receive(rsp(FrameKind.UA, NETWORK, pf=True), 0)
    link.receive(rsp(FrameKind.RNR, NETWORK, nr=0), 0)
    assert link.peer_busy and frames(link.send(b"wait", 0)) == []
    out = link.receive(rsp(FrameKind.RR, NETWORK, nr=0), 0)
    assert [f.info for f in frames(out)] == [b"wait"]


def test_lossy_wire_delivers_in_order_without_duplicates():
    """A fifth of the frames lost, both ways: every message arrives once and in order; all of
    them unless the link was reset (Q.921 then discards what was outstanding; Q.931 recovers)."""
    clean = 0
    for seed in range(12):
        rng = random.Random(seed)
        w = Wire(LapdParameters(n200=5), drop=lambda f: rng.random() < 0.2)
        w.deliver(w.a.establish(0), w.a)
        w.run(8)
        assert w.a.established and w.b.established
        start = len(w.log)
        sent_a = [b"a%03d" % i for i in range(40)]
        sent_b = [b"b%03d" % i for i in range(40)]
        for i in range(40):
            w.deliver(w.a.send(sent_a[i], w.now), w.a)
            w.deliver(w.b.send(sent_b[i], w.now), w.b)
            w.run(0.2)
        w.drop = lambda f: False
        w.run(30)
        resets = [e for r, e in w.log[start:] if isinstance(e, LinkEstablished) and not e.confirm] + \
                 [e for r, e in w.log[start:] if isinstance(e, ErrorReported) and e.code in "GIJ"]
        for got, sent in ((w.data(w.b), sent_a), (w.data(w.a), sent_b)):
            assert len(got) == len(set(got)), f"seed {seed}: a message was delivered twice"
            assert got == sorted(got), f"seed {seed}: messages out of order"
            assert set(got) <= set(sent)
            if not resets:
                assert got == sent, f"seed {seed}: messages lost without a reset"
        clean += not resets
        assert w.a.counters["retransmitted"] + w.b.counters["retransmitted"] > 0
    assert clean >= 6, "the strict case (no reset) must be the common one"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=12), max_size=25), st.sampled_from([USER, NETWORK]),
       st.booleans())
def test_fuzz_any_frames_never_raise(raw_frames, role, established):
    link = DataLink(role)
    if established:
        link.establish(0)
        link.receive(encode_frame(LapdFrame(FrameKind.UA, cr=0 if role is USER else 1, pf=True)), 0)
        link.send(b"pending", 0)
    t = 0.0
    for raw in raw_frames:
        t += 0.3
        # Most of them for this link's address, so that they reach the state machine.
        data = (bytes([0x02 if role is USER else 0x00, 0x01]) + raw[1:]) if raw[:1] != b"\xff" else raw
        out = link.receive(data, t) + link.tick(t)
        for item in out:
            assert isinstance(item, (SendFrame, DataReceived, LinkEstablished, LinkReleased, ErrorReported,
                                     FrameDiscarded))
            if isinstance(item, SendFrame):
                decode_frame(item.frame)
        assert link.state in LinkState
        assert 0 <= link.outstanding <= link.params.k
