"""A simulated modem's line on the simulated telephone network.

    linegate sim modem --listen pty --network unix:/tmp/net.sock [--country us] [--seed 3]

``NetworkLine`` is a ``ModemLine`` (gateway.modem.sim_line) whose far side
is a subscriber line of the simulated telephone network
(gateway.boards.sim.network), reached over the line side
(boards/sim/LINESIDE.md) as a board simulator reaches it: it says HELLO as
an ``fxo4`` of one port (serial ``V253-<seed>``; the network gives the port
a number of ours, or the one ``TelephoneNetwork(lines=...)`` fixes for
``SERIAL.0``), then sends one TICK per modem tick (the hook, its changes,
the audio the modem sends while off hook) and takes each TOCK's ring,
battery (the modem's loop current), polarity and audio.

Real time only, and pipelined: the modem's tick does not wait for the
network. The TICK goes out, and the tick carries on with what the TOCKs
received since the last tick said (the network answers within a
millisecond or two, so one tick, 20 ms, late); their audio waits in a short
queue, a block per tick, so that a TOCK that comes a little late costs no
sound. A link that closes, a bad frame, or a network that takes no bytes
unplugs the line (no battery, no ring, silence), as a board's line
model does; the reason is logged and kept in ``failed``.

I/O: the socket and one reader task. Frames through
``gateway.boards.sim.line_link`` (the network's own codec).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
from collections import deque
from pathlib import Path

from gateway.boards.sim.line_link import (Hello, LineDecoder, Refused, Welcome, encode_hello, encode_tick)
from gateway.boards.sim.line_server import parse_listen_url
from gateway.boards.sim.lineside import BLOCK_BYTES, BoardAttached, PortDrive, PortSense, Tick, Tock
from gateway.dsp.tone_plan import load_plan
from gateway.errors import InputError, LinkError, UsageError
from gateway.modem.sim_line import TICK_MS, LineDrive, LineSense, default_law

log = logging.getLogger("linegate.modem.network")

CONNECT_TIMEOUT = 10.0     # LINESIDE.md: a board that hears nothing within 10 s gives up
READ_SIZE = 4096
AUDIO_QUEUE = 4            # TOCK blocks waiting for a modem tick (80 ms); older ones go
WRITE_LIMIT = 64 * 1024    # bytes the network has not taken: past this it is taken to be gone
START_TIMEOUT = 20.0       # a simulated modem process: until it says where it listens
SILENCE = {"ulaw": b"\xff" * BLOCK_BYTES, "alaw": b"\xd5" * BLOCK_BYTES}


def line_serial(seed: int) -> str:
    """The serial a simulated modem's line says HELLO with (16 printable characters at most)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2 ** 32:
        raise UsageError(f"seed {seed!r}: a whole number 0 .. 2^32-1")
    return f"V253-{seed:08X}"


