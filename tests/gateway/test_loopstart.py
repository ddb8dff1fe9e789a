"""Loop-start signalling (gateway.loopstart): each path of an FXO and an FXS
port, driven by the port events, detector events and times a real line gives."""

import pytest

from gateway.boards.protocol import PortEventCode as Ev
from gateway.errors import UsageError
from gateway.line_signal import (Battery, Detect, Flash, Hook, Listen, PlayTone, Ring, SendCallerId, SendDigits,
                                 Signal, StopMedia)
from gateway.loopstart import Fxo, FxoConfig, FxoLine, Fxs, FxsConfig, FxsLine


def signals(actions):
    return [(a.kind, a.fields) for a in actions if isinstance(a, Signal)]


def kinds(actions):
    return [a.kind for a in actions if isinstance(a, Signal)]


def dialled(line, now=0.0, **kw):
    line.originate("5551234", now, **kw)
    line.detected("cpt", "dial", now + 0.5)
    line.digits_sent(now + 1.5)
    return line


# ---- FXO, calls we make ----

def test_seize_waits_for_dial_tone_then_dials():
    line = FxoLine()
    actions = line.originate("5551234", 0.0, detect=("amd",))
    assert actions == [Hook(True), Detect(frozenset({"cpt"}))]
    assert line.state is Fxo.SEIZING and line.deadline == 3.0
    assert line.detected("cpt", "ringback", 0.2) == []            # not dial tone: ignored while seizing
    assert line.detected("cpt", "dial", 0.6) == [SendDigits("5551234", "dtmf")]
    actions = line.digits_sent(1.8)
    assert kinds(actions) == ["proceeding"] and Listen(True) in actions
    assert line.state is Fxo.PROCEEDING and line.deadline == pytest.approx(61.8)


def test_no_dial_tone_fails_with_cause_34_or_dials_blind():
    line = FxoLine()
    line.originate("1", 0.0)
    assert line.tick(2.9) == []
    actions = line.tick(3.0)
    assert actions[0] == Hook(False)
    assert signals(actions)[-1] == ("disconnected", {"cause": 34, "by": "network", "reason": "no-dialtone"})
    blind = FxoLine(FxoConfig(blind_dial=True, dial_method="pulse"))
    blind.originate("12", 0.0)
    assert blind.tick(3.0) == [SendDigits("12", "pulse")]


@pytest.mark.parametrize("tone,cause,by", [("busy", 17, "remote"), ("congestion", 42, "network"),
                                           ("sit-ic", 1, "network"), ("sit-vc", 1, "network"),
                                           ("sit-ro", 42, "network"), ("sit-nc", 34, "network"),
                                           ("sit-itu", 1, "network")])
def test_failure_tones_end_the_call_with_their_cause(tone, cause, by):
    line = dialled(FxoLine())
    actions = line.detected("cpt", tone, 4.0, reason="us." + tone)
    assert signals(actions)[0] == ("progress", {"tone": tone, "reason": "us." + tone})
    assert signals(actions)[-1] == ("disconnected", {"cause": cause, "by": by, "reason": tone})
    assert Hook(False) in actions and StopMedia() in actions
    assert line.state is Fxo.CLEARING
    assert kinds(line.tick(4.5)) == ["free"] and line.state is Fxo.IDLE


def test_ringback_alerts_and_polarity_reversal_answers():
    line = dialled(FxoLine(), detect=("amd",))
    line.detected("cpt", "ringback", 3.0)
    assert line.state is Fxo.ALERTING
    actions = line.port_event(Ev.POLARITY_REVERSAL, 0, 9.0)
    assert signals(actions)[-1] == ("connected", {"how": "polarity"})
    assert Detect(frozenset({"dtmf", "cpt", "amd"})) in actions and Listen(False) in actions
    # The reversal back is the far end hanging up.
    actions = line.port_event(Ev.POLARITY_REVERSAL, 0, 30.0)
    assert signals(actions)[-1] == ("disconnected", {"cause": 16, "by": "remote", "reason": "polarity-reversal"})


def test_voice_after_ringback_answers_when_there_is_no_reversal():
    line = dialled(FxoLine())
    line.detected("cpt", "ringback", 3.0)
    assert line.heard(False, 5.0) == [] and line.heard(True, 5.02) == [] and line.heard(True, 5.04) == []
    actions = line.heard(True, 5.06)
    assert signals(actions)[-1] == ("connected", {"how": "cpt"})
    assert line.heard(True, 5.08) == []                   # connected: no longer listening


