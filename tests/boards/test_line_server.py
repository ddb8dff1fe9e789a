"""A simulated board with the simulated telephone network behind its lines, all real: the
native simulator started with --network, the LineServer (boards/sim/line_server.py) serving a
small network written here, and the host over a real Board link (boards/sim/LINESIDE.md;
PROTOCOL.md "Host-granted time").

Most tests run the board on granted virtual time (``clock="granted"``: SIM_ADVANCE in 20 ms
steps), so every time in them is exact; one runs in real time."""

import asyncio
import contextlib
import logging
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from gateway.boards import protocol as p
from gateway.boards import simulator
from gateway.boards.board import Board
from gateway.boards.link import Link
from gateway.boards.sim import line_link as ll
from gateway.boards.sim.line_server import LineServer, parse_listen_url
from gateway.boards.sim.lineside import BoardAttached, PortSense, SpanSense, Tock
from gateway.dsp import g711
from gateway.errors import BoardError, LinkError, UsageError
from tests.boards.test_line_side import _alaw_to_linear

TICK = 20
FULL_SCALE_0DBM0 = 22936          # peak of a 0 dBm0 sine in 16-bit terms (G.711 full scale is +3.14 dBm0)


def tone(freq: float, start_sample: int, level_dbm0: float = -10.0) -> bytes:
    """20 ms of a sine in A-law, continuing the phase of one that began at sample 0."""
    n = np.arange(start_sample, start_sample + 160)
    x = FULL_SCALE_0DBM0 * 10 ** (level_dbm0 / 20) * np.sin(2 * np.pi * freq * n / 8000)
    return g711.encode(np.round(x).astype(np.int16), "alaw").tobytes()


def frequency(blocks) -> float:
    x = _alaw_to_linear(b"".join(blocks))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / 8000)[spectrum.argmax()])


class SmallNetwork:
    """A real, small telephone network. Behind FXO ports, an exchange: 425 Hz dial tone while a
    port is off-hook, ringing on the ports and times in ``rings`` (board ms), a 1200 Hz burst
    (standing in for caller ID's FSK: what matters here is audio on an on-hook line) at the
    times in ``bursts``. Behind FXS ports, phones that go off-hook after ringing for
    ``answer_after`` ms. Behind E1 spans, a far end that sends ``span_cas``, loses the signal of
    the spans in ``no_signal``, answers each HDLC frame with its bytes reversed and each block
    of audio with the block it got. It keeps every tick and what it heard."""

    def __init__(self, rings=(), bursts=(), answer_after=300, fail_at=None):
        self.rings = list(rings)            # (port, from_ms, until_ms)
        self.bursts = list(bursts)          # (port, from_ms, until_ms)
        self.answer_after = answer_after
        self.fail_at = fail_at              # tick count at which tick() fails (a broken network)
        self.span_cas = {}                  # span -> {ts: abcd}
        self.no_signal = set()
        self.attached, self.detached, self.ticks = [], [], []
        self.heard = defaultdict(list)      # (unit, channel) -> blocks from the board
        self.samples = defaultdict(int)     # port -> samples of tone sent (phase)
        self.rung_since = {}                # FXS port -> when its ringing began
        self.offhook = set()                # FXS phones off-hook

    def attach(self, board):
        if board.serial == "refuse me":
            raise UsageError("no such subscriber")
        self.attached.append(board)

    def detach(self, serial):
        self.detached.append(serial)

    def _during(self, plan, port, now):
        return any(p == port and a <= now < b for p, a, b in plan)

    def tick(self, tick):
        if self.fail_at is not None and len(self.ticks) >= self.fail_at:
            raise RuntimeError("the exchange is on fire")
        self.ticks.append(tick)
        now = tick.time_ms
        ports = []
        for d in tick.ports:
            if d.audio is not None:
                self.heard[(d.port, 0)].append(d.audio)
            audio = None
            if d.offhook or self._during(self.bursts, d.port, now):
                audio = tone(425 if d.offhook else 1200, self.samples[d.port])
                self.samples[d.port] += 160
            if d.ringing:                                       # an FXS port rings its phone
                since = self.rung_since.setdefault(d.port, now)
                if now - since >= self.answer_after:
                    self.offhook.add(d.port)
            ports.append(PortSense(d.port, ring=self._during(self.rings, d.port, now), offhook=d.port in self.offhook,
                                   audio=audio))
        spans = []
        for s in tick.spans:
            for ts, block in s.audio.items():
                self.heard[(s.span, ts)].append(block)
            spans.append(SpanSense(s.span, signal=s.span not in self.no_signal, cas=self.span_cas.get(s.span, {}),
                                   audio=dict(s.audio), hdlc=tuple(f[::-1] for f in s.hdlc)))
        return Tock(tuple(ports), tuple(spans))


