"""gateway.cti.Client against a real server (and against misbehaving fake servers on real sockets)."""

import asyncio
import socket

import pytest

from gateway.cti import protocol as proto
from gateway.cti.client import Client
from gateway.errors import CtiError, CtiRequestError, CtiSocketError
from tests.cti.conftest import BUSY, make_server
from tests.cti.test_server import run


class RecordingService:
    """Answers every op with what it was given (after the schema's checks and defaults)."""

    def __init__(self):
        self.seen = []

    async def handle(self, session, op, args):
        self.seen.append((op, args))
        if op == "call.make":
            return {"call": "c42"}
        if op == "channels.list":
            return {"channels": [{"channel": 1, "state": "idle"}]}
        return {"op": op}


def test_convenience_methods_send_their_ops(sock_dir):
    async def scenario():
        service = RecordingService()
        server, _ = make_server(sock_dir / "s", service=service)
        async with server:
            async with Client(server.path) as cti:
                assert await cti.call_make("5550100", from_="100", group="pstn", detect=["cpt", "amd"]) == "c42"
                assert await cti.channels_list() == [{"channel": 1, "state": "idle"}]
                await cti.channel_status(3)
                await cti.call_answer("c1")
                await cti.call_hangup("c1")
                await cti.call_hangup("c2", cause=17)
                await cti.call_hold("c1")
                await cti.call_retrieve("c1")
                await cti.call_transfer("c1", to="200")
                await cti.call_transfer("c1", consult="c2")
                await cti.call_send_dtmf("c1", "12#", duration_ms=80)
                await cti.call_play("c1", tone="busy")
                await cti.call_record("c1", "/tmp/r.wav", max_seconds=5)
                await cti.call_collect("c1", 4, terminator="#")
        assert service.seen == [
            ("call.make", {"to": "5550100", "from": "100", "group": "pstn", "detect": ["cpt", "amd"]}),
            ("channels.list", {}),
            ("channel.status", {"channel": 3}),
            ("call.answer", {"call": "c1"}),
            ("call.hangup", {"call": "c1", "cause": 16}),
            ("call.hangup", {"call": "c2", "cause": 17}),
            ("call.hold", {"call": "c1"}),
            ("call.retrieve", {"call": "c1"}),
            ("call.transfer", {"call": "c1", "to": "200"}),
            ("call.transfer", {"call": "c1", "consult": "c2"}),
            ("call.send_dtmf", {"call": "c1", "digits": "12#", "duration_ms": 80, "gap_ms": 100}),
            ("call.play", {"call": "c1", "tone": "busy", "repeat": 1, "barge_in": False}),
            ("call.record", {"call": "c1", "file": "/tmp/r.wav", "max_seconds": 5, "beep": False}),
            ("call.collect", {"call": "c1", "max_digits": 4, "terminator": "#", "first_timeout": 5,
                              "inter_timeout": 3, "flush": False}),
        ]
    run(scenario())


