"""The Python client of the CTI socket (asyncio).

    async with Client() as cti:                       # connects, says hello
        call = await cti.call_make("5550100", detect=["cpt", "amd"])
        async for event in cti.events(calls=[call]):  # subscribes, then yields dicts
            print(event)
            if event["event"] == "call.disconnected":
                break

``request(op, **args)`` returns the result dict or raises CtiError with the
server's code (CtiRequestError for a request the server could not take:
``bad-args``, ``unknown-op``...). Every wait has a limit: connecting and each
reply ``timeout`` seconds (``reply_timeout=`` per request; play, record and
collect wait as long as their arguments allow); ``events()`` waits for as
long as it is asked to (``timeout=None``: until the connection ends).

A client gets no events until it asks (``subscribe=`` or ``events()``).
Events wait in a queue of ``event_limit``; a client that lets it fill is
closed with CtiSocketError, as the server does with a client that does not
read. A gap in the event seq (which the server never makes) is an error too.
No reconnection: a closed client stays closed.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import deque
from pathlib import Path

from gateway.cti import protocol as proto
from gateway.cti.server import default_socket_path
from gateway.errors import CtiError, CtiRequestError, CtiSocketError, UsageError

DEFAULT_TIMEOUT = 5.0
DEFAULT_EVENT_LIMIT = 10_000
LONG_OP_MARGIN = 10.0  # seconds beyond what an op's own limits allow

# Codes that mean the request itself was wrong (CtiRequestError, exit 2 in the CLI).
REQUEST_CODES = frozenset({proto.BAD_JSON, proto.TOO_LARGE, proto.BAD_REQUEST, proto.UNKNOWN_OP, proto.BAD_ARGS,
                           proto.BAD_VERSION})


def error_for(code: str, message: str, request_id=None) -> CtiError:
    """The exception a client raises for an error reply."""
    if code in REQUEST_CODES:
        return CtiRequestError(code, message, request_id=request_id)
    return CtiError(code, message)


_END = object()  # queued after the last event


class Client:
    """One connection to the CTI socket (see the module's docstring)."""

    def __init__(self, path=None, *, timeout: float = DEFAULT_TIMEOUT, subscribe=None,
                 client_name: str = "gateway.cti.Client", event_limit: int = DEFAULT_EVENT_LIMIT):
        """``subscribe``: None or False for no events until asked, True for all,
        or a dict of subscribe's filters (events, channels, calls)."""
        self.path = Path(path) if path is not None else default_socket_path()
        self.timeout = timeout
        self.client_name = client_name
        self.event_limit = event_limit
        self.server_info: dict | None = None  # hello's result
        self.late_replies = 0  # replies that came after their request had timed out
        self._subscribe = subscribe
        self._subscribed = False
        self._connection: _Connection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._events: deque = deque()
        self._event_ready: asyncio.Event | None = None
        self._last_seq = 0
        self._failure: Exception | None = None  # why the connection ended, once it has
        self._server_error: CtiError | None = None  # an error line with no id (not-allowed, too-slow)
        self._closing = False

    async def __aenter__(self) -> "Client":
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- connection

    async def connect(self) -> dict:
        """Connect and say hello; returns hello's result (also in ``server_info``)."""
        where = os.fspath(self.path)
        loop = asyncio.get_running_loop()
        self._event_ready = asyncio.Event()
        try:
            _, self._connection = await asyncio.wait_for(
                loop.create_unix_connection(lambda: _Connection(self), where), self.timeout)
        except FileNotFoundError:
            raise CtiSocketError(f"{where}: no CTI socket there (is `linegate serve` running? --socket PATH)") from None
        except ConnectionRefusedError:
            raise CtiSocketError(f"{where}: nobody listens on this socket (a server that has stopped?)") from None
        except PermissionError:
            raise CtiSocketError(f"{where}: not permitted to connect (the socket's owner, group and mode decide; "
                                 f"ask to be added to its group)") from None
        except asyncio.TimeoutError:
            raise CtiSocketError(f"{where}: the server did not accept the connection within {self.timeout:g} s"
                                 ) from None
        except OSError as exc:
            raise CtiSocketError(f"{where}: cannot connect: {exc.strerror or exc}") from None
        try:
            wanted = self._subscribe
            self.server_info = await self.request("hello", version=proto.PROTOCOL_VERSION, client=self.client_name,
                                                  subscribe=wanted is True)
            self._subscribed = wanted is True
            if isinstance(wanted, dict):
                await self.subscribe(**wanted)
        except BaseException:
            await self.close()
            raise
        return self.server_info

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        connection = self._connection
        if connection is not None:
            connection.transport.close()
            try:
                await asyncio.wait_for(asyncio.shield(connection.lost), self.timeout)
            except asyncio.TimeoutError:
                connection.transport.abort()
        self._end(CtiSocketError(f"{self.path}: the client was closed"))

    @property
    def closed(self) -> bool:
        return self._failure is not None

    def _dispatch(self, line) -> None:
        if isinstance(line, proto.TooLarge):
            raise CtiSocketError(f"{self.path}: the server sent a line of {line.length} bytes "
                                 f"(at most {proto.MAX_MESSAGE})")
        if not line.strip():
            return
        try:
            message = proto.parse_server_line(line)
        except CtiRequestError as exc:
            raise CtiSocketError(f"{self.path}: the server sent what is not CTI: {exc.message}") from None
        if isinstance(message, proto.Reply):
            future = self._pending.pop(message.id, None) if isinstance(message.id, int) else None
            if future is not None:
                if not future.done():
                    future.set_result(message)
            elif message.id is None and not message.ok:
                # The server's word on the connection itself (not-allowed, busy, too-slow); it closes next.
                self._server_error = error_for(message.code, message.message)
            else:
                self.late_replies += 1  # to a request that timed out here
            return
        seq = message["seq"]
        if seq != self._last_seq + 1:
            raise CtiSocketError(f"{self.path}: event seq went from {self._last_seq} to {seq}: events were lost")
        self._last_seq = seq
        if len(self._events) >= self.event_limit:
            raise CtiSocketError(f"{self.path}: {len(self._events)} events were not read (event_limit); "
                                 f"the client closed the connection")
        self._events.append(message)
        self._event_ready.set()

    def _end(self, failure: Exception) -> None:
        if self._failure is not None:
            return
        self._failure = failure
        for future in self._pending.values():
            if not future.done():
                future.set_exception(failure)
        self._pending.clear()
        self._events.append(_END)
        if self._event_ready is not None:
            self._event_ready.set()

    # -- requests

    async def request(self, op: str, args: dict | None = None, *, reply_timeout: float | None = None, **kwargs) -> dict:
        """Send one op and return its result; CtiError for an error reply,
        CtiSocketError when the connection fails or no reply comes in time.
        Arguments given as None are left out (Python names: ``args={"from": ...}``)."""
        reply = await self.reply(op, args, reply_timeout=reply_timeout, **kwargs)
        if reply.ok:
            return reply.result
        raise error_for(reply.code, reply.message, reply.id)

    async def reply(self, op: str, args: dict | None = None, *, reply_timeout: float | None = None,
                    **kwargs) -> proto.Reply:
        """Like ``request``, but an error reply is returned (``ok`` false), not raised."""
        if self._failure is not None:
            raise self._failure
        if self._connection is None:
            raise UsageError("the client is not connected: use `async with Client(...)` or connect()")
        merged = {key: value for key, value in {**(args or {}), **kwargs}.items() if value is not None}
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        wait = self.timeout if reply_timeout is None else reply_timeout
        try:
            self._connection.transport.write(proto.encode_request(request_id, op, merged))
            reply = await asyncio.wait_for(self._send_and_wait(future), wait)
        except asyncio.TimeoutError:
            raise CtiSocketError(f"{self.path}: no reply to {op} (id {request_id}) within {wait:g} s") from None
        finally:
            self._pending.pop(request_id, None)
        return reply

    async def _send_and_wait(self, future):
        writable = self._connection.writable
        if writable is not None:  # the server is not reading: wait until it does (or the timeout)
            await asyncio.shield(writable)
        return await future

    async def subscribe(self, events=None, *, channels=None, calls=None) -> dict:
        """Replace the event filter (patterns such as ``call.*``; None: every event)."""
        result = await self.request("subscribe", events=events, channels=channels, calls=calls)
        self._subscribed = True
        return result

    # -- events

    async def next_event(self, timeout: float | None = None) -> dict:
        """The next event; CtiSocketError when none comes within ``timeout`` s
        (None: no limit) or the connection has ended."""
        while not self._events:
            self._event_ready.clear()
            try:
                async with asyncio.timeout(timeout):  # no task per wait, unlike wait_for: this runs per event
                    await self._event_ready.wait()
            except TimeoutError:
                raise CtiSocketError(f"{self.path}: no event within {timeout:g} s") from None
        event = self._events[0]
        if event is _END:
            raise self._failure
        return self._events.popleft()

    async def events(self, events=None, *, channels=None, calls=None, timeout: float | None = None):
        """Async iterator of events. With filters (or when nothing is
        subscribed yet) it subscribes first. Ends quietly when the client is
        closed; raises CtiSocketError when the server goes or ``timeout`` s
        pass without an event."""
        if events is not None or channels is not None or calls is not None or not self._subscribed:
            await self.subscribe(events, channels=channels, calls=calls)
        while True:
            try:
                event = await self.next_event(timeout)
            except CtiSocketError:
                if self._closing:
                    return
                raise
            yield event

    # -- the common ops

    async def channels_list(self, group: str | None = None) -> list[dict]:
        return (await self.request("channels.list", group=group))["channels"]

    async def channel_status(self, channel) -> dict:
        return await self.request("channel.status", channel=channel)

    async def call_make(self, to: str, *, from_: str | None = None, group: str | None = None, detect=None,
                        timeout: float | None = None, **more):
        """Place a call; its id."""
        args = {"to": to, "from": from_, "group": group, "detect": detect, "timeout": timeout, **more}
        return (await self.request("call.make", args))["call"]

    async def call_answer(self, call) -> dict:
        return await self.request("call.answer", call=call)

    async def call_hangup(self, call, cause: int | None = None) -> dict:
        return await self.request("call.hangup", call=call, cause=cause)

    async def call_hold(self, call) -> dict:
        return await self.request("call.hold", call=call)

    async def call_retrieve(self, call) -> dict:
        return await self.request("call.retrieve", call=call)

    async def call_transfer(self, call, *, to: str | None = None, consult=None) -> dict:
        """Blind (``to``) or consultative (``consult``: the consultation call) transfer."""
        return await self.request("call.transfer", call=call, to=to, consult=consult)

    async def call_send_dtmf(self, call, digits: str, **more) -> dict:
        return await self.request("call.send_dtmf", call=call, digits=digits, **more)

    async def call_play(self, call, *, file: str | None = None, tone: str | None = None,
                        reply_timeout: float = 600.0, **more) -> dict:
        """Play a file or tone; returns when it has ended (at most ``reply_timeout`` s)."""
        return await self.request("call.play", call=call, file=file, tone=tone, reply_timeout=reply_timeout, **more)

    async def call_record(self, call, file: str, *, max_seconds: float = 60, **more) -> dict:
        return await self.request("call.record", call=call, file=file, max_seconds=max_seconds,
                                  reply_timeout=max_seconds + LONG_OP_MARGIN, **more)

    async def call_collect(self, call, max_digits: int, *, first_timeout: float = 5, inter_timeout: float = 3,
                           **more) -> dict:
        limit = first_timeout + max_digits * inter_timeout + LONG_OP_MARGIN
        return await self.request("call.collect", call=call, max_digits=max_digits, first_timeout=first_timeout,
                                  inter_timeout=inter_timeout, reply_timeout=limit, **more)


class _Connection(asyncio.Protocol):
    """The client's end of the socket: bytes in, through the framer, to the
    client's dispatch; a future to wait on while the server does not read."""

    def __init__(self, client: Client):
        self.client = client
        self.framer = proto.LineFramer()
        self.transport = None
        self.writable: asyncio.Future | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._lines(self.framer.feed(data))

    def eof_received(self) -> bool:
        self._lines(self.framer.close())
        client = self.client
        client._end(client._server_error or CtiSocketError(f"{client.path}: the server closed the connection"))
        return False

    def connection_lost(self, exc) -> None:
        client = self.client
        if exc is None:
            failure = CtiSocketError(f"{client.path}: the server closed the connection")
        else:
            failure = CtiSocketError(f"{client.path}: the connection failed: {exc}")
        client._end(client._server_error or failure)
        self.resume_writing()
        if not self.lost.done():
            self.lost.set_result(None)

    def pause_writing(self) -> None:
        self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    def _lines(self, lines) -> None:
        try:
            for line in lines:
                self.client._dispatch(line)
        except CtiSocketError as exc:
            self.client._end(exc)
            self.transport.abort()
