"""A simulated modem on a real pseudo-terminal, served from a thread of its own (its own event
loop, real time), so that a test drives it through the real driver and transport as a host
drives a USB modem."""

import asyncio
import threading

import pytest

from gateway.modem.sim_line import ScriptedLine, parse_script
from gateway.modem.sim_modem import PtyModemServer, SimulatedModem


class SimulatedModemThread:
    def __init__(self, script: str = "", **line_options):
        self.line = ScriptedLine(parse_script(script) if script else None, **line_options)
        self.modem = SimulatedModem(self.line)
        self.server = PtyModemServer(self.modem)
        self.url = self.server.url
        self.path = self.server.path
        self._loop = None
        self._task = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        async def main():
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            self._started.set()
            try:
                await self.server.run()
            except asyncio.CancelledError:
                pass

        asyncio.run(main())

    def __enter__(self):
        self._thread.start()
        self._started.wait(5)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(5)
        self.server.close()


@pytest.fixture
def simulated_modem():
    """A factory: simulated_modem(script) -> a running SimulatedModemThread (ended after the test)."""
    started = []

    def start(script: str = "", **line_options):
        sim = SimulatedModemThread(script, **line_options).__enter__()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.__exit__(None, None, None)
