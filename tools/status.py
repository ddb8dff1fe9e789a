"""``linegate status``: a board's alarms, counters and port states; with --watch, its events as they come.

    linegate status URL [--watch] [--for SECONDS]

Asks STATUS once and prints each port (hook, ringing, battery, polarity, loop
current) and each span (LOS, AIS, LOF, RAI; CRC-4 errors, slips, bipolar
violations). --watch then prints every PORT_EVENT, ALARMS and LOG the board
sends, one line each with the board's time, until Ctrl-C (or --for SECONDS).

Exit status: 0 when no span is in alarm at the STATUS, 1 when one is (as a
line failure; a monitoring script can act on it), 1 too when the board does
not answer.
"""

from __future__ import annotations

import asyncio
import time

from gateway.errors import LinkError
from gateway.tools.probe import add_timeout

EVENT_WAIT = 0.5
EXIT_LINE_ALARM = 1  # tools/cli.py: a failure of the board or line


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("status", help="alarms, counters and port states (--watch: events)",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("url", metavar="URL")
    p.add_argument("--watch", action="store_true", help="then print events (port, alarms, log) as they come")
    add_timeout(p)
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                   help="with --watch: stop after this long (default: until Ctrl-C)")
    p.set_defaults(run=run)


def render_status(ident, report) -> list[str]:
    from gateway.boards.kinds import kind_by_code
    from gateway.tools.probe import flag_names

    lines = [f"{kind_by_code(ident.kind).name} {ident.serial}, firmware {ident.firmware_version}, "
             f"up {report.uptime_ms / 1000:.1f} s"]
    for i, port in enumerate(report.ports):
        state = flag_names(port.state)
        hook = "off-hook" if "OFF_HOOK" in state else "on-hook"
        extra = [word for flag, word in (("RINGING", "ringing"), ("BATTERY", "battery"),
                                         ("REVERSED", "reversed polarity")) if flag in state]
        if "BATTERY" not in state:
            extra.append("no battery")
        lines.append(f"  port {i}: {hook}, {', '.join(extra)}, loop {port.loop_ma} mA")
    for i, span in enumerate(report.spans):
        alarms = "+".join(flag_names(span.alarms)) or "no alarms"
        lines.append(f"  span {i}: {alarms}; CRC-4 errors {span.crc4_errors}, slips {span.slips}, BPV {span.bpv}")
    return lines


def render_event(message) -> str | None:
    from gateway.boards import protocol as p
    from gateway.tools.probe import flag_names

    if isinstance(message, p.PortEvent):
        value = f" {message.value} mA" if message.event == p.PortEventCode.LOOP_CURRENT else ""
        return f"[{message.time_ms / 1000:10.3f}] port {message.port}: {message.event.name}{value}"
    if isinstance(message, p.Alarms):
        alarms = "+".join(flag_names(message.alarms)) or "cleared"
        return (f"[{message.time_ms / 1000:10.3f}] span {message.span}: {alarms}; CRC-4 errors "
                f"{message.crc4_errors}, slips {message.slips}, BPV {message.bpv}")
    if isinstance(message, p.Log):
        return f"[log {message.level.name.lower()}] {message.text}"
    return None  # audio, CAS and HDLC are `monitor`'s and `capture`'s, not status


async def status(url: str, watch: bool, duration: float | None, out=print, timeout: float = 2.0) -> bool:
    """Prints the board's status (and events while watching); True when a span was in alarm."""
    from gateway.boards.board import Board

    async with await Board.open(url, reply_timeout=timeout) as board:
        ident = await board.identify()
        report = await board.status()
        for line in render_status(ident, report):
            out(line)
        in_alarm = any(span.alarms for span in report.spans)
        if not watch:
            return in_alarm
        out("watching events (Ctrl-C to stop)" if duration is None else f"watching events for {duration:g} s")
        end = None if duration is None else time.monotonic() + duration
        while end is None or time.monotonic() < end:
            wait = EVENT_WAIT if end is None else max(0.01, min(EVENT_WAIT, end - time.monotonic()))
            try:
                frame = await board.link.receive(timeout=wait)
            except LinkError as exc:
                if "nothing received" in str(exc):
                    continue  # a quiet line is not a failure
                raise
            line = render_event(frame.message)
            if line:
                out(line)
        return in_alarm


def run(args) -> int:
    from gateway.boards.transport import parse_url
    from gateway.errors import UsageError

    parse_url(args.url)
    if args.duration is not None and (not args.watch or args.duration <= 0):
        raise UsageError("--for SECONDS goes with --watch and is more than 0")
    in_alarm = asyncio.run(status(args.url, args.watch, args.duration, out=lambda line: print(line, flush=True),
                                  timeout=args.timeout))
    return EXIT_LINE_ALARM if in_alarm else 0