@pytest.fixture
def native(fw_bin, monkeypatch):
    monkeypatch.setenv("LINEGATE_FW_NATIVE", str(fw_bin))   # this checkout's simulator


@contextlib.asynccontextmanager
async def board_on(network, state: Path, kind="fxo4", clock="granted", listen="tcp://127.0.0.1:0", line=(),
                   spy=None):
    """A LineServer for ``network`` and a simulated board behind it; yields (server, board)."""
    async with LineServer(network, listen) as server:
        state.mkdir(parents=True, exist_ok=True)
        # In a thread: the board says HELLO to this loop's server before it listens.
        proc, url = await asyncio.to_thread(simulator.start, kind, state, (), 0, list(line), network=server.url,
                                            clock=clock)
        try:
            link = await Link.open("spy+" + url if spy else url, **({"spy": spy} if spy else {}))
            board = Board(link)
            try:
                yield server, board
            finally:
                await board.close()
        finally:
            simulator.stop(proc)


def drain(board) -> list:
    """What has come from the board and waits in the link's queue (nothing more is read)."""
    return [f.message for f in board.link.drain()]


async def run(board, until: int, start: int = 0, step: int = TICK) -> list:
    """SIM_ADVANCE in steps up to ``until``: [(now, what came with that step)]."""
    out = []
    for t in range(start + step, until + 1, step):
        assert await board.advance(t) == t
        out.append((t, drain(board)))
    return out


def audio_of(frames, unit):
    return [f for f in frames if isinstance(f, p.Audio) and f.unit == unit]


def events(steps, port=None):
    return [(f.event, f.time_ms) for _, frames in steps for f in frames
            if isinstance(f, p.PortEvent) and (port is None or f.port == port) and f.event != p.PortEventCode.LOOP_CURRENT]


def test_listen_urls():
    assert parse_listen_url("tcp://127.0.0.1:0") == ("tcp", ("127.0.0.1", 0))
    assert parse_listen_url("unix:net.sock") == ("unix", ("net.sock",))
    for url, words in [("tcp://10.0.0.1:5000", "loopback only"), ("udp://127.0.0.1:1", "want unix:PATH"),
                       ("unix:", "no socket path"), ("unix:" + "x" * 108, "at most 107 bytes")]:
        with pytest.raises(UsageError, match=words):
            parse_listen_url(url)


@pytest.mark.parametrize("clock", ["granted", "real"])
def test_dial_tone_reaches_the_host_and_the_host_reaches_the_network(native, tmp_path, clock):
    net = SmallNetwork()
    sent = [bytes([0x55 ^ i]) * 80 + bytes(range(80)) for i in range(5)]

    async def main():
        async with board_on(net, tmp_path / "b", clock=clock) as (server, board):
            assert server.boards == [net.attached[0].serial] and net.attached[0].kind == "fxo4"
            await board.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
            for block in sent:
                await board.link.send(p.Audio(0, 0, p.Law.ALAW, 0, block))
            if clock == "granted":
                frames = [f for _, fs in await run(board, 1000) for f in fs]
            else:
                frames = []
                while len(audio_of(frames, 0)) < 50:
                    frames.append((await board.link.receive(timeout=2.0)).message)
            return audio_of(frames, 0)

    blocks = asyncio.run(main())
    assert len(blocks) >= 50 and all(b.law == p.Law.ALAW for b in blocks)
    assert [b.time for b in blocks[:3]] == [0, 160, 320]
    assert abs(frequency([b.samples for b in blocks[5:50]]) - 425) <= 3      # the exchange's dial tone
    heard = net.heard[(0, 0)]
    assert heard[:5] == sent and all(h == b"\xd5" * 160 for h in heard[5:])  # then silence (A-law)
    assert [d.offhook for d in net.ticks[0].ports] == [True, False, False, False]
    assert net.ticks[0].ports[0].hook_changes and net.ticks[0].ports[0].hook_changes[-1][1] is True
    assert net.detached == [net.attached[0].serial]                         # the board's end detached it
    if clock == "granted":
        assert [t.time_ms for t in net.ticks[:3]] == [20, 40, 60]


