"""The CTI server: the local Unix socket, its sessions, and events to every subscriber.

    server = CtiServer(service, path, clock=clock, auth=AuthPolicy(socket_group="telephony"))
    async with server:                      # binds, 0660, owner/group; refuses a live server's socket
        server.publish({"event": "call.connected", "call": "c7", "channel": "fxo4-0/1"})

The server knows the wire and nothing of calls: ``hello`` and ``subscribe``
are its own; every other op that fits its schema (gateway.cti.protocol) goes
to ``await service.handle(session, op, args)``, which returns the result
dict or raises CtiError; ``service.session_closed(session)`` (if the service
has it; it may be a coroutine) is called once a client has gone, whose calls
are the service's business.

Each connection is a ``Session``: its peer's credentials (SO_PEERCRED, Linux)
checked against the ``AuthPolicy`` before anything is read; requests run
concurrently (at most ``MAX_IN_FLIGHT`` at once; reading pauses past that,
so input stays bounded) and replies carry their ids; its output waits in a
bounded queue while the socket is full. ``publish`` is synchronous and never
waits for anyone: it encodes an event once, stamps each subscriber's own
seq (1, 2, 3... per connection, so a gap can only mean a lost connection)
and writes or queues it; a session whose queue passes its limit is dropped
with a last ``too-slow`` line, so a client that does not read costs the
others nothing.

Time: event timestamps come from the gateway's clock (a virtual one in the
simulator). Socket timeouts (probing an old socket, the grace a dropped
client gets to read its last line) are the event loop's real time: how fast
a client reads is real whatever the clock says.
"""

from __future__ import annotations

import asyncio
import fnmatch
import grp
import inspect
import itertools
import logging
import os
import pwd
import re
import socket
import stat
import struct
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import gateway
from gateway.clock import RealClock
from gateway.cti import protocol as proto
from gateway.errors import CtiError, CtiRequestError, CtiSocketError, InputError, UsageError
from gateway.logs import log_event

log = logging.getLogger("gateway.cti")

SUPPORTED_VERSIONS = (proto.PROTOCOL_VERSION,)
SOCKET_MODE = 0o660
DIRECTORY_MODE = 0o750  # a directory the server creates for its socket
MAX_PATH = 107  # bytes of sun_path without its terminating NUL (unix(7))
LISTEN_BACKLOG = 256
DEFAULT_QUEUE_LIMIT = 10_000  # lines waiting for a client that reads too slowly
DEFAULT_QUEUE_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_SESSIONS = 1024
MAX_IN_FLIGHT = 64  # requests under way per connection
WRITE_HIGH_WATER = 64 * 1024  # bytes in the transport before lines wait in the session's queue
FLUSH_BATCH = 64 * 1024
DROP_GRACE = 2.0  # seconds a dropped client has to read its last line before the socket is cut
PROBE_TIMEOUT = 1.0  # seconds to wait for a server on an existing socket file

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid (socket(7), SO_PEERCRED)


