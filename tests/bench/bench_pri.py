"""ISDN PRI call set-up rate: Linegate's Q.921/Q.931 stack against libpri, and against itself.

    python tests/bench/bench_pri.py [--calls 2000] [--concurrency 30] [--no-libpri]

Each call is a whole one: SETUP, CALL PROCEEDING, ALERTING, CONNECT, CONNECT ACKNOWLEDGE,
DISCONNECT, RELEASE, RELEASE COMPLETE, with the LAPD acknowledgements. Three runs:

- ``linegate TE -> libpri NT``: our user side places the calls (up to ``--concurrency`` at
  once, one per B-channel), libpri as the network answers each at once and releases when
  we hang up (pri_peer --auto-answer --auto-release);
- ``libpri TE -> linegate NT``: libpri places the calls one after another and hangs up on
  answer; our network side answers each at once;
- ``linegate TE -> linegate NT``: both ends ours, back to back in one process, no I/O: the
  stack's own cost.

"calls/s per core" is calls divided by the process's CPU time (user + system) for the run:
ours from ``time.process_time`` (the socket and select loop included, as a runtime would
have them), libpri's from its own getrusage (its line I/O with the test included). "stack"
is calls per CPU second spent inside ``DChannel`` calls only (Q.921 and Q.931, encoding
and decoding included); back to back it covers both ends. The machine is shared: take the
best of a few runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gateway.isdn import Role  # noqa: E402
from gateway.isdn.call_control import CallConnected, CallControlConfig, CallOffered, CallReleased  # noqa: E402
from gateway.isdn.dchannel import DChannel, DChannelUp  # noqa: E402
from gateway.isdn.q921 import SendFrame  # noqa: E402
from tests.interop.pri_harness import Session, build_peer  # noqa: E402


class Timed:
    """A DChannel whose calls are timed (CPU time spent inside the stack)."""

    def __init__(self, dchannel: DChannel):
        self.dc = dchannel
        self.spent = 0.0

    def __getattr__(self, name):
        attr = getattr(self.dc, name)
        if not callable(attr):
            return attr

        def timed(*args, **kw):
            t0 = time.process_time()
            try:
                return attr(*args, **kw)
            finally:
                self.spent += time.process_time() - t0
        return timed


def run_outbound(exe, calls: int, concurrency: int) -> dict:
    """Our TE places ``calls`` calls, ``concurrency`` at once, to libpri NT."""
    dc = Timed(DChannel(Role.USER))
    s = Session(exe, dc, "network", auto_answer=True, auto_release=True)
    try:
        s.apply(dc.start(s.now()))
        s.wait_ours(DChannelUp)
        s.wait_peer("DCHAN_UP")
        seen = len(s.events)
        channels = list(dc.dc.switch.b_channels[:concurrency])
        placed = done = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        s.command("stats")
        peer0 = float(s.wait_peer("STATS")["cpu"])
        while done < calls:
            while channels and placed < calls:
                call, out = dc.setup(s.now(), "4000", channels.pop(), calling="0215551234")
                s.apply(out)
                placed += 1
            s.pump(0.05)
            events, seen = s.events[seen:], len(s.events)
            for event in events:
                if isinstance(event, CallConnected):
                    s.apply(dc.hangup(event.call, s.now()))
                elif isinstance(event, CallReleased):
                    done += 1
                    channels.append(event.b_channel)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        s.command("stats")
        peer = float(s.wait_peer("STATS")["cpu"]) - peer0
        return {"calls": calls, "wall": wall, "cpu": cpu, "stack": dc.spent, "peer_cpu": peer}
    finally:
        s.close()


def run_inbound(exe, calls: int) -> dict:
    """libpri TE places ``calls`` calls one after another to our NT, which answers each."""
    dc = Timed(DChannel(Role.NETWORK))
    s = Session(exe, dc, "cpe")
    try:
        s.apply(dc.start(s.now()))
        s.wait_ours(DChannelUp)
        s.wait_peer("DCHAN_UP")
        seen = len(s.events)
        s.command("stats")
        peer0 = float(s.wait_peer("STATS")["cpu"])
        cpu0, wall0 = time.process_time(), time.perf_counter()
        dc.spent = 0.0
        s.command(f"bench {calls} 1 4000")
        done = 0
        while not any(e.name == "BENCH" for e in s.peer_events[-3:]):
            s.pump(0.05)
            events, seen = s.events[seen:], len(s.events)
            for event in events:
                if isinstance(event, CallOffered):
                    s.apply(dc.answer(event.call, s.now()))
                elif isinstance(event, CallReleased):
                    done += 1
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        s.command("stats")
        peer = float(s.wait_peer("STATS")["cpu"]) - peer0
        return {"calls": done, "wall": wall, "cpu": cpu, "stack": dc.spent, "peer_cpu": peer}
    finally:
        s.close()


def run_back_to_back(calls: int, concurrency: int) -> dict:
    """Our TE against our NT in one process: frames handed over directly, virtual time."""
    te = DChannel(Role.USER)
    nt = DChannel(Role.NETWORK, config=CallControlConfig(auto_proceeding=True))
    now = 0.0
    done = 0
    free = list(te.switch.b_channels[:concurrency])

    def deliver(outputs, sender):
        nonlocal done
        queue = [(sender, item) for item in outputs]
        while queue:
            side, item = queue.pop(0)
            if isinstance(item, SendFrame):
                other = nt if side is te else te
                queue += [(other, o) for o in other.receive(item.frame, now)]
            elif side is nt and isinstance(item, CallOffered):
                queue += [(nt, o) for o in nt.alerting(item.call, now) + nt.answer(item.call, now)]
            elif side is te and isinstance(item, CallConnected):
                queue += [(te, o) for o in te.hangup(item.call, now)]
            elif side is te and isinstance(item, CallReleased):
                done += 1
                free.append(item.b_channel)

    deliver(te.start(now), te)
    deliver(nt.start(now), nt)
    placed = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while done < calls:
        while free and placed < calls:
            _, out = te.setup(now, "4000", free.pop(), calling="0215551234")
            placed += 1
            deliver(out, te)
        now += 0.01
        deliver(te.tick(now), te)
        deliver(nt.tick(now), nt)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"calls": calls, "wall": wall, "cpu": cpu, "stack": cpu, "peer_cpu": None}


def report(name: str, r: dict) -> str:
    calls = r["calls"]
    ours = f"{calls / r['cpu']:8.0f}" if r["cpu"] > 0 else "       -"
    stack = f"{calls / r['stack']:8.0f}" if r["stack"] > 0 else "       -"
    if r["peer_cpu"]:
        peer = f"{calls / r['peer_cpu']:8.0f}"
        peer_cpu = f"{r['peer_cpu']:7.3f}"
    else:
        peer, peer_cpu = "       -", "      -"
    return (f"{name:28s} {calls:6d} {r['wall']:7.2f} {calls / r['wall']:8.0f} {r['cpu']:7.3f} {ours} {stack} "
            f"{peer_cpu} {peer}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=30, help="calls at once when we place them (<= 30)")
    parser.add_argument("--no-libpri", action="store_true", help="only the back-to-back run")
    args = parser.parse_args(argv)
    concurrency = max(1, min(args.concurrency, 30))
    print(f"{'run':28s} {'calls':>6s} {'wall s':>7s} {'calls/s':>8s} {'cpu s':>7s} {'per core':>8s} "
          f"{'stack':>8s} {'libpri s':>7s} {'per core':>8s}")
    print("(calls/s: by wall time; per core: calls / CPU seconds, ours then libpri's; stack: "
          "calls / CPU seconds inside DChannel)")
    if not args.no_libpri:
        with tempfile.TemporaryDirectory() as tmp:
            exe, why = build_peer(Path(tmp))
            if exe is None:
                print(f"libpri runs skipped: {why}")
            else:
                print(report("linegate TE -> libpri NT", run_outbound(exe, args.calls, concurrency)), flush=True)
                print(report("libpri TE -> linegate NT", run_inbound(exe, args.calls)), flush=True)
    print(report("linegate TE -> linegate NT", run_back_to_back(args.calls, concurrency)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
