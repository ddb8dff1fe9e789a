"""A small call service behind a real CtiServer on a real Unix socket, and raw connections to it.

``CallService`` is a real object with the service's interface (handle,
session_closed): a few numbers with scripted call lives that publish events
through the server, plus test ops (``test.sleep``, ``test.publish``,
``test.fail``, ``test.echo``) registered in copies of the protocol's tables.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from gateway.cti import protocol as proto
from gateway.cti.server import CtiServer
from gateway.errors import CtiError

ANSWERED = "5550100"  # dialing, alerting, connected; the far end hangs up after a moment
BUSY = "5550111"  # dialing, progress busy, disconnected 17
NO_ANSWER = "5550122"  # dialing, alerting, then nothing until hung up


def tables_with_test_ops():
    """The protocol's tables plus the test ops and a test event."""
    ops, events = proto.OPS.copy(), proto.EVENTS.copy()
    ops.register("test.sleep", {"seconds": proto.number(required=True, minimum=0, maximum=30),
                                "tag": proto.string()}, result='{"tag": ...}')
    ops.register("test.publish", {"count": proto.integer(required=True, minimum=0, maximum=100_000),
                                  "channel": proto.ident(), "call": proto.ident()})
    ops.register("test.fail", {})
    ops.register("test.echo", {"text": proto.string(required=True, max_length=70_000)})
    events.register("test.tick", {"n": "a counter", "sent": "monotonic time of publish"})
    return ops, events


class CallService:
    def __init__(self, hangup_after: float = 0.05):
        self.server: CtiServer | None = None
        self.hangup_after = hangup_after
        self.calls: dict[str, str] = {}  # call -> state
        self.closed_sessions: list[int] = []
        self.handled: list[tuple[int, str]] = []
        self._ids = itertools.count(1)
        self._lives: set[asyncio.Task] = set()

    async def handle(self, session, op, args):
        self.handled.append((session.id, op))
        if op == "channels.list":
            return {"channels": [{"channel": "fxo4-0/1", "group": "pstn", "kind": "fxo", "state": "idle", "call": None}]}
        if op == "call.make":
            call = f"c{next(self._ids)}"
            self.calls[call] = "dialing"
            session.data.setdefault("calls", []).append(call)
            task = asyncio.get_running_loop().create_task(self._life(call, args["to"]))
            self._lives.add(task)
            task.add_done_callback(self._lives.discard)
            return {"call": call}
        if op == "call.hangup":
            call = args["call"]
            if self.calls.get(call) in (None, "disconnected"):
                raise CtiError("not-found", f"no call {call!r}")
            self._end(call, args["cause"], "local")
            return {}
        if op == "test.sleep":
            await asyncio.sleep(args["seconds"])
            return {"tag": args.get("tag")}
        if op == "test.publish":
            for n in range(args["count"]):
                self.server.publish({"event": "test.tick", "n": n, "channel": args.get("channel"),
                                     "call": args.get("call")})
            return {"published": args["count"]}
        if op == "test.fail":
            raise RuntimeError("the service broke")
        if op == "test.echo":
            return {"text": args["text"]}
        raise CtiError("not-allowed", f"{op} is not offered by this test service")

    def session_closed(self, session):
        self.closed_sessions.append(session.id)

    def _publish(self, name, call, **fields):
        self.server.publish({"event": name, "call": call, "channel": "fxo4-0/1", **fields})

    def _end(self, call, cause, by):
        self.calls[call] = "disconnected"
        self._publish("call.disconnected", call, cause=cause, by=by)

    async def _life(self, call, number):
        step = 0.005
        self._publish("call.dialing", call, to=number)
        await asyncio.sleep(step)
        if number == BUSY:
            self._publish("call.progress", call, tone="busy")
            await asyncio.sleep(step)
            self._end(call, 17, "remote")
            return
        self._publish("call.alerting", call)
        if number != ANSWERED:
            return
        await asyncio.sleep(step)
        self.calls[call] = "connected"
        self._publish("call.connected", call)
        await asyncio.sleep(self.hangup_after)
        if self.calls[call] == "connected":
            self._end(call, 16, "remote")

    async def stop(self):
        for task in list(self._lives):
            task.cancel()
        await asyncio.gather(*self._lives, return_exceptions=True)


@pytest.fixture
def sock_dir():
    """A short directory: a socket path has at most 107 bytes, pytest's tmp_path can be longer."""
    path = Path(tempfile.mkdtemp(prefix="lgcti-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_server(path, service=None, **kwargs) -> tuple[CtiServer, CallService]:
    service = service or CallService()
    ops, events = tables_with_test_ops()
    kwargs.setdefault("ops", ops)
    kwargs.setdefault("events", events)
    server = CtiServer(service, path, **kwargs)
    service.server = server
    return server, service


class Raw:
    """A raw connection: bytes out, JSON lines in (each wait bounded)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, path) -> "Raw":
        reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 20)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(self, request_id, op, **args) -> dict:
        await self.send(proto.encode_request(request_id, op, args))
        return await self.line()

    async def line(self, timeout: float = 5.0) -> dict:
        raw = await asyncio.wait_for(self.reader.readline(), timeout)
        assert raw.endswith(b"\n"), f"connection ended: {raw!r}"
        return json.loads(raw)

    async def lines(self, count: int, timeout: float = 5.0) -> list[dict]:
        return [await self.line(timeout) for _ in range(count)]

    async def closed(self, timeout: float = 5.0) -> bool:
        return await asyncio.wait_for(self.reader.read(), timeout) == b""

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


class ServerThread:
    """A CtiServer with the CallService in its own thread and loop, for code
    that runs its own loop (the CLI's asyncio.run)."""

    def __init__(self, path, **kwargs):
        self.loop = asyncio.new_event_loop()
        self.server, self.service = make_server(path, **kwargs)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.server.start())

    def run(self, coroutine, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function, *args):
        async def on_loop():
            return function(*args)
        return self.run(on_loop())

    def close(self):
        self.run(self.service.stop())
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def server_thread(sock_dir):
    running = ServerThread(sock_dir / "cti.sock")
    yield running
    running.close()