def test_cpt_only_supervision_ignores_reversals():
    line = dialled(FxoLine(FxoConfig(answer_supervision="cpt")))
    assert line.port_event(Ev.POLARITY_REVERSAL, 0, 3.0) == []
    assert line.state is Fxo.PROCEEDING


def test_polarity_only_supervision_does_not_listen():
    line = FxoLine(FxoConfig(answer_supervision="polarity"))
    line.originate("1", 0.0)
    line.detected("cpt", "dial", 0.5)
    assert Listen(True) not in line.digits_sent(1.0)


@pytest.mark.parametrize("tone", ["fax_ced", "modem"])
def test_fax_and_modem_answer_tones_connect(tone):
    line = dialled(FxoLine())
    actions = line.detected("cpt", tone, 6.0)
    assert kinds(actions) == ["progress", "connected"] and signals(actions)[-1][1] == {"how": "cpt"}


def test_no_answer_times_out_with_19_after_alerting_18_before():
    line = dialled(FxoLine(FxoConfig(no_answer_timeout=30)))
    line.detected("cpt", "ringback", 3)
    assert signals(line.tick(31.5))[-1][1]["cause"] == 19
    line = dialled(FxoLine(FxoConfig(no_answer_timeout=30)))
    assert signals(line.tick(31.5))[-1][1]["cause"] == 18


@pytest.mark.parametrize("how", ["battery", "loop", "busy", "congestion", "dial"])
def test_far_end_hangup_while_connected(how):
    line = dialled(FxoLine())
    line.port_event(Ev.POLARITY_REVERSAL, 0, 5.0)
    if how == "battery":
        actions = line.port_event(Ev.BATTERY_LOST, 0, 20.0)
    elif how == "loop":
        assert line.port_event(Ev.LOOP_CURRENT, 28, 19.0) == []
        actions = line.port_event(Ev.LOOP_CURRENT, 0, 20.0)
    else:
        actions = line.detected("cpt", how, 20.0)
    disc = signals(actions)[-1]
    assert disc[0] == "disconnected" and disc[1]["cause"] == 16 and disc[1]["by"] == "remote"
    assert actions.count(Hook(False)) == 1


def test_connected_line_reports_digits_and_amd():
    line = dialled(FxoLine(), detect=("amd",))
    line.port_event(Ev.POLARITY_REVERSAL, 0, 5.0)
    assert signals(line.detected("dtmf", "5", 6.0)) == [("digits", {"digits": "5"})]
    assert line.detected("dtmf", "5", 6.1, ended=True) == []
    assert signals(line.detected("amd", "machine", 8.0, ended=True, reason="long-greeting")) == [
        ("amd", {"result": "machine", "beep": False, "reason": "long-greeting"})]
    assert signals(line.detected("beep", "1000", 12.0)) == [("amd", {"result": "machine", "beep": True,
                                                                    "reason": "beep"})]
    assert line.detected("beep", "1000", 12.5, ended=True) == []


def test_local_hangup_and_guard_time():
    line = dialled(FxoLine(FxoConfig(guard=0.7)))
    actions = line.hangup(10.0)
    assert actions[0] == Hook(False)
    assert signals(actions)[-1] == ("disconnected", {"cause": 16, "by": "local", "reason": None})
    assert line.hangup(10.1) == []
    with pytest.raises(UsageError):
        line.originate("1", 10.2)
    assert line.tick(10.6) == []
    assert kinds(line.tick(10.7)) == ["free"]
    line.originate("1", 10.8)


def test_battery_lost_on_idle_line_is_an_alarm_and_blocks_calls():
    line = FxoLine()
    assert signals(line.port_event(Ev.BATTERY_LOST, 0, 1.0)) == [("alarm", {"alarm": "no-battery"})]
    with pytest.raises(UsageError, match="battery"):
        line.originate("1", 2.0)
    assert signals(line.port_event(Ev.BATTERY_RESTORED, 0, 3.0)) == [("alarm", {"alarm": None})]
    line.originate("1", 4.0)


def test_hook_flash_needs_a_connected_call():
    line = FxoLine()
    with pytest.raises(UsageError):
        line.flash(0.0)
    dialled(line).port_event(Ev.POLARITY_REVERSAL, 0, 5.0)
    assert line.flash(6.0, 250) == [Flash(250)]


# ---- FXO, calls that come in ----