def test_ringing_gives_ring_events_and_the_caller_id_window_carries_audio_on_hook(native, tmp_path):
    # Port 1 rings for 2 s from 200 ms; a burst comes after the first ring (3 s .. 3.5 s), as caller
    # ID does between the first and the second; no second ring comes. The channel is open from
    # RING_ON to 6 s after RING_OFF, on-hook all along.
    net = SmallNetwork(rings=[(1, 200, 2200)], bursts=[(1, 3000, 3500)])

    async def main():
        async with board_on(net, tmp_path / "b") as (_, board):
            return await run(board, 9000)

    steps = asyncio.run(main())
    ring = events(steps, 1)
    assert [e for e, _ in ring] == [p.PortEventCode.RING_ON, p.PortEventCode.RING_OFF]
    (_, on), (_, off) = ring
    assert 280 <= on <= 300 and 2260 <= off <= 2280               # 80 ms of pulses; 60 ms without one
    timed = [(now, f) for now, frames in steps for f in audio_of(frames, 1)]
    assert timed[0][0] == on - on % TICK + TICK or timed[0][0] == on - on % TICK   # opens at RING_ON
    assert off + 6000 - TICK <= timed[-1][0] <= off + 6000 + TICK             # closes 6 s after RING_OFF
    assert len(timed) == (timed[-1][0] - timed[0][0]) // TICK + 1             # one block every tick, on-hook
    burst = [f.samples for now, f in timed if 3000 <= now < 3500]     # the TOCK of a tick reaches the host with it
    assert len(burst) == 25 and abs(frequency(burst) - 1200) <= 4
    quiet = [f.samples for now, f in timed if now > 3600]
    assert quiet and all(s == b"\xd5" * 160 for s in quiet)
    assert not [f for _, frames in steps for f in audio_of(frames, 0)]       # other ports stay closed


def test_flash_and_pulse_breaks_show_in_hook_changes_at_5_ms(native, tmp_path):
    net = SmallNetwork()

    async def main():
        async with board_on(net, tmp_path / "b") as (_, board):
            await board.command(p.PortCommand(2, p.PortAction.OFF_HOOK))      # at 0
            await run(board, 500)
            await board.command(p.PortCommand(2, p.PortAction.FLASH, 100))    # at 500
            await run(board, 1000, 500)
            for digit_pulse in range(3):                                     # "3" pulsed: 60 ms break, 40 make
                await board.command(p.PortCommand(2, p.PortAction.FLASH, 60))
                await run(board, 1100 + 100 * digit_pulse, 1000 + 100 * digit_pulse)

    asyncio.run(main())
    changes = [(t.time_ms - ms, offhook) for t in net.ticks for d in t.ports if d.port == 2
               for ms, offhook in d.hook_changes]
    assert changes == [(0, True), (500, False), (600, True), (1000, False), (1060, True), (1100, False),
                       (1160, True), (1200, False), (1260, True)]
    assert all(ms % 5 == 0 for t in net.ticks for d in t.ports for ms, _ in d.hook_changes)
    assert not [c for t in net.ticks for d in t.ports if d.port != 2 for c in d.hook_changes]


