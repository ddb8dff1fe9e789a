"""Voice modems as channels of the gateway, in real time (a modem on a pty has no virtual clock):
``linegate serve --config`` with a simulated modem on the simulated network, calls placed over
the CTI socket and known by the gateway's own detectors from the modem's audio; calls from the
network with caller ID; a real-modem entry (``serial://`` to a pty, through pyserial) whose modem
stops answering in the middle of a call."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from gateway.config import parse_daemon_config
from gateway.cti.client import Client
from gateway.daemon import Daemon
from gateway.errors import UsageError
from tests.gateway.test_daemon import collect, of
from tests.modem.modem_thread import PtyRelay, SimulatedModemThread
from tests.tools.test_serve_demo import wait_for_socket

LINEGATE = [sys.executable, "-m", "gateway.tools.cli"]
NUMBER = "2015550199"

# A small directory: short numbers dial fast, and the person answers after a second of ringback.
DIRECTORY = """
country = "us"
[exchange]
post_dial_delay_s = 0.3
[numbers."201"]
behaviour = "busy"
[numbers."202"]
behaviour = "human"
answer_after_s = 1.0
voice = "person-hello-en"
"""


def modem_config(tmp_path) -> str:
    (tmp_path / "directory.toml").write_text(DIRECTORY)
    return f"""
[network]
directory = "{tmp_path / 'directory.toml'}"
seed = 1

