"""The E1 clear channel: every transition of a nailed-up circuit."""

import pytest

from gateway.clear_channel import ClearLine
from gateway.errors import UsageError
from gateway.line_signal import Detect, Signal, StopMedia


def kinds(actions):
    return [(a.kind, a.fields) for a in actions if isinstance(a, Signal)]


def test_a_call_is_connected_at_once_and_ends_either_way():
    line = ClearLine()
    actions = line.originate("1", 0.0, detect=("amd",))
    assert Detect(frozenset({"dtmf", "cpt", "amd"})) in actions
    assert kinds(actions) == [("connected", {"how": "signalling"})]
    with pytest.raises(UsageError):
        line.originate("1", 0.1)
    with pytest.raises(UsageError):
        line.answer(0.2)
    assert kinds(line.detected("dtmf", "7", 1.0)) == [("digits", {"digits": "7"})]
    assert line.detected("dtmf", "7", 1.1, ended=True) == []
    assert kinds(line.detected("amd", "human", 2.0, ended=True, reason="human-voice")) == [
        ("amd", {"result": "human", "beep": False, "reason": "human-voice"})]
    assert kinds(line.detected("beep", "1000", 3.0)) == [("amd", {"result": "machine", "beep": True, "reason": "beep"})]
    assert line.detected("beep", "1000", 3.4, ended=True) == []
    actions = line.line_down(4.0, 38)
    assert StopMedia() in actions
    assert kinds(actions) == [("disconnected", {"cause": 38, "by": "network"}), ("free", {})]
    assert line.hangup(5.0) == [] and line.line_down(5.0, 38) == []
    line.originate("1", 6.0)
    assert kinds(line.hangup(7.0))[0] == ("disconnected", {"cause": 16, "by": "local"})


def test_an_idle_clear_channel_ignores_the_line():
    line = ClearLine()
    assert line.detected("dtmf", "1", 0.0) == [] and line.port_event(None, 0, 0.0) == []
    assert line.heard(True, 0.0) == [] and line.tick(0.0) == [] and line.digits_sent(0.0) == []
