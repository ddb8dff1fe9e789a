"""``linegate probe``: find boards and say what they are, what their slots hold and what is wrong.

    linegate probe [URL...] [--serial] [--json]

Asks each board IDENTIFY, BL_SLOT_INFO for both slots and STATUS. With no URL
it tries every serial port of this machine (pyserial's list_ports); --serial
adds them to the URLs given. A serial port with no board behind it is passed
over quietly after a short wait; a URL given on the command line that has no
board is named on stderr and makes the exit status 1.

--json prints one JSON list, an object per board found: url, kind, serial,
hw_revision, firmware_version, bootloader_version ("X.Y.Z"), active_slot and
pending_slot ("A"/"B"/null), running ("firmware"/"bootloader"), capabilities,
ports, spans, slots (state, version, length, sha256) and status (alarms per
span, state per port, uptime), or status_error when the board gave none.
"""

from __future__ import annotations

import asyncio
import json
import sys

from gateway.errors import BoardError, InputError, LinkError, UsageError

SERIAL_TIMEOUT = 0.5  # a port with no board behind it: this long, then move on


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("probe", help="find boards; show identity, slots and alarms",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("urls", nargs="*", metavar="URL", help="tcp://HOST:PORT, serial:///dev/ttyUSB0, sim://fxo4...")
    p.add_argument("--serial", action="store_true", help="also try every serial port (the default with no URL)")
    add_timeout(p)
    p.add_argument("--json", action="store_true", help="a JSON list, one object per board")
    p.set_defaults(run=run)


def add_timeout(parser) -> None:
    parser.add_argument("--timeout", type=seconds, default=2.0, metavar="SECONDS",
                        help="how long to wait for each reply of the board (default 2)")


def seconds(text: str) -> float:
    """argparse type: a number of seconds, more than 0 and at most 600."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds, more than 0 and at most 600")
    return value


def slot_name(slot) -> str | None:
    return None if slot is None else slot.name


def flag_names(flags) -> list[str]:
    return [member.name for member in type(flags) if member in flags]


def describe_status(report) -> dict:
    return {"ports": [{"port": i, "state": flag_names(port.state), "loop_ma": port.loop_ma}
                      for i, port in enumerate(report.ports)],
            "spans": [{"span": i, "alarms": flag_names(span.alarms), "crc4_errors": span.crc4_errors,
                       "slips": span.slips, "bpv": span.bpv} for i, span in enumerate(report.spans)],
            "uptime_ms": report.uptime_ms}


async def probe_one(url: str, *, timeout: float) -> dict:
    """What ``url``'s board says about itself; LinkError/InputError/UsageError when there is none."""
    from gateway.boards.board import Board
    from gateway.boards.kinds import kind_by_code
    from gateway.boards.protocol import Slot

    board = await Board.open(url, timeout=max(timeout, 1.0), reply_timeout=timeout)
    try:
        ident = await board.identify(timeout=timeout)
        slots = []
        for slot in Slot:
            info = await board.slot_info(slot)
            slots.append({"slot": slot.name, "state": info.state.name, "version": str(info.version),
                          "length": info.length, "sha256": info.sha256.hex()})
        found = {"url": url, "kind": kind_by_code(ident.kind).name, "serial": ident.serial,
                 "hw_revision": ident.hw_revision, "firmware_version": str(ident.firmware_version),
                 "bootloader_version": str(ident.bootloader_version), "active_slot": slot_name(ident.active_slot),
                 "pending_slot": slot_name(ident.pending_slot), "running": ident.running.name.lower(),
                 "capabilities": flag_names(ident.capabilities), "ports": ident.ports, "spans": ident.spans,
                 "slots": slots}
        try:
            found["status"] = describe_status(await board.status())
        except BoardError as exc:  # e.g. a bootloader that does not report line status
            found["status_error"] = str(exc)
        return found
    finally:
        await board.close()


def render(board: dict) -> str:
    """The text a technician reads for one board."""
    running = "running its firmware" if board["running"] == "firmware" else "IN THE BOOTLOADER (no valid firmware)"
    pending = board["pending_slot"]
    lines = [f"{board['url']}: {board['kind']} serial {board['serial'] or '(none)'}, hardware revision "
             f"{board['hw_revision']}, {running}",
             f"  firmware {board['firmware_version']} from slot {board['active_slot']}"
             + (f", slot {pending} pending (on trial until confirmed)" if pending else "")
             + f"; bootloader {board['bootloader_version']}",
             f"  capabilities {', '.join(board['capabilities']) or 'none'}; {board['ports']} ports, "
             f"{board['spans']} spans"]
    for slot in board["slots"]:
        if slot["state"] == "EMPTY":
            lines.append(f"  slot {slot['slot']}  EMPTY")
        else:
            lines.append(f"  slot {slot['slot']}  {slot['state']:<8} {slot['version']:<8} {slot['length']:>8} bytes"
                         f"  sha256 {slot['sha256'][:16]}")
    status = board.get("status")
    if status is None:
        lines.append(f"  alarms: unknown ({board.get('status_error')})")
    else:
        raised = [f"span {s['span']}: {'+'.join(s['alarms'])}" for s in status["spans"] if s["alarms"]]
        lines.append("  alarms: " + ("; ".join(raised) if raised else "none"))
    return "\n".join(lines)


async def _probe_all(urls: list[str], scanned: list[str], timeout: float) -> tuple[list[dict], list[str]]:
    found, failed = [], []
    for url in urls:
        try:
            found.append(await probe_one(url, timeout=timeout))
        except (LinkError, InputError, UsageError) as exc:
            failed.append(str(exc))
    for url in scanned:
        try:
            found.append(await probe_one(url, timeout=min(timeout, SERIAL_TIMEOUT)))
        except (LinkError, InputError, UsageError):
            pass  # a serial port without a board (a modem, a console): not an error of the probe
    return found, failed


def run(args) -> int:
    from gateway.boards.transport import parse_url, serial_ports

    for url in args.urls:
        parse_url(url)  # a malformed URL is bad usage (exit 2) before any board is asked
    scanned = [u for u in serial_ports() if u not in args.urls] if args.serial or not args.urls else []
    found, failed = asyncio.run(_probe_all(args.urls, scanned, args.timeout))
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        for board in found:
            print(render(board))
        if not found:
            where = ", ".join(args.urls + scanned) or "no URL given and no serial port on this machine"
            print(f"no board found ({where})")
    for message in failed:
        print(f"linegate: {message}", file=sys.stderr)
    return 1 if failed or not found else 0