def test_fxs_ringing_reaches_the_phone_and_its_answer_comes_back(native):
    net = SmallNetwork(answer_after=700)        # in the second burst of the UK cadence
    # A Unix socket, under a short directory: a socket path has at most 107 bytes.
    with tempfile.TemporaryDirectory(prefix="lg-") as d:
        async def main():
            async with board_on(net, Path(d) / "b", kind="fxs4", listen=f"unix:{d}/net.sock") as (server, board):
                assert server.url == f"unix:{d}/net.sock"
                await board.command(p.ConfigurePort(2, p.Law.ALAW, "gb"))      # 0.4 on 0.2 off 0.4 on 2 off
                await board.command(p.PortCommand(2, p.PortAction.RING_START))
                return await run(board, 2000)

        steps = asyncio.run(main())
    assert [e for e, _ in events(steps, 2)] == [p.PortEventCode.RING_ON, p.PortEventCode.RING_OFF,
                                                p.PortEventCode.RING_ON, p.PortEventCode.OFF_HOOK,
                                                p.PortEventCode.RING_OFF]
    ringing = [t.time_ms for t in net.ticks if t.ports[2].ringing]
    # The phone hears the cadence (0.4 s on from the line tick at 5 ms, 0.2 off, 0.4 on), answers at
    # 720 ms, and the ringing stops (ring trip).
    assert ringing[:2] == [20, 40] and ringing[19:21] == [400, 620] and ringing[-1] == 740
    answered = dict(events(steps, 2))[p.PortEventCode.OFF_HOOK]
    assert answered == 755                                                   # its sense from 725, 30 ms debounce
    assert all(not t.ports[2].ringing for t in net.ticks if t.time_ms > answered)
    blocks = [f for _, frames in steps for f in audio_of(frames, 2)]          # the loop is closed: audio flows
    assert blocks and blocks[0].time == 0 and len(blocks) >= (2000 - answered) // TICK - 1


def test_e1_spans_carry_audio_cas_and_hdlc_and_lose_their_signal(native, tmp_path):
    net = SmallNetwork()
    net.span_cas = {1: {5: 0b0001}}
    frame = b"\x02\x01\x7f\x00Q.931"

    async def main():
        async with board_on(net, tmp_path / "b", kind="e1x2", line=["--fault", "ais@span0:1000ms-1200ms"]) \
                as (_, board):
            await board.command(p.ConfigureSpan(0, p.Framing.CCS, True, p.LineCoding.HDB3, 1, p.Law.ULAW))
            await board.link.send(p.Hdlc(0, frame))
            await board.link.send(p.Audio(0, 7, p.Law.ULAW, 0, bytes(range(160))))
            await board.link.send(p.Cas(1, 9, 0b1101))
            steps = await run(board, 600)
            net.no_signal.add(1)
            steps += await run(board, 1600, 600)
            return steps

    steps = asyncio.run(main())
    frames = [f for _, fs in steps for f in fs]
    assert [f.frame for f in frames if isinstance(f, p.Hdlc)] == [frame[::-1]]           # there and back
    assert [(t.spans[0].hdlc) for t in net.ticks if t.spans[0].hdlc] == [(frame,)]
    back = [f for f in frames if isinstance(f, p.Audio) and f.channel == 7]
    assert back[0].samples == bytes(range(160)) and back[0].law == p.Law.ULAW
    assert net.heard[(0, 7)][0] == bytes(range(160))
    assert p.Cas(1, 5, 0b0001) in frames                                     # the far end's ABCD, after 20 ms
    assert net.ticks[-1].spans[1].cas[9] == 0b1101 and net.ticks[-1].spans[0].cas == {}   # CCS: no CAS
    alarms = [(f.span, f.alarms) for f in frames if isinstance(f, p.Alarms)]
    assert (1, p.Alarm.LOS) in alarms and (0, p.Alarm.AIS) in alarms and (0, p.Alarm(0)) in alarms


