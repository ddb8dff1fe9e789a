"""Simulated boards behind the simulated network, on granted virtual time: how fast it runs.

    python tests/bench/bench_lineside.py [--boards 4] [--seconds 10] [--step-ms 20] [--network tcp|unix]

``--boards`` fxo4 simulators (``--virtual-clock --hold-clock --network URL``) with all four
ports off-hook, behind a LineServer (boards/sim/line_server.py) in a process of its own whose
network answers every off-hook port with a 425 Hz tone. This process is the host: one Board
link per simulator, SIM_ADVANCE to every board in steps of ``--step-ms`` (all boards at once,
then the next step), every AUDIO block read and counted.

Printed: simulated seconds per real second; CPU time (user + system, from /proc) of the board
processes, of the line server and of this host process, each per simulated second per channel
and as the channels one core would carry in real time at that cost. Nothing is asserted;
tests/bench/test_bench_lineside.py only checks that this runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from gateway.boards import protocol as p  # noqa: E402
from gateway.boards import simulator  # noqa: E402
from gateway.boards.board import Board  # noqa: E402
from gateway.boards.sim.lineside import PortSense, Tock  # noqa: E402

PORTS = 4
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


class ToneNetwork:
    """425 Hz at -10 dBm0 on every off-hook port: 425 Hz makes 8.5 cycles a block, so two blocks repeat."""

    def __init__(self):
        from gateway.dsp import g711

        n = np.arange(320)
        x = np.round(22936 * 10 ** (-10 / 20) * np.sin(2 * np.pi * 425 * n / 8000)).astype(np.int16)
        codes = g711.encode(x, "alaw").tobytes()
        self.blocks = (codes[:160], codes[160:])
        self.ticks = 0

    def attach(self, board):
        pass

    def detach(self, serial):
        pass

    def tick(self, tick):
        self.ticks += 1
        block = self.blocks[tick.time_ms // 20 % 2]
        return Tock(tuple(PortSense(d.port, audio=block if d.offhook else None) for d in tick.ports))


async def serve(listen: str) -> None:
    from gateway.boards.sim.line_server import LineServer

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with LineServer(ToneNetwork(), listen) as server:
        print(f"serving {server.url}", flush=True)
        await stop.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


async def drive(urls: list[str], seconds: float, step_ms: int) -> tuple[float, float, int]:
    boards = [await Board.open(url) for url in urls]
    try:
        for board in boards:
            for port in range(PORTS):
                await board.command(p.PortCommand(port, p.PortAction.OFF_HOOK))
        steps = int(seconds * 1000) // step_ms
        blocks = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(1, steps + 1):
            await asyncio.gather(*(b.advance(i * step_ms) for b in boards))
            for board in boards:
                blocks += sum(type(f.message) is p.Audio for f in board.link.drain())
        return time.perf_counter() - wall, time.process_time() - cpu, blocks
    finally:
        for board in boards:
            await board.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--boards", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10.0, help="simulated seconds")
    ap.add_argument("--step-ms", type=int, default=20, help="SIM_ADVANCE step")
    ap.add_argument("--network", choices=["tcp", "unix"], default="tcp", help="the line link: loopback TCP or a Unix socket")
    ap.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)   # the line server's own process
    args = ap.parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0

    procs = []
    with tempfile.TemporaryDirectory(prefix="bench-lineside-") as scratch:
        listen = "tcp://127.0.0.1:0" if args.network == "tcp" else f"unix:{scratch}/net.sock"
        server = subprocess.Popen([sys.executable, __file__, "--serve", listen], stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline()
            if not line.startswith("serving "):
                raise SystemExit(f"the line server did not start: {line!r}")
            url = line.split()[1]
            urls = []
            for i in range(args.boards):
                state = Path(scratch) / f"b{i}"
                state.mkdir()
                proc, board_url = simulator.start("fxo4", state, (), i, network=url, clock="granted")
                procs.append(proc)
                urls.append(board_url)
            before = [cpu_seconds(pr.pid) for pr in procs], cpu_seconds(server.pid)
            wall, host_cpu, blocks = asyncio.run(drive(urls, args.seconds, args.step_ms))
            boards_cpu = sum(cpu_seconds(pr.pid) for pr in procs) - sum(before[0])
            server_cpu = cpu_seconds(server.pid) - before[1]
        finally:
            for proc in procs:
                simulator.stop(proc)
            server.terminate()
            server.wait(10)
            server.stdout.close()

    channels = args.boards * PORTS
    simulated = int(args.seconds * 1000) // args.step_ms * args.step_ms / 1000
    expected = channels * int(simulated * 1000) // 20
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{args.boards} fxo4 boards, {channels} channels off-hook, {simulated:g} s simulated in "
          f"{args.step_ms} ms grants, line link over {args.network}: {wall:.2f} s real")
    print(f"AUDIO blocks to the host: {blocks} (expected {expected})")
    print(f"speed: {simulated / wall:.1f} simulated s per real s ({simulated * channels / wall:.0f} channel-s per s)")
    for name, cpu in (("board processes", boards_cpu), ("line server", server_cpu), ("host (this process)", host_cpu)):
        per = cpu / (simulated * channels)
        carried = f"{1 / per:.0f} channels per core in real time" if per > 0 else "too little to measure"
        print(f"{name:20s} CPU {cpu:6.2f} s = {per * 1000:.3f} ms per simulated channel-second: {carried}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
