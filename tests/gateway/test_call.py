"""The call model: every transition a call can and cannot make, the events
each gives, channel states, causes and records."""

import itertools

import pytest

from gateway.call import _NEXT, CallModel, CallState, ChannelState
from gateway.errors import UsageError

S = CallState


def model_with(*channels):
    model = CallModel()
    for i, cid in enumerate(channels or ("fxo1/0",)):
        model.add_channel(cid, "fxo", "fxo", now=0.0)
    return model


def names(model):
    return [e.name for e in model.drain()]


# How to bring a call into each state, from a fresh outbound or inbound call.
def to_state(model, state):
    if state in (S.OFFERED,):
        return model.offer("fxo1/0", "5551000", "200", "Alice", 1.0)
    if state is S.DISCONNECTED:
        call = model.originate("fxo1/0", "100", "", 1.0)
        model.disconnected(call.id, 16, "local", 2.0)
        return call
    call = model.originate("fxo1/0", "100", "", 1.0)
    path = {S.DIALING: [], S.PROCEEDING: [S.PROCEEDING], S.ALERTING: [S.PROCEEDING, S.ALERTING],
            S.CONNECTED: [S.CONNECTED], S.HELD: [S.CONNECTED, S.HELD]}[state]
    for step in path:
        apply(model, call.id, step, 1.5)
    assert call.state is state
    return call


def apply(model, call_id, state, now):
    return {S.PROCEEDING: lambda: model.proceeding(call_id, now),
            S.ALERTING: lambda: model.alerting(call_id, now),
            S.CONNECTED: lambda: (model.retrieved(call_id, now) if model.get(call_id).state is S.HELD
                                  else model.connected(call_id, now, "polarity")),
            S.HELD: lambda: model.held(call_id, now),
            S.DISCONNECTED: lambda: model.disconnected(call_id, 16, "remote", now)}[state]()


@pytest.mark.parametrize("start,target", [(a, b) for a, b in itertools.product(S, S)
                                          if b not in (S.DIALING, S.OFFERED)])
def test_every_transition_is_allowed_or_refused(start, target):
    model = model_with()
    call = to_state(model, start)
    model.drain()
    ok = apply(model, call.id, target, 3.0)
    assert ok == (target in _NEXT[start])
    if ok:
        assert call.state is target
        assert call.times[target.value] == (1.5 if (start, target) == (S.HELD, S.CONNECTED) else 3.0)
        assert model.drain(), "an applied transition gives events"
    else:
        assert call.state is start
        assert model.refused == 1
        assert model.drain() == []


def test_outbound_call_events_and_channel_states():
    model = model_with()
    call = model.originate("fxo1/0", "5551234", "200", 10.0, meta={"detect": ["amd"]})
    model.proceeding(call.id, 11.0)
    model.progress(call.id, "ringback", 12.0)
    model.connected(call.id, 15.0, "cpt")
    model.amd(call.id, "human", 16.0)
    model.disconnected(call.id, 16, "remote", 20.0)
    events = model.drain()
    assert [e.name for e in events if e.name.startswith("call.")] == [
        "call.dialing", "call.proceeding", "call.progress", "call.alerting", "call.connected", "call.amd",
        "call.disconnected"]
    states = [e.fields["state"] for e in events if e.name == "channel.state"]
    assert states == ["dialing", "proceeding", "alerting", "connected", "clearing"]
    wire = events[-1].wire()
    assert wire["event"] == "call.disconnected" and wire["cause"] == 16 and wire["by"] == "remote"
    assert wire["call"] == call.id and wire["channel"] == "fxo1/0" and wire["time"] == 20.0
    assert call.record()["times"] == {"dialing": 10.0, "proceeding": 11.0, "alerting": 12.0,
                                      "connected": 15.0, "disconnected": 20.0}
    assert call.answered_by == "cpt" and call.tones == ["ringback"]
    model.free("fxo1/0", 20.5)
    assert model.channel("fxo1/0").state is ChannelState.IDLE


def test_inbound_call_carries_ani_dnis_name():
    model = model_with()
    call = model.offer("fxo1/0", "5551000", "200", "Alice", 1.0)
    ev = model.drain()
    offered = [e for e in ev if e.name == "call.offered"][0]
    assert offered.fields == {"call": call.id, "channel": "fxo1/0", "ani": "5551000", "dnis": "200", "name": "Alice"}
    assert call.direction == "inbound"


def test_busy_channel_refuses_a_second_call():
    model = model_with()
    model.originate("fxo1/0", "1", "", 0.0)
    with pytest.raises(UsageError, match="busy"):
        model.originate("fxo1/0", "2", "", 0.0)


def test_channel_not_idle_until_freed():
    model = model_with()
    call = model.originate("fxo1/0", "1", "", 0.0)
    model.disconnected(call.id, 17, "remote", 1.0)
    with pytest.raises(UsageError):
        model.originate("fxo1/0", "2", "", 1.1)
    model.free("fxo1/0", 1.5)
    model.originate("fxo1/0", "2", "", 1.6)


def test_alarm_takes_idle_channel_out_of_service_and_back():
    model = model_with()
    model.set_alarm("fxo1/0", "no-battery", 1.0)
    assert model.channel("fxo1/0").state is ChannelState.OUT_OF_SERVICE
    assert model.idle_channels() == []
    model.set_alarm("fxo1/0", None, 2.0)
    assert model.channel("fxo1/0").state is ChannelState.IDLE
    assert names(model) == ["channel.alarm", "channel.state", "channel.alarm", "channel.state"]


def test_ended_calls_are_forgotten_past_the_limit():
    model = CallModel(max_ended=3)
    model.add_channel("a", "g", "fxo")
    ids = []
    for i in range(5):
        call = model.originate("a", str(i), "", float(i))
        model.disconnected(call.id, 16, "local", i + 0.5)
        model.free("a", i + 0.6)
        ids.append(call.id)
    assert sorted(model.calls) == sorted(ids[-3:])


def test_bad_party_and_amd_result_are_usage_errors():
    model = model_with()
    call = model.originate("fxo1/0", "1", "", 0.0)
    with pytest.raises(UsageError):
        model.disconnected(call.id, 16, "someone", 1.0)
    with pytest.raises(UsageError):
        model.amd(call.id, "robot", 1.0)
    with pytest.raises(UsageError):
        model.get("nope")
