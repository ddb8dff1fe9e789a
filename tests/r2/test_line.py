"""R2 line signalling (Q.421 digital version, Q.422): every transition of the ABCD state
machine, both ends of a call, the recognition time, blocking, glare, the release guard,
metering pulses."""

import pytest

from gateway.errors import UsageError
from gateway.line_signal import SetAbcd
from gateway.r2 import line as ln
from gateway.r2.variant import get_variant

IDLE, SEIZE, ACK, ANSWER, CLEAR_BACK, BLOCKED, FORCED = 0b1001, 0b0001, 0b1101, 0b0101, 0b1101, 0b1101, 0b0001


class Driver:
    """A line with a clock: ``far(bits)`` holds a pattern past the recognition time."""

    def __init__(self, variant="ITU"):
        self.line = ln.LineSignalling(get_variant(variant))
        self.now = 0.0
        self.actions, self.events = [], []

    def _take(self, result):
        actions, events = result
        self.actions += actions
        self.events += events
        return events

    def far(self, bits, hold=0.021):
        events = self._take(self.line.received(bits, self.now))
        return events + self.wait(hold)

    def wait(self, seconds):
        end, events = self.now + seconds, []
        while self.line.deadline is not None and self.line.deadline <= end:
            self.now = self.line.deadline
            events += self._take(self.line.tick(self.now))
        self.now = end
        return events

    def do(self, command):
        actions = getattr(self.line, command)(self.now)
        self.actions += actions
        return actions


def test_a_pattern_counts_after_the_recognition_time():
    d = Driver()
    assert d.far(SEIZE, hold=0.015) == []              # 15 ms: not yet
    d.line.received(IDLE, d.now)                       # back before 20 ms: a glitch
    assert d.wait(0.1) == [] and d.line.far == IDLE >> 2
    d.line.received(SEIZE, d.now)
    start = d.now
    assert d.wait(0.019) == []
    assert d.wait(0.002) == [ln.Seized()] and d.now - start >= 0.020


def test_an_outgoing_call_from_seizure_to_release():
    d = Driver()
    assert d.do("seize") == [SetAbcd(SEIZE)] and d.line.state is ln.Line.SEIZING
    assert d.far(ACK) == [ln.SeizeAcknowledged()] and d.line.state is ln.Line.OUTGOING
    assert d.far(ANSWER) == [ln.Answered()] and d.line.state is ln.Line.OUT_ANSWERED
    assert d.far(CLEAR_BACK) == [ln.ClearedBack()]
    assert d.do("clear_forward") == [SetAbcd(IDLE)] and d.line.state is ln.Line.CLEARING_FORWARD
    assert d.far(IDLE) == [ln.Released()] and d.line.state is ln.Line.IDLE


def test_the_caller_clears_first():
    d = Driver()
    d.do("seize"), d.far(ACK), d.far(ANSWER)
    assert d.do("clear_forward") == [SetAbcd(IDLE)]
    assert d.far(CLEAR_BACK) == []                     # the far end on its way to idle
    assert d.far(IDLE) == [ln.Released()]


def test_an_incoming_call_answered_and_cleared_forward():
    d = Driver()
    assert d.far(SEIZE) == [ln.Seized()] and d.line.state is ln.Line.IDLE
    assert d.do("acknowledge") == [SetAbcd(ACK)] and d.line.state is ln.Line.INCOMING
    assert d.do("answer") == [SetAbcd(ANSWER)] and d.line.state is ln.Line.IN_ANSWERED
    assert d.far(IDLE) == [ln.ClearedForward()]
    assert d.do("release") == [SetAbcd(IDLE)] and d.line.state is ln.Line.IDLE


def test_the_called_side_clears_back_then_gets_clear_forward():
    d = Driver()
    d.far(SEIZE), d.do("acknowledge"), d.do("answer")
    assert d.do("clear_back") == [SetAbcd(CLEAR_BACK)] and d.line.state is ln.Line.CLEARING_BACK
    assert d.far(IDLE) == [ln.ClearedForward()]
    assert d.do("release") == [SetAbcd(IDLE)]


def test_before_answer_the_called_side_releases_by_forced_release():
    d = Driver()
    d.far(SEIZE), d.do("acknowledge")
    assert d.do("clear_back") == [SetAbcd(FORCED)] and d.line.state is ln.Line.CLEARING_BACK
    assert d.do("clear_back") == []


def test_the_caller_hears_a_forced_release():
    d = Driver()
    d.do("seize"), d.far(ACK)
    assert d.far(FORCED) == [ln.ForcedRelease()]


