"""A simulated modem on a real pseudo-terminal, served from a thread of its own (its own event
loop, real time), so that a test drives it through the real driver and transport as a host
drives a USB modem; and ``PtyRelay``, a pseudo-terminal in front of it that can stop passing
bytes (a modem that stops answering) and pass them again."""

import asyncio
import os
import select
import threading
import tty

from gateway.modem.sim_line import ScriptedLine, parse_script
from gateway.modem.sim_modem import PtyModemServer, SimulatedModem


class SimulatedModemThread:
    def __init__(self, script: str = "", *, modem_class=SimulatedModem, **line_options):
        self.line = ScriptedLine(parse_script(script) if script else None, **line_options)
        self.modem = modem_class(self.line)
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


class PtyRelay:
    """A new pseudo-terminal (``path``) whose bytes go to and from the modem's pty (``modem_path``)
    while ``passing`` is set. Cleared, nothing passes either way: to the host, the modem has
    stopped answering; what was sent meanwhile waits and passes when it is set again."""

    def __init__(self, modem_path: str):
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._modem = os.open(modem_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self._modem)
        os.set_blocking(self._master, False)
        self.passing = threading.Event()
        self.passing.set()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        other = {self._master: self._modem, self._modem: self._master}
        while not self._stopping:
            if not self.passing.wait(0.02):
                continue
            readable, _, _ = select.select(list(other), [], [], 0.02)
            for fd in readable:
                try:
                    data = os.read(fd, 4096)
                    view = memoryview(data)
                    while view and not self._stopping:
                        try:
                            view = view[os.write(other[fd], view):]
                        except BlockingIOError:
                            select.select([], [other[fd]], [], 0.02)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stopping = True
        self.passing.set()
        self._thread.join(5)
        for fd in (self._master, self._slave, self._modem):
            try:
                os.close(fd)
            except OSError:
                pass
