"""``linegate cti``: the CTI socket for people: watch events, place a call, send one op.

    linegate cti events [--socket PATH] [--filter PATTERN]... [--json] [--for SECONDS]
    linegate cti call NUMBER [--from N] [--group G] [--detect D]... [--socket PATH] [--timeout S] [--json]
    linegate cti send OP [JSON_ARGS] [--socket PATH] [--timeout S]

`events` prints events as they arrive, one readable line each (--json: one
JSON object a line, as the server sent it), until Ctrl-C or --for SECONDS.
`call` places a call and prints its events until it is disconnected: exit 0
when it was connected at some point, 1 when not; past --timeout S it hangs
the call up, as it does on Ctrl-C. `send` sends one op (JSON_ARGS: a JSON
object, default {}) and prints the reply line; an error reply also exits 1
(2 when the server could not take the request: bad-args, unknown-op...).
The socket defaults to $XDG_RUNTIME_DIR/linegate/cti.sock, else
./linegate.sock; one that does not answer exits 1.
"""

from __future__ import annotations

import asyncio
import json
import time

from gateway.errors import InputError, UsageError

CONNECT_TIMEOUT = 5.0
HANGUP_WAIT = 5.0  # after hanging up: how long to wait for call.disconnected
EXIT_NOT_CONNECTED = 1  # tools/cli.py: the command ran but the call failed


def add_parser(subcommands) -> None:
    from gateway.cti.protocol import DETECTORS
    from gateway.tools.probe import seconds

    p = subcommands.add_parser("cti", help="the CTI socket: watch events, place a call, send an op",
                               description=__doc__.split("\n\n")[1])
    commands = p.add_subparsers(dest="cti_command", metavar="COMMAND", parser_class=type(p))
    commands.required = True

    events = commands.add_parser("events", help="print events as they arrive")
    events.add_argument("--filter", dest="filters", action="append", metavar="PATTERN",
                        help="only these events (call.*, channel.state); repeatable; default all")
    events.add_argument("--json", action="store_true", help="one JSON object a line")
    events.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                        help="stop after this long (default: until Ctrl-C)")
    _add_socket(events)
    events.set_defaults(run=run_events)

    call = commands.add_parser("call", help="place a call and print its events until it ends")
    call.add_argument("number", metavar="NUMBER")
    call.add_argument("--from", dest="from_number", metavar="N", help="the calling number to present")
    call.add_argument("--group", metavar="G", help="the channel group to call from")
    call.add_argument("--detect", action="append", choices=DETECTORS, metavar="D",
                      help=f"a detector to run on the call ({', '.join(DETECTORS)}); repeatable")
    call.add_argument("--timeout", type=seconds, default=120.0, metavar="S",
                      help="hang up when the call has not ended after S seconds (default 120)")
    call.add_argument("--json", action="store_true", help="events as JSON lines")
    _add_socket(call)
    call.set_defaults(run=run_call)

    send = commands.add_parser("send", help="send one op and print the reply")
    send.add_argument("op", metavar="OP")
    send.add_argument("json_args", nargs="?", default="{}", metavar="JSON_ARGS",
                      help="the op's arguments as a JSON object (default {})")
    send.add_argument("--timeout", type=seconds, default=CONNECT_TIMEOUT, metavar="S",
                      help="how long to wait for the reply (default 5)")
    _add_socket(send)
    send.set_defaults(run=run_send)


def _add_socket(parser) -> None:
    parser.add_argument("--socket", metavar="PATH",
                        help="the CTI socket (default $XDG_RUNTIME_DIR/linegate/cti.sock, else ./linegate.sock)")


def format_event(event: dict) -> str:
    """``17:31:32.649 #3 call.connected call=c1 channel=fxo4-0/1``."""
    from gateway.logs import format_pairs

    stamp = event.get("time")
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        whole, millis = divmod(round(stamp * 1000), 1000)
        clock = time.strftime("%H:%M:%S", time.localtime(whole)) + f".{millis:03d}"
    else:
        clock = str(stamp)
    rest = format_pairs((key, value) for key, value in event.items() if key not in ("event", "seq", "time"))
    return f"{clock} #{event.get('seq')} {event.get('event')}" + (f" {rest}" if rest else "")


