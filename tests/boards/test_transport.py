"""Transports and the link over real loopback TCP sockets and a real pseudo-terminal, with a
tiny board in Python on the other end (it answers IDENTIFY and STATUS, sends an event first)."""

import asyncio
import os
import select
import socket
import threading

import pytest

from gateway.boards import protocol as p
from gateway.boards.kinds import Capability
from gateway.boards.link import Link
from gateway.boards.transport import SpyTransport, open_transport, parse_url
from gateway.errors import LinkError, UsageError

IDENTITY = p.Identity(p.BoardCode.FXO4, "SIM-0042", 1, p.Version(1, 0, 0), p.Version(1, 0, 0), p.Slot.A, None,
                      p.Running.FIRMWARE, Capability.FXO | Capability.TONE, 4, 0)
EVENT = p.PortEvent(2, p.PortEventCode.RING_ON, 0, 1234)


class TinyBoard:
    """The board side: feed it bytes, it returns the bytes it answers with."""

    def __init__(self):
        self.reader = p.FrameReader()
        self.seq = 0
        self.requests = []

    def _own(self, message) -> bytes:
        self.seq += 1
        return p.encode_frame(message, self.seq)

    def answer(self, data: bytes) -> bytes:
        out = b""
        for frame in self.reader.feed(data):
            self.requests.append(frame.message)
            if isinstance(frame.message, p.Identify):
                # An event first, a stray reply, then the reply and the CRC-broken noise a line may add.
                out += self._own(EVENT) + p.encode_frame(p.Result(p.ResultCode.OK), (frame.seq + 9) & 0xFFFF)
                out += p.encode_frame(IDENTITY, frame.seq) + b"LG\x01\x10garbage"
            elif isinstance(frame.message, p.Status):
                # A false sync just before the reply: it promises 1280 bytes that never come.
                out += b"LG\x01\x15\x00\x00\x00\x05" + p.encode_frame(p.Result(p.ResultCode.UNSUPPORTED, "no status here"), frame.seq)
            elif isinstance(frame.message, p.BlConfirm):
                out += p.encode_frame(p.SlotInfo(p.Slot.A, p.SlotState.EMPTY, p.Version(0, 0, 0), 0, bytes(32)),
                                      frame.seq)
            # BL_ERASE: no answer at all (the host must time out)
        return out


async def exercise(link: Link) -> None:
    assert await link.request(p.Identify()) == IDENTITY
    assert (await link.receive(timeout=1.0)).message == EVENT
    assert link.stray_replies == 1
    assert await link.request(p.Status()) == p.Result(p.ResultCode.UNSUPPORTED, "no status here")
    assert link.reader.errors["timeout"] == 1  # found after the idle gap, not after 1292 more bytes
    with pytest.raises(LinkError, match="answered BL_CONFIRM .* with SLOT_INFO"):
        await link.request(p.BlConfirm())
    with pytest.raises(LinkError, match=r"no reply to BL_ERASE \(seq 3\) within 0.2 s"):
        await link.request(p.BlErase(p.Slot.B), timeout=0.2)
    with pytest.raises(UsageError, match="not a request"):
        await link.request(EVENT)
    assert link.reader.errors["version"] + link.reader.errors["length"] + link.reader.errors["crc"] >= 1


def test_tcp_loopback_with_spy():
    lines = []

    async def main():
        board = TinyBoard()

        async def serve(reader, writer):
            while data := await reader.read(4096):
                writer.write(board.answer(data))
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            transport = await open_transport(f"spy+tcp://127.0.0.1:{port}", spy=lines.append)
            assert isinstance(transport, SpyTransport)
            async with Link(transport) as link:
                await exercise(link)
        assert board.requests[0] == p.Identify()

    asyncio.run(main())
    assert lines[0] == "> seq 0 IDENTIFY 4c 47 01 01 00 00 00 00 " + p.encode_frame(p.Identify(), 0)[8:].hex(" ")
    assert lines[1] == ">   Identify()"
    assert any(line.startswith("< seq 0 IDENTITY 4c 47 01 81 00 00 21 00") for line in lines)
    assert any("Identity(kind=<BoardCode.FXO4: 2>, serial='SIM-0042'" in line for line in lines)
    assert any(line.startswith("< refused: byte ") for line in lines)


def test_tcp_link_failures():
    async def main():
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(LinkError, match="cannot connect"):
            await open_transport(f"tcp://127.0.0.1:{port}", timeout=2)

        async def hang_up(reader, writer):
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        async with server:
            link = await Link.open(f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}")
            with pytest.raises(LinkError, match="closed the connection"):
                await link.request(p.Identify())
            await link.close()

    asyncio.run(main())


def test_pty_and_serial_urls_over_a_real_pseudo_terminal():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    stop = threading.Event()

    def board_thread():
        board = TinyBoard()
        while not stop.is_set():
            if select.select([master], [], [], 0.05)[0]:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    return
                os.write(master, board.answer(data))

    thread = threading.Thread(target=board_thread, daemon=True)
    thread.start()
    try:
        async def main():
            for url in (f"pty:{path}", f"serial://{path}?baud=115200"):
                async with await Link.open(url) as link:
                    await exercise(link)
                    # A big write through the non-blocking descriptor, in one piece: the board sees it.
                    await link.send(p.Audio(0, 0, p.Law.ALAW, 0, bytes(160)))

        asyncio.run(main())
    finally:
        stop.set()
        thread.join(2)
        os.close(master)
        os.close(slave)


