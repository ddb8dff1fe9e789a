"""The whole gateway on the simulated network, on virtual time: calls placed
and taken over the CTI socket, outcomes heard by the native detectors from
the network's audio, records in the store."""

import asyncio

import pytest

from gateway.config import default_config
from gateway.cti.client import Client
from gateway.daemon import Daemon

# The default directory's numbers (boards/sim/default_directory.toml).
BUSY, PERSON, MACHINE, NOT_IN_SERVICE, CONGESTION, FAX = ("2125550120", "2125550100", "2125550110", "2125550130",
                                                          "2125550121", "2125550140")


async def with_daemon(tmp_path, body):
    daemon = Daemon(default_config(), socket_path=str(tmp_path / "cti.sock"), db_path=str(tmp_path / "cdr.db"),
                    virtual_clock=True, inbound=False)
    await daemon.start()
    try:
        async with Client(str(tmp_path / "cti.sock")) as client:
            return await body(daemon, client)
    finally:
        await daemon.stop()


async def until(daemon, events, predicate, seconds=90.0):
    deadline = daemon.clock.now() + seconds
    while daemon.clock.now() < deadline:
        if predicate(events):
            return True
        assert not daemon.stopped.is_set(), "the gateway's tick stopped"
        await asyncio.wait_for(daemon.clock.sleep(0.1), 30)     # virtual time stands still if the tick died
    return False


def collect(client, events):
    async def run():
        async for event in client.events():
            events.append(event)
    return asyncio.get_running_loop().create_task(run())


def of(events, call, name=None):
    return [e for e in events if e.get("call") == call and (name is None or e["event"] == name)]


def test_outbound_calls_are_known_by_their_sound(tmp_path):
    async def body(daemon, client):
        events = []
        task = collect(client, events)
        calls = {}
        for number in (BUSY, PERSON, MACHINE, NOT_IN_SERVICE):
            calls[number] = (await client.request("call.make", to=number, detect=["amd"]))["call"]

        def settled(evs):
            done = {c for c in calls.values() if of(evs, c, "call.disconnected") or of(evs, c, "call.amd")}
            machine_beeped = any(e.get("beep") for e in of(evs, calls[MACHINE], "call.amd"))
            return len(done) == 4 and machine_beeped

        assert await until(daemon, events, settled)
        for number in (PERSON, MACHINE):
            await client.request("call.hangup", call=calls[number])
        await until(daemon, events, lambda evs: all(of(evs, c, "call.disconnected") for c in calls.values()), 10)
        task.cancel()
        return calls, events, daemon.store.calls()

    calls, events, records = asyncio.run(with_daemon(tmp_path, body))
    busy = of(events, calls[BUSY], "call.disconnected")[0]
    assert busy["cause"] == 17 and [e["tone"] for e in of(events, calls[BUSY], "call.progress")] == ["busy"]
    sit = of(events, calls[NOT_IN_SERVICE], "call.disconnected")[0]
    assert sit["cause"] == 1 and sit["reason"].startswith("sit-")
    person = of(events, calls[PERSON])
    assert [e["event"] for e in person if e["event"].startswith("call.") and e["event"] != "call.progress"][:5] == [
        "call.dialing", "call.proceeding", "call.alerting", "call.connected", "call.amd"]
    assert of(events, calls[PERSON], "call.amd")[0]["result"] == "human"
    assert of(events, calls[MACHINE], "call.amd")[-1] == {**of(events, calls[MACHINE], "call.amd")[-1],
                                                          "result": "machine", "beep": True}
    by_call = {r["call"]: r for r in records}
    assert by_call[calls[BUSY]]["cause"] == 17 and by_call[calls[PERSON]]["amd"] == "human"
    assert by_call[calls[MACHINE]]["beep"] == 1 and by_call[calls[PERSON]]["answered"] is not None
    # Every event of a connection carries the next seq.
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_inbound_call_with_caller_id_is_offered_answered_and_recorded(tmp_path):
    async def body(daemon, client):
        events = []
        task = collect(client, events)
        fxo = next(d for d in daemon.gateway.drivers if d.kind.name == "fxo4")
        daemon.network.place_call((fxo.identity.serial, 2), ani="2125559001", name="ALICE EXAMPLE", digits="1#")
        assert await until(daemon, events, lambda evs: any(e["event"] == "call.offered" for e in evs), 30)
        offered = next(e for e in events if e["event"] == "call.offered")
        await client.request("call.answer", call=offered["call"])
        collected = await client.request("call.collect", call=offered["call"], max_digits=3, terminator="#",
                                         first_timeout=20)
        if not of(events, offered["call"], "call.disconnected"):
            await client.request("call.hangup", call=offered["call"])
        await until(daemon, events, lambda evs: of(evs, offered["call"], "call.disconnected"), 10)
        task.cancel()
        # The number the gateway gives the line is the one the network rang.
        assert daemon.network._our_number(fxo.identity.serial, 2) == offered["dnis"]
        return offered, collected, events

    offered, collected, events = asyncio.run(with_daemon(tmp_path, body))
    assert offered["channel"] == "fxo1/2"
    assert (offered["ani"], offered["name"]) == ("2125559001", "ALICE EXAMPLE")
    assert offered["dnis"] == "2015550102"
    # The default directory's callers send their digits once answered (its [inbound] callers).
    assert collected == {"digits": "1", "reason": "terminator"}, collected


