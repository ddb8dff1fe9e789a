"""``linegate config``: a board's spans and ports from a TOML file (format: gateway.boards.config).

    linegate config show URL
    linegate config apply URL FILE [--dry-run]
    linegate config diff URL FILE

The board's firmware does not report its configuration yet (no request for it
in PROTOCOL.md version 1, and the line side that keeps it is being built), so
this tool keeps, on this host, the last config it applied to each board (by
board kind and serial, under $LINEGATE_STATE_DIR, else $XDG_STATE_HOME/linegate,
else ~/.local/state/linegate). `show` prints what the board reports (identity,
port states, alarms) and that record, labelled as such; `diff` compares FILE
with that record. Neither claims the record is what the board holds: another
host, or a board restarted without saved config, may differ.

`apply` checks the file (errors name its line), checks it is for the board's
kind, then sends CONFIGURE_SPAN for each span and CONFIGURE_PORT for each port
in the file, and keeps the record once the board accepted every one. --dry-run
prints the requests and sends nothing. Exit codes: 2 a file with an error, 5 a
file for another board kind, 1 the board refused a setting or did not answer.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from pathlib import Path

from gateway.errors import BoardError, UsageError


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser("config", help="show, apply or diff a board's span and port config (TOML)",
                                    description=__doc__.split("\n\n")[1])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    show = actions.add_parser("show", help="the board's state and the config last applied from this host")
    show.add_argument("url", metavar="URL")
    show.set_defaults(run=run_show)
    apply = actions.add_parser("apply", help="check FILE and send it to the board")
    apply.add_argument("url", metavar="URL")
    apply.add_argument("file", metavar="FILE")
    apply.add_argument("--dry-run", action="store_true", help="check and print the requests; send nothing")
    apply.set_defaults(run=run_apply)
    difference = actions.add_parser("diff", help="FILE against the config last applied from this host")
    difference.add_argument("url", metavar="URL")
    difference.add_argument("file", metavar="FILE")
    difference.set_defaults(run=run_diff)


def state_dir() -> Path:
    if os.environ.get("LINEGATE_STATE_DIR"):
        return Path(os.environ["LINEGATE_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "linegate"


def record_path(kind: str, serial: str) -> Path:
    # The serial is the board's, from the wire: keep only what is safe in a file name.
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in serial) or "no-serial"
    return state_dir() / "applied" / f"{kind}-{safe}.toml"


def load_record(kind: str, serial: str):
    """(config, when-line) of the last apply from this host, or (None, None)."""
    from gateway.boards.config import parse_config

    path = record_path(kind, serial)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the applied-config record: {exc.strerror or exc}") from None
    header = text.splitlines()[0].lstrip("# ") if text else ""
    return parse_config(text, source=path), header


def save_record(kind: str, serial: str, config, source: str) -> Path:
    path = record_path(kind, serial)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(f"# applied {when} from {source} by linegate config apply\n" + config.to_toml(),
                           encoding="utf-8")
        os.replace(partial, path)  # never half a record
    except OSError as exc:
        raise UsageError(f"{path}: cannot keep the applied config: {exc.strerror or exc}") from None
    return path


def read_config(path: str):
    from gateway.boards.config import parse_config

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    return text, parse_config(text, source=path)


def describe(message) -> str:
    from gateway.boards import protocol as p

    if isinstance(message, p.ConfigureSpan):
        return (f"CONFIGURE_SPAN span {message.span}: framing {message.framing.name}, CRC-4 "
                f"{'on' if message.crc4 else 'off'}, coding {message.coding.name}, clock priority "
                f"{message.clock_priority}, {message.law.name}")
    return (f"CONFIGURE_PORT port {message.port}: {message.law.name}, tone zone {message.tone_zone}, rx gain "
            f"{message.rx_gain / 10:+.1f} dB, tx gain {message.tx_gain / 10:+.1f} dB")


async def _identify(url: str, also_status: bool = False):
    from gateway.boards.board import Board

    async with await Board.open(url) as board:
        ident = await board.identify()
        return ident, (await board.status() if also_status else None)


async def _apply(url: str, config, text: str, source: str, dry_run: bool) -> int:
    from gateway.boards.board import Board
    from gateway.boards.config import check_board

    async with await Board.open(url) as board:
        ident = await board.identify()
        check_board(config, ident.kind, text, source)
        requests = config.requests()
        signalling = [f"span {s.span}: {s.signalling}" for s in config.spans] + \
                     [f"port {q.port}: {q.signalling}" for q in config.ports]
        if dry_run:
            print(f"{url}: {config.kind.name} {ident.serial}: would send {len(requests)} request(s) (--dry-run):")
            for message in requests:
                print(f"  {describe(message)}")
            if signalling:
                print(f"  signalling (kept on this host, not sent): {', '.join(signalling)}")
            return 0
        for done, message in enumerate(requests):
            try:
                await board.command(message)
            except BoardError as exc:
                raise BoardError(f"{exc} (after {done} of {len(requests)} settings were applied; the record on "
                                 "this host is unchanged)", status=exc.status, detail=exc.detail) from None
            print(f"  {describe(message)}: OK")
    path = save_record(config.kind.name, ident.serial, config, source)
    print(f"{url}: applied {len(requests)} setting(s) from {source}; kept on this host as {path}")
    return 0


def run_apply(args) -> int:
    from gateway.boards.transport import parse_url

    parse_url(args.url)
    text, config = read_config(args.file)  # a bad file is exit 2 before the board is asked anything
    return asyncio.run(_apply(args.url, config, text, args.file, args.dry_run))


def run_show(args) -> int:
    from gateway.boards.kinds import kind_by_code
    from gateway.boards.transport import parse_url
    from gateway.tools.status import render_status

    parse_url(args.url)
    ident, report = asyncio.run(_identify(args.url, also_status=True))
    print("The board reports (STATUS):")
    for line in render_status(ident, report):
        print(f"  {line}")
    kind = kind_by_code(ident.kind).name
    config, header = load_record(kind, ident.serial)
    if config is None:
        print(f"No config was applied to {kind} {ident.serial} from this host. (The firmware does not report its "
              "config; only what `linegate config apply` sent from here is known.)")
        return 0
    print(f"Config last applied from this host ({header}; kept at {record_path(kind, ident.serial)}; the firmware "
          "does not report its config, so this is what was sent, not read back):")
    for line in config.to_toml().splitlines():
        print(f"  {line}")
    return 0


def run_diff(args) -> int:
    from gateway.boards.config import check_board, diff
    from gateway.boards.kinds import kind_by_code
    from gateway.boards.transport import parse_url

    parse_url(args.url)
    text, config = read_config(args.file)
    ident, _ = asyncio.run(_identify(args.url))
    check_board(config, ident.kind, text, args.file)
    kind = kind_by_code(ident.kind).name
    old, header = load_record(kind, ident.serial)
    against = f"the config last applied from this host ({header})" if old else \
        "nothing (no config was applied to this board from this host)"
    lines = diff(old, config)
    print(f"{args.file} against {against}:")
    for line in lines or ["  no differences"]:
        print(f"  {line}" if not line.startswith("  ") else line)
    return 0
