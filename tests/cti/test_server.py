"""The CTI server over a real Unix socket, with the test's CallService behind it."""

import asyncio
import json
import logging
import os
import socket
import stat
import time

import pytest

from gateway.clock import VirtualClock
from gateway.cti import protocol as proto
from gateway.cti.client import Client
from gateway.cti.server import MAX_IN_FLIGHT, AuthPolicy, CtiServer, default_socket_path
from gateway.errors import CtiSocketError, InputError, UsageError
from gateway.logs import parse_line
from tests.cti.conftest import ANSWERED, BUSY, CallService, Raw, make_server

LIMIT = 20.0  # no test scenario may hang


def run(scenario):
    async def bounded():
        return await asyncio.wait_for(scenario, LIMIT)
    return asyncio.run(bounded())


def log_events(caplog, name):
    return [r for r in caplog.records if r.name == "gateway.cti" and r.getMessage() == name]


# -- the handshake and the server's own ops


def test_hello_gives_version_server_session_ops_and_events(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s", name="linegate-test", version="9.8.7")
        async with server:
            raw = await Raw.open(server.path)
            reply = await raw.request(1, "hello", version=1, client="crm 2.1")
            assert reply["id"] == 1 and reply["ok"] is True
            result = reply["result"]
            assert result["protocol"] == 1 and result["server"] == {"name": "linegate-test", "version": "9.8.7"}
            assert result["session"] == server.sessions[0].id and server.sessions[0].client == "crm 2.1"
            assert result["ops"] == server.ops.names() and "call.make" in result["ops"] and "test.sleep" in result["ops"]
            assert result["events"] == server.events.names() and "call.disconnected" in result["events"]
            # An unsupported version is an error; the connection stays for another hello.
            reply = await raw.request(2, "hello", version=2)
            assert reply["error"]["code"] == "bad-version"
            assert reply["error"]["message"] == "protocol version 2 is not spoken here; this server speaks 1"
            assert (await raw.request(3, "hello", version=1))["ok"] is True
            await raw.close()
    run(scenario())


def test_ops_work_before_hello_and_events_start_with_hello(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            raw = await Raw.open(server.path)
            assert (await raw.request(1, "test.echo", text="before hello"))["result"] == {"text": "before hello"}
            assert server.publish({"event": "test.tick", "n": 0}) == 0  # nobody subscribed yet
            await raw.request(2, "hello", version=1)
            assert server.publish({"event": "test.tick", "n": 1}) == 1
            event = await raw.line()
            assert event["event"] == "test.tick" and event["seq"] == 1 and event["n"] == 1
            # hello with subscribe false: no events until subscribe
            quiet = await Raw.open(server.path)
            await quiet.request(1, "hello", version=1, subscribe=False)
            assert server.publish({"event": "test.tick", "n": 2}) == 1
            assert (await quiet.request(2, "test.echo", text="x"))["id"] == 2  # nothing came before the reply
            await raw.close()
            await quiet.close()
    run(scenario())


def test_subscribe_filters_by_name_channel_and_call(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            conns = {}
            filters = {"all": {}, "calls": {"events": ["call.*"]}, "none": {"events": []},
                       "chan3": {"channels": [3]}, "c7": {"calls": ["c7"]}, "chan3+c9": {"channels": ["3"], "calls": ["c9"]},
                       "held": {"events": ["call.hel?", "channel.state"], "channels": ["x"]}}
            for name, args in filters.items():
                conn = conns[name] = await Raw.open(server.path)
                reply = await conn.request(1, "subscribe", **args)
                assert reply["result"] == {"events": args.get("events", ["*"]), "channels": args.get("channels"),
                                           "calls": args.get("calls")}
            published = [
                {"event": "call.dialing", "call": "c7", "channel": 3, "to": "1"},
                {"event": "call.held", "call": "c9", "channel": "x"},
                {"event": "channel.state", "channel": 3, "state": "idle", "call": None},
                {"event": "channel.state", "channel": "x", "state": "seized", "call": "c7"},
                {"event": "call.connected", "call": "c8", "channel": 4},
            ]
            for event in published:
                server.publish(event)
            server.publish({"event": "test.tick", "n": 0})  # no channel, no call: for "all" only
            expected = {
                "all": [0, 1, 2, 3, 4, "tick"], "calls": [0, 1, 4], "none": [],
                "chan3": [0, 2], "c7": [0, 3], "chan3+c9": [0, 1, 2], "held": [1, 3],
            }
            for name, indexes in expected.items():
                if name == "none":
                    assert (await conns[name].request(9, "test.echo", text="x"))["id"] == 9
                    continue
                got = await conns[name].lines(len(indexes))
                assert [e["seq"] for e in got] == list(range(1, len(indexes) + 1)), name
                for event, index in zip(got, indexes):
                    if index == "tick":
                        assert event["event"] == "test.tick"
                    else:
                        assert {k: v for k, v in event.items() if k not in ("seq", "time")} == published[index], name
                # nothing else came: the next line is the reply to a request sent now
                assert (await conns[name].request(9, "test.echo", text="x"))["id"] == 9, name
            # hello after an explicit subscribe keeps the subscription
            await conns["calls"].request(10, "hello", version=1)
            server.publish({"event": "channel.state", "channel": 1, "state": "idle", "call": None})
            assert (await conns["calls"].request(11, "test.echo", text="x"))["id"] == 11
            for conn in conns.values():
                await conn.close()
    run(scenario())


def test_events_carry_the_clocks_time_unless_they_have_one(sock_dir):
    async def scenario():
        clock = VirtualClock(epoch=1_000_000.0)
        clock.advance(12.5)
        server, _ = make_server(sock_dir / "s", clock=clock)
        async with server:
            raw = await Raw.open(server.path)
            await raw.request(1, "hello", version=1)
            server.publish({"event": "call.alerting", "call": "c1", "channel": 1})
            server.publish({"event": "call.alerting", "call": "c1", "channel": 1, "time": 5.25})
            first, second = await raw.lines(2)
            assert first["time"] == 1_000_012.5 and second["time"] == 5.25
            with pytest.raises(UsageError, match="not a registered event"):
                server.publish({"event": "call.exploded", "call": "c1"})
            with pytest.raises(UsageError, match="not a registered event"):
                server.publish({"call": "c1"})
            await raw.close()
    run(scenario())


# -- seq and concurrency


def test_seq_is_gap_free_per_connection_under_concurrent_publishers(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            everything = await Raw.open(server.path)
            await everything.request(1, "subscribe")
            calls_only = await Raw.open(server.path)
            await calls_only.request(1, "subscribe", events=["call.*"])
            late = await Raw.open(server.path)

            async def publisher(name, count):
                for n in range(count):
                    server.publish({"event": name, "call": f"{name}-{n}", "channel": 1})
                    if name == "call.held" and n == 100:
                        await late.send(proto.encode_request(1, "subscribe", {"events": ["call.held"]}))
                    await asyncio.sleep(0)
            counts = {"call.held": 400, "call.retrieved": 300, "channel.state": 300}
            await asyncio.gather(*(publisher(name, count) for name, count in counts.items()))
            got = await everything.lines(1000)
            assert [e["seq"] for e in got] == list(range(1, 1001))
            for name, count in counts.items():  # each publisher's events in its order
                assert [e["call"] for e in got if e["event"] == name] == [f"{name}-{n}" for n in range(count)]
            got = await calls_only.lines(700)
            assert [e["seq"] for e in got] == list(range(1, 701))
            assert {e["event"] for e in got} == {"call.held", "call.retrieved"}
            assert (await late.line())["id"] == 1  # subscribe's reply comes before its events
            await late.send(proto.encode_request(2, "test.echo", {"text": "end"}))
            tail = []
            while "id" not in (line := await late.line()):
                tail.append(line)
            # `late` subscribed during the run: its own seq starts at 1
            assert [e["seq"] for e in tail] == list(range(1, len(tail) + 1)) and 250 <= len(tail) <= 300
            for conn in (everything, calls_only, late):
                await conn.close()
    run(scenario())


def test_replies_are_matched_by_id_and_a_slow_op_holds_nothing_up(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            raw = await Raw.open(server.path)
            start = time.monotonic()
            await raw.send(b'{"id": "slow", "op": "test.sleep", "args": {"seconds": 0.5, "tag": "slow"}}\n'
                           b'{"id": 2, "op": "test.sleep", "args": {"seconds": 0.05, "tag": "quick"}}\n'
                           b'{"id": 3, "op": "test.echo", "args": {"text": "now"}}\n'
                           b'{"op": "test.echo", "args": {"text": "no id"}}\n')
            first = await raw.lines(3)
            quick_done = time.monotonic() - start
            assert sorted(str(r["id"]) for r in first) == ["2", "3", "None"]
            assert next(r for r in first if r["id"] == 2)["result"] == {"tag": "quick"}
            slow = await raw.line()
            assert slow == {"id": "slow", "ok": True, "result": {"tag": "slow"}}
            assert quick_done < 0.4  # not behind the 0.5 s op
            await raw.close()
    run(scenario())


def test_requests_under_way_are_bounded_per_connection(sock_dir):
    async def scenario():
        service = CallService()
        running, peak = [0], [0]
        handle = service.handle

        async def counting(session, op, args):
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            try:
                return await handle(session, op, args)
            finally:
                running[0] -= 1
        service.handle = counting
        server, _ = make_server(sock_dir / "s", service=service)
        async with server:
            raw = await Raw.open(server.path)
            count = MAX_IN_FLIGHT * 2 + 10
            await raw.send(b"".join(proto.encode_request(i, "test.sleep", {"seconds": 0.05}) for i in range(count)))
            replies = await raw.lines(count)
            assert sorted(r["id"] for r in replies) == list(range(count)) and all(r["ok"] for r in replies)
            assert peak[0] == MAX_IN_FLIGHT
            await raw.close()
    run(scenario())


# -- bad input


def test_malformed_input_gets_error_replies_and_the_connection_lives(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            raw = await Raw.open(server.path)
            await raw.send(b"\n   \r\n"  # blank lines: ignored
                           b"{nope\n"
                           b"\xff\xfe\n"
                           b"[1,2]\n"
                           b'{"id": 4, "op": "call.mak"}\n'
                           b'{"id": 5, "op": "call.make", "args": {"to": 5550100}}\n'
                           b'{"id": 6, "op": "call.hangup", "args": {"call": "c404"}}\n'
                           b'{"id": 7, "op": "test.fail"}\n'
                           b'{"id": 8, "op": "hello", "args": {"version": 1}, "x": 1}\n'
                           b'{"id": 9, "op": "call.hangup", "args": {"call": "c1"}, "id": 9}\r\n')
            replies = await raw.lines(9)
            # The server answers what it refuses at once; ops the service runs reply when they end.
            immediate, from_service = replies[:7], replies[7:]
            assert [(r["id"], r["error"]["code"]) for r in immediate] == [
                (None, "bad-json"), (None, "bad-json"), (None, "bad-request"), (4, "unknown-op"), (5, "bad-args"),
                (8, "bad-request"), (None, "bad-json")]
            assert sorted((r["id"], r["error"]["code"]) for r in from_service) == [(6, "not-found"), (7, "internal")]
            messages = {r["id"]: r["error"]["message"] for r in replies if r["id"] is not None}
            assert replies[1]["error"]["message"] == "not UTF-8: byte 0xff at offset 0"
            assert replies[6]["error"]["message"] == 'not JSON we take: field "id" appears twice'
            assert messages[5] == "call.make: args.to: expected a string, got 5550100"
            assert messages[6] == "no call 'c404'"
            assert messages[7] == "test.fail failed inside the gateway (incident 1 in its log)"
            assert messages[8] == 'unknown field "x": a request has id, op and args'
            assert (await raw.request(10, "hello", version=1))["ok"] is True
            await raw.close()
    run(scenario())


def test_a_service_failure_is_logged_with_its_traceback(sock_dir, caplog):
    caplog.set_level(logging.INFO, logger="gateway.cti")

    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            raw = await Raw.open(server.path)
            assert (await raw.request(1, "test.fail"))["error"]["code"] == "internal"
            await raw.close()
    run(scenario())
    [record] = log_events(caplog, "request.failed")
    assert record.levelno == logging.ERROR and record.fields["op"] == "test.fail" and record.fields["incident"] == 1
    assert "RuntimeError: the service broke" in caplog.text


def test_an_oversized_line_is_skipped_without_being_held(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            raw = await Raw.open(server.path)
            await raw.request(0, "test.echo", text="x")
            framer = server.sessions[0]._framer
            await raw.send(b'{"id": 77, "op": "test.echo", "args": {"text": "')
            held = 0
            for _ in range(64):  # 4 MiB in all
                await raw.send(b"y" * 65536)
                await asyncio.sleep(0)
                held = max(held, len(framer._buffer))
            await raw.send(b'"}}\n{"id": 78, "op": "test.echo", "args": {"text": "' + b"z" * 65000 + b'"}}\n')
            too_large, fine = await raw.lines(2)
            assert too_large["id"] == 77 and too_large["error"]["code"] == "too-large"
            assert f"{64 * 65536 + 48 + 3} bytes" in too_large["error"]["message"]
            assert fine["id"] == 78 and fine["result"]["text"] == "z" * 65000
            assert held <= proto.MAX_MESSAGE
            await raw.close()
    run(scenario())


def test_a_client_that_shuts_its_side_gets_every_reply(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            raw = await Raw.open(server.path)
            await raw.send(b'{"id": 1, "op": "test.sleep", "args": {"seconds": 0.1}}\n'
                           b'{"id": 2, "op": "test.echo", "args": {"text": "last, without newline"}}')
            raw.writer.write_eof()
            replies = await raw.lines(2)
            assert sorted(r["id"] for r in replies) == [1, 2]
            assert await raw.closed()
            await raw.close()
    run(scenario())


# -- many clients, slow clients, leaving clients


def test_a_hundred_clients_at_once(sock_dir):
    async def scenario():
        server, service = make_server(sock_dir / "s")
        async with server:
            async def one(n):
                async with Client(server.path, subscribe={"events": ["test.*"]}) as client:
                    subscribed.append(n)
                    assert (await client.request("test.echo", text=f"client {n}")) == {"text": f"client {n}"}
                    assert (await client.request("test.sleep", seconds=0.01, tag=str(n))) == {"tag": str(n)}
                    await ready.wait()
                    got = [await client.next_event(timeout=5) for _ in range(20)]
                    assert [e["seq"] for e in got] == list(range(1, 21)) and [e["n"] for e in got] == list(range(20))
                    call = await client.call_make(BUSY)
                    return call
            ready, subscribed = asyncio.Event(), []
            clients = [asyncio.ensure_future(one(n)) for n in range(100)]
            while len(subscribed) < 100:
                await asyncio.sleep(0.01)
            assert len(server.sessions) == 100
            for n in range(20):
                assert server.publish({"event": "test.tick", "n": n}) == 100
            ready.set()
            calls = await asyncio.gather(*clients)
            assert len(set(calls)) == 100
            while server.sessions:
                await asyncio.sleep(0.01)
            assert len(service.closed_sessions) == 100
            await service.stop()
    run(scenario())


async def stuck_client(server) -> socket.socket:
    """A connection that says hello and then reads nothing (a plain socket: nothing in this loop reads it)."""
    stuck = socket.socket(socket.AF_UNIX)
    stuck.connect(str(server.path))
    stuck.sendall(b'{"id": 1, "op": "hello", "args": {"version": 1}}\n')
    while not server.sessions or server.sessions[0].protocol_version is None:
        await asyncio.sleep(0.01)
    return stuck


def test_a_client_that_does_not_read_is_dropped_and_delays_nobody(sock_dir, caplog):
    caplog.set_level(logging.INFO, logger="gateway.cti")
    count = 6000

    async def scenario():
        server, _ = make_server(sock_dir / "s", queue_limit=500)
        async with server:
            stuck = await stuck_client(server)
            async with Client(server.path, subscribe=True) as reader:
                received = []

                async def read_all():
                    while len(received) < count:
                        received.append(await reader.next_event(timeout=5))
                reading = asyncio.ensure_future(read_all())
                slowest, started = 0.0, time.perf_counter()
                padding = "p" * 300
                for n in range(count):
                    before = time.perf_counter()
                    server.publish({"event": "test.tick", "n": n, "pad": padding})
                    slowest = max(slowest, time.perf_counter() - before)
                    if n % 50 == 0:
                        await asyncio.sleep(0)  # let the reader read
                total = time.perf_counter() - started
                await reading
                assert [e["seq"] for e in received] == list(range(1, count + 1))
                assert [e["n"] for e in received] == list(range(count))
                print(f"\n{count} publishes to 2 clients (one not reading, dropped): total {total * 1000:.0f} ms, "
                      f"slowest {slowest * 1e6:.0f} us")
                assert slowest < 0.25 and server.dropped == 1
            # What the stuck client finds when it reads at last: events in order, then why it was dropped.
            stuck = Raw(*await asyncio.open_unix_connection(sock=stuck, limit=1 << 20))
            assert (await stuck.line())["id"] == 1  # hello's reply
            lines = []
            while True:
                raw = await asyncio.wait_for(stuck.reader.readline(), 5)
                if not raw:
                    break
                lines.append(json.loads(raw))
            assert lines[-1]["id"] is None and lines[-1]["error"]["code"] == "too-slow"
            assert "did not read what was sent to it" in lines[-1]["error"]["message"]
            events = lines[:-1]
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1)) and len(events) < count
            await stuck.close()
    run(scenario())
    [record] = log_events(caplog, "session.dropped")
    assert record.levelno == logging.WARNING and record.fields["reason"] == "does not read"
    assert record.fields["waiting_lines"] == 501


def test_a_dropped_client_that_never_reads_is_cut(sock_dir, monkeypatch):
    monkeypatch.setattr("gateway.cti.server.DROP_GRACE", 0.2)

    async def scenario():
        server, service = make_server(sock_dir / "s", queue_limit=50)
        async with server:
            stuck = await stuck_client(server)
            session = server.sessions[0]
            for n in range(5000):
                server.publish({"event": "test.tick", "n": n, "pad": "p" * 300})
                if session.closed:
                    break
            assert server.dropped == 1 and not session.closed  # closing, its buffer not flushed
            while not session.closed:
                await asyncio.sleep(0.02)
            assert service.closed_sessions == [session.id]
            stuck.close()
    run(scenario())


def test_a_leaving_client_is_told_to_the_service_and_its_calls_go_on(sock_dir):
    async def scenario():
        server, service = make_server(sock_dir / "s", service=CallService(hangup_after=0.3))
        async with server:
            async with Client(server.path, subscribe={"events": ["call.*"]}) as watch:
                async with Client(server.path) as caller:
                    call = await caller.call_make(ANSWERED)
                    session = next(s for s in server.sessions if s.client == "gateway.cti.Client"
                                   and s.data.get("calls") == [call])
                # the caller has gone: the service hears of it, the call goes on to its end
                while session.id not in service.closed_sessions:
                    await asyncio.sleep(0.01)
                names = []
                while "call.disconnected" not in names:
                    event = await watch.next_event(timeout=5)
                    assert event["call"] == call
                    names.append(event["event"])
                assert names == ["call.dialing", "call.alerting", "call.connected", "call.disconnected"]
            await service.stop()
    run(scenario())


# -- the socket file, auth


def test_socket_mode_and_stale_file(sock_dir, caplog):
    caplog.set_level(logging.INFO, logger="gateway.cti")
    path = sock_dir / "deep" / "er" / "cti.sock"
    path.parent.mkdir(parents=True)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()  # the file stays: a stale socket, as a killed server leaves it

    async def scenario():
        server, _ = make_server(path)
        async with server:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o660 and stat.S_ISSOCK(os.stat(path).st_mode)
            async with Client(path) as client:
                assert client.server_info["protocol"] == 1
        assert not path.exists()  # removed at close
    run(scenario())
    assert log_events(caplog, "cti.stale_socket_removed")


def test_a_live_server_is_not_replaced_and_other_files_are_not_removed(sock_dir):
    async def scenario():
        first, _ = make_server(sock_dir / "s")
        async with first:
            second, _ = make_server(sock_dir / "s")
            with pytest.raises(CtiSocketError, match="another server is listening on it"):
                await second.start()
            async with Client(first.path) as client:  # the first is unharmed
                assert (await client.request("test.echo", text="still here")) == {"text": "still here"}
        (sock_dir / "plain").write_text("data")
        third, _ = make_server(sock_dir / "plain")
        with pytest.raises(CtiSocketError, match="exists and is not a socket; not removing it"):
            await third.start()
        assert (sock_dir / "plain").read_text() == "data"
        long_path = sock_dir / ("x" * 120)
        with pytest.raises(CtiSocketError, match="a socket path has at most 107 bytes"):
            await make_server(long_path)[0].start()
    run(scenario())


def test_the_server_creates_the_directory_of_the_default_path(sock_dir, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(sock_dir))
    assert default_socket_path() == sock_dir / "linegate" / "cti.sock"

    async def scenario():
        server = CtiServer(CallService())
        async with server:
            assert server.path == sock_dir / "linegate" / "cti.sock" and server.path.exists()
            assert stat.S_IMODE(os.stat(sock_dir / "linegate").st_mode) & 0o027 == 0
            async with Client() as client:  # the client's default is the same path
                assert client.server_info["server"]["name"] == "linegate"
    run(scenario())
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert str(default_socket_path()) == "linegate.sock"


def test_a_peer_not_allowed_is_refused_and_logged(sock_dir, caplog):
    caplog.set_level(logging.INFO, logger="gateway.cti")
    me = os.getuid()

    async def scenario():
        server, service = make_server(sock_dir / "s", auth=AuthPolicy(users=[me + 12345]))
        async with server:
            raw = await Raw.open(server.path)
            refusal = await raw.line()
            assert refusal["id"] is None and refusal["error"]["code"] == "not-allowed"
            assert refusal["error"]["message"] == f"refused: uid {me} (gid {os.getgid()}) is not among the allowed users"
            assert await raw.closed()
            with pytest.raises(Exception) as info:  # the client library says so too
                async with Client(server.path):
                    pass
            assert getattr(info.value, "code", None) == "not-allowed"
            assert server.refused == 2 and server.sessions == [] and service.handled == []
            # Allowed by group instead: in.
            server.auth = AuthPolicy(users=[me + 12345], groups=[os.getgid()])
            async with Client(server.path) as client:
                assert client.server_info["protocol"] == 1
    run(scenario())
    records = log_events(caplog, "session.refused")
    assert len(records) == 2 and records[0].levelno == logging.WARNING
    assert records[0].fields["uid"] == me and records[0].fields["pid"] == os.getpid()
    assert records[0].fields["reason"] == f"uid {me} (gid {os.getgid()}) is not among the allowed users"


def test_too_many_connections_are_refused_busy(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s", max_sessions=2)
        async with server:
            first, second = await Raw.open(server.path), await Raw.open(server.path)
            await first.request(1, "test.echo", text="a")
            await second.request(1, "test.echo", text="a")
            third = await Raw.open(server.path)
            refusal = await third.line()
            assert refusal["error"]["code"] == "busy" and "too many connections (2)" in refusal["error"]["message"]
            assert await third.closed()
            for conn in (first, second, third):
                await conn.close()
    run(scenario())


def test_auth_policy_names_and_defaults():
    policy = AuthPolicy()
    assert policy.users == {os.getuid(), 0} and policy.groups == frozenset() and policy.mode == 0o660
    policy = AuthPolicy(socket_group="root", users=["root"])
    assert policy.socket_gid == 0 and policy.groups == {0} and policy.users == {0}
    assert AuthPolicy(groups=[]).groups == frozenset()
    with pytest.raises(InputError, match="users: no user named 'no-such-user-here'"):
        AuthPolicy(users=["no-such-user-here"])
    with pytest.raises(InputError, match="socket_group: no group named 'no-such-group-here'"):
        AuthPolicy(socket_group="no-such-group-here")
    with pytest.raises(UsageError, match="a list of names or ids"):
        AuthPolicy(users="root")
    with pytest.raises(UsageError, match="permission bits"):
        AuthPolicy(mode=0o1777)


def test_the_socket_gets_its_group(sock_dir):
    group = 65534 if os.getuid() == 0 else os.getgid()  # root may give it any group; a user one of its own

    async def scenario():
        server, _ = make_server(sock_dir / "s", auth=AuthPolicy(socket_group=group))
        async with server:
            assert os.stat(server.path).st_gid == group
    run(scenario())


def _as_nobody(work) -> str:
    """Run ``work()`` in a forked child that has become uid/gid 65534; what it returned or raised, as text."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                text = str(work())
            except Exception as exc:  # reported to the parent, which asserts on it
                text = f"{type(exc).__name__}: {exc}"
            os.write(write_end, text.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def test_a_server_without_the_right_to_give_the_socket_away_says_so(sock_dir):
    def start():
        async def scenario():
            server, _ = make_server(sock_dir / "s", auth=AuthPolicy(socket_group=0))
            await server.start()
            await server.close()
            return "started"
        return asyncio.run(scenario())

    if os.getuid() == 0:  # root may give anything: try as nobody
        os.chmod(sock_dir, 0o777)
        outcome = _as_nobody(start)
    else:
        try:
            outcome = start()
        except CtiSocketError as exc:
            outcome = f"CtiSocketError: {exc}"
    assert outcome.startswith("CtiSocketError: ") and "cannot give the socket to group 0: not permitted" in outcome
    assert not (sock_dir / "s").exists()


@pytest.mark.skipif(os.getuid() != 0, reason="acting as another user needs root")
def test_another_users_connection_is_checked_by_its_credentials(sock_dir, caplog):
    """A real peer of another uid (a child become nobody): the socket's group lets it connect, then the
    policy decides by SO_PEERCRED."""
    caplog.set_level(logging.INFO, logger="gateway.cti")
    os.chmod(sock_dir, 0o755)
    path = str(sock_dir / "s")

    def hello():
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(5)
            conn.connect(path)
            conn.sendall(b'{"id": 1, "op": "hello", "args": {"version": 1}}\n')
            return conn.makefile("rb").readline().decode().strip()

    async def scenario(policy):
        server, _ = make_server(path, auth=policy)
        async with server:
            return await asyncio.get_running_loop().run_in_executor(None, _as_nobody, hello)

    refused = json.loads(run(scenario(AuthPolicy(socket_group=65534, groups=[]))))
    assert refused["error"] == {"code": "not-allowed", "message": "refused: uid 65534 (gid 65534) is not among the "
                                                                  "allowed users"}
    welcomed = json.loads(run(scenario(AuthPolicy(socket_group=65534))))  # the socket's group is allowed by default
    assert welcomed["id"] == 1 and welcomed["ok"] is True
    [record] = log_events(caplog, "session.refused")
    assert record.fields["uid"] == 65534 and record.fields["gid"] == 65534


def test_closing_the_server_closes_every_session(sock_dir):
    async def scenario():
        server, service = make_server(sock_dir / "s")
        await server.start()
        raws = [await Raw.open(server.path) for _ in range(3)]
        for raw in raws:
            await raw.request(1, "test.echo", text="x")
        await raws[0].send(b'{"id": 2, "op": "test.sleep", "args": {"seconds": 10}}\n')
        await asyncio.sleep(0.05)
        await server.close()
        assert sorted(service.closed_sessions) == [1, 2, 3] and not server.path.exists()
        for raw in raws:
            assert await raw.closed()
            await raw.close()
    run(scenario())


def test_log_lines_parse(sock_dir, capsys):
    """The structured log of a session, as `linegate serve` will print it."""
    from gateway.logs import setup_logging

    handler = setup_logging("info")
    try:
        async def scenario():
            server, _ = make_server(sock_dir / "s")
            async with server:
                async with Client(server.path, client_name="crm 2.1") as client:
                    await client.request("test.echo", text="x")
        run(scenario())
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [parse_line(line) for line in capsys.readouterr().err.splitlines() if "logger=gateway.cti" in line]
    events = [line["event"] for line in lines]
    assert events == ["cti.listening", "session.opened", "session.hello", "session.closed", "cti.closed"]
    hello = lines[2]
    assert hello["level"] == "info" and hello["client"] == "crm 2.1" and hello["version"] == "1"


def test_closing_the_server_cuts_refused_connections_too(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s", max_sessions=0)
        await server.start()
        refused = await Raw.open(server.path)  # refused busy; it neither reads nor closes
        while server.refused == 0:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await server.close()
        assert time.monotonic() - started < 1.0  # not the 2 s grace
        assert (await refused.line())["error"]["code"] == "busy" and await refused.closed()
        await refused.close()
    run(scenario())