[[modems]]
simulated = true
name = "modem1"
number = "{NUMBER}"
"""


async def until(events, predicate, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate(events):
            return True
        await asyncio.sleep(0.05)
    return False


def idle_again(events, after: int):
    return any(e["event"] == "channel.state" and e["state"] == "idle" for e in events[after:])


def test_serve_calls_a_busy_number_and_a_person_through_a_simulated_modem(tmp_path):
    config = tmp_path / "gw.toml"
    config.write_text(modem_config(tmp_path))
    sock = str(tmp_path / "cti.sock")
    proc = subprocess.Popen([*LINEGATE, "serve", "--config", str(config), "--socket", sock,
                             "--db", str(tmp_path / "cdr.db"), "--no-inbound"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    async def body():
        async with Client(sock) as client:
            events = []
            task = collect(client, events)
            channels = (await client.request("channels.list"))["channels"]
            busy = (await client.request("call.make", to="201", group="modem"))["call"]
            assert await until(events, lambda evs: of(evs, busy, "call.disconnected"), 15), events
            mark = len(events)
            assert await until(events, lambda evs: idle_again(evs, mark), 5)
            person = (await client.request("call.make", to="202", group="modem"))["call"]
            assert await until(events, lambda evs: of(evs, person, "call.connected"), 15), events
            await client.request("call.hangup", call=person)
            assert await until(events, lambda evs: of(evs, person, "call.disconnected"), 5)
            task.cancel()
            return channels, busy, person, events

    try:
        wait_for_socket(sock, proc)
        channels, busy, person, events = asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert [(c["channel"], c["kind"], c["group"]) for c in channels] == [("modem1/0", "fxo", "modem")]
    tones = [e["tone"] for e in of(events, busy, "call.progress")]
    assert tones == ["busy"], tones
    assert of(events, busy, "call.disconnected")[0]["cause"] == 17
    assert of(events, person, "call.connected")[0]["answered_by"] == "cpt"
    assert of(events, person, "call.disconnected")[0]["by"] == "local"
    assert "event=modem.attached" in err and f"number={NUMBER}" in err


def test_a_call_from_the_network_is_offered_with_the_modems_caller_id_answered_and_hung_up(tmp_path):
    config = parse_daemon_config(modem_config(tmp_path), "gw.toml")

    async def main():
        daemon = Daemon(config, socket_path=str(tmp_path / "cti.sock"), db_path=str(tmp_path / "cdr.db"),
                        inbound=False)
        await daemon.start()
        try:
            async with Client(str(tmp_path / "cti.sock")) as client:
                events = []
                task = collect(client, events)
                placed = daemon.network.place_call(dnis=NUMBER, ani="2125559001", name="ALICE EXAMPLE")
                assert await until(events, lambda evs: any(e["event"] == "call.offered" for e in evs), 12), events
                offered = next(e for e in events if e["event"] == "call.offered")
                await client.request("call.answer", call=offered["call"])
                assert await until(events, lambda evs: of(evs, offered["call"], "call.connected"), 5)
                # The caller's side: the network saw the line answered (the modem off hook).
                assert await until(events, lambda evs: placed.answered_ms is not None, 3)
                await client.request("call.hangup", call=offered["call"])
                assert await until(events, lambda evs: of(evs, offered["call"], "call.disconnected"), 5)
                task.cancel()
                await asyncio.sleep(0.6)             # the network hears the hang-up (its 400 ms)
                return offered, events, placed, daemon.store.calls()
        finally:
            await daemon.stop()

    offered, events, placed, records = asyncio.run(asyncio.wait_for(main(), 60))
    assert offered["channel"] == "modem1/0"
    assert (offered["ani"], offered["name"], offered["dnis"]) == ("2125559001", "ALICE EXAMPLE", NUMBER)
    assert of(events, offered["call"], "call.connected")[0]["answered_by"] == "local"
    assert placed.answered_ms is not None and placed.outcome == "hung-up"
    record = next(r for r in records if r["call"] == offered["call"])
    assert (record["from_number"], record["to_number"], record["direction"]) == ("2125559001", NUMBER, "inbound")
    assert record["ended_by"] == "local" and record["answered"] is not None


def test_a_modem_on_a_serial_port_that_stops_answering_mid_call_is_an_alarm(tmp_path):
    """A real-modem entry (serial://, pyserial) in front of the simulated modem with a scripted line:
    the call is answered (heard: voice), then the modem goes quiet: the call ends (Q.850 41) and the
    channel is out of service until the modem answers again."""
    with SimulatedModemThread("number 203 answer rings=0 audio=speech") as sim, PtyRelay(sim.path) as relay:
        config = parse_daemon_config(f"""
[[modems]]
url = "serial://{relay.path}?baud=115200"
name = "usb0"
group = "outside"
""", "gw.toml")

        async def main():
            daemon = Daemon(config, socket_path=str(tmp_path / "cti.sock"), db_path=str(tmp_path / "cdr.db"))
            await daemon.start()
            try:
                async with Client(str(tmp_path / "cti.sock")) as client:
                    events = []
                    task = collect(client, events)
                    call = (await client.request("call.make", to="203", group="outside"))["call"]
                    assert await until(events, lambda evs: of(evs, call, "call.connected"), 10), events
                    relay.passing.clear()
                    assert await until(events, lambda evs: of(evs, call, "call.disconnected"), 6), events
                    status = await client.request("channel.status", channel="usb0/0")
                    relay.passing.set()

                    def cleared(evs):
                        alarms = [e["alarms"] for e in evs if e["event"] == "channel.alarm"]
                        return alarms == [["modem-not-answering"], []]
                    assert await until(events, cleared, 10), events
                    await until(events, lambda evs: idle_again(evs, 0), 2)
                    after = await client.request("channel.status", channel="usb0/0")
                    task.cancel()
                    return call, events, status, after
            finally:
                await daemon.stop()

        call, events, status, after = asyncio.run(asyncio.wait_for(main(), 60))
    assert of(events, call, "call.connected")[0]["answered_by"] == "cpt"
    gone = of(events, call, "call.disconnected")[0]
    assert gone["cause"] == 41
    assert status["alarm"] == "modem-not-answering"
    assert after["alarm"] is None and after["state"] == "idle"
    assert sim.line.dialled == ["203"]


def test_modems_keep_real_time(tmp_path):
    config = parse_daemon_config('[[modems]]\nsimulated = true\nname = "m1"\n', "gw.toml")
    with pytest.raises(UsageError, match="--virtual-clock"):
        Daemon(config, virtual_clock=True)
    path = tmp_path / "gw.toml"
    path.write_text('[[modems]]\nurl = "serial:///dev/ttyACM0"\nname = "m1"\n')
    done = subprocess.run([*LINEGATE, "serve", "--config", str(path), "--socket", str(tmp_path / "s"),
                           "--virtual-clock"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "real time" in done.stderr
    assert not os.path.exists(tmp_path / "s")
