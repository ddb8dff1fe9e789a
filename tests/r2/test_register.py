"""Compelled inter-register signalling (Q.441/Q.442) against a scripted far end: what the
caller sends for each backward signal, what the called side asks for after each forward
signal, pulses, group C, refusals with their Q.850 causes, broken sequences, timers."""

import pytest

from gateway.errors import UsageError
from gateway.line_signal import PlayMf, StopMf
from gateway.r2 import register as rg
from gateway.r2.variant import get_variant


class Caller:
    """An outgoing register with a clock; ``answer(n)`` plays backward signal n through a cycle."""

    def __init__(self, variant="ITU", dnis="1234", ani="5551", category=1, restricted=False):
        self.reg = rg.OutgoingRegister(get_variant(variant), dnis, ani, category, restricted)
        self.now = 0.0
        self.events = []
        actions, _ = self.reg.start(self.now)
        self.sent = [actions[-1]]

    def answer(self, signal: int):
        """Backward signal on (the caller stops its own), then off (it acts): what it sends next."""
        self.now += 0.05
        actions, events = self.reg.began(signal, self.now)
        assert actions == ([StopMf()] if self.reg.playing is None and self.sent[-1] is not None else actions)
        self.now += 0.05
        actions, more = self.reg.ended(self.now)
        self.events += events + more
        played = [a for a in actions if isinstance(a, PlayMf)]
        self.sent.append(played[0] if played else None)
        return self.sent[-1]

    def wait(self, seconds):
        self.now += seconds
        actions, events = self.reg.tick(self.now)
        self.events += events
        return actions, events


def fwd(group, signal):
    return PlayMf(group, signal)


def test_itu_caller_sends_digits_category_and_caller_number():
    c = Caller(dnis="1234", ani="50", category=1)
    assert c.sent[0] == fwd("I", 1)                   # the first digit goes unasked
    assert c.answer(5) == fwd("II", 1)                 # the category
    assert c.answer(5) == fwd("I", 5)                  # A-5 again: the caller's number
    assert c.answer(5) == fwd("I", 10)                 # 0 is I-10
    assert c.answer(5) == fwd("I", 15)                 # end of identification
    assert c.answer(1) == fwd("I", 2)                  # A-1 next digit
    assert c.answer(1) == fwd("I", 3)
    assert c.answer(1) == fwd("I", 4)
    assert c.answer(1) == fwd("I", 15)                 # end of pulsing
    assert c.answer(3) == fwd("II", 1) and c.events == [rg.AddressComplete()]   # group B next
    assert c.answer(6) is None and c.events[-1] == rg.Accepted(True, "B-6") and c.reg.done


def test_repeat_requests():
    c = Caller(dnis="123456")
    for _ in range(3):
        c.answer(1)                                    # 2, 3, 4 sent
    assert c.answer(2) == fwd("I", 3)                  # last but one
    assert c.answer(1) == fwd("I", 4)
    assert c.answer(7) == fwd("I", 2)                  # last but two
    assert c.answer(8) == fwd("I", 1)                  # last but three (clamped at the first)
    b = Caller("BR", dnis="123")
    b.answer(1), b.answer(1)
    assert b.answer(2) == fwd("I", 1)                  # Brazil A-2: the whole number again
    assert b.answer(9) == fwd("I", 1)                  # Brazil A-9: last but one


def test_without_an_end_of_number_signal_the_caller_falls_silent_until_a_pulse():
    c = Caller("AR", dnis="12", ani="")
    c.answer(1)
    assert c.answer(1) is None and c.reg.mode.value == "silent"
    assert c.wait(29.0) == ([], [])
    assert c.answer(3) == fwd("II", 1)                 # the pulsed A-3 is acted on when it ends


def test_the_silent_caller_gives_up_after_its_safety_timer():
    c = Caller("AR", dnis="1", ani="")
    c.answer(1)
    _, events = c.wait(30.1)
    assert events == [rg.Failed("no request came after the last digit", 102)]


