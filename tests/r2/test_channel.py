"""Two R2 channels back to back (tests/r2/wire.py): calls both ways in every variant, the
numbers and category arriving intact, answer and clear from either side, refusals, every
timer, glare, blocking, metering pulses, early answer, protocol errors."""

import dataclasses

import pytest

from gateway.errors import UsageError
from gateway.line_signal import PlayMf, SetAbcd
from gateway.r2 import R2Channel, R2State, variants
from tests.r2.wire import Wire

VARIANTS = sorted(variants())


def pair(variant="ITU", a=None, b=None, **wire):
    return Wire(R2Channel(variant, **(a or {})), R2Channel(variant, **(b or {})), **wire)


def call(w, frm="a", to="b", dnis="1234", **kw):
    w.do(frm, "make_call", dnis, **kw)
    w.run_until(lambda: w.has(to, "offered"))
    return w.signal(to, "offered")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("direction", ["ab", "ba"])
@pytest.mark.parametrize("clearer", ["caller", "called"])
def test_a_call_each_way_in_every_variant(variant, direction, clearer):
    frm, to = direction
    w = pair(variant, b={"max_dnis": 6}, a={"max_dnis": 6})
    offered = call(w, frm, to, "306090", ani="5512345", category="national-priority")
    assert offered == {"ani": "5512345", "dnis": "306090", "name": "", "category": "national-priority",
                       "ani_restricted": False}
    assert w.kinds(frm) == ["proceeding"] and w.kinds(to) == ["seized", "offered"]
    w.do(to, "answer")
    w.run_until(lambda: w.has(frm, "connected") and w.has(to, "connected"))
    assert w.ch[frm].state is w.ch[to].state is R2State.CONNECTED
    assert w.signal(frm, "alerting") == {"charge": True}
    side = frm if clearer == "caller" else to
    w.do(side, "hangup")
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"))
    other = to if side == frm else frm
    assert w.signal(side, "disconnected")["by"] == "local"
    assert w.signal(other, "disconnected") == {"cause": 16, "by": "remote",
                                               "reason": "clear-forward" if side == frm else "clear-back"}
    assert w.ch["a"].state is w.ch["b"].state is R2State.IDLE
    assert w.ch["a"].line.sent == w.ch["b"].line.sent == variants()[variant].line.idle
    assert not w.ch["a"].errors and not w.ch["b"].errors
    assert w.playing == {"a": None, "b": None} and w.ch["a"].next_deadline is None


@pytest.mark.parametrize("variant", VARIANTS)
def test_restricted_and_unavailable_caller_numbers(variant):
    w = pair(variant)
    offered = call(w, ani="5551234", ani_restricted=True)
    assert offered["ani"] == "" and offered["ani_restricted"] is True
    w.do("b", "hangup")
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"))
    w = pair(variant)
    offered = call(w, ani="")
    assert offered["ani"] == ""
    # Mexico's I-15 is both "end of identification" and "restricted"; before any digit it reads restricted.
    assert offered["ani_restricted"] is (variant == "MX")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("category", ["national", "national-priority", "international", "international-priority",
                                      "test"])
def test_every_category_arrives(variant, category):
    assert call(pair(variant), category=category)["category"] == category


@pytest.mark.parametrize("variant", [v for v in VARIANTS if variants()[v].i["end_of_dnis"] is None])
def test_a_number_shorter_than_max_dnis_ends_by_the_called_sides_timeout(variant):
    w = pair(variant, b={"max_dnis": 10})
    w.do("a", "make_call", "12345", ani="99")
    t = w.run_until(lambda: w.has("b", "offered"))
    assert w.signal("b", "offered")["dnis"] == "12345"
    assert 5.0 < t < 8.0                                 # one mf_cycle (5 s) of silence, then a pulse
    assert any(isinstance(a, PlayMf) for _, a in w.actions["b"])


@pytest.mark.parametrize("variant", [v for v in VARIANTS if variants()[v].i["end_of_dnis"] is not None])
def test_a_number_shorter_than_max_dnis_ends_with_its_end_signal(variant):
    w = pair(variant, b={"max_dnis": 10})
    w.do("a", "make_call", "12345", ani="99")
    assert w.run_until(lambda: w.has("b", "offered")) < 3.0


