"""The simulated telephone network's door: an asyncio server that board simulators started with
``--network URL`` connect to (boards/sim/LINESIDE.md).

    async with LineServer(network, "tcp://127.0.0.1:0") as server:
        start_board(..., "--network", server.url)
        ...

Per board: HELLO in, ``network.attach(BoardAttached)``, WELCOME out (or REFUSED with the reason:
another line-side version, an attach the network refuses); then every TICK is answered with
``network.tick(tick)`` as a TOCK of the same seq; when the link ends, ``network.detach(serial)``.
The network is I/O-free and called from this one event loop, so boards never call it at once.

A board that sends a bad frame, whose tick the network cannot answer, or that does not read
its answers is logged and dropped with the reason; the server and the other boards go on. A
board that says HELLO with the serial of one attached already is that board restarted (a
RESET re-executes the simulator): the old link is dropped and detached first.

Reads are bounded (4 KiB at a time; the decoder holds one frame and one tick's parts). There is
no time limit between ticks: a board on a virtual clock is silent while its host grants no
time. Within a tick (its parts after its TICK) and for the HELLO, ``PART_TIMEOUT`` applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
import os
import stat
from urllib.parse import urlsplit

from gateway.boards.sim.line_link import (LINE_VERSION, Hello, LineDecoder, encode_refused, encode_tock,
                                          encode_welcome)
from gateway.boards.sim.lineside import Network, Tick
from gateway.errors import InputError, LinegateError, UsageError

log = logging.getLogger("gateway.boards.sim.line_server")

READ_SIZE = 4096
PART_TIMEOUT = 10.0      # LINESIDE.md: a board hears nothing for 10 s before it gives up; so do we
WRITE_TIMEOUT = 10.0     # a board that does not read its answers for this long is dropped
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_FORMS = "unix:PATH or tcp://127.0.0.1:PORT (port 0: any free port)"


def parse_listen_url(url: str) -> tuple[str, tuple]:
    """("unix", (path,)) or ("tcp", (host, port)); UsageError naming the accepted forms.
    TCP stays on loopback: the simulated network is for boards on this machine."""
    if not isinstance(url, str):
        raise UsageError(f"listen URL {url!r}: want {_FORMS}")
    if url.startswith("unix:"):
        path = url[5:]
        if not path:
            raise UsageError(f"{url}: no socket path; want {_FORMS}")
        if len(os.fsencode(path)) > 107:
            raise UsageError(f"{url}: a Unix socket path has at most 107 bytes (this has {len(os.fsencode(path))})")
        return "unix", (path,)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or port is None or parts.path not in ("", "/") or parts.query or not parts.hostname:
        raise UsageError(f"{url}: want {_FORMS}")
    if parts.hostname not in _LOOPBACK:
        raise UsageError(f"{url}: the simulated network listens on loopback only (127.0.0.1, ::1)")
    return "tcp", (parts.hostname, port)


class _Dropped(Exception):
    """A board's link ends, with the reason."""