def test_a_phone_on_an_fxs_port_is_rung_and_answers(tmp_path):
    async def body(daemon, client):
        events = []
        task = collect(client, events)
        call = (await client.request("call.make", to="201", group="fxs"))["call"]
        assert await until(daemon, events, lambda evs: of(evs, call, "call.connected"), 60)
        await client.request("call.hangup", call=call)
        await until(daemon, events, lambda evs: of(evs, call, "call.disconnected"), 20)
        task.cancel()
        return call, events

    call, events = asyncio.run(with_daemon(tmp_path, body))
    assert of(events, call, "call.connected")[0]["answered_by"] == "phone"
    assert of(events, call, "call.disconnected")[0]["by"] == "local"


def test_bad_requests_get_errors_and_the_socket_lives_on(tmp_path):
    async def body(daemon, client):
        from gateway.errors import CtiError
        errors = []
        for op, args in (("call.make", {"to": "12", "group": "nosuch"}), ("call.hangup", {"call": "c-none"}),
                         ("channel.status", {"channel": "fxo9/9"}), ("call.answer", {"call": "x"})):
            with pytest.raises(CtiError) as err:
                await client.request(op, **args)
            errors.append(err.value.code)
        channels = await client.request("channels.list")
        return errors, channels

    errors, channels = asyncio.run(with_daemon(tmp_path, body))
    assert errors == ["not-found", "not-found", "not-found", "not-found"]
    assert {c["channel"] for c in channels["channels"]} >= {"fxo1/0", "fxo1/3", "fxs1/0", "fxs1/3"}
    assert all(c["state"] == "idle" for c in channels["channels"])


def test_a_phone_on_an_fxs_port_calls_out_and_its_digits_are_offered(tmp_path):
    async def body(daemon, client):
        events = []
        task = collect(client, events)
        fxs = next(d for d in daemon.gateway.drivers if d.kind.name == "fxs4")
        daemon.network.dial_from_phone(fxs.identity.serial, 1, "5551234")
        assert await until(daemon, events, lambda evs: any(e["event"] == "call.offered" for e in evs), 40)
        offered = next(e for e in events if e["event"] == "call.offered")
        await client.request("call.answer", call=offered["call"])
        assert await until(daemon, events, lambda evs: of(evs, offered["call"], "call.connected"), 10)
        await client.request("call.hangup", call=offered["call"])
        assert await until(daemon, events, lambda evs: of(evs, offered["call"], "call.disconnected"), 10)
        task.cancel()
        return offered

    offered = asyncio.run(with_daemon(tmp_path, body))
    assert (offered["channel"], offered["ani"], offered["dnis"]) == ("fxs1/1", "202", "5551234")


def test_hold_retrieve_and_a_consultative_transfer_between_two_calls(tmp_path):
    async def body(daemon, client):
        events = []
        task = collect(client, events)
        a = (await client.request("call.make", to=PERSON))["call"]
        b = (await client.request("call.make", to="2125550101"))["call"]
        assert await until(daemon, events, lambda evs: of(evs, a, "call.connected") and of(evs, b, "call.connected"),
                           90)
        await client.request("call.hold", call=a)
        await client.request("call.retrieve", call=a)
        await client.request("call.hold", call=a)
        result = await client.request("call.transfer", call=b, consult=a)
        await daemon.clock.sleep(1.0)
        states = {c: daemon.gateway.model.calls[c].state.value for c in (a, b)}
        await client.request("call.hangup", call=a)          # one leg ends: the other goes too
        assert await until(daemon, events, lambda evs: of(evs, b, "call.disconnected"), 10)
        task.cancel()
        return a, b, result, states, events

    a, b, result, states, events = asyncio.run(with_daemon(tmp_path, body))
    assert [e["event"] for e in of(events, a) if e["event"] in ("call.held", "call.retrieved")] == [
        "call.held", "call.retrieved", "call.held", "call.retrieved"]
    assert result == {"how": "bridge", "calls": [b, a]}
    assert states == {a: "connected", b: "connected"}
    assert of(events, a, "call.transferred")[0]["to_call"] == b
    assert of(events, b, "call.disconnected")[0]["by"] == "local"


@pytest.mark.parametrize("country,signal", [("de", "V.23 FSK"), ("dk", "DTMF CLIP")])
def test_caller_id_in_the_countrys_own_signal(tmp_path, country, signal):
    """Germany sends caller ID as V.23 FSK, Denmark as DTMF (dsp/callerid.py): both reach
    call.offered, decoded from the sound on the line."""
    import dataclasses
    directory = tmp_path / "dir.toml"
    directory.write_text(f'country = "{country}"\n[numbers."4711"]\nbehaviour = "busy"\n')
    config = dataclasses.replace(default_config(), country=country, directory=str(directory))

    async def run():
        daemon = Daemon(config, socket_path=str(tmp_path / "cti.sock"), db_path=str(tmp_path / "cdr.db"),
                        virtual_clock=True, inbound=False)
        await daemon.start()
        try:
            events = []
            daemon.gateway.listeners.append(lambda evs: events.extend(e.wire() for e in evs))
            fxo = next(d for d in daemon.gateway.drivers if d.kind.name == "fxo4")
            daemon.network.place_call((fxo.identity.serial, 1), ani="0045123456", name="HANS")
            assert await until(daemon, events, lambda evs: any(e["event"] == "call.offered" for e in evs), 30)
            return next(e for e in events if e["event"] == "call.offered")
        finally:
            await daemon.stop()

    offered = asyncio.run(run())
    assert offered["ani"] == "0045123456", signal
    assert offered["name"] == ("" if country == "dk" else "HANS")      # DTMF CLIP carries no name
