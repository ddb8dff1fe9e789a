"""The simulated modem on a line of the simulated telephone network (gateway.modem.network_line):
the real network behind a real LineServer on a Unix socket, the modem without its pty, ticked
here as fast as the network answers (each TICK waits for its TOCK, so runs are the same every
time). What the modem says is read from its output as a host would read it."""

import asyncio

import pytest

from gateway.boards.sim.line_server import LineServer
from gateway.boards.sim.network import TelephoneNetwork
from gateway.errors import LinkError, UsageError
from gateway.modem.network_line import NetworkLine, line_serial
from gateway.modem.sim_modem import SimulatedModem
from gateway.tools.cli import main

NUMBER = "2015550199"
SERIAL = line_serial(3)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


class OnTheNetwork:
    """A network, its server, and a simulated modem on one of its lines."""

    def __init__(self, tmp_path, country="us"):
        self.network = TelephoneNetwork(None, country=country, seed=1, inbound=False,
                                        lines={f"{SERIAL}.0": NUMBER})
        self.server = LineServer(self.network, f"unix:{tmp_path}/net.sock")
        self.country = country

    async def __aenter__(self):
        await self.server.start()
        self.line = NetworkLine(self.server.url, serial=SERIAL, country=self.country)
        await self.line.start()
        self.modem = SimulatedModem(self.line)
        return self

    async def __aexit__(self, *exc):
        await self.line.close()
        await self.server.close()

    def send(self, line: str) -> None:
        self.modem.receive(line.encode() + b"\r")

    async def ticks(self, count: int, until=None) -> bytes:
        """Tick the modem ``count`` times at most (until ``until(output)``); what it said meanwhile."""
        said = bytearray()
        for _ in range(count):
            self.modem.tick()
            for _ in range(2000):
                if self.line.tocks >= self.line.ticks or self.line.failed:
                    break
                await asyncio.sleep(0.0005)
            said += self.modem.output
            self.modem.output.clear()
            if until is not None and until(bytes(said)):
                break
        return bytes(said)


def test_the_line_attaches_as_one_port_with_its_number_and_gives_dial_tone(tmp_path):
    async def main_():
        async with OnTheNetwork(tmp_path) as net:
            attached = net.server.boards
            net.send("AT+FCLASS=8")
            net.send("AT+VLS=1")
            said = await net.ticks(100, until=lambda out: b"\x10d" in out)
            state = net.network.line(SERIAL, 0).state
            return attached, net.network.line_number(SERIAL, 0), said, state

    attached, number, said, state = run(main_())
    assert attached == [SERIAL] and number == NUMBER
    assert b"\x10d" in said and state == "dial"        # its own DSP heard the exchange's dial tone


def test_a_hook_flash_is_a_flash_at_the_exchange_and_the_call_stays(tmp_path):
    async def main_():
        async with OnTheNetwork(tmp_path) as net:
            net.send("AT+FCLASS=8")
            net.send("AT+VLS=1")
            await net.ticks(10)
            net.send("ATS29=25")
            net.send("ATD!;")
            said = await net.ticks(60, until=lambda out: out.count(b"OK") >= 2)
            line = net.network.line(SERIAL, 0)
            return said, line.flashes, line.state, net.modem.offhook

    said, flashes, state, offhook = run(main_())
    assert said.count(b"OK") == 2 and flashes == 1      # 250 ms: shorter than the exchange's 400 ms hang-up
    assert state != "idle" and offhook


@pytest.mark.parametrize("country,name", [("us", "ALICE EXAMPLE"), ("de", "ALICE EXAMPLE"), ("nl", None)])
def test_caller_id_the_network_sends_is_decoded_by_the_modem_between_the_rings(tmp_path, country, name):
    """Bell 202 (us), V.23 (de) and DTMF CLIP (nl): the network plays the country's signal on the
    idle line after the first ring; the modem's own receiver reports it (+VCID=1) before RING 2."""
    async def main_():
        async with OnTheNetwork(tmp_path, country) as net:
            net.send("AT+FCLASS=8")
            net.send("AT+VCID=1")
            net.network.place_call(dnis=NUMBER, ani="2125559001", name="ALICE EXAMPLE")
            return await net.ticks(600, until=lambda out: out.count(b"RING") >= 2)

    said = run(main_()).decode("latin-1")
    first, second = said.index("RING"), said.rindex("RING")
    report = said[first:second]
    assert "NMBR = 2125559001" in report
    assert ("NAME = " + name in report) if name else "NAME" not in report
    assert "DATE = 01" in report or country == "nl"


