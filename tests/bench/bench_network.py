"""The simulated telephone network's cost per line: microseconds per line per 20 ms tick.

    python tests/bench/bench_network.py [--lines 480] [--seconds 20] [--repeats 3] [--seed 1]

``--lines`` FXO lines (on FXO4 boards, four lines each) of one
``TelephoneNetwork`` with the default directory, all busy: each goes off-hook
(dial tone), dials a number of the directory in DTMF (real audio, heard by
the network's native DTMF detector: one bank per board, fed once per tick)
and stays in the call, which runs its course (ringback, people talking,
machines' greetings and beeps, busy and congestion tones, SITs and
announcements, fax and modem tones, the far end clearing and the disconnect
tone). The numbers go round the directory's entries, so every behaviour is
in the mix. Inbound traffic is off (it would only add idle lines).

Timed: CPU time (``time.process_time``, one thread) of ``tick()`` for every
board, per phase: ``dialling`` (the first 3 s: dial tone and digits, the
DTMF detector on), then ``in call`` (``--seconds`` more); best of
``--repeats`` fresh networks. Printed: microseconds per line per tick, and
the share of one core the network needs for those lines in real time (a
tick every 20 ms). Building the ticks is outside the timing (a line server
decodes them from the wire). Nothing is asserted about time;
tests/bench/test_bench_network.py only checks that this runs.
"""

from __future__ import annotations

import argparse
import collections
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from gateway.boards.sim.lineside import BoardAttached, PortDrive, Tick  # noqa: E402
from gateway.boards.sim.network import TelephoneNetwork  # noqa: E402
from gateway.dsp import g711  # noqa: E402
from gateway.dsp.dtmf import DtmfGenerator  # noqa: E402

TICK_MS = 20
BLOCK = 160
PORTS = 4
DIAL_PHASE_S = 3.0
DIAL_AFTER_MS = 300     # the port dials this long after going off-hook


def workload(network, lines: int, seconds: float, law: str = "ulaw"):
    """The ticks of every board, tick by tick: [[Tick for each board] for each tick]."""
    boards = [f"FXO4-{i:08X}" for i in range(-(-lines // PORTS))]
    for serial in boards:
        network.attach(BoardAttached("fxo4", serial, PORTS, 0))
    numbers = [entry.pattern.example() for entry in network.directory.entries]
    idle = bytes([0xFF]) * BLOCK
    audio = {}
    for i in range(lines):
        digits = g711.encode(DtmfGenerator(numbers[i % len(numbers)], 70, 70, -8.0).all(), law).tobytes()
        lead = bytes([0xFF]) * (DIAL_AFTER_MS * 8)
        stream = lead + digits
        audio[i] = [stream[k:k + BLOCK].ljust(BLOCK, b"\xff") for k in range(0, len(stream), BLOCK)]
    ticks = []
    for step in range(round((DIAL_PHASE_S + seconds) * 1000 / TICK_MS)):
        now = 1000 + (step + 1) * TICK_MS
        row = []
        for b, serial in enumerate(boards):
            drives = []
            for port in range(PORTS):
                i = b * PORTS + port
                if i >= lines:
                    break
                blocks = audio[i]
                drives.append(PortDrive(port, law, offhook=True, hook_changes=((10, True),) if step == 0 else (),
                                        audio=blocks[step] if step < len(blocks) else idle))
            row.append(Tick(serial, now, drives))
        ticks.append(row)
    return ticks


def timed(lines: int, seconds: float, seed: int):
    network = TelephoneNetwork(seed=seed, inbound=False)
    ticks = workload(network, lines, seconds)
    split = round(DIAL_PHASE_S * 1000 / TICK_MS)
    phases = []
    for part in (ticks[:split], ticks[split:]):
        start = time.process_time()
        for row in part:
            for tick in row:
                network.tick(tick)
        phases.append((time.process_time() - start, len(part)))
    return phases, network


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=480)
    parser.add_argument("--seconds", type=float, default=20.0, help="of calls after the 3 s of dialling")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    best = None
    for _ in range(args.repeats):
        phases, network = timed(args.lines, args.seconds, args.seed)
        if best is None or sum(p[0] for p in phases) < sum(p[0] for p in best[0]):
            best = (phases, network)
    phases, network = best
    calls = [c for c in network.history() if c.direction == "out"]
    behaviours = collections.Counter(c.behaviour for c in calls)
    states = collections.Counter(network.line(b, p).state for b in {c.serial for c in calls}
                                 for p in range(PORTS))
    print(f"Simulated network: {args.lines} FXO lines on {-(-args.lines // PORTS)} fxo4 boards, default directory, "
          f"best of {args.repeats}, one thread")
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}")
    print(f"calls dialled: {len(calls)}/{args.lines} ({', '.join(f'{b} {n}' for b, n in sorted(behaviours.items()))}); "
          f"lines at the end: {', '.join(f'{s} {n}' for s, n in sorted(states.items()))}")
    print()
    print(f"{'phase':<12}{'ticks':>8}{'CPU s':>9}{'us/line/tick':>15}{'share of a core':>17}")
    total_cpu = total_ticks = 0
    for name, (cpu, count) in zip(("dialling", "in call"), phases):
        per_line = cpu / count / args.lines * 1e6
        share = cpu / (count * TICK_MS / 1000) * 100
        print(f"{name:<12}{count:>8}{cpu:>9.3f}{per_line:>15.2f}{share:>16.1f}%")
        total_cpu += cpu
        total_ticks += count
    per_line = total_cpu / total_ticks / args.lines * 1e6
    print(f"{'all':<12}{total_ticks:>8}{total_cpu:>9.3f}{per_line:>15.2f}"
          f"{total_cpu / (total_ticks * TICK_MS / 1000) * 100:>16.1f}%")
    print(f"\n{args.lines} busy lines cost {per_line:.2f} us per line per tick: one core carries about "
          f"{int(TICK_MS * 1000 / per_line):,} such lines in real time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