class LineServer:
    def __init__(self, network: Network, listen_url: str):
        self.network = network
        self.listen_url = listen_url
        self._scheme, self._where = parse_listen_url(listen_url)
        self._server: asyncio.AbstractServer | None = None
        self._links: dict[asyncio.Task, str | None] = {}    # handler task -> the serial it serves
        self._ending: set[asyncio.Task] = set()             # handlers we cancelled (close, a restarted board)
        self.url: str | None = None                         # where boards connect (the bound port for port 0)
        self.dropped: deque[tuple[str, str]] = deque(maxlen=100)   # (board, reason) of the last links dropped

    async def start(self) -> str:
        """Listen; the URL boards connect to."""
        try:
            if self._scheme == "unix":
                (path,) = self._where
                with contextlib.suppress(FileNotFoundError):
                    if os.path.exists(path) and not _is_socket(path):
                        raise UsageError(f"{self.listen_url}: {path} exists and is not a socket")
                    os.unlink(path)                          # a socket left by an earlier run
                self._server = await asyncio.start_unix_server(self._serve, path, limit=READ_SIZE)
                self.url = self.listen_url
            else:
                host, port = self._where
                self._server = await asyncio.start_server(self._serve, host, port, limit=READ_SIZE)
                bound = self._server.sockets[0].getsockname()
                self.url = f"tcp://{bound[0] if ':' not in bound[0] else '[' + bound[0] + ']'}:{bound[1]}"
        except OSError as exc:
            raise UsageError(f"{self.listen_url}: cannot listen: {exc.strerror or exc}") from None
        log.info("line server listening on %s", self.url)
        return self.url

    async def close(self) -> None:
        """Stop listening, end every board's link (each board is detached) and wait for them."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._links)
        for task in tasks:
            self._end(task)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
            if self._scheme == "unix":
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._where[0])

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    @property
    def boards(self) -> list[str]:
        """The serials of the boards attached now."""
        return [s for s in self._links.values() if s is not None]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._links[task] = None
        peer = "a board"
        try:
            decoder = LineDecoder()
            hello = await self._hello(reader, writer, decoder)
            if hello is None:
                return
            peer = hello.board.serial
            await self._ticks(reader, writer, decoder, hello)
        except _Dropped as exc:
            log.warning("line server: %s dropped: %s", peer, exc)
            self.dropped.append((peer, str(exc)))
        except (ConnectionError, asyncio.IncompleteReadError):
            log.info("line server: %s closed the link", peer)
        except asyncio.CancelledError:
            if task not in self._ending:
                raise
            # Ended by us: the handler returns normally (asyncio's server logs a cancelled handler as an error).
        except Exception as exc:         # a fault of ours must not take the server or other boards down
            log.exception("line server: %s dropped", peer)
            self.dropped.append((peer, repr(exc)))
        finally:
            self._ending.discard(task)
            serial = self._links.pop(task, None)
            if serial is not None:
                self._detach(serial)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _read(self, reader: asyncio.StreamReader, timeout: float | None, waiting: str) -> bytes:
        try:
            data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
        except asyncio.TimeoutError:
            raise _Dropped(f"nothing for {timeout:g} s {waiting}") from None
        if not data:
            raise ConnectionError("closed")
        return data

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        if writer.transport.get_write_buffer_size():     # only then can drain wait (a timer per tick costs)
            try:
                await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
            except asyncio.TimeoutError:
                raise _Dropped(f"it took no bytes for {WRITE_TIMEOUT:g} s") from None

    async def _messages(self, reader, decoder: LineDecoder, timeout: float | None, waiting: str) -> list:
        """The next whole messages; FrameError from the decoder becomes a drop with the reason."""
        while True:
            data = await self._read(reader, timeout, waiting)
            try:
                messages = decoder.feed(data)
            except InputError as exc:
                raise _Dropped(f"bad frame: {exc}") from None
            if messages:
                return messages

    async def _hello(self, reader, writer, decoder: LineDecoder) -> Hello | None:
        try:
            messages = await self._messages(reader, decoder, PART_TIMEOUT, "before its HELLO")
        except ConnectionError:
            return None
        seq, hello = messages[0]
        if not isinstance(hello, Hello) or len(messages) > 1:
            raise _Dropped(f"the first frame is {type(hello).__name__}, not a HELLO alone")
        if hello.version != LINE_VERSION:
            await self._refuse(writer, seq, f"line-side version {hello.version}: this network speaks {LINE_VERSION}")
            return None
        serial = hello.board.serial
        for task, attached in list(self._links.items()):
            if attached == serial:
                # The same board again: it restarted (RESET re-executes the simulator). The old link goes.
                log.info("line server: %s says HELLO again (a restart): its old link ends", serial)
                self._links[task] = None
                self._detach(serial)
                self._end(task)
        try:
            self.network.attach(hello.board)
        except (LinegateError, ValueError) as exc:
            await self._refuse(writer, seq, str(exc))
            return None
        self._links[asyncio.current_task()] = serial
        log.info("line server: %s (%s) attached", serial, hello.board.kind)
        await self._write(writer, encode_welcome(seq))
        return hello

    async def _refuse(self, writer, seq: int, reason: str) -> None:
        log.warning("line server: a board refused: %s", reason)
        with contextlib.suppress(_Dropped, ConnectionError):
            await self._write(writer, encode_refused(reason, seq))

    async def _ticks(self, reader, writer, decoder: LineDecoder, hello: Hello) -> None:
        board = hello.board
        while True:
            # No limit between ticks (a virtual clock may stand still); PART_TIMEOUT once a frame has begun.
            timeout = PART_TIMEOUT if decoder.in_message else None
            messages = await self._messages(reader, decoder, timeout, "in the middle of a tick")
            out = []
            for seq, tick in messages:
                if not isinstance(tick, Tick):
                    raise _Dropped(f"a {type(tick).__name__} where a TICK belongs (seq {seq})")
                try:
                    tock = self.network.tick(tick)
                    out.append(encode_tock(tock, seq, board))
                except Exception as exc:      # the network's fault, not the board's: drop this board, keep serving
                    log.exception("line server: the network failed on %s's tick %d", board.serial, seq)
                    raise _Dropped(f"the network could not answer tick {seq}: {exc!r}") from None
            await self._write(writer, b"".join(out))

    def _end(self, task: asyncio.Task) -> None:
        self._ending.add(task)
        task.cancel()

    def _detach(self, serial: str) -> None:
        try:
            self.network.detach(serial)
        except Exception:
            log.exception("line server: the network failed to detach %s", serial)
        log.info("line server: %s detached", serial)


def _is_socket(path: str) -> bool:
    return stat.S_ISSOCK(os.stat(path).st_mode)