@pytest.mark.parametrize("variant, restricted, ani, expected", [
    ("ITU", True, "555", 12), ("ITU", False, "", 15),
    ("AR", True, "555", 15), ("AR", False, "", 12),    # Argentina swaps them
    ("MX", True, "555", 15),
])
def test_restricted_and_unavailable_caller_numbers(variant, restricted, ani, expected):
    c = Caller(variant, ani=ani, restricted=restricted)
    request = get_variant(variant).a["category"] or get_variant(variant).a["category_to_group_c"]
    c.answer(request)
    next_ani = get_variant(variant).a["next_ani"] or get_variant(variant).c["next_ani"]
    assert c.answer(next_ani).signal == expected


def test_china_a1_asks_for_the_callers_number_until_it_has_ended():
    c = Caller("CN", dnis="1234", ani="9")
    assert c.answer(6) == fwd("II", 1)                 # A-6 category
    assert c.answer(1) == fwd("I", 9)                  # caller's number
    assert c.answer(1) == fwd("I", 15)                 # ... its end
    assert c.answer(1) == fwd("I", 2)                  # now A-1 is the called number again


def test_mexico_group_c():
    c = Caller("MX", dnis="12", ani="7")
    assert c.answer(1) == fwd("I", 2)
    assert c.answer(6) == fwd("II", 1) and c.reg.group == "III"   # category, then group C
    assert c.answer(1) == fwd("III", 7)                # C-1 caller's number
    # C-5: the next digit and back to group I; there is none and Mexico has no end signal: silence.
    assert c.answer(5) is None and c.reg.group == "I" and c.reg.mode.value == "silent"
    c2 = Caller("MX", dnis="1", ani="7")
    c2.answer(6), c2.answer(1)
    assert c2.answer(3) == fwd("II", 1) and c2.events == [rg.AddressComplete()]   # C-3 to group B
    c2.answer(1)
    assert c2.events[-1] == rg.Accepted(True, "B-1")


@pytest.mark.parametrize("variant, b, refusal, cause", [
    ("ITU", 3, "busy", 17), ("ITU", 4, "congestion", 34), ("ITU", 5, "unallocated", 1),
    ("ITU", 8, "out_of_order", 27), ("ITU", 2, "special_info", 1),
    ("BR", 2, "busy", 17), ("BR", 3, "number_changed", 22), ("BR", 7, "unallocated", 1),
    ("MX", 2, "busy", 17), ("CO", 6, "unallocated", 1),
])
def test_refusals_carry_their_q850_cause(variant, b, refusal, cause):
    c = Caller(variant, dnis="1")
    c.reg.group = "II"
    c.answer(b)
    assert c.events == [rg.Refused(refusal, cause, f"B-{b}")]


def test_accepted_without_group_b_and_congestion_in_group_a():
    c = Caller()
    c.answer(6)
    assert c.events == [rg.Accepted(True, "A-6")]
    c = Caller()
    c.answer(15)
    assert c.events == [rg.Refused("congestion", 34, "A-15")]


@pytest.mark.parametrize("group, signal", [("II", 9), ("I", 13)])
def test_a_signal_without_meaning_fails_the_call(group, signal):
    c = Caller()
    c.reg.group = group
    c.answer(signal)
    assert len(c.events) == 1 and c.events[0].cause == 111 and str(signal) in c.events[0].reason


def test_caller_timers():
    c = Caller()
    assert c.wait(4.9) == ([], [])
    actions, events = c.wait(0.2)
    assert actions == [StopMf()] and events[0].cause == 102 and "I-1" in events[0].reason
    c = Caller()
    c.reg.began(5, 0.1)
    _, events = c.wait(5.2)
    assert events[0].cause == 102 and "did not end" in events[0].reason


def test_a_new_backward_signal_before_the_last_ended_is_a_broken_sequence():
    c = Caller()
    c.reg.began(5, 0.1)
    _, events = c.reg.began(1, 0.2)
    assert events[0].cause == 111


def test_caller_refuses_bad_numbers():
    for dnis, ani in (("", ""), ("12a", ""), ("12", "5x"), ("١٢", "")):
        with pytest.raises(UsageError):
            rg.OutgoingRegister(get_variant("ITU"), dnis, ani, 1)