def _show(event: dict, as_json: bool) -> None:
    print(json.dumps(event, ensure_ascii=False, separators=(",", ":")) if as_json else format_event(event),
          flush=True)


# -- events

async def watch_events(path, patterns, as_json: bool, duration: float | None) -> None:
    from gateway.cti.client import Client

    async with Client(path, timeout=CONNECT_TIMEOUT, client_name="linegate cti events") as client:
        await client.subscribe(patterns)
        loop = asyncio.get_running_loop()
        end = None if duration is None else loop.time() + duration
        while True:
            wait = None if end is None else end - loop.time()
            if wait is not None and wait <= 0:
                return
            try:
                event = await asyncio.wait_for(client.next_event(), wait)
            except asyncio.TimeoutError:
                return
            _show(event, as_json)


def run_events(args) -> int:
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--for SECONDS is more than 0")
    asyncio.run(watch_events(args.socket, args.filters, args.json, args.duration))
    return 0


# -- call

async def place_call(path, number: str, *, from_number=None, group=None, detect=None, timeout: float = 120.0,
                     as_json: bool = False) -> bool:
    """Place the call and print its events until it ends; True when it was connected."""
    from gateway.cti.client import Client

    async with Client(path, timeout=CONNECT_TIMEOUT, client_name="linegate cti call") as client:
        # Subscribed before call.make: the call's first events may come before its reply.
        await client.subscribe(["call.*"])
        call = await client.call_make(number, from_=from_number, group=group, detect=detect)
        if not as_json:
            print(f"call {call} to {number}", flush=True)
        state = {"connected": False}
        try:
            ended = await _follow(client, call, timeout, as_json, state)
            if not ended:
                if not as_json:
                    print(f"no end after {timeout:g} s: hanging up", flush=True)
                await _hang_up(client, call, as_json, state)
        except asyncio.CancelledError:  # Ctrl-C: the call should not outlive the command
            await _hang_up(client, call, as_json, state)
            raise
        return state["connected"]


async def _follow(client, call, timeout, as_json, state) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        wait = end - loop.time()
        if wait <= 0:
            return False
        try:
            event = await asyncio.wait_for(client.next_event(), wait)
        except asyncio.TimeoutError:
            return False
        if event.get("call") != call:
            continue
        _show(event, as_json)
        if event["event"] == "call.connected":
            state["connected"] = True
        elif event["event"] == "call.disconnected":
            return True


async def _hang_up(client, call, as_json, state) -> None:
    from gateway.errors import CtiError

    try:
        await client.call_hangup(call)
    except CtiError as exc:
        if exc.code != "not-found":  # it ended meanwhile
            raise
        return
    await _follow(client, call, HANGUP_WAIT, as_json, state)


def run_call(args) -> int:
    connected = asyncio.run(place_call(args.socket, args.number, from_number=args.from_number, group=args.group,
                                       detect=args.detect, timeout=args.timeout, as_json=args.json))
    return 0 if connected else EXIT_NOT_CONNECTED


# -- send

def parse_json_args(text: str) -> dict:
    try:
        args = json.loads(text)
    except ValueError as exc:
        raise InputError(f"JSON_ARGS: not JSON: {exc}", field="JSON_ARGS", value=text) from None
    if not isinstance(args, dict):
        raise InputError(f"JSON_ARGS: expected a JSON object ({{\"to\": \"5550100\"}}), got {text!r}",
                         field="JSON_ARGS", value=text)
    return args


async def send_op(path, op: str, args: dict, timeout: float):
    from gateway.cti.client import Client

    async with Client(path, timeout=CONNECT_TIMEOUT, client_name="linegate cti send") as client:
        return await client.reply(op, args, reply_timeout=timeout)


def run_send(args) -> int:
    from gateway.cti.client import error_for

    op_args = parse_json_args(args.json_args)
    reply = asyncio.run(send_op(args.socket, args.op, op_args, args.timeout))
    if reply.ok:
        line = {"id": reply.id, "ok": True, "result": reply.result}
    else:
        line = {"id": reply.id, "ok": False, "error": {"code": reply.code, "message": reply.message}}
    print(json.dumps(line, ensure_ascii=False, separators=(",", ":")), flush=True)
    if not reply.ok:
        raise error_for(reply.code, reply.message, reply.id)  # the exit status, in tools/cli.py
    return 0