def test_a_lost_network_unplugs_the_line_and_the_modem_reports_the_loop_break(tmp_path):
    async def main_():
        async with OnTheNetwork(tmp_path) as net:
            net.send("AT+FCLASS=8")
            net.send("AT+VLS=1")
            await net.ticks(10)
            await net.server.close()
            for _ in range(200):
                if net.line.failed:
                    break
                await asyncio.sleep(0.005)
            said = await net.ticks(3)
            return said, net.line.failed

    said, failed = run(main_())
    assert failed and b"\x10l" in said


def test_the_network_refusing_or_missing_is_a_link_error(tmp_path):
    async def main_():
        line = NetworkLine(f"unix:{tmp_path}/nobody.sock", serial=SERIAL)
        with pytest.raises(LinkError, match="cannot connect"):
            await line.start(timeout=2)

    run(main_())
    with pytest.raises(UsageError, match="127.0.0.1"):
        NetworkLine("tcp://10.0.0.1:5000", serial=SERIAL)
    with pytest.raises(UsageError, match="serial"):
        NetworkLine(f"unix:{tmp_path}/x.sock", serial="TOO-LONG-A-SERIAL-NUMBER")
    with pytest.raises(UsageError, match="seed"):
        line_serial(-1)


def test_sim_modem_on_the_network_from_the_command_line(tmp_path, capsys):
    assert main(["sim", "modem", "--listen", "pty", "--network", f"unix:{tmp_path}/none.sock"]) == 1
    assert "cannot connect" in capsys.readouterr().err
    assert main(["sim", "modem", "--listen", "pty", "--network", f"unix:{tmp_path}/none.sock",
                 "--number", "201=busy"]) == 2
    assert "--number" in capsys.readouterr().err
    assert main(["sim", "modem", "--listen", "pty", "--seed", "4"]) == 2
    assert "--seed goes with --network" in capsys.readouterr().err


class FlashlessModem(SimulatedModem):
    """A modem whose dial strings may not hold ``!`` (ERROR), as some lack a hook flash."""

    def _start_dial(self, dial):
        return "ERROR" if "!" in dial else super()._start_dial(dial)


@pytest.mark.parametrize("modem_class,flashed", [(SimulatedModem, True), (FlashlessModem, False)])
def test_the_fxo_drivers_flash_reaches_the_exchange_or_is_refused(tmp_path, modem_class, flashed):
    """ModemFxoDriver's FLASH (ATD!; between the voice streams) on a modem served on its pty, in
    real time, its line on the network: the exchange counts a flash and the call goes on; a modem
    that refuses ``!`` makes it a refusal, and the stream runs again."""
    from gateway.boards import protocol as p
    from gateway.clock import RealClock
    from gateway.modem.fxo_driver import ModemFxoDriver
    from gateway.modem.sim_modem import PtyModemServer

    async def main_():
        async with OnTheNetwork(tmp_path) as net:
            server = PtyModemServer(modem_class(net.line))
            serving = asyncio.get_running_loop().create_task(server.run())
            driver = ModemFxoDriver(server.url, "m", lambda d, m: None, clock=RealClock())
            try:
                await driver.open()
                assert await driver.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
                done = await driver.command(p.PortCommand(0, p.PortAction.FLASH, 250))
                await asyncio.sleep(0.2)
                line = net.network.line(SERIAL, 0)
                return done, line.flashes, line.state, driver.modem.state, driver.command_failures
            finally:
                await driver.close()
                serving.cancel()
                server.close()

    done, flashes, state, modem_state, failures = run(main_())
    assert (done, flashes, failures) == (flashed, int(flashed), int(not flashed))
    assert state == "dial" and modem_state == "duplex"