# ---- the called side ----

class Called:
    def __init__(self, variant="ITU", **kw):
        self.reg = rg.IncomingRegister(get_variant(variant), **kw)
        self.reg.start(0.0)
        self.now = 0.0
        self.events = []

    def send(self, signal):
        """A forward signal through a cycle: returns the backward signal it got."""
        self.now += 0.05
        actions, events = self.reg.began(signal, self.now)
        self.events += events
        played = [a for a in actions if isinstance(a, PlayMf)]
        if self.reg.mode.value in ("offered", "done"):
            return None
        self.now += 0.05
        stop, more = self.reg.ended(self.now)
        assert stop == [StopMf()]
        self.events += more
        return played[0]

    def to_offer(self):
        """Digits 1 and the category II-1 until offered (the caller's number ended at once)."""
        while self.reg.mode.value != "offered":
            self.send(self.reg.variant.i["end_of_ani"] if self.reg.expecting == "ani" else 1)

    def tick(self, seconds):
        self.now += seconds
        actions, events = self.reg.tick(self.now)
        self.events += events
        return actions


def test_itu_called_side_asks_after_the_first_digit_for_category_and_number():
    c = Called(max_dnis=3, max_ani=2)
    assert c.send(1) == PlayMf("A", 5)                 # digit 1; A-5 category
    assert c.send(1) == PlayMf("A", 5)                 # category II-1; A-5 caller's number
    assert c.send(9) == PlayMf("A", 5)
    assert c.send(8) == PlayMf("A", 1)                 # max_ani reached; A-1 next digit
    assert c.send(2) == PlayMf("A", 1)
    assert c.send(10) == PlayMf("A", 3)                # third digit (0): complete; A-3
    assert c.send(1) is None
    assert c.events == [rg.Offered("120", "98", False, 1)]
    actions, _ = c.reg.accept(c.now)
    assert actions == [PlayMf("B", 6)]
    stop, events = c.reg.ended(c.now + 0.05)
    assert stop == [StopMf()] and events == [rg.Accepted(True, "B-6")]


def test_called_side_without_ani_first_takes_the_whole_number_first():
    c = Called(max_dnis=2, max_ani=1, ani_first=False)
    assert c.send(4) == PlayMf("A", 1)
    assert c.send(2) == PlayMf("A", 5)
    assert c.send(1) == PlayMf("A", 5)
    assert c.send(7) == PlayMf("A", 3)


def test_end_of_number_and_end_of_identification():
    c = Called(max_dnis=8, max_ani=8, ani_first=False)
    c.send(1)
    assert c.send(15) == PlayMf("A", 5)                # I-15: end of pulsing
    c.send(1)
    c.send(4)
    assert c.send(15) == PlayMf("A", 3)                # I-15: end of identification
    c.send(1)
    assert c.events == [rg.Offered("1", "4", False, 1)]


@pytest.mark.parametrize("variant, first, restricted", [
    ("ITU", 12, True), ("AR", 15, True), ("AR", 12, False), ("MX", 15, True), ("VE", 12, True),
])
def test_restricted_caller_number(variant, first, restricted):
    c = Called(variant, max_dnis=1, max_ani=5)
    c.send(1)                                          # the number; then the category request
    c.send(1)                                          # the category; then the caller's number
    c.send(first)
    c.send(1)                                          # the group II signal
    assert c.events[-1].ani_restricted is restricted and c.events[-1].ani == ""


def test_china_reads_the_callers_number_to_its_end_whatever_max_ani():
    c = Called("CN", max_dnis=2, max_ani=1)
    assert c.send(3) == PlayMf("A", 6)                 # category
    assert c.send(1) == PlayMf("A", 1)                 # the caller takes it as "your number"
    assert c.send(7) == PlayMf("A", 1)                 # max_ani reached, but the caller is not done
    assert c.send(8) == PlayMf("A", 1)                 # (kept to max_ani)
    assert c.send(15) == PlayMf("A", 1)                # its end: now A-1 is the called number's next digit
    assert c.send(4) == PlayMf("A", 3)
    c.send(1)
    assert c.events == [rg.Offered("34", "7", False, 1)]