def test_no_seize_acknowledgement():
    d = Driver()
    d.do("seize")
    assert d.wait(7.9) == []
    assert d.wait(0.2) == [ln.LineTimeout("seize-ack")]


def test_a_far_end_that_never_returns_to_idle_blocks_the_circuit():
    d = Driver()
    d.do("seize"), d.far(ACK), d.do("clear_forward")
    assert d.wait(1.9) == []
    assert d.wait(0.2) == [ln.LineTimeout("release-guard"), ln.FarBlocked(True)]
    assert d.line.state is ln.Line.IDLE and d.line.far_blocked
    with pytest.raises(UsageError, match="blocked by the far end"):
        d.line.seize(d.now)
    assert d.far(IDLE) == [ln.FarBlocked(False)]
    assert d.do("seize") == [SetAbcd(SEIZE)]


def test_a_seizure_abandoned_before_it_was_acknowledged_rests_for_the_guard_time():
    d = Driver()
    d.do("seize"), d.do("clear_forward")
    assert d.wait(2.1) == [ln.Released()]


def test_far_end_blocking():
    d = Driver()
    assert d.far(BLOCKED) == [ln.FarBlocked(True)]
    with pytest.raises(UsageError, match="blocked"):
        d.line.seize(d.now)
    assert d.far(IDLE) == [ln.FarBlocked(False)]


def test_we_block_and_unblock():
    d = Driver()
    assert d.do("block") == [SetAbcd(BLOCKED)] and d.line.state is ln.Line.BLOCKING
    assert d.far(SEIZE) == []                          # a blocked circuit is not taken
    assert d.do("unblock") == [SetAbcd(IDLE)] and d.line.state is ln.Line.IDLE


def test_blocking_during_a_call_waits_for_its_end():
    d = Driver()
    d.far(SEIZE), d.do("acknowledge")
    assert d.do("block") == []
    d.far(IDLE)
    assert d.do("release") == [SetAbcd(IDLE), SetAbcd(BLOCKED)] and d.line.state is ln.Line.BLOCKING


def test_glare():
    d = Driver()
    d.do("seize")
    assert d.far(SEIZE) == [ln.Glare()]
    assert d.do("acknowledge") == [SetAbcd(ACK)] and d.line.state is ln.Line.INCOMING


def test_metering_pulses_in_argentina():
    d = Driver("AR")
    d.do("seize"), d.far(ACK), d.far(ANSWER)
    assert d.far(CLEAR_BACK, hold=0.2) == []
    assert d.far(ANSWER) == [ln.MeteringPulse()]
    assert d.far(CLEAR_BACK, hold=0.39) == []        # recognised at 20 ms; 400 ms from there
    assert d.wait(0.04) == [ln.ClearedBack()]


def test_without_metering_a_clear_back_is_one_at_once():
    d = Driver("ITU")
    d.do("seize"), d.far(ACK), d.far(ANSWER)
    assert d.far(CLEAR_BACK) == [ln.ClearedBack()]


@pytest.mark.parametrize("state, bits", [("outgoing", IDLE), ("idle", ANSWER), ("incoming", ACK)])
def test_a_pattern_that_means_nothing_here_is_reported(state, bits):
    d = Driver()
    if state == "outgoing":
        d.do("seize"), d.far(ACK)
    elif state == "incoming":
        d.far(SEIZE), d.do("acknowledge")
    events = d.far(bits)
    assert len(events) == 1 and isinstance(events[0], ln.UnexpectedPattern)
    assert str(events[0]).startswith(f"A B = {bits >> 3} {bits >> 2 & 1} while {state}")


def test_china_sends_c_and_d_as_1_and_reads_only_a_and_b():
    d = Driver("CN")
    assert d.do("seize") == [SetAbcd(0b0011)]
    assert d.far(0b1101) == [ln.SeizeAcknowledged()]   # C and D are not looked at
    assert d.far(0b0111) == [ln.Answered()]


@pytest.mark.parametrize("command", ["answer", "clear_forward", "release", "clear_back"])
def test_commands_out_of_place_are_usage_errors(command):
    d = Driver()
    with pytest.raises(UsageError):
        getattr(d.line, command)(0.0)


def test_acknowledge_only_a_seizure():
    d = Driver()
    d.far(SEIZE), d.do("acknowledge"), d.do("answer")
    with pytest.raises(UsageError, match="nothing to acknowledge"):
        d.line.acknowledge(d.now)


def test_both_ends_yielding_after_glare_ends_both_attempts():
    d = Driver()
    d.do("seize"), d.far(SEIZE), d.do("acknowledge")
    assert d.far(ACK) == [ln.BothYielded()]
    assert d.line.state is ln.Line.IDLE and d.line.sent == IDLE