@pytest.mark.parametrize("variant, cause, expected", [
    ("ITU", 17, 17), ("ITU", 1, 1), ("ITU", 34, 34), ("ITU", 27, 27), ("ITU", 16, 27),
    ("BR", 22, 22), ("BR", 21, 1), ("MX", 1, 17), ("CN", 17, 17), ("CO", 1, 1),
])
def test_refusal_causes_reach_the_caller(variant, cause, expected):
    # What a refusal can say depends on the table: MX reads B-2 as busy, BR's B-7 is both
    # "unallocated" and "collect call refused" (read as the first), ITU has no "number changed".
    w = pair(variant)
    call(w)
    w.do("b", "reject", cause)
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"))
    assert w.signal("a", "disconnected")["cause"] == expected and w.signal("a", "disconnected")["by"] == "remote"
    assert w.signal("b", "disconnected")["by"] == "local"


def test_accept_without_charge_then_answer():
    w = pair()
    call(w)
    w.do("b", "accept", False)
    w.run_until(lambda: w.has("a", "alerting"))
    assert w.signal("a", "alerting") == {"charge": False} and w.ch["b"].state is R2State.ACCEPTED
    w.do("b", "answer")
    w.run_until(lambda: w.has("a", "connected"))


def test_answer_waits_for_the_callers_tone_to_be_gone():
    w = pair()
    call(w)
    w.do("b", "answer")                                  # accepts and answers in one go
    w.run_until(lambda: w.has("b", "connected"))
    answer_at = next(t for t, a in w.actions["b"] if a == SetAbcd(0b0101))
    accepted_at = w.time_of("b", "alerting")
    assert answer_at - accepted_at >= 0.15               # openr2's r2_answer_delay


def test_answer_before_the_accepting_signal_ended_is_kept():
    # A slow MF receiver on the caller's side: the answer bits overtake the end of B-6.
    w = pair(mf_off_delay=0.4)
    call(w)
    w.ch["b"].variant.timers  # (the called side's answer delay is counted from its tone end)
    w.do("b", "answer")
    w.run_until(lambda: w.has("a", "connected"))
    assert w.kinds("a") == ["proceeding", "alerting", "connected"]


def test_the_called_side_releases_a_call_before_answer_by_forced_release():
    w = pair()
    call(w)
    w.do("b", "accept")
    w.run_until(lambda: w.has("a", "alerting"))
    w.do("b", "hangup")
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"))
    assert w.signal("a", "disconnected") == {"cause": 16, "by": "remote", "reason": "forced-release"}


def test_the_caller_gives_up_while_the_number_is_being_sent():
    w = pair()
    w.do("a", "make_call", "123456789", ani="5")
    w.run_until(lambda: w.has("b", "seized") and w.playing["a"] is not None)
    w.do("a", "hangup")
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"))
    assert w.signal("a", "disconnected")["by"] == "local"
    assert not w.has("b", "disconnected")                # never offered: nothing to end for the host
    assert w.playing == {"a": None, "b": None}


def test_the_host_hangs_up_an_offered_call():
    w = pair()
    call(w)
    w.do("b", "hangup", 17)
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"))
    assert w.signal("a", "disconnected")["cause"] == 17


# ---- timers ----

def test_no_seize_acknowledgement():
    w = pair()
    w.cut["b"].add("abcd")                               # b's bits never reach a
    w.do("a", "make_call", "1")
    w.run_until(lambda: w.has("a", "free"))
    assert w.signal("a", "disconnected") == {"cause": 102, "by": "network", "reason": "no-seize-ack"}
    assert 8.0 <= w.time_of("a", "disconnected") < 8.1


def test_the_called_side_never_answers_the_first_digit():
    w = pair()
    w.cut["b"].update({"began", "ended"})                # b's MF never reaches a
    w.do("a", "make_call", "12")
    w.run_until(lambda: w.has("a", "disconnected"))
    d = w.signal("a", "disconnected")
    assert d["cause"] == 102 and "no backward signal" in d["reason"]
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"))