def test_missing_device():
    async def main():
        with pytest.raises(LinkError, match="cannot open /nonexistent/tty"):
            await open_transport("serial:///nonexistent/tty")

    asyncio.run(main())


@pytest.mark.parametrize("url,scheme,params", [
    ("tcp://127.0.0.1:7001", "tcp", {"host": "127.0.0.1", "port": 7001}),
    ("tcp://[::1]:7001/", "tcp", {"host": "::1", "port": 7001}),
    ("serial:///dev/ttyUSB0?baud=921600", "serial", {"path": "/dev/ttyUSB0", "baud": 921600}),
    ("serial:///dev/ttyS1", "serial", {"path": "/dev/ttyS1", "baud": 921600}),
    ("pty:/dev/pts/7", "pty", {"path": "/dev/pts/7"}),
    ("pty:///dev/pts/7", "pty", {"path": "/dev/pts/7"}),
    ("spy+tcp://localhost:1", "spy", {"inner": "tcp://localhost:1"}),
    ("sim://fxo4?seed=1", "sim", {"kind": "fxo4", "seed": 1, "trust": None, "network": None, "clock": "real"}),
    ("sim://E1X2", "sim", {"kind": "e1x2", "seed": 0, "trust": None, "network": None, "clock": "real"}),
    ("sim://fxs4?seed=7&trust=k.pub", "sim", {"kind": "fxs4", "seed": 7, "trust": "k.pub", "network": None,
                                              "clock": "real"}),
    ("sim://fxo4?network=tcp://127.0.0.1:5070&clock=granted", "sim",
     {"kind": "fxo4", "seed": 0, "trust": None, "network": "tcp://127.0.0.1:5070", "clock": "granted"}),
    ("sim://fxs4?network=unix:net.sock", "sim",
     {"kind": "fxs4", "seed": 0, "trust": None, "network": "unix:net.sock", "clock": "real"}),
])
def test_urls(url, scheme, params):
    assert parse_url(url) == (scheme, params)


@pytest.mark.parametrize("url,complaint", [
    ("", "empty"),
    ("ttyUSB0", "not a transport URL"),
    ("http://x:1", "unknown transport 'http'"),
    ("sim://fxo5?seed=1", "unknown board kind 'fxo5'"),
    ("sim://fxo4?seed=-1", "option seed='-1'"),
    ("sim://fxo4/x", "names a board kind and nothing else"),
    ("sim://fxo4?trust=", "option trust=''"),
    ("sim://fxo4?network=http://x", "option network='http://x'"),
    ("sim://fxo4?clock=fast", "option clock='fast': real, virtual, granted"),
    ("tcp://127.0.0.1", "needs a host and a port"),
    ("tcp://127.0.0.1:99999", "not a number"),
    ("tcp://127.0.0.1:7001?baud=9600", "unknown option 'baud' (options: none; form: tcp://HOST:PORT)"),
    ("tcp://127.0.0.1:7001/x", "nothing else"),
    ("serial:///dev/ttyUSB0?speed=9600", "unknown option 'speed' (options: baud;"),
    ("serial:///dev/ttyUSB0?baud=fast", "option baud='fast'"),
    ("serial://dev/ttyUSB0", "three slashes"),
    ("pty:pts/7", "absolute path"),
    ("spy+spy+tcp://h:1", "once is enough"),
    ("spy+nothing", "not a transport URL"),
])
def test_bad_urls_say_what_is_wrong(url, complaint):
    with pytest.raises(UsageError) as info:
        parse_url(url)
    assert complaint in str(info.value)


def test_pty_peer_gone():
    async def main():
        master, slave = os.openpty()
        link = await Link.open(f"pty:{os.ttyname(slave)}")
        os.close(slave)
        os.close(master)
        with pytest.raises(LinkError):
            await link.request(p.Identify(), timeout=1.0)
        await link.close()

    asyncio.run(main())


def test_sim_url_starts_a_board_of_its_own_and_ends_it_with_the_link():
    async def main():
        link = await Link.open("sim://fxs4?seed=9")
        proc, scratch = link.transport.proc, link.transport._scratch.name
        identity = await link.request(p.Identify())
        assert identity.kind == p.BoardCode.FXS4 and identity.serial.startswith("FXS4-")
        # A reconnect (as after a restart that dropped the link) reaches the same board.
        await link.transport.reconnect()
        link.reader = p.FrameReader()
        assert (await link.request(p.Identify())).serial == identity.serial
        await link.close()
        return proc, scratch

    proc, scratch = asyncio.run(main())
    assert proc.returncode is not None and not os.path.exists(scratch)


def test_sim_url_with_a_missing_trust_key_is_refused():
    with pytest.raises(UsageError, match="trust=/nonexistent/k.pub"):
        asyncio.run(open_transport("sim://fxo4?trust=/nonexistent/k.pub"))