def test_inbound_waits_for_caller_id_then_offers():
    line = FxoLine()
    actions = line.port_event(Ev.RING_ON, 0, 0.0)
    assert actions == [Detect(frozenset({"callerid", "dtmf"}))] and line.state is Fxo.RINGING
    assert line.port_event(Ev.RING_OFF, 0, 2.0) == []
    actions = line.callerid_decoded("5551000", "ALICE", 2.8)
    assert signals(actions) == [("offered", {"ani": "5551000", "name": "ALICE"})]
    assert line.port_event(Ev.RING_ON, 0, 6.0) == []                  # already offered
    actions = line.answer(7.0)
    assert actions[0] == Hook(True) and signals(actions)[-1] == ("connected", {"how": "local"})


def test_inbound_without_caller_id_is_offered_at_the_second_ring():
    line = FxoLine()
    line.port_event(Ev.RING_ON, 0, 0.0)
    actions = line.port_event(Ev.RING_ON, 0, 6.0)
    assert signals(actions) == [("offered", {"ani": "", "name": ""})]


def test_inbound_single_ring_is_offered_when_the_wait_ends():
    line = FxoLine(FxoConfig(callerid_wait=6.0))
    line.port_event(Ev.RING_ON, 0, 0.0)
    assert kinds(line.tick(6.0)) == ["offered"]


def test_caller_gives_up_when_ringing_stops():
    line = FxoLine(FxoConfig(ring_gone=8.0))
    line.port_event(Ev.RING_ON, 0, 0.0)
    line.port_event(Ev.RING_ON, 0, 6.0)
    assert line.tick(13.0) == []
    actions = line.tick(14.0)
    assert Hook(False) not in actions                                   # we never went off-hook
    assert signals(actions)[-1] == ("disconnected", {"cause": 16, "by": "remote", "reason": "caller-gave-up"})


def test_caller_id_before_the_first_ring_after_a_reversal():
    line = FxoLine()
    assert line.port_event(Ev.POLARITY_REVERSAL, 0, 0.0) == [Detect(frozenset({"callerid", "dtmf"}))]
    assert line.detected("callerid", "5552000", 0.5) == []
    actions = line.port_event(Ev.RING_ON, 0, 1.0)
    assert ("offered", {"ani": "5552000", "name": ""}) in signals(actions)


def test_rejecting_a_ringing_call_does_not_seize():
    line = FxoLine()
    line.port_event(Ev.RING_ON, 0, 0.0)
    line.port_event(Ev.RING_ON, 0, 6.0)
    actions = line.hangup(7.0, cause=21)
    assert Hook(False) not in actions and Hook(True) not in actions
    assert signals(actions)[-1][1]["cause"] == 21


# ---- FXS ----

def offhook(line, t):
    return line.port_event(Ev.OFF_HOOK, 0, t)


def onhook(line, t):
    return line.port_event(Ev.ON_HOOK, 0, t)


def test_phone_off_hook_gets_dial_tone_and_dtmf_digits_are_offered():
    line = FxsLine(FxsConfig(extension="201", interdigit=4.0))
    actions = offhook(line, 0.0)
    assert PlayTone("dial") in actions and Detect(frozenset({"dtmf"})) in actions
    assert line.detected("dtmf", "5", 1.0) == [PlayTone(None)]
    for i, d in enumerate("551234"):
        assert line.detected("dtmf", d, 1.5 + i * 0.3) == []
    assert line.tick(5.0) == []
    actions = line.tick(3.3 + 4.0)
    assert signals(actions) == [("offered", {"ani": "201", "dnis": "5551234", "name": ""})]
    assert PlayTone("ringback") in actions
    actions = line.answer(8.0)
    assert signals(actions)[-1] == ("connected", {"how": "local"}) and PlayTone(None) in actions


def test_hash_ends_the_number():
    line = FxsLine()
    offhook(line, 0.0)
    line.detected("dtmf", "1", 1.0)
    assert kinds(line.detected("dtmf", "#", 1.2)) == ["offered"]


def test_pulse_dialling_from_the_phones_hook():
    line = FxsLine(FxsConfig(interdigit=3.0))
    offhook(line, 0.0)
    t = 1.0
    for digit in (3, 10):                     # 3, then 0 (ten pulses)
        for _ in range(digit):
            onhook(line, t)
            line.tick(t + 0.03)
            offhook(line, t + 0.06)           # 60 ms break
            t += 0.1                          # 40 ms make
        t += 0.5
        line.tick(t)                          # the make after the pulses ends the digit
    assert line.digits == "30"
    actions = line.tick(t + 3.0)
    assert signals(actions)[0][1]["dnis"] == "30"