def test_error_replies_raise_with_their_code(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            async with Client(server.path) as cti:
                with pytest.raises(CtiError) as info:
                    await cti.call_hangup("c404")
                assert info.value.code == "not-found" and info.value.message == "no call 'c404'"
                assert not isinstance(info.value, CtiRequestError)
                with pytest.raises(CtiRequestError) as info:
                    await cti.call_make("not a number")
                assert info.value.code == "bad-args" and isinstance(info.value, ValueError)
                assert str(info.value).startswith('bad-args: call.make: args.to: "not a number" is not a phone number')
                with pytest.raises(CtiRequestError, match="unknown-op"):
                    await cti.request("call.frobnicate")
                reply = await cti.reply("call.hangup", call="c404")
                assert reply.ok is False and reply.code == "not-found"
                assert (await cti.reply("test.echo", text="x")).result == {"text": "x"}
    run(scenario())


def test_events_subscribe_with_their_filters(sock_dir):
    async def scenario():
        server, service = make_server(sock_dir / "s")
        async with server:
            async with Client(server.path) as cti:
                assert cti.server_info["session"] == 1
                server.publish({"event": "test.tick", "n": 0})  # not subscribed yet: not sent
                call = await cti.call_make(BUSY)
                names = []
                async for event in cti.events(calls=[call, "other"], timeout=5):
                    assert event["call"] == call
                    names.append(event["event"])
                    if event["event"] == "call.disconnected":
                        break
                # the call's first event may have come before the filter: the rest are there
                assert names[-2:] == ["call.progress", "call.disconnected"]
                server.publish({"event": "test.tick", "n": 1, "call": call})
                assert (await cti.next_event(timeout=5))["n"] == 1
                with pytest.raises(CtiSocketError, match="no event within 0.05 s"):
                    await cti.next_event(timeout=0.05)
            await service.stop()
    run(scenario())


def test_a_reply_that_does_not_come_in_time(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        async with server:
            async with Client(server.path) as cti:
                with pytest.raises(CtiSocketError, match=r"no reply to test.sleep \(id 2\) within 0.05 s"):
                    await cti.request("test.sleep", seconds=0.3, reply_timeout=0.05)
                await asyncio.sleep(0.4)  # its late reply arrives and is set aside
                assert await cti.request("test.echo", text="still fine") == {"text": "still fine"}
                assert cti.late_replies == 1
    run(scenario())


def test_connect_errors_are_clear(sock_dir):
    async def scenario():
        with pytest.raises(CtiSocketError, match="no CTI socket there"):
            async with Client(sock_dir / "missing.sock"):
                pass
        dead = socket.socket(socket.AF_UNIX)
        dead.bind(str(sock_dir / "dead.sock"))
        dead.close()
        with pytest.raises(CtiSocketError, match="nobody listens on this socket"):
            async with Client(sock_dir / "dead.sock"):
                pass
        mute = socket.socket(socket.AF_UNIX)  # listens, never accepts, never answers
        mute.bind(str(sock_dir / "mute.sock"))
        mute.listen(1)
        with pytest.raises(CtiSocketError, match=r"no reply to hello \(id 1\) within 0.2 s"):
            async with Client(sock_dir / "mute.sock", timeout=0.2):
                pass
        mute.close()
    run(scenario())


def test_the_server_going_away_ends_events_and_requests(sock_dir):
    async def scenario():
        server, _ = make_server(sock_dir / "s")
        await server.start()
        client = Client(server.path, subscribe=True)
        await client.connect()
        pending = asyncio.ensure_future(client.request("test.sleep", seconds=5))
        await asyncio.sleep(0.05)
        await server.close()
        with pytest.raises(CtiSocketError, match="the server closed the connection"):
            await pending
        with pytest.raises(CtiSocketError, match="the server closed the connection"):
            async for _ in client.events():
                pass
        with pytest.raises(CtiSocketError, match="the server closed the connection"):
            await client.request("test.echo", text="x")
        await client.close()
    run(scenario())


async def fake_server(path, lines: list[bytes], close: bool = False):
    """A server that answers hello, then sends ``lines`` (and closes, with ``close``)."""
    async def serve(reader, writer):
        hello = await reader.readline()
        request_id = proto.parse_request(hello.rstrip(b"\n")).id
        writer.write(proto.encode_reply(request_id, {"protocol": 1}))
        for line in lines:
            writer.write(line)
        await writer.drain()
        if not close:
            await reader.read()
        writer.close()
    return await asyncio.start_unix_server(serve, str(path))


@pytest.mark.parametrize("lines, words", [
    ([b'{"event":"call.held","seq":1,"time":1}\n', b'{"event":"call.held","seq":3,"time":1}\n'],
     "event seq went from 1 to 3: events were lost"),
    ([b"this is not json\n"], "the server sent what is not CTI: not JSON"),
    ([b'{"event":"call.held","seq":1,"time":1}\n', b'{"hello": 1}\n'], "neither an event"),
    ([b"x" * 70_000 + b"\n"], "the server sent a line of 70000 bytes"),
])
def test_a_server_that_breaks_the_protocol(sock_dir, lines, words):
    async def scenario():
        fake = await fake_server(sock_dir / "fake.sock", lines)
        async with Client(sock_dir / "fake.sock") as cti:
            with pytest.raises(CtiSocketError, match=words):
                while True:
                    await cti.next_event(timeout=2)
        fake.close()
    run(scenario())


def test_events_left_unread_close_the_client(sock_dir):
    async def scenario():
        lines = [proto.encode_event({"event": "call.held"}, seq, 1.0) for seq in range(1, 12)]
        fake = await fake_server(sock_dir / "fake.sock", lines)
        async with Client(sock_dir / "fake.sock", event_limit=10) as cti:
            await asyncio.sleep(0.1)
            for _ in range(10):
                await cti.next_event(timeout=1)  # what it had queued
            with pytest.raises(CtiSocketError, match="10 events were not read"):
                await cti.next_event(timeout=1)
            assert cti.closed
        fake.close()
    run(scenario())


def test_a_connection_level_error_line_is_the_reason(sock_dir):
    async def scenario():
        fake = await fake_server(sock_dir / "fake.sock", [proto.encode_error(None, "too-slow", "read faster")], close=True)
        async with Client(sock_dir / "fake.sock") as cti:
            pending = cti.request("test.echo", text="x", reply_timeout=2)
            with pytest.raises(CtiError) as info:
                await pending
        assert info.value.code == "too-slow" and info.value.message == "read faster"
        fake.close()
    run(scenario())