class NetworkLine:
    """One line of the simulated network behind a simulated modem (see the module's doc).
    ``on_event(text)`` is told what happens to the link."""

    def __init__(self, url: str, *, serial: str, country: str = "us", law: str | None = None, on_event=None):
        self.scheme, self.where = parse_listen_url(url)        # the forms the LineServer listens on
        self.url = url
        self.country = load_plan(country).country
        self.law = law or default_law(self.country)
        if self.law not in SILENCE:
            raise UsageError(f"law must be 'ulaw' or 'alaw', not {self.law!r}")
        if not serial or len(serial.encode()) > 16 or any(not 0x20 <= ord(c) <= 0x7E for c in serial):
            raise UsageError(f"serial {serial!r}: 1..16 printable ASCII characters")
        self.board = BoardAttached("fxo4", serial, ports=1, spans=0)
        self.on_event = on_event or (lambda text: None)
        self.failed: str | None = None
        self.ticks = 0
        self.tocks = 0
        self.dropped_audio = 0          # TOCK blocks that waited too long for a modem tick
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self._decoder = LineDecoder(self.board)
        self._seq = 0
        self._sense = PortSense(0)      # LINESIDE.md: before any TOCK, an idle line with battery
        self._audio: deque = deque()
        self._offhook = False

    # ---- the link ----

    async def start(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Connect and say HELLO; LinkError with the network's reason if refused or silent."""
        try:
            if self.scheme == "unix":
                connecting = asyncio.open_unix_connection(self.where[0], limit=READ_SIZE)
            else:
                connecting = asyncio.open_connection(*self.where, limit=READ_SIZE)
            self._reader, self._writer = await asyncio.wait_for(connecting, timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise LinkError(f"--network {self.url}: cannot connect: {getattr(exc, 'strerror', None) or exc!r}") \
                from None
        sock = self._writer.get_extra_info("socket")
        if self.scheme == "tcp" and sock is not None:
            import socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # LINESIDE.md: small frames, lockstep
        self._writer.write(encode_hello(Hello(self.board), 0))
        answer = await self._first_answer(timeout)
        if isinstance(answer, Refused):
            await self.close()
            raise LinkError(f"--network {self.url}: the network refused the line: {answer.reason}")
        self.on_event(f"on the network {self.url} as {self.board.serial}")
        self._task = asyncio.get_running_loop().create_task(self._read_loop(), name=f"line {self.board.serial}")

    async def _first_answer(self, timeout: float):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            try:
                data = await asyncio.wait_for(self._reader.read(READ_SIZE), max(0.0, left))
            except asyncio.TimeoutError:
                data = None
            if not data:
                await self.close()
                raise LinkError(f"--network {self.url}: no answer to HELLO" + (" (closed)" if data == b"" else
                                                                              f" within {timeout:g} s"))
            try:
                messages = self._decoder.feed(data)
            except InputError as exc:
                await self.close()
                raise LinkError(f"--network {self.url}: a bad answer to HELLO: {exc}") from None
            for _, message in messages:
                if isinstance(message, (Welcome, Refused)):
                    return message
                await self.close()
                raise LinkError(f"--network {self.url}: answered HELLO with {type(message).__name__}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
            self._writer = None

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(READ_SIZE)
                if not data:
                    raise ConnectionError("the network closed the link")
                for _, message in self._decoder.feed(data):
                    if not isinstance(message, Tock):
                        raise InputError(f"a {type(message).__name__} where a TOCK belongs")
                    self._tock(message)
        except (ConnectionError, OSError, InputError) as exc:
            self._unplug(str(exc) or type(exc).__name__)

    def _tock(self, tock: Tock) -> None:
        self.tocks += 1
        for sense in tock.ports:
            if sense.port == 0:           # a port left out keeps its last sense (LINESIDE.md)
                self._sense = sense
                if sense.audio is not None:
                    if len(self._audio) >= AUDIO_QUEUE:
                        self._audio.popleft()
                        self.dropped_audio += 1
                    self._audio.append(sense.audio)

    def _unplug(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason
            self._audio.clear()
            log.error("line %s: the network link is gone (%s): the line is unplugged", self.board.serial, reason)
            self.on_event(f"the network link is gone ({reason}): the line is unplugged")

    # ---- ModemLine ----

    def tick(self, drive: LineDrive) -> LineSense:
        """One modem tick: the TICK goes out; the sense and audio are what came since the last."""
        offhook = drive.offhook
        if self.failed is None and self._writer is not None:
            # The modem changes its hook between ticks: at the start of the tick that ends 20 ms later.
            changes = ((TICK_MS, offhook),) if offhook != self._offhook else ()
            audio = drive.audio if offhook and len(drive.audio) == BLOCK_BYTES else None
            self._seq = self._seq % 0xFFFF + 1                   # HELLO is 0; ticks 1..65535, then 1 again
            port = PortDrive(0, self.law, offhook=offhook, hook_changes=changes, audio=audio)
            try:
                self._writer.write(encode_tick(Tick(self.board.serial, (drive.time_ms + TICK_MS) & 0xFFFFFFFF,
                                                    (port,)), self._seq))
                self.ticks += 1
                if self._writer.transport.get_write_buffer_size() > WRITE_LIMIT:
                    self._unplug(f"the network took no bytes for {WRITE_LIMIT} bytes of ticks")
            except (ConnectionError, OSError, RuntimeError) as exc:
                self._unplug(str(exc) or type(exc).__name__)
        self._offhook = offhook
        if self.failed is not None:
            return LineSense(ring=False, loop_current=False, audio=SILENCE[self.law] if offhook else None)
        sense = self._sense
        audio = self._audio.popleft() if self._audio else None
        if offhook and audio is None:
            audio = SILENCE[self.law]         # LINESIDE.md: a channel without audio in a TOCK gets silence
        return LineSense(ring=sense.ring, loop_current=sense.battery, audio=audio, reversed=sense.reversed)


# ---- a simulated modem process on the network (the daemon's) ----

def command(network: str, *, country: str, seed: int) -> list[str]:
    return [sys.executable, "-m", "gateway.tools.cli", "sim", "modem", "--listen", "pty", "--network", network,
            "--country", country, "--seed", str(seed), "--exit-with-parent"]


def start_process(network: str, log_path: Path, *, country: str = "us", seed: int = 0
                  ) -> tuple[subprocess.Popen, str]:
    """``linegate sim modem --listen pty --network URL`` as a process: (process, ``pty:`` URL).
    It says HELLO to the network before it listens: with a network served by this thread's
    event loop, call this from another thread (``asyncio.to_thread``). LinkError with what the
    process said when it does not come up. ``gateway.boards.simulator.stop`` ends it."""
    # stderr to a file, not a pipe: nobody reads a pipe while the modem runs, and a full one would stall it.
    with open(log_path, "ab") as err:
        proc = subprocess.Popen(command(network, country=country, seed=seed), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err, text=True)
    # The first line says where it listens; a failed start closes stdout at once, so this does not hang
    # (a process that hangs before it answers is killed after START_TIMEOUT by the timer below).
    timer = _Deadline(proc, START_TIMEOUT)
    try:
        line = proc.stdout.readline()
    finally:
        timer.cancel()
    if not line.startswith("listening on pty:"):
        try:
            proc.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        said = Path(log_path).read_text(errors="replace").strip().splitlines()
        raise LinkError(f"the simulated modem did not start: {said[-1] if said else line.strip() or 'no output'}")
    return proc, line.split()[-1]


class _Deadline:
    """Kills a process that has not answered in time (a blocking readline has no timeout)."""

    def __init__(self, proc: subprocess.Popen, seconds: float):
        import threading
        self._timer = threading.Timer(seconds, lambda: proc.poll() is None and proc.kill())
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()
