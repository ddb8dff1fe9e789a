"""``linegate demo``: the gateway on the simulated network, and a short scripted scenario.

    linegate demo [--virtual-clock] [--json] [--socket PATH] [--db PATH]

It starts what `linegate serve` starts by default (simulated fxo4 and fxs4
boards behind the simulated telephone network, the CTI socket, the store),
then, as a host application would, over the CTI socket: calls a busy line,
a person and an answering machine (with answering-machine detection) and a
number that is not in service, all at once on the FXO lines; then has the
network call in with caller ID and answers it. It prints the CTI events as
they arrive (--json: as sent) and a summary; exit 0 when every call ended
the way the directory says it should, 1 otherwise. The outcome is only ever
heard: the network plays tones, recorded voices and beeps, and the native
detectors find out. --virtual-clock runs it on simulated time (seconds
instead of half a minute).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from gateway.errors import UsageError

# Numbers of the default directory (boards/sim/default_directory.toml), checked against it at start.
OUTBOUND = (
    ("busy line", "2125550120", "busy", ()),
    ("person", "2125550100", "human", ("amd",)),
    ("answering machine", "2125550110", "machine", ("amd",)),
    ("number not in service", "2125550130", "sit", ()),
)
CALLER = ("2125559001", "ALICE EXAMPLE")
TALK_SECONDS = 2.0           # how long the demo stays on a connected call before hanging up
CALL_TIMEOUT = 60.0          # simulated or real seconds a call may take at most


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("demo", help="the gateway on the simulated network, with a scripted scenario",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("--virtual-clock", action="store_true", help="run on simulated time (fast)")
    p.add_argument("--json", action="store_true", help="print events as JSON lines, as the socket sends them")
    p.add_argument("--socket", metavar="PATH", help="the CTI socket (default: in a scratch directory)")
    p.add_argument("--db", metavar="PATH", help="the call records (default: in a scratch directory)")
    p.set_defaults(run=run)


def describe(event: dict) -> str:
    """One readable line for an event."""
    name = event["event"]
    skip = {"event", "seq", "time", "call", "channel"}
    fields = " ".join(f"{k}={v}" for k, v in event.items() if k not in skip and v not in (None, "", []))
    who = event.get("call") or ""
    return f"{event['time']:.2f}  {event.get('channel', ''):8} {who:14} {name:20} {fields}"


def check_directory():
    from gateway.boards.sim.directory import load_directory
    directory = load_directory(None)
    for what, number, behaviour, _ in OUTBOUND:
        entry = directory.lookup(number)
        if entry is None or entry.behaviour != behaviour:
            raise UsageError(f"the default directory no longer has {number} as a {what} ({behaviour})")


def run(args) -> int:
    from gateway.config import default_config
    from gateway.daemon import Daemon
    from gateway.cti.client import Client

    check_directory()
    scratch = tempfile.TemporaryDirectory(prefix="linegate-demo-")
    socket_path = args.socket or str(Path(scratch.name) / "cti.sock")
    db_path = args.db or str(Path(scratch.name) / "demo.db")
    start = None

    def show(event):
        nonlocal start
        if args.json:
            print(json.dumps(event), flush=True)
            return
        start = event["time"] if start is None else start
        print(describe({**event, "time": event["time"] - start}), flush=True)

    async def scenario() -> int:
        daemon = Daemon(default_config(), socket_path=socket_path, db_path=db_path,
                        virtual_clock=args.virtual_clock, inbound=False)
        await daemon.start()
        clock = daemon.clock
        results = {}
        try:
            async with Client(socket_path) as client:
                calls = {}
                ended = {}
                events_task = asyncio.get_running_loop().create_task(
                    _watch(client, show, calls, ended))
                for what, number, behaviour, detect in OUTBOUND:
                    reply = await client.request("call.make", to=number, group="fxo", detect=list(detect))
                    calls[reply["call"]] = {"what": what, "expect": behaviour, "events": []}
                for call_id in list(calls):
                    results[call_id] = asyncio.get_running_loop().create_task(
                        _follow(client, clock, calls[call_id], ended, call_id))
                await asyncio.gather(*results.values())
                # Inbound: the network calls our last FXO line with caller ID.
                fxo = next(d for d in daemon.gateway.drivers if d.kind.name == "fxo4")
                daemon.network.place_call((fxo.identity.serial, fxo.identity.ports - 1), ani=CALLER[0],
                                          name=CALLER[1])
                inbound = {"what": "inbound call", "expect": "answered", "events": []}
                offered = await _wait_for(clock, lambda: _offered(calls, ended), CALL_TIMEOUT)
                if offered is not None:
                    calls[offered].update({k: v for k, v in inbound.items() if k != "events"})
                    inbound = calls[offered]
                    await client.request("call.answer", call=offered)
                    await clock.sleep(TALK_SECONDS)
                    await client.request("call.hangup", call=offered)
                    await _wait_for(clock, lambda: offered in ended or None, 10.0)
                    inbound["result"] = "answered" if any(e["event"] == "call.connected"
                                                          for e in inbound["events"]) else "not answered"
                    inbound["ani"] = next((e.get("ani") for e in inbound["events"] if e["event"] == "call.offered"),
                                          None)
                else:
                    calls["(inbound)"] = {**inbound, "result": "never offered"}
                await clock.sleep(0.5)
                events_task.cancel()
        finally:
            await daemon.stop()
        return _summary(calls)

    try:
        return asyncio.run(scenario())
    finally:
        scratch.cleanup()


def _offered(calls, ended):
    for call_id, info in calls.items():
        if info.get("offered") and call_id not in ended:
            return call_id
    return None


async def _watch(client, show, calls, ended):
    async for event in client.events():
        show(event)
        call_id = event.get("call")
        if call_id is None:
            continue
        info = calls.setdefault(call_id, {"what": None, "expect": None, "events": []})
        info["events"].append(event)
        if event["event"] == "call.offered":
            info["offered"] = True
        if event["event"] == "call.disconnected":
            ended[call_id] = event


async def _wait_for(clock, predicate, timeout):
    deadline = clock.now() + timeout
    while clock.now() < deadline:
        value = predicate()
        if value:
            return value
        await clock.sleep(0.05)
    return None


async def _follow(client, clock, info, ended, call_id):
    """Let one outbound call run its course; hang up once its outcome is known."""
    def outcome():
        names = [e["event"] for e in info["events"]]
        if call_id in ended:
            return "ended"
        if info["expect"] in ("human", "machine") and any(
                e["event"] == "call.amd" and (e.get("beep") or e.get("result") == "human") for e in info["events"]):
            return "decided"
        if info["expect"] in ("human", "machine") and "call.amd" in names and info["expect"] == "machine":
            return None          # wait a moment for the beep
        return None

    state = await _wait_for(clock, outcome, CALL_TIMEOUT)
    if state == "decided":
        await clock.sleep(TALK_SECONDS)
        await client.request("call.hangup", call=call_id)
        await _wait_for(clock, lambda: call_id in ended or None, 10.0)
    elif state is None and call_id not in ended:
        await client.request("call.hangup", call=call_id)
        await _wait_for(clock, lambda: call_id in ended or None, 10.0)


def _verdict(info) -> tuple[str, bool]:
    events = info["events"]
    tones = [e["tone"] for e in events if e["event"] == "call.progress"]
    amd = [e for e in events if e["event"] == "call.amd"]
    end = next((e for e in events if e["event"] == "call.disconnected"), {})
    expect = info["expect"]
    if expect == "answered":
        ani = info.get("ani")
        ok = info.get("result") == "answered" and ani == CALLER[0]       # the caller ID heard on the line
        return f"{info.get('result')}, caller {ani or 'unknown'}", ok
    if expect == "busy":
        return f"cause {end.get('cause')} ({', '.join(tones)})", end.get("cause") == 17
    if expect == "sit":
        sit = [t for t in tones if t.startswith("sit")]
        return f"cause {end.get('cause')} ({', '.join(tones)})", bool(sit) and end.get("cause") in (1, 34, 42)
    result = amd[-1]["result"] if amd else "none"          # a beep after the decision says machine
    beep = any(e.get("beep") for e in amd)
    first = amd[0]["result"] if amd else None
    text = f"amd {result}" + (", beep" if beep else "") + (f" (first said {first})" if first != result else "")
    return text, result == expect


def _summary(calls) -> int:
    print()
    ok_all = True
    for call_id, info in calls.items():
        if info.get("what") is None:
            continue
        text, ok = _verdict(info)
        ok_all &= ok
        print(f"{'ok ' if ok else 'BAD'}  {info['what']:24} {call_id:14} {text}")
    return 0 if ok_all else 1