def test_granted_time_gives_one_block_per_open_channel_per_step(native, tmp_path):
    async def main():
        async with board_on(SmallNetwork(), tmp_path / "b") as (_, board):
            assert await board.advance(0) == 0                                # the clock held at 0 from boot
            await board.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
            await board.command(p.PortCommand(3, p.PortAction.OFF_HOOK))
            steps = await run(board, 400)
            assert await board.advance(100) == 400                            # at or below now: now, at once
            big = await board.advance(1400)                                   # 50 ticks in one grant
            return steps, big, drain(board)

    steps, big, after = asyncio.run(main())
    for now, frames in steps:
        assert sorted(f.unit for f in frames if isinstance(f, p.Audio)) == [0, 3], (now, frames)
    assert [f.time for _, fs in steps for f in audio_of(fs, 3)] == [160 * i for i in range(20)]
    assert big == 1400 and len(audio_of(after, 0)) == len(audio_of(after, 3)) == 50


def test_a_board_on_real_time_has_no_granted_time(native, tmp_path):
    async def main():
        async with board_on(SmallNetwork(), tmp_path / "b", clock="real") as (_, board):
            with pytest.raises(BoardError) as info:
                await board.advance(1000)
            return info.value

    error = asyncio.run(main())
    assert error.status == p.ResultCode.UNSUPPORTED and "real time" in error.detail


def test_a_virtual_run_is_the_same_twice(native, tmp_path):
    async def once(state):
        net = SmallNetwork(rings=[(1, 300, 1300)], bursts=[(1, 1800, 2000)])
        lines = []
        async with board_on(net, state, spy=lines.append) as (_, board):
            await board.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
            for i in range(3):
                await board.link.send(p.Audio(0, 0, p.Law.ALAW, 0, bytes([i]) * 160))
            await run(board, 1000)
            await board.command(p.PortCommand(0, p.PortAction.FLASH, 80))
            await run(board, 2500, 1000)
            await board.command(p.PortCommand(0, p.PortAction.ON_HOOK))
            await run(board, 3000, 2500)
        return [line for line in lines if line.startswith("<")], net.ticks

    first = asyncio.run(once(tmp_path / "one"))
    second = asyncio.run(once(tmp_path / "two"))
    assert len(first[0]) > 500 and first == second      # the same bytes from the board, the same ticks


async def silent_network(behaviour, port_holder):
    """A network server of a few lines, for what LineServer never does: it welcomes a board,
    answers ``behaviour`` ticks, then goes silent (keeping the link open) or closes it."""
    answered, links = [], []

    async def serve(reader, writer):
        links.append(writer)
        decoder = ll.LineDecoder()
        while True:
            data = await reader.read(4096)
            if not data:
                return
            for seq, message in decoder.feed(data):
                if isinstance(message, ll.Hello):
                    writer.write(ll.encode_welcome(seq))
                elif len(answered) < behaviour["answer"]:
                    answered.append(message)
                    writer.write(ll.encode_tock(Tock(), seq))
                elif behaviour["then"] == "close":
                    writer.close()
                    return
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port_holder.append(server.sockets[0].getsockname()[1])
    return server, answered, links


@pytest.mark.parametrize("then", ["silent", "close"])
def test_a_network_that_stops_answering_leaves_the_lines_unplugged(native, tmp_path, then):
    async def main():
        port = []
        server, answered, links = await silent_network({"answer": 10, "then": then}, port)
        state = tmp_path / "b"
        state.mkdir()
        proc, url = await asyncio.to_thread(simulator.start, "fxo4", state, (), 0, ["--network-timeout", "300"],
                                            network=f"tcp://127.0.0.1:{port[0]}", clock="granted")
        try:
            async with Board(await Link.open(url)) as board:
                steps = await run(board, 1000)
                logs = [f for _, fs in steps for f in fs if isinstance(f, p.Log)]
                return steps, logs, answered, proc.poll()
        finally:
            simulator.stop(proc)
            server.close()
            for writer in links:
                writer.close()

    steps, logs, answered, alive = asyncio.run(main())
    assert len(answered) == 10 and alive is None
    [lost] = [log for log in logs if log.level == p.LogLevel.ERROR]
    why = "no answer to tick 11 for 300 ms" if then == "silent" else "the network closed the link"
    assert why in lost.text and "unplugged" in lost.text, lost.text
    (event, at), = events(steps)[:1]
    assert event == p.PortEventCode.BATTERY_LOST and at == 325      # lost at tick 11 (220 ms), 100 ms from 225
    assert len(steps) == 50                                                  # and the board's time went on


