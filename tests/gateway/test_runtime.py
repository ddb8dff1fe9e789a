"""The running gateway against simulated boards (the native firmware as a
process, its built-in line model): calls through real links, real port
events and real audio blocks, on the real clock."""

import asyncio

import pytest

from gateway.clock import RealClock
from gateway.loopstart import FxoConfig
from gateway.pacer import RealPacer
from gateway.runtime import BoardSpec, Gateway, OperationError
from gateway.boards import simulator


@pytest.fixture
def board(tmp_path):
    procs = []

    def start(kind, *faults):
        state = tmp_path / f"{kind}-{len(procs)}"
        state.mkdir()
        line = [arg for fault in faults for arg in ("--fault", fault)]
        proc, url = simulator.start(kind, state, line=line)
        procs.append(proc)
        return url

    yield start
    for proc in procs:
        simulator.stop(proc)


async def running(gateway, seconds, until=None):
    task = asyncio.get_running_loop().create_task(gateway.run(RealPacer(gateway.clock)))
    try:
        end = gateway.clock.now() + seconds
        while gateway.clock.now() < end and not (until and until()):
            await asyncio.sleep(0.02)
    finally:
        gateway.stop()
        await task


def collector(gateway):
    seen = []
    gateway.listeners.append(lambda events: seen.extend(e.wire() for e in events))
    return seen


def names(seen, call=None):
    return [e["event"] for e in seen if e["event"].startswith("call.") and (call is None or e.get("call") == call)]


def test_fxs_phone_rung_answers_and_hangs_up(board):
    # The phone on port 0 is picked up 1.5 s after the board boots and hung up at 3.5 s.
    url = board("fxs4", "offhook@port0:1500ms-3500ms")

    async def scenario():
        gateway = Gateway(RealClock(), country="de")
        await gateway.add_board(BoardSpec(url, "fxs1", extensions=("201", "202", "203", "204")))
        gateway.start_engine()
        seen = collector(gateway)
        call = gateway.make_call("201", frm="5551000", group="fxs")
        await running(gateway, 8.0, until=lambda: "call.disconnected" in names(seen))
        await gateway.close()
        return call, seen

    call, seen = asyncio.run(scenario())
    assert names(seen, call) == ["call.dialing", "call.alerting", "call.connected", "call.disconnected"]
    connected = [e for e in seen if e["event"] == "call.connected"][0]
    disconnected = [e for e in seen if e["event"] == "call.disconnected"][0]
    assert connected["answered_by"] == "phone"
    assert disconnected["by"] == "remote" and disconnected["cause"] == 16
    # Hung up at 3.5 s board time; reported after the 0.9 s flash window, 2 s after the answer.
    assert 1.5 < disconnected["time"] - connected["time"] < 3.5
    states = [e["state"] for e in seen if e["event"] == "channel.state" and e["channel"] == "fxs1/0"]
    assert states[-1] == "idle"


def test_fxo_inbound_ringing_is_offered_answered_and_hung_up(board):
    url = board("fxo4", "ring@port2:500ms-1500ms", "ring@port2:2500ms-3500ms", "ring@port2:4500ms-5500ms")

    async def scenario():
        gateway = Gateway(RealClock())
        await gateway.add_board(BoardSpec(url, "fxo1"))
        gateway.start_engine()
        seen = collector(gateway)
        await running(gateway, 6.0, until=lambda: "call.offered" in names(seen))
        offered = [e for e in seen if e["event"] == "call.offered"][0]
        assert offered["channel"] == "fxo1/2"
        gateway.answer(offered["call"])
        await running(gateway, 0.5)
        gateway.hangup(offered["call"])
        await running(gateway, 1.0)
        await gateway.close()
        return offered["call"], seen

    call, seen = asyncio.run(scenario())
    assert names(seen, call) == ["call.offered", "call.connected", "call.disconnected"]
    assert [e for e in seen if e["event"] == "call.disconnected"][0]["by"] == "local"


def test_fxo_without_dial_tone_fails_with_cause_34(board):
    url = board("fxo4")          # the built-in exchange gives no dial tone (its audio is our own, looped)

    async def scenario():
        gateway = Gateway(RealClock())
        await gateway.add_board(BoardSpec(url, "fxo1", fxo=FxoConfig(dialtone_timeout=1.0)))
        gateway.start_engine()
        seen = collector(gateway)
        call = gateway.make_call("5551234")
        with pytest.raises(OperationError) as err:
            gateway.make_call("1", channel_id=seen[0]["channel"] if seen else "fxo1/0")
        assert err.value.code == "busy"
        await running(gateway, 3.0, until=lambda: "call.disconnected" in names(seen))
        await gateway.close()
        return call, seen

    call, seen = asyncio.run(scenario())
    disc = [e for e in seen if e["event"] == "call.disconnected"][0]
    assert disc["cause"] == 34 and disc["reason"] == "no-dialtone" and disc["call"] == call


def test_e1_clear_channel_carries_audio_both_ways(board):
    url = board("e1x2")          # the built-in line model loops every span back

    async def scenario():
        gateway = Gateway(RealClock(), country="de")
        await gateway.add_board(BoardSpec(url, "e1a"))
        gateway.start_engine()
        assert len([c for c in gateway.channels if c.startswith("e1a/")]) == 60
        seen = collector(gateway)
        call = gateway.make_call("1", group="e1")
        sent = []
        task = asyncio.get_running_loop().create_task(running(gateway, 5.0, until=lambda: sent and len(
            [e for e in seen if e["event"] == "call.digits"]) >= 4))
        await asyncio.sleep(0.1)
        sent.append(await gateway.send_dtmf(call, "1234", duration_ms=80, gap_ms=80))
        await task
        gateway.hangup(call)
        await gateway.close()
        return call, seen

    call, seen = asyncio.run(scenario())
    assert "".join(e["digits"] for e in seen if e["event"] == "call.digits" and e["call"] == call) == "1234"
    assert [e["event"] for e in seen if e.get("call") == call and e["event"].startswith("call.")][:2] == [
        "call.dialing", "call.connected"]


def test_a_span_that_loses_its_signal_clears_its_calls_and_comes_back(board):
    url = board("e1x2", "los@span1:1500ms-3s")

    async def scenario():
        gateway = Gateway(RealClock())
        await gateway.add_board(BoardSpec(url, "e1a"))
        gateway.start_engine()
        seen = collector(gateway)
        call = gateway.make_call("1", channel_id="e1a/1.5")
        other = gateway.make_call("1", channel_id="e1a/0.5")
        await running(gateway, 6.0, until=lambda: any(
            e["event"] == "channel.alarm" and e["channel"] == "e1a/1.5" and e["alarms"] == [] for e in seen))
        await gateway.close()
        return call, other, seen

    call, other, seen = asyncio.run(scenario())
    disc = [e for e in seen if e["event"] == "call.disconnected"]
    assert [(e["call"], e["cause"], e["by"]) for e in disc] == [(call, 38, "network")]
    alarms = [e["alarms"] for e in seen if e["event"] == "channel.alarm" and e["channel"] == "e1a/1.5"]
    assert alarms == [["los"], []]
    assert not [e for e in seen if e["event"] == "channel.alarm" and e["channel"].startswith("e1a/0.")]
    states = [e["state"] for e in seen if e["event"] == "channel.state" and e["channel"] == "e1a/1.7"]
    assert states == ["out-of-service", "idle"]