def test_flash_while_connected_and_hang_up_after_the_flash_limit():
    line = FxsLine()
    offhook(line, 0.0)
    line.detected("dtmf", "7", 1.0)
    line.detected("dtmf", "#", 1.1)
    line.answer(2.0)
    onhook(line, 10.0)
    assert line.tick(10.5) == []
    assert signals(offhook(line, 10.5)) == [("flash", {"ms": 500})]
    assert offhook(line, 10.6) == []           # already off-hook
    onhook(line, 20.0)
    assert line.tick(20.8) == []
    actions = line.tick(20.9)
    assert kinds(actions) == ["disconnected", "free"] and line.state is Fxs.IDLE


def test_ringing_the_phone_sends_caller_id_after_the_first_ring_and_answers_on_off_hook():
    line = FxsLine()
    actions = line.originate("201", 0.0, callerid=("5551000", "ALICE"))
    assert actions[0] == Ring(True) and kinds(actions) == ["alerting"]
    assert line.port_event(Ev.RING_ON, 0, 0.0) == []
    assert line.port_event(Ev.RING_OFF, 0, 2.0) == [SendCallerId("5551000", "ALICE")]
    assert line.port_event(Ev.RING_OFF, 0, 8.0) == []                  # only after the first ring
    actions = offhook(line, 9.0)
    assert Ring(False) in actions and signals(actions)[-1] == ("connected", {"how": "phone"})
    with pytest.raises(UsageError):
        line.originate("201", 10.0)


def test_unanswered_phone_times_out_with_19():
    line = FxsLine(FxsConfig(ring_timeout=30))
    line.originate("201", 0.0)
    actions = line.tick(30.0)
    assert actions[0] == Ring(False)
    assert signals(actions) == [("disconnected", {"cause": 19, "by": "remote", "reason": "no-answer"}), ("free", {})]


def test_host_hangup_gives_busy_until_the_phone_hangs_up():
    line = FxsLine(FxsConfig(disconnect_battery_ms=600))
    line.originate("201", 0.0)
    offhook(line, 1.0)
    actions = line.hangup(5.0)
    assert PlayTone("busy") in actions and Battery(False, 600) in actions
    assert kinds(actions) == ["disconnected"] and line.state is Fxs.CLEARING
    onhook(line, 9.0)
    actions = line.tick(9.2)
    assert PlayTone(None) in actions and kinds(actions) == ["free"]


def test_phone_left_off_hook_gets_receiver_off_hook_treatment():
    line = FxsLine(FxsConfig(first_digit=10))
    offhook(line, 0.0)
    actions = line.tick(10.0)
    assert PlayTone("congestion") in actions and line.state is Fxs.CLEARING


def test_hanging_up_during_dial_tone_is_not_a_call():
    line = FxsLine()
    offhook(line, 0.0)
    onhook(line, 2.0)
    actions = line.tick(2.3)
    assert kinds(actions) == ["free"]


# ---- FXO, hook-flash transfer ----

def connected_line():
    line = dialled(FxoLine())
    line.port_event(Ev.POLARITY_REVERSAL, 0, 5.0)
    return line


def test_blind_transfer_flashes_waits_for_dial_tone_dials_and_hangs_up():
    line = connected_line()
    actions = line.transfer("7001", 10.0)
    assert actions == [Flash(250), Detect(frozenset({"cpt"}))] and line.state is Fxo.TRANSFERRING
    assert line.detected("cpt", "dial", 10.6) == [SendDigits("7001", "dtmf")]
    assert line.detected("cpt", "dial", 10.7) == []                    # dialled once
    actions = line.digits_sent(11.5)
    assert Hook(False) in actions
    assert signals(actions)[-1] == ("disconnected", {"cause": 16, "by": "local", "reason": "transferred"})


def test_transfer_without_second_dial_tone_flashes_back_to_the_call():
    line = connected_line()
    line.transfer("7001", 10.0)
    assert line.tick(13.0) == []
    actions = line.tick(13.25)
    assert actions[0] == Flash(250) and kinds(actions) == ["transfer-failed"]
    assert line.state is Fxo.CONNECTED


def test_transfer_needs_a_connected_call():
    with pytest.raises(UsageError):
        FxoLine().transfer("1", 0.0)


def test_caller_id_heard_long_before_a_ring_belongs_to_no_call():
    line = FxoLine()
    line.port_event(Ev.POLARITY_REVERSAL, 0, 0.0)
    line.detected("callerid", "5552000", 0.5)
    actions = line.port_event(Ev.RING_ON, 0, 20.0)
    assert not [a for a in actions if isinstance(a, Signal) and a.kind == "offered"]
    assert kinds(line.port_event(Ev.RING_ON, 0, 26.0)) == ["offered"]
    assert signals(line.port_event(Ev.RING_ON, 0, 26.0)) == []