def test_a_network_fault_drops_that_board_and_the_board_goes_dead(native, tmp_path, caplog):
    net = SmallNetwork(fail_at=5)

    async def main():
        async with board_on(net, tmp_path / "b") as (server, board):
            steps = await run(board, 400)
            return server.dropped, steps

    with caplog.at_level(logging.WARNING, logger="gateway.boards.sim.line_server"):
        dropped, steps = asyncio.run(main())
    [(serial, reason)] = dropped
    assert serial == net.attached[0].serial and "could not answer tick 6" in reason and "on fire" in reason
    assert net.detached == [serial]
    logs = [f.text for _, fs in steps for f in fs if isinstance(f, p.Log) and f.level == p.LogLevel.ERROR]
    assert any("the network closed the link" in t for t in logs), logs
    assert (p.PortEventCode.BATTERY_LOST, 225) in events(steps)      # lost at tick 6 (120 ms)


def test_the_server_drops_a_bad_board_refuses_another_and_serves_the_next(native, tmp_path, caplog):
    net = SmallNetwork()

    async def main():
        async with LineServer(net, "tcp://127.0.0.1:0") as server:
            host, port = server.url[len("tcp://"):].rsplit(":", 1)

            async def talk(data):
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(data)
                await writer.drain()
                got = await asyncio.wait_for(reader.read(4096), 5)
                writer.close()
                return got

            garbage = await talk(b"GET / HTTP/1.0\r\n\r\n")
            old = await talk(ll.encode_hello(ll.Hello(net_board("FXO4-OLD"), version=2)))
            tick_first = await talk(ll.encode_tick(ll.Tick("x", 0), 1))
            refused = await talk(ll.encode_hello(ll.Hello(net_board("refuse me"))))
            # A real board after all that, and one the network refuses.
            state = tmp_path / "b"
            state.mkdir()
            proc, url = await asyncio.to_thread(simulator.start, "fxo4", state, (), 3, network=server.url,
                                                clock="granted")
            try:
                async with Board(await Link.open(url)) as board:
                    assert await board.advance(100) == 100
            finally:
                simulator.stop(proc)
            return server.dropped, garbage, old, tick_first, refused

    with caplog.at_level(logging.INFO, logger="gateway.boards.sim.line_server"):
        dropped, garbage, old, tick_first, refused = asyncio.run(main())
    assert garbage == b"" and tick_first == b""                       # dropped without a word
    assert [r for _, r in dropped][0].startswith("bad frame: ") and "sync" in dropped[0][1]
    assert "not a HELLO" in dropped[1][1]
    assert ll.LineDecoder().feed(old) == [(0, ll.Refused("line-side version 2: this network speaks 1"))]
    assert ll.LineDecoder().feed(refused) == [(0, ll.Refused("no such subscriber"))]
    assert len(net.attached) == 1 and len(net.ticks) == 5
    assert "dropped" in caplog.text and "attached" in caplog.text


def net_board(serial):
    return BoardAttached("fxo4", serial, 4, 0)


def test_a_board_the_network_refuses_does_not_start(native, tmp_path):
    class Refusing(SmallNetwork):
        def attach(self, board):
            raise UsageError(f"{board.serial} is not on this exchange")

    async def main():
        async with LineServer(Refusing(), "tcp://127.0.0.1:0") as server:
            state = tmp_path / "b"
            state.mkdir()
            with pytest.raises(LinkError) as info:
                await asyncio.to_thread(simulator.start, "fxo4", state, (), 0, network=server.url)
            return str(info.value)

    why = asyncio.run(main())
    assert "refused this board: FXO4-" in why and "is not on this exchange" in why


def test_a_restarted_board_says_hello_again(native, tmp_path):
    net = SmallNetwork()

    async def main():
        async with board_on(net, tmp_path / "b") as (server, board):
            await run(board, 100)
            await board.restart()
            assert await board.advance(0) == 0                # a new boot, its clock held at 0 again
            await run(board, 100)
            return server.boards

    boards = asyncio.run(main())
    serial = net.attached[0].serial
    assert [b.serial for b in net.attached] == [serial, serial] and net.detached[0] == serial
    assert boards == [serial]
    assert [t.time_ms for t in net.ticks] == [20, 40, 60, 80, 100] * 2