def test_the_callers_signal_never_ends():
    w = pair()
    w.cut["a"].add("ended")
    w.do("a", "make_call", "12")
    w.run_until(lambda: w.has("b", "free") and w.has("a", "free"))
    assert any("did not end" in e[2] for e in w.ch["b"].errors)
    assert w.signal("a", "disconnected")["cause"] == 16 and w.signal("a", "disconnected")["reason"] == "forced-release"


def test_the_called_side_never_decides():
    # The caller's set-up timer runs out first (it started first).
    w = pair()
    call(w)
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"), limit=200)
    assert w.signal("a", "disconnected") == {"cause": 102, "by": "network", "reason": "setup-timeout"}
    assert w.signal("b", "disconnected") == {"cause": 16, "by": "remote", "reason": "clear-forward"}
    assert 45.0 <= w.time_of("a", "disconnected") < 45.1
    # With a more patient caller, the called side refuses when its own set-up time is up.
    itu = variants()["ITU"]
    patient = dataclasses.replace(itu, timers=dataclasses.replace(itu.timers, setup=60.0))
    w = Wire(R2Channel(patient), R2Channel(itu))
    call(w)
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"), limit=200)
    assert w.signal("a", "disconnected") == {"cause": 27, "by": "remote", "reason": "out-of-order"}
    assert w.signal("b", "disconnected")["by"] == "local"
    assert 45.0 < w.time_of("a", "disconnected") < 45.5


def test_accepted_but_never_answered():
    w = pair()
    call(w)
    w.do("b", "accept")
    w.run_until(lambda: w.has("a", "free") and w.has("b", "free"), limit=200)
    assert w.signal("a", "disconnected") == {"cause": 19, "by": "remote", "reason": "no-answer"}
    assert w.signal("b", "disconnected")["by"] == "remote"


def test_a_silent_caller_that_never_gets_a_pulse():
    # The called side asks for more digits than there are; without an end signal (AR) the
    # caller falls silent. Here nothing more of the called side reaches it (its pulse and its
    # release are lost): the caller's safety timer ends the call.
    w = pair("AR", b={"max_dnis": 8})
    w.do("a", "make_call", "12", ani="5")
    silent_at = w.run_until(lambda: w.ch["a"].register.mode.value == "silent")
    w.cut["b"].update({"began", "ended", "abcd"})
    w.run_until(lambda: w.has("a", "disconnected"), limit=60)
    assert w.signal("a", "disconnected")["cause"] == 102
    assert 30.0 <= w.time_of("a", "disconnected") - silent_at < 30.1


# ---- circuits ----

def test_glare_one_end_yields():
    w = pair(a={"glare": "hold"}, b={"glare": "yield"})
    w.do("a", "make_call", "1234", ani="77")
    w.do("b", "make_call", "9999", ani="88")
    w.run_until(lambda: w.has("b", "offered"))
    assert w.signal("b", "offered")["dnis"] == "1234"
    assert w.kinds("b")[:2] == ["disconnected", "free"] and w.signal("b", "disconnected")["cause"] == 44
    assert w.signal("b", "disconnected")["reason"] == "glare"
    w.do("b", "answer")
    w.run_until(lambda: w.has("a", "connected"))


def test_glare_both_yield_ends_both_attempts():
    w = pair()
    w.do("a", "make_call", "1")
    w.do("b", "make_call", "2")
    w.settle()
    assert w.signal("a", "disconnected")["cause"] == w.signal("b", "disconnected")["cause"] == 44
    assert w.kinds("a") == w.kinds("b") == ["disconnected", "free", "seized", "free"]
    assert w.ch["a"].state is w.ch["b"].state is R2State.IDLE
    call(w)                                              # and the circuit works


def test_glare_both_hold_ends_at_the_seize_timer():
    w = pair(a={"glare": "hold"}, b={"glare": "hold"})
    w.do("a", "make_call", "1")
    w.do("b", "make_call", "2")
    w.settle()
    assert w.signal("a", "disconnected")["reason"] == w.signal("b", "disconnected")["reason"] == "no-seize-ack"
    assert w.ch["a"].state is w.ch["b"].state is R2State.IDLE