def default_socket_path() -> Path:
    """``$XDG_RUNTIME_DIR/linegate/cti.sock``, else ``./linegate.sock``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "linegate" / "cti.sock" if runtime else Path("linegate.sock")


@dataclass(frozen=True)
class Peer:
    """The process at the other end of a connection, as the kernel saw it at connect()."""

    pid: int
    uid: int
    gid: int


class AuthPolicy:
    """Who may connect, and who owns the socket file.

    ``users``, ``groups``: names or numeric ids. Default users: the server's
    own uid and root; default groups: the socket's group when one is set. A
    peer is let in when its uid is an allowed user, or its group or one of
    its user's supplementary groups is an allowed group. ``socket_user`` and
    ``socket_group`` are given to the socket file (chown), which needs the
    right to do so."""

    def __init__(self, users=None, groups=None, *, socket_user=None, socket_group=None, mode: int = SOCKET_MODE):
        self.socket_uid = None if socket_user is None else _user_id(socket_user, "socket_user")
        self.socket_gid = None if socket_group is None else _group_id(socket_group, "socket_group")
        if users is None:
            self.users = frozenset({os.getuid(), 0})
        else:
            self.users = frozenset(_user_id(user, "users") for user in _listed(users, "users"))
        if groups is None:
            self.groups = frozenset() if self.socket_gid is None else frozenset({self.socket_gid})
        else:
            self.groups = frozenset(_group_id(group, "groups") for group in _listed(groups, "groups"))
        if not isinstance(mode, int) or not 0 <= mode <= 0o777:
            raise UsageError(f"mode={mode!r}: permission bits 0..0o777")
        self.mode = mode

    def refusal(self, peer: Peer) -> str | None:
        """None when the peer may connect; else why not."""
        if peer.uid in self.users:
            return None
        if self.groups and (peer.gid in self.groups or self.groups.intersection(_groups_of(peer.uid, peer.gid))):
            return None
        what = "allowed users or groups" if self.groups else "allowed users"
        return f"uid {peer.uid} (gid {peer.gid}) is not among the {what}"

    def __repr__(self):
        return (f"AuthPolicy(users={sorted(self.users)}, groups={sorted(self.groups)}, socket_user={self.socket_uid}, "
                f"socket_group={self.socket_gid}, mode={oct(self.mode)})")


def _listed(values, field):
    if isinstance(values, (str, int)):
        raise UsageError(f"{field}: a list of names or ids, got {values!r}")
    return values


def _user_id(user, field) -> int:
    return _account_id(user, field, "user", "uid", lambda name: pwd.getpwnam(name).pw_uid)


def _group_id(group, field) -> int:
    return _account_id(group, field, "group", "gid", lambda name: grp.getgrnam(name).gr_gid)


def _account_id(value, field, kind, number, lookup) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return lookup(value)
        except KeyError:
            raise InputError(f"{field}: no {kind} named {value!r}", field=field, value=value) from None
    raise UsageError(f"{field}: a {kind} name or {number}, got {value!r}")


def _groups_of(uid: int, gid: int) -> list[int]:
    # A user-database lookup (NSS): quick with local files, a network round trip
    # with LDAP; only made when groups are configured and the primary gid misses.
    try:
        return os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)
    except KeyError:  # a uid without a passwd entry has its primary group only
        return [gid]


def _peer_of(transport) -> Peer | None:
    option = getattr(socket, "SO_PEERCRED", None)
    sock = transport.get_extra_info("socket")
    if option is None or sock is None:
        return None
    try:
        return Peer(*_UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size)))
    except OSError:
        return None


class EventFilter:
    """A session's subscription: event name patterns (fnmatch: ``call.*``)
    and, when given, the channels and calls it wants events of (an event
    passes when it names one of the channels or one of the calls)."""

    def __init__(self, patterns=("*",), channels=None, calls=None):
        self.patterns = tuple(patterns)
        self._regex = re.compile("|".join(fnmatch.translate(p) for p in self.patterns)) if self.patterns else None
        # ids compared as text: a client may write channel 3 or "3"
        self.channels = None if channels is None else frozenset(str(c) for c in channels)
        self.calls = None if calls is None else frozenset(str(c) for c in calls)
        self._by_name: dict[str, bool] = {}  # names are registered events: a few dozen at most

    @property
    def empty(self) -> bool:
        return not self.patterns

    def matches(self, name: str, channel, call) -> bool:
        wanted = self._by_name.get(name)
        if wanted is None:
            wanted = self._by_name[name] = self._regex is not None and self._regex.match(name) is not None
        if not wanted:
            return False
        if self.channels is None and self.calls is None:
            return True
        return ((self.channels is not None and channel is not None and str(channel) in self.channels)
                or (self.calls is not None and call is not None and str(call) in self.calls))


class Session(asyncio.Protocol):
    """One client connection. For the service: ``id``, ``peer`` (pid, uid,
    gid), ``client`` (the name it gave in hello), ``data`` (a dict the
    service keeps what it likes in, such as the calls this client made) and
    ``closed``."""

    def __init__(self, server: "CtiServer", session_id: int):
        self.id = session_id
        self.peer: Peer | None = None
        self.client: str | None = None
        self.protocol_version: int | None = None
        self.data: dict = {}
        self.closed = False
        self.events_sent = 0  # the last seq sent
        self._server = server
        self._transport = None
        self._admitted = False
        self._framer = proto.LineFramer()
        self._filter: EventFilter | None = None
        self._subscribed_explicitly = False
        self._out: deque[bytes] = deque()
        self._out_bytes = 0
        self._writing_paused = False
        self._ending = False
        self._backlog: deque = deque()  # lines read, waiting for a free request slot
        self._tasks: set[asyncio.Task] = set()
        self._reading_paused = False
        self._eof = False

    def __repr__(self):
        return f"<Session {self.id} peer={self.peer}>"

    # -- asyncio.Protocol

    def connection_made(self, transport) -> None:
        self._transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self._admitted = self._server._admit(self)

    def data_received(self, data: bytes) -> None:
        if not self._admitted or self._ending:
            return
        self._backlog.extend(self._framer.feed(data))
        self._work()

    def eof_received(self) -> bool:
        if not self._admitted or self._ending:
            return False  # the client is done: close once our last line is out
        # The client may have shut its writing side only: answer what it sent, then close.
        self._eof = True
        self._backlog.extend(self._framer.close())
        self._work()
        return True

    def connection_lost(self, exc) -> None:
        if self.closed:
            return
        self.closed = True
        self._out.clear()
        self._backlog.clear()
        self._server._lost(self, exc)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._flush()

    # -- input

    def _work(self) -> None:
        while self._backlog and len(self._tasks) < MAX_IN_FLIGHT and not self.closed and not self._ending:
            self._take(self._backlog.popleft())
        if self.closed or self._eof:
            if self._eof and not self._backlog and not self._tasks and not self.closed and not self._ending:
                self._transport.close()  # flushes what is written, then closes
            return
        if self._backlog and not self._reading_paused:
            self._reading_paused = True
            self._transport.pause_reading()
        elif not self._backlog and self._reading_paused:
            self._reading_paused = False
            self._transport.resume_reading()

    def _take(self, line) -> None:
        if isinstance(line, proto.TooLarge):
            self._write(proto.encode_error(proto.leading_id(line.head), proto.TOO_LARGE,
                                           f"the line has {line.length} bytes; at most {proto.MAX_MESSAGE}; "
                                           f"it was skipped"))
            return
        if not line.strip():
            return  # blank lines are allowed (keep-alives, a stray \r\n)
        try:
            request = proto.parse_request(line, self._server.ops)
        except CtiRequestError as exc:
            log_event(log, logging.DEBUG, "request.refused", session=self.id, code=exc.code, reason=exc.message)
            self._write(proto.encode_error(exc.request_id, exc.code, exc.message))
            return
        if request.op in _SERVER_OPS:
            try:
                result = _SERVER_OPS[request.op](self, request.args)
            except CtiError as exc:
                self._write(proto.encode_error(request.id, exc.code, exc.message))
            else:
                self._write(proto.encode_reply(request.id, result))
            return
        task = self._server._spawn(self._run(request))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._work()

    async def _run(self, request: proto.Request) -> None:
        try:
            result = await self._server.service.handle(self, request.op, request.args)
            line = proto.encode_reply(request.id, {} if result is None else result)
        except CtiError as exc:
            code = exc.code if proto.is_error_code(exc.code) else proto.INTERNAL
            line = proto.encode_error(request.id, code, exc.message)
        except Exception:
            incident = next(self._server._incidents)
            log_event(log, logging.ERROR, "request.failed", exc_info=True, session=self.id, op=request.op,
                      incident=incident)
            line = proto.encode_error(request.id, proto.INTERNAL,
                                      f"{request.op} failed inside the gateway (incident {incident} in its log)")
        self._write(line)

    # -- the server's own ops

    def _hello(self, args: dict) -> dict:
        version = args["version"]
        if version not in SUPPORTED_VERSIONS:
            raise CtiError(proto.BAD_VERSION, f"protocol version {version} is not spoken here; this server speaks "
                                              f"{', '.join(map(str, SUPPORTED_VERSIONS))}")
        self.protocol_version = version
        self.client = args.get("client")
        if args["subscribe"] and not self._subscribed_explicitly:
            self._set_filter(EventFilter())
        log_event(log, logging.INFO, "session.hello", session=self.id, client=self.client, version=version)
        server = self._server
        return {"protocol": version, "server": {"name": server.name, "version": server.version},
                "session": self.id, "ops": server.ops.names(), "events": server.events.names()}

    def _subscribe(self, args: dict) -> dict:
        patterns = args.get("events", ["*"])
        channels, calls = args.get("channels"), args.get("calls")
        self._subscribed_explicitly = True
        self._set_filter(EventFilter(patterns, channels, calls))
        return {"events": patterns, "channels": channels, "calls": calls}

    def _set_filter(self, event_filter: EventFilter) -> None:
        self._filter = event_filter
        if event_filter.empty:
            self._server._subscribers.pop(self, None)
        else:
            self._server._subscribers[self] = None

    # -- output

    def _send_event(self, encoded: proto.EncodedEvent) -> None:
        self.events_sent += 1
        self._write(encoded.line(self.events_sent))

    def _write(self, line: bytes) -> None:
        if self.closed or self._ending:
            return
        if not self._writing_paused and not self._out:
            self._transport.write(line)
            return
        self._out.append(line)
        self._out_bytes += len(line)
        server = self._server
        if len(self._out) > server.queue_limit or self._out_bytes > server.queue_bytes:
            self._drop(len(self._out), self._out_bytes)

    def _flush(self) -> None:
        while self._out and not self._writing_paused and not self.closed:
            batch, size = [], 0
            while self._out and size < FLUSH_BATCH:
                line = self._out.popleft()
                batch.append(line)
                size += len(line)
            self._out_bytes -= size
            self._transport.write(b"".join(batch))

    def _end_with(self, line: bytes) -> None:
        """Send a last line and end the connection: our side is shut after it (the
        client reads it, then EOF), what the client still sends is ignored, and the
        socket is cut after DROP_GRACE if the client neither reads nor closes.
        (Closing at once could make the client's next write fail, and asyncio
        then drops what it had not read yet: the line saying why.)"""
        self._ending = True
        self._out.clear()
        self._out_bytes = 0
        self._backlog.clear()
        self._transport.write(line)
        self._transport.write_eof()
        asyncio.get_running_loop().call_later(DROP_GRACE, self._cut)

    def _drop(self, lines: int, size: int) -> None:
        """The client does not read: stop sending, say why, end the connection."""
        server = self._server
        server._subscribers.pop(self, None)
        server.dropped += 1
        log_event(log, logging.WARNING, "session.dropped", session=self.id, pid=self.peer.pid, uid=self.peer.uid,
                  reason="does not read", waiting_lines=lines, waiting_bytes=size, events_sent=self.events_sent)
        self._end_with(proto.encode_error(
            None, proto.TOO_SLOW, f"this connection did not read what was sent to it ({lines} lines, {size} bytes "
                                  f"waiting; the limit is {server.queue_limit} lines or {server.queue_bytes} bytes); "
                                  f"closing it"))

    def _cut(self) -> None:
        if not self.closed:
            self._transport.abort()


_SERVER_OPS = {"hello": Session._hello, "subscribe": Session._subscribe}


class CtiServer:
    """The CTI socket (see the module's docstring). ``queue_limit`` and
    ``queue_bytes`` bound what waits for one slow client; ``max_sessions``
    bounds the connections; ``ops`` and ``events`` are the tables of
    gateway.cti.protocol (copies of them in tests that add their own)."""

    def __init__(self, service, path=None, *, clock=None, auth: AuthPolicy | None = None,
                 queue_limit: int = DEFAULT_QUEUE_LIMIT, queue_bytes: int = DEFAULT_QUEUE_BYTES,
                 max_sessions: int = DEFAULT_MAX_SESSIONS, ops: proto.OpTable | None = None,
                 events: proto.EventTable | None = None, name: str = "linegate", version: str = gateway.__version__):
        if not callable(getattr(service, "handle", None)):
            raise UsageError(f"service {service!r} has no handle(session, op, args)")
        self.service = service
        self.path = Path(path) if path is not None else default_socket_path()
        self.clock = clock if clock is not None else RealClock()
        self.auth = auth if auth is not None else AuthPolicy()
        self.queue_limit = queue_limit
        self.queue_bytes = queue_bytes
        self.max_sessions = max_sessions
        self.ops = proto.OPS if ops is None else ops
        self.events = proto.EVENTS if events is None else events
        self.name = name
        self.version = version
        self.dropped = 0  # sessions dropped because they did not read
        self.refused = 0  # connections refused (credentials, too many)
        self._sessions: dict[Session, None] = {}  # admitted, connected
        self._connections: dict[Session, None] = {}  # every connection not yet lost (refused ones too)
        self._subscribers: dict[Session, None] = {}
        self._tasks: set[asyncio.Task] = set()
        self._closing_tasks: set[asyncio.Task] = set()
        self._session_ids = itertools.count(1)
        self._incidents = itertools.count(1)
        self._listener: asyncio.AbstractServer | None = None
        self._socket_identity = None

    @property
    def sessions(self) -> list[Session]:
        """The connected sessions, in the order they came."""
        return list(self._sessions)

    async def __aenter__(self) -> "CtiServer":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- the socket

    async def start(self) -> None:
        """Bind and listen (the directory made if missing, a stale socket file replaced)."""
        if self._listener is not None:
            raise UsageError("the CTI server is started already")
        path = self.path
        if len(os.fsencode(path)) > MAX_PATH:
            raise CtiSocketError(f"{path}: a socket path has at most {MAX_PATH} bytes (unix(7)); this one "
                                 f"{len(os.fsencode(path))}")
        if not path.parent.exists():
            try:
                os.makedirs(path.parent, mode=DIRECTORY_MODE, exist_ok=True)
            except OSError as exc:
                raise CtiSocketError(f"{path.parent}: cannot create the socket's directory: {exc.strerror}") from None
        await self._clear_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                sock.bind(os.fspath(path))
            except OSError as exc:
                raise CtiSocketError(f"{path}: cannot bind the socket: {exc.strerror}") from None
            try:
                # Before listen(): until then a connect() is refused, so the
                # moments before chmod and chown let nobody in.
                os.chmod(path, self.auth.mode)
                self._give(path)
                sock.listen(LISTEN_BACKLOG)
                sock.setblocking(False)
                info = os.stat(path)
                self._listener = await asyncio.get_running_loop().create_unix_server(
                    lambda: Session(self, next(self._session_ids)), sock=sock)
            except BaseException:
                os.unlink(path)
                raise
        except BaseException:
            sock.close()
            raise
        self._socket_identity = (info.st_dev, info.st_ino)
        log_event(log, logging.INFO, "cti.listening", path=str(path), mode=oct(stat.S_IMODE(info.st_mode)),
                  uid=info.st_uid, gid=info.st_gid, users=",".join(map(str, sorted(self.auth.users))),
                  groups=",".join(map(str, sorted(self.auth.groups))))

    async def _clear_stale(self, path: Path) -> None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(info.st_mode):
            raise CtiSocketError(f"{path} exists and is not a socket; not removing it")
        if await _answers(path):
            raise CtiSocketError(f"{path}: another server is listening on it; stop that one or use another socket")
        os.unlink(path)
        log_event(log, logging.INFO, "cti.stale_socket_removed", path=str(path))

    def _give(self, path: Path) -> None:
        uid = -1 if self.auth.socket_uid is None else self.auth.socket_uid
        gid = -1 if self.auth.socket_gid is None else self.auth.socket_gid
        if uid == -1 and gid == -1:
            return
        try:
            os.chown(path, uid, gid)
        except PermissionError:
            to = " and ".join(w for w in (uid != -1 and f"user {uid}", gid != -1 and f"group {gid}") if w)
            raise CtiSocketError(f"{path}: cannot give the socket to {to}: not permitted (this server runs as uid "
                                 f"{os.getuid()}; only root gives a file away, and a user only to its own groups)"
                                 ) from None

    async def close(self) -> None:
        """Stop listening, close every session (the service is told of each), remove the socket file."""
        if self._listener is None:
            return
        listener, self._listener = self._listener, None
        listener.close()
        for session in list(self._connections):
            session._transport.abort()
        while self._tasks or self._connections:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.sleep(0)  # aborted transports report connection_lost on the next loop turn
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._closing_tasks:
            await asyncio.gather(*self._closing_tasks, return_exceptions=True)
        try:
            info = os.stat(self.path)
            if (info.st_dev, info.st_ino) == self._socket_identity:
                os.unlink(self.path)  # only our own: another server may have replaced it
        except FileNotFoundError:
            pass
        await listener.wait_closed()
        log_event(log, logging.INFO, "cti.closed", path=str(self.path))

    # -- sessions

    def _admit(self, session: Session) -> bool:
        self._connections[session] = None
        transport = session._transport
        peer = _peer_of(transport)
        refusal, code = None, proto.NOT_ALLOWED
        if peer is None:
            refusal = "the peer's credentials cannot be read (SO_PEERCRED)"
            peer = Peer(-1, -1, -1)
        else:
            refusal = self.auth.refusal(peer)
        if refusal is None and len(self._sessions) >= self.max_sessions:
            refusal, code = f"too many connections ({self.max_sessions})", proto.BUSY
        session.peer = peer
        if refusal is not None:
            self.refused += 1
            log_event(log, logging.WARNING, "session.refused", pid=peer.pid, uid=peer.uid, gid=peer.gid,
                      code=code, reason=refusal)
            session._end_with(proto.encode_error(None, code, f"refused: {refusal}"))
            return False
        self._sessions[session] = None
        log_event(log, logging.INFO, "session.opened", session=session.id, pid=peer.pid, uid=peer.uid, gid=peer.gid)
        return True

    def _lost(self, session: Session, exc) -> None:
        self._connections.pop(session, None)
        if not session._admitted:
            return
        self._sessions.pop(session, None)
        self._subscribers.pop(session, None)
        log_event(log, logging.INFO, "session.closed", session=session.id, pid=session.peer.pid,
                  events_sent=session.events_sent, requests_under_way=len(session._tasks),
                  error=None if exc is None else str(exc))
        closed = getattr(self.service, "session_closed", None)
        if closed is None:
            return
        try:
            outcome = closed(session)
        except Exception:
            log_event(log, logging.ERROR, "service.session_closed_failed", exc_info=True, session=session.id)
            return
        if inspect.isawaitable(outcome):
            task = asyncio.ensure_future(outcome)
            self._closing_tasks.add(task)
            task.add_done_callback(self._closing_done)

    def _closing_done(self, task: asyncio.Task) -> None:
        self._closing_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log_event(log, logging.ERROR, "service.session_closed_failed", exc_info=task.exception())

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- events

    def publish(self, event: Mapping) -> int:
        """Send an event to every session whose subscription matches; returns how many.

        ``event`` holds ``event`` (a registered name) and its fields; ``time``
        is stamped from the clock when absent; each session's seq is its own.
        Never waits and never fails for a slow client (see ``queue_limit``).
        Call it from the event loop's thread."""
        name = event.get("event") if isinstance(event, Mapping) else None
        if name not in self.events:
            raise UsageError(f"publish: {name!r} is not a registered event (gateway.cti.protocol.register_event)")
        if not self._subscribers:
            return 0
        channel, call = event.get("channel"), event.get("call")
        time = event.get("time")
        encoded = None
        sent = 0
        for session in tuple(self._subscribers):
            if session._filter.matches(name, channel, call):
                if encoded is None:
                    encoded = proto.EncodedEvent(event, self.clock.wall() if time is None else time)
                session._send_event(encoded)
                sent += 1
        return sent


async def _answers(path: Path) -> bool:
    """Is a server listening on this socket file?"""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(os.fspath(path)), PROBE_TIMEOUT)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except asyncio.TimeoutError:
        return True  # its backlog is full: it is alive, only busy
    except OSError as exc:
        raise CtiSocketError(f"{path}: cannot tell whether a server listens there: {exc.strerror}") from None
    writer.close()
    return True