def test_in_real_time_a_late_answer_costs_its_tick_and_is_logged(native, tmp_path):
    """Real time: the board waits 60 ms for a TOCK, then goes on with silence and the last sense,
    skips the late TOCK when it comes, and logs the late ticks at most once a second."""
    import time

    class Slow(SmallNetwork):
        def tick(self, tick):
            tock = super().tick(tick)
            if len(self.ticks) % 10 == 5:
                time.sleep(0.09)            # blocks this event loop: the answer is 90 ms late
            return tock

    net = Slow()

    async def main():
        async with board_on(net, tmp_path / "b", clock="real") as (_, board):
            await board.command(p.PortCommand(1, p.PortAction.OFF_HOOK))
            frames = []
            loop = asyncio.get_running_loop()
            end = loop.time() + 1.5
            while loop.time() < end:
                with contextlib.suppress(LinkError):
                    frames.append((await board.link.receive(timeout=0.2)).message)
            return frames

    frames = asyncio.run(main())
    late = [f.text for f in frames if isinstance(f, p.Log) and f.level == p.LogLevel.WARNING and "late" in f.text]
    assert 1 <= len(late) <= 3 and "no TOCK within 60 ms" in late[0], late
    blocks = audio_of(frames, 1)
    assert len(blocks) >= 40
    silent = [b for b in blocks if b.samples == b"\xd5" * 160]
    assert silent and len(silent) < len(blocks) // 2                 # the late ticks (one in ten, and a loaded machine's)
    assert abs(frequency([b.samples for b in blocks if b not in silent][:40]) - 425) <= 3


def test_linegate_sim_puts_the_network_behind_the_board(native, tmp_path, capsys):
    import os
    import subprocess
    import sys

    from gateway.boards import image as images
    from gateway.tools.cli import main

    images.write_keypair(tmp_path / "k")
    base = ["sim", "fxo4", "--listen", "tcp://127.0.0.1:0", "--trust", str(tmp_path / "k.pub")]
    assert main([*base, "--state", str(tmp_path / "x"), "--network", "http://x"]) == 2
    assert "want unix:PATH or tcp://127.0.0.1:PORT" in capsys.readouterr().err
    assert main([*base, "--state", str(tmp_path / "y"), "--hold-clock"]) == 2
    assert "give --virtual-clock too" in capsys.readouterr().err
    net = SmallNetwork()

    async def main_():
        async with LineServer(net, "tcp://127.0.0.1:0") as server:
            proc = subprocess.Popen([sys.executable, "-m", "gateway.tools.cli", *base, "--state", str(tmp_path / "b"),
                                     "--virtual-clock", "--hold-clock", "--network", server.url],
                                    stdout=subprocess.PIPE, text=True, env=dict(os.environ))
            try:
                line = await asyncio.to_thread(proc.stdout.readline)
                assert line.startswith("listening on tcp://"), line
                async with Board(await Link.open(line.split()[-1])) as board:
                    return await board.advance(100), server.boards
            finally:
                proc.terminate()
                await asyncio.to_thread(proc.wait, 10)
                proc.stdout.close()

    now, boards = asyncio.run(main_())
    assert now == 100 and boards == [net.attached[0].serial] and len(net.ticks) == 5


def test_a_sim_url_starts_a_board_behind_the_network(native):
    net = SmallNetwork()

    async def main():
        async with LineServer(net, "tcp://127.0.0.1:0") as server:
            async with await Board.open(f"sim://fxs4?seed=5&network={server.url}&clock=granted") as board:
                assert (await board.identify()).serial == net.attached[0].serial
                return await board.advance(60)

    assert asyncio.run(main()) == 60 and [t.time_ms for t in net.ticks] == [20, 40, 60]
    assert net.attached[0].kind == "fxs4" and net.detached == [net.attached[0].serial]