def test_blocking():
    w = pair()
    w.do("b", "block")
    w.run_until(lambda: w.has("a", "alarm"))
    assert w.signal("a", "alarm") == {"alarm": "blocked"} and w.ch["b"].state is R2State.BLOCKED
    with pytest.raises(UsageError, match="blocked"):
        w.ch["a"].make_call("1", w.now)
    w.do("b", "unblock")
    w.run_until(lambda: len([k for k in w.kinds("a") if k == "alarm"]) == 2)
    assert w.signals["a"][-1][2] == {"alarm": None}
    call(w)


def test_blocking_during_a_call_takes_effect_after_it():
    w = pair()
    call(w)
    w.do("b", "block")
    w.do("b", "answer")
    w.run_until(lambda: w.has("a", "connected"))
    w.do("a", "hangup")
    w.run_until(lambda: w.has("a", "alarm"))
    assert w.ch["b"].state is R2State.BLOCKED


def test_an_outgoing_only_channel_ignores_seizures_and_an_incoming_only_one_makes_no_calls():
    w = Wire(R2Channel("ITU"), R2Channel("ITU", role="outgoing"))
    w.do("a", "make_call", "1")
    w.run_until(lambda: w.has("a", "free"))
    assert w.signal("a", "disconnected")["reason"] == "no-seize-ack" and w.ch["b"].errors
    with pytest.raises(UsageError):
        R2Channel("ITU", role="incoming").make_call("1", 0.0)


def test_metering_pulses_reach_the_caller_in_argentina():
    ch = R2Channel("AR")
    now = 0.0
    ch.make_call("1", now)

    def far(bits, hold):
        nonlocal now
        out = ch.abcd(bits, now)
        end = now + hold
        while ch.next_deadline is not None and ch.next_deadline <= end:
            now = ch.next_deadline
            out += ch.tick(now)
        now = end
        return out

    far(0b1101, 0.03)
    ch.register = None                                   # (no register here: straight to the line)
    ch.state = R2State.ALERTING
    far(0b0101, 0.03)
    assert far(0b1101, 0.2) == []
    out = far(0b0101, 0.03)
    assert [a.kind for a in out] == ["metering"]
    out = far(0b1101, 0.5)
    assert [a.kind for a in out if hasattr(a, "kind")] == ["disconnected"]


def test_unexpected_line_signal_mid_call_is_a_protocol_error():
    w = pair()
    call(w)
    w.do("b", "answer")
    w.run_until(lambda: w.has("a", "connected"))
    w.apply("a", w.ch["a"].abcd(0b1001, w.now))          # the called side goes idle mid-call: no such signal
    w.run_until(lambda: w.has("a", "disconnected"))
    assert w.signal("a", "disconnected")["cause"] == 111 and w.ch["a"].errors


def test_commands_in_the_wrong_state():
    ch = R2Channel("ITU")
    for command in ("accept", "answer"):
        with pytest.raises(UsageError):
            getattr(ch, command)(0.0)
    with pytest.raises(UsageError):
        ch.reject(17, 0.0)
    assert ch.hangup(0.0) == []
    with pytest.raises(UsageError):
        ch.make_call("12", 0.0, category="collect")      # ITU has no collect-call category
    with pytest.raises(UsageError):
        R2Channel("ITU", role="sideways")
    with pytest.raises(UsageError):
        ch.abcd(16, 0.0)
    with pytest.raises(UsageError):
        ch.mf_began(0, 0.0)
    ch.make_call("12", 0.0)
    with pytest.raises(UsageError):
        ch.make_call("12", 0.0)


def test_setup_time_back_to_back_in_itu():
    """Seize to offer for a 4-digit number and a 7-digit caller: ~1.5 s here, with 30 ms
    to hear a tone begin and 25 ms its end (openr2 takes about 1.4 s, INTEROP.md)."""
    w = pair()
    w.do("a", "make_call", "1234", ani="5551234")
    t = w.run_until(lambda: w.has("b", "offered"))
    assert 1.0 < t < 2.0
