"""CTI event latency: from ``CtiServer.publish`` to the event in a client's hands.

    python tests/bench/bench_cti.py [--clients 1,10,100] [--rate 200] [--seconds 5] [--processes 1]

For each number of clients: the server runs in this process (its own event
loop, a service that does nothing), the clients in a child process (one
``gateway.cti.Client`` per connection, all in one loop, each subscribed to
every event), as a host application would be (``--processes`` spreads
the clients over several). The server publishes
``--rate`` events a second for ``--seconds``, each stamped with
``time.monotonic()`` when published (one clock for both processes on
Linux); a client takes ``monotonic()`` again when ``next_event`` hands it the
event, after the client library has read, parsed and checked it. Every
event must reach every client with its seq in order, or the run stops.

Printed per client count: events delivered, latency p50 / p99 / max over all
clients' events, the mean and largest time one ``publish`` call took (it
writes to every client's socket), and the CPU time of the server process
and of the clients' process, each as a share of one core (a clients'
process near 100 % is the bottleneck: a hundred real applications would
be a hundred processes). The issue's target is p99 <= 5 ms at 200 events/s,
measured end to end (from the audio block that caused the event) by
tests/bench/bench_gateway.py; this is the CTI layer's part of it. Nothing
is asserted about time; tests/bench/test_bench_cti.py only checks that this
runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from gateway.cti import protocol as proto  # noqa: E402
from gateway.cti.client import Client  # noqa: E402
from gateway.cti.server import CtiServer  # noqa: E402

EVENT = "bench.tick"


class IdleService:
    async def handle(self, session, op, args):
        return {}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# -- the clients (child process)

async def receive(path: str, clients: int) -> dict:
    connections = [Client(path, subscribe=True, client_name=f"bench {n}", timeout=30) for n in range(clients)]
    await asyncio.gather(*(c.connect() for c in connections))
    print("ready", flush=True)
    cpu_start, start = time.process_time(), time.monotonic()

    async def listen(client) -> list[float]:
        delays = []
        while True:
            event = await client.next_event(timeout=60)
            received = time.monotonic()
            if event.get("last"):
                return delays
            delays.append(received - event["sent"])
    results = await asyncio.gather(*(listen(c) for c in connections))
    cpu_share = (time.process_time() - cpu_start) / (time.monotonic() - start)
    for client in connections:
        await client.close()
    return {"delays": [d for per_client in results for d in per_client], "per_client": [len(r) for r in results],
            "cpu_share": cpu_share}


# -- the server (this process)

async def run_one(clients: int, rate: float, seconds: float, directory: Path, processes: int = 1) -> dict:
    ops, events = proto.OPS.copy(), proto.EVENTS.copy()
    events.register(EVENT, {"n": "a counter", "sent": "monotonic() at publish", "last": "the end"})
    path = directory / f"bench-{clients}.sock"
    server = CtiServer(IdleService(), path, ops=ops, events=events)
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    async with server:
        children = [await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--receiver", str(path), str(share), stdout=subprocess.PIPE, cwd=str(ROOT))
            for share in shares if share]
        try:
            for child in children:
                ready = await asyncio.wait_for(child.stdout.readline(), 60)
                if ready.strip() != b"ready":
                    raise SystemExit(f"the clients did not start: {ready!r}")
            count = int(rate * seconds)
            publish_times = []
            cpu_start, start = time.process_time(), time.monotonic()
            for n in range(count):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                before = time.perf_counter()
                reached = server.publish({"event": EVENT, "n": n, "sent": time.monotonic()})
                publish_times.append(time.perf_counter() - before)
                if reached != clients:
                    raise SystemExit(f"event {n} reached {reached} of {clients} clients")
            cpu = time.process_time() - cpu_start
            wall = time.monotonic() - start
            server.publish({"event": EVENT, "last": True, "sent": time.monotonic()})
            reports = [json.loads(await asyncio.wait_for(child.stdout.read(), 120)) for child in children]
        finally:
            for child in children:
                if child.returncode is None:
                    try:
                        await asyncio.wait_for(child.wait(), 10)
                    except asyncio.TimeoutError:
                        child.kill()
                        await child.wait()
    per_client = [n for report in reports for n in report["per_client"]]
    if per_client != [count] * clients:
        raise SystemExit(f"events lost: each of {clients} clients should have {count}, got {per_client}")
    delays = [d for report in reports for d in report["delays"]]
    return {"clients": clients, "events": count, "delivered": len(delays), "p50": percentile(delays, 0.50),
            "p99": percentile(delays, 0.99), "max": max(delays),
            "publish_mean": sum(publish_times) / len(publish_times), "publish_max": max(publish_times),
            "cpu_share": cpu / wall, "clients_cpu_share": sum(report["cpu_share"] for report in reports)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,10,100", help="client counts, comma-separated (default 1,10,100)")
    parser.add_argument("--rate", type=float, default=200.0, help="events a second (default 200)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of events per client count (default 5)")
    parser.add_argument("--processes", type=int, default=1,
                        help="spread the clients over this many processes (default 1)")
    parser.add_argument("--receiver", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver:
        report = asyncio.run(receive(args.receiver[0], int(args.receiver[1])))
        print(json.dumps(report))
        return 0
    counts = [int(c) for c in args.clients.split(",")]
    directory = Path(tempfile.mkdtemp(prefix="lgcti-bench-"))
    try:
        print(f"CTI latency, publish -> Client.next_event: {args.rate:g} events/s for {args.seconds:g} s per client "
              f"count; the server in one process, the clients in {args.processes} other(s)")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}")
        print()
        print(f"{'clients':>7} {'events':>7} {'delivered':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'publish us mean/max':>20} {'server CPU':>11} {'clients CPU':>12}")
        for clients in counts:
            r = asyncio.run(run_one(clients, args.rate, args.seconds, directory, min(args.processes, clients)))
            print(f"{r['clients']:>7} {r['events']:>7} {r['delivered']:>10} {r['p50'] * 1e3:>8.2f} "
                  f"{r['p99'] * 1e3:>8.2f} {r['max'] * 1e3:>8.2f} "
                  f"{r['publish_mean'] * 1e6:>11.0f} / {r['publish_max'] * 1e6:<6.0f} {r['cpu_share'] * 100:>10.1f}% "
                  f"{r['clients_cpu_share'] * 100:>11.1f}%",
                  flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
