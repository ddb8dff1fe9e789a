"""The gateway's two figures of the issue: how many channels one core carries
in real time with the media engine and detectors running, and how long a
CTI event takes from the audio block that caused it to a client.

    python tests/bench/bench_gateway.py [--channels 120,240,480,960] [--seconds 10] [--latency-seconds 10]

Capacity. E1 boards (the native simulator, 60 timeslots each, spans looped
back by the built-in line model) run on granted virtual time (SIM_ADVANCE):
every timeslot carries a nailed-up call, sends audio every 20 ms (a
recorded prompt with DTMF keys in it, from the media engine's players) and
receives it back through the board; DTMF and call-progress detection run on
every channel, answering-machine detection on a quarter of them. The
gateway runs as fast as it can; its CPU time (this process: board links,
frame codec, media engine, detectors, stacks, call model) per simulated
second gives the channels one core carries in real time:
channels x simulated seconds / CPU seconds. The boards' own CPU is printed
beside it (they are the hardware's work, on other cores).

Latency. One E1 board on the real clock; DTMF keys are sent on 100
channels so that 200 call.digits events a second come back; a CTI client
in another process subscribes to them. For each event: the time from the
start of the tick that took the audio block carrying the key's first
detectable part from the board (the block that caused it) to the client
having the event parsed. Printed: p50, p99, max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.boards import simulator                                   # noqa: E402
from gateway.clock import RealClock, VirtualClock                       # noqa: E402
from gateway.dsp.dtmf import DtmfGenerator                              # noqa: E402
from gateway.media import SamplesSource, load_prompt                    # noqa: E402
from gateway.pacer import RealPacer, VirtualPacer                       # noqa: E402
from gateway.runtime import BoardSpec, Gateway                          # noqa: E402

PROMPT = ROOT / "boards" / "sim" / "voices" / "greeting-leave-message-en.wav"
CHANNELS_PER_BOARD = 60


def board_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def looped_program(seed: int) -> np.ndarray:
    """What a channel sends, over and over: a recorded greeting with DTMF keys after it."""
    rng = np.random.default_rng(seed)
    speech = load_prompt(PROMPT)
    keys = DtmfGenerator("".join(rng.choice(list("0123456789*#"), 4)), on_ms=80, off_ms=80, level_dbm0=-8).all()
    gap = np.zeros(int(rng.integers(800, 4000)), np.int16)
    return np.concatenate([speech, gap, keys, gap]).astype(np.int16)


class Replay(SamplesSource):
    """A program played for ever (the bench's far end is the gateway's own audio, looped)."""

    def read(self, n):
        out = super().read(n)
        if len(out) < n:
            self.pos = 0
            out = np.concatenate([out, super().read(n - len(out))])
        return out


async def start_boards(count: int, scratch: Path, clock: str):
    procs, urls = [], []
    for i in range(count):
        state = scratch / f"e1-{i}"
        state.mkdir()
        proc, url = await asyncio.to_thread(simulator.start, "e1x2", state, (), i + 1, clock=clock)
        procs.append(proc)
        urls.append(url)
    return procs, urls


async def capacity(channels: int, seconds: float) -> dict:
    boards = -(-channels // CHANNELS_PER_BOARD)
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as scratch:
        procs, urls = await start_boards(boards, Path(scratch), "granted")
        try:
            clock = VirtualClock()
            gateway = Gateway(clock, country="us")
            for i, url in enumerate(urls):
                await gateway.add_board(BoardSpec(url, f"e{i}"))
            gateway.start_engine()
            used = sorted(gateway.channels)[:channels]
            programs = [looped_program(seed) for seed in range(8)]
            for k, channel_id in enumerate(used):
                detect = ("amd",) if k % 4 == 0 else ()
                call = gateway.make_call("1", channel_id=channel_id, detect=detect)
                channel = gateway.channels[channel_id]
                source = Replay(programs[k % len(programs)])
                source.pos = (k * 977) % len(source.samples)
                gateway.engine.play(channel.index, source)
                del call
            pacer = VirtualPacer(clock)
            await pacer.start(gateway)
            events = []
            gateway.listeners.append(lambda evs: events.extend(evs))
            for _ in range(25):                      # warm up: half a second
                await pacer.next_tick(gateway)
                await gateway.tick()
            ticks = int(seconds / 0.02)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            boards0 = [board_cpu(p.pid) for p in procs]
            for _ in range(ticks):
                await pacer.next_tick(gateway)
                await gateway.tick()
            cpu = time.process_time() - cpu0
            wall = time.perf_counter() - wall0
            boards_cpu = sum(board_cpu(p.pid) - b for p, b in zip(procs, boards0))
            late = sum(d.late_blocks for d in gateway.drivers)
            digits = sum(1 for e in events if e.name == "call.digits")
            await gateway.close()
        finally:
            for proc in procs:
                await asyncio.to_thread(simulator.stop, proc)
    return {"channels": channels, "boards": boards, "sim_s": seconds, "cpu_s": cpu, "wall_s": wall,
            "per_core": channels * seconds / cpu, "boards_cpu_s": boards_cpu, "digits": digits, "late": late}


def client_process(path: str, ready, out, seconds: float) -> None:
    """A CTI client in its own process: the receipt time of every call.digits event."""
    from gateway.cti.client import Client

    async def run():
        got = []
        async with Client(path) as client:
            await client.subscribe(["call.digits"])
            ready.set()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    event = await client.next_event(timeout=max(0.1, end - time.monotonic()))
                except Exception:
                    break
                got.append((event["call"], event["time"], time.monotonic()))
        out.put(got)

    asyncio.run(run())


async def latency(seconds: float, rate: float) -> dict:
    from gateway.cti.server import CtiServer
    from gateway.service import GatewayService

    with tempfile.TemporaryDirectory(prefix="bench-cti-") as scratch:
        procs, urls = await start_boards(1, Path(scratch), "real")
        try:
            clock = RealClock()
            gateway = Gateway(clock, country="us")
            await gateway.add_board(BoardSpec(urls[0], "e0"))
            gateway.start_engine()
            path = str(Path(scratch) / "cti.sock")
            server = CtiServer(GatewayService(gateway), path, clock=clock)
            await server.start()
            published = {}
            tick_started = [0.0]
            original_tick = gateway.tick

            async def timed_tick():
                tick_started[0] = time.monotonic()
                await original_tick()
            gateway.tick = timed_tick

            def publish(events):
                for event in events:
                    wire = event.wire()
                    if event.name == "call.digits":
                        published[(wire["call"], wire["time"])] = tick_started[0]
                    server.publish(wire)
            gateway.listeners.append(publish)
            calls = [gateway.make_call("1", channel_id=cid) for cid in sorted(gateway.channels)[:50]]
            ctx = multiprocessing.get_context("spawn")
            ready, out = ctx.Event(), ctx.Queue()
            child = ctx.Process(target=client_process, args=(path, ready, out, seconds + 3))
            child.start()
            await asyncio.to_thread(ready.wait, 30)
            task = asyncio.get_running_loop().create_task(gateway.run(RealPacer(clock)))
            # Each key is one call.digits event: 50 channels, a key every 250 ms each = 200 events/s.
            per_channel_gap = len(calls) / rate

            async def keys(call, offset):
                await asyncio.sleep(offset)
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    await gateway.send_dtmf(call, "5", duration_ms=60, gap_ms=60)
                    await asyncio.sleep(max(0.0, per_channel_gap - 0.12))
            await asyncio.gather(*(keys(c, i * per_channel_gap / len(calls)) for i, c in enumerate(calls)))
            got = await asyncio.to_thread(out.get, True, 30)
            child.join(10)
            gateway.stop()
            await task
            await server.close()
            await gateway.close()
        finally:
            for proc in procs:
                await asyncio.to_thread(simulator.stop, proc)
    lat = sorted((received - published[(call, t)]) * 1000 for call, t, received in got if (call, t) in published)
    return {"events": len(lat), "rate": len(lat) / seconds, "p50": statistics.median(lat),
            "p99": lat[int(len(lat) * 0.99) - 1], "max": lat[-1], "overruns": gateway.overruns}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", default="120,240,480,960")
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds per capacity run")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0, help="CTI events a second in the latency run")
    args = parser.parse_args(argv)
    print(f"Gateway capacity: E1 clear channels, looped by the board simulators, virtual time, "
          f"{args.seconds:g} simulated s each; DTMF + CPT on every channel, AMD on a quarter")
    print(f"{'channels':>8} {'boards':>6} {'gw CPU s':>9} {'wall s':>7} {'x real time':>11} "
          f"{'channels/core':>13} {'boards CPU s':>12} {'digits':>7} {'late':>5}")
    for n in [int(x) for x in args.channels.split(",") if x]:
        r = asyncio.run(capacity(n, args.seconds))
        print(f"{r['channels']:>8} {r['boards']:>6} {r['cpu_s']:>9.2f} {r['wall_s']:>7.2f} "
              f"{r['sim_s'] / r['wall_s']:>11.2f} {r['per_core']:>13.0f} {r['boards_cpu_s']:>12.2f} "
              f"{r['digits']:>7} {r['late']:>5}")
    if args.latency_seconds > 0:
        r = asyncio.run(latency(args.latency_seconds, args.rate))
        print(f"\nCTI event latency, audio block to client (real time, {r['rate']:.0f} call.digits events/s, "
              f"{r['events']} events): p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  max {r['max']:.2f} ms  "
              f"(tick overruns {r['overruns']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