def test_mexico_i15_after_digits_ends_the_number():
    c = Called("MX", max_dnis=1, max_ani=5)
    assert c.send(3) == PlayMf("A", 6)                 # the number, then A-6: category and group C
    assert c.send(1) == PlayMf("C", 1)                 # C-1 caller's number
    assert c.send(4) == PlayMf("C", 1)
    assert c.send(15) == PlayMf("C", 3)                # end of it; C-3 change to group B
    c.send(2)
    assert c.events == [rg.Offered("3", "4", False, 2)]


def test_mexico_ani_first_goes_back_to_group_a_with_c5():
    c = Called("MX", max_dnis=2, max_ani=1, ani_first=True)
    assert c.send(3) == PlayMf("A", 6)
    c.send(1)
    assert c.send(4) == PlayMf("C", 5)                 # C-5: next digit, back to group A
    assert c.send(5) == PlayMf("A", 3)


def test_no_end_of_number_signal_the_called_side_pulses_its_next_request():
    c = Called("AR", max_dnis=8, max_ani=0)
    assert c.send(1) == PlayMf("A", 5)                 # the first digit; the category next
    assert c.send(1) == PlayMf("A", 1)                 # the category; the next digit
    assert c.send(2) == PlayMf("A", 1)
    assert c.tick(4.0) == []
    assert c.tick(1.1) == [PlayMf("A", 3)]             # 5 s of silence: the number is complete
    assert c.tick(0.15) == [StopMf()]                  # a 150 ms pulse
    assert c.send(1) is None and c.events[-1].dnis == "12"


@pytest.mark.parametrize("variant, charge, b", [("ITU", True, 6), ("ITU", False, 7), ("MX", True, 1),
                                                ("MX", False, 5), ("CN", False, 7)])
def test_accepting(variant, charge, b):
    c = Called(variant, max_dnis=1, max_ani=0)
    c.to_offer()
    actions, _ = c.reg.accept(c.now, charge=charge)
    assert actions == [PlayMf("B", b)] and c.reg.accepting


@pytest.mark.parametrize("variant, cause, refusal, b", [
    ("ITU", 17, "busy", 3), ("ITU", 1, "unallocated", 5), ("ITU", 34, "congestion", 4),
    ("ITU", 16, "out_of_order", 8), ("BR", 22, "number_changed", 3), ("MX", 1, "unallocated", 2),
])
def test_refusing(variant, cause, refusal, b):
    c = Called(variant, max_dnis=1, max_ani=0)
    c.to_offer()
    actions, _ = c.reg.refuse(cause, c.now)
    assert actions == [PlayMf("B", b)]
    _, events = c.reg.ended(c.now + 0.05)
    assert events == [rg.Refused(refusal, rg.REFUSAL_CAUSES[refusal], f"B-{b}")]


def test_called_side_errors_and_timers():
    c = Called()
    assert c.tick(5.1) == [] and c.events[0] == rg.Failed("no forward signal after our request for dnis", 102)
    c = Called()
    c.send(12)                                         # I-12 where a digit belongs
    assert c.events[0].cause == 111 and "I-12" in c.events[0].reason
    c = Called()
    c.reg.began(1, 0.0)
    assert c.tick(5.1) == [StopMf()] and c.events[0].cause == 102
    c = Called()
    c.reg.began(1, 0.0)
    _, events = c.reg.began(2, 0.1)
    assert events[0].cause == 111
    c = Called(max_dnis=1, max_ani=0)
    c.send(1), c.send(1)
    c.reg.began(1, c.now)
    _, events = c.reg.ended(c.now + 0.1)              # the caller let go before our decision
    assert events[0].cause == 111
    with pytest.raises(UsageError):
        Called().reg.accept(0.0)
    with pytest.raises(UsageError):
        rg.IncomingRegister(get_variant("ITU"), max_dnis=0)
