"""``linegate config``: a board's spans and ports from a TOML file (format: gateway.boards.config).

    linegate config show URL
    linegate config apply URL FILE [--dry-run]
    linegate config diff URL FILE

`show` prints what the board reports (identity, port states, alarms) and the
line config it holds, read back with CONFIG_GET (PROTOCOL.md): framing, CRC-4,
coding, clock priority and law per span; law, tone zone and gains per port.
`diff` compares FILE with that. Signalling is the host's business and never
sent to a board, so it is shown and compared from the record this tool keeps
of the last config it applied to each board (by board kind and serial, under
$LINEGATE_STATE_DIR, else $XDG_STATE_HOME/linegate, else
~/.local/state/linegate). A board that cannot answer CONFIG_GET (firmware
older than it: BAD_REQUEST for its type; UNSUPPORTED; the bootloader running)
gets the old behaviour: the record stands in for the whole config, labelled as
what was sent from here, not what the board holds.

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


SPAN_HELD = ("framing", "crc4", "coding", "clock_priority", "law")  # what CONFIGURE_SPAN stores on the board
PORT_HELD = ("law", "tone_zone", "rx_gain", "tx_gain")


def held_keys(flat: dict) -> dict:
    """The settings of a config (``BoardConfig.flat()``) that a board holds, gains rounded to 0.1 dB."""
    out = {}
    for key, value in flat.items():
        parts = key.split(".")
        if len(parts) == 3 and ((parts[0] == "span" and parts[2] in SPAN_HELD) or
                                (parts[0] == "port" and parts[2] in PORT_HELD)):
            out[key] = round(value, 1) if parts[2].endswith("_gain") else value
    return out


async def read_board_config(board, ident) -> tuple[dict | None, str]:
    """The config the board holds as flat keys (like ``BoardConfig.flat()``, without signalling), or
    (None, why) when the board cannot say (UNSUPPORTED, firmware without CONFIG_GET, bootloader)."""
    from gateway.boards import protocol as p
    from gateway.boards.config import CODINGS, FRAMINGS, LAWS

    names = {kind: {v: k for k, v in table.items()} for kind, table in
             (("framing", FRAMINGS), ("coding", CODINGS), ("law", LAWS))}
    flat: dict = {}
    try:
        for i in range(ident.spans):
            s = await board.config_get(p.ConfigWhat.SPAN, i)
            flat.update({f"span.{i}.framing": names["framing"][s.framing], f"span.{i}.crc4": s.crc4,
                         f"span.{i}.coding": names["coding"][s.coding], f"span.{i}.clock_priority": s.clock_priority,
                         f"span.{i}.law": names["law"][s.law]})
        for i in range(ident.ports):
            q = await board.config_get(p.ConfigWhat.PORT, i)
            flat.update({f"port.{i}.law": names["law"][q.law], f"port.{i}.tone_zone": q.tone_zone,
                         f"port.{i}.rx_gain": round(q.rx_gain / 10, 1), f"port.{i}.tx_gain": round(q.tx_gain / 10, 1)})
    except BoardError as exc:
        old_firmware = exc.status == p.ResultCode.BAD_REQUEST and (exc.detail or "").startswith("type")
        if exc.status in (p.ResultCode.UNSUPPORTED, p.ResultCode.WRONG_STATE) or old_firmware:
            why = "its firmware predates CONFIG_GET" if old_firmware else f"{exc.status.name}: {exc.detail}"
            return None, why
        raise
    return flat, ""


async def _identify(url: str, also_status: bool = False, read_config: bool = False):
    from gateway.boards.board import Board

    async with await Board.open(url) as board:
        ident = await board.identify()
        report = await board.status() if also_status else None
        held = await read_board_config(board, ident) if read_config else (None, "not asked")
        return ident, report, held


def render_held(kind: str, ident, held: dict, config, header) -> list[str]:
    """``show``'s lines for a board that reported its config: TOML of what it holds, with the signalling
    of the host's record (marked as such), then any setting the board holds other than the record's."""
    from gateway.boards.config import _ranges, _toml, diff_flat

    spans = {s.span: s for s in config.spans} if config else {}
    ports = {q.port: q for q in config.ports} if config else {}
    source = f"the config last applied here ({header})" if config else \
        "none recorded: no config was applied to this board from this host"
    lines = [f"Config the board holds (read back with CONFIG_GET); signalling stays on this host, from {source}:",
             f"  kind = {_toml(kind)}"]
    for unit, count, recorded in (("span", ident.spans, spans), ("port", ident.ports, ports)):
        for i in range(count):
            lines += ["", f"  [{unit}.{i}]"]
            lines += [f"  {key.split('.')[2]} = {_toml(value)}" for key, value in held.items()
                      if key.startswith(f"{unit}.{i}.")]
            if i in recorded:
                lines.append(f"  signalling = {_toml(recorded[i].signalling)}  # kept on this host")
                if unit == "span":
                    lines.append(f"  [span.{i}.channels]  # kept on this host")
                    lines += [f'  "{r}" = {_toml(v)}' for r, v in _ranges(recorded[i].channels)]
    drift = [f"  {line}" for line in diff_flat(held_keys(config.flat()), held) if line.startswith("~")] \
        if config else []
    if drift:
        lines += ["The board no longer holds what was last applied from this host (another host, or a reset); "
                  "applied -> held:"] + drift
    return lines


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
    ident, report, (held, why) = asyncio.run(_identify(args.url, also_status=True, read_config=True))
    print("The board reports (STATUS):")
    for line in render_status(ident, report):
        print(f"  {line}")
    kind = kind_by_code(ident.kind).name
    config, header = load_record(kind, ident.serial)
    if held is not None:
        for line in render_held(kind, ident, held, config, header):
            print(line)
        return 0
    print(f"The board cannot report its config ({why}); showing what this host knows.")
    if config is None:
        print(f"No config was applied to {kind} {ident.serial} from this host, so nothing is known of its config.")
        return 0
    print(f"Config last applied from this host ({header}; kept at {record_path(kind, ident.serial)}; what was "
          "sent, not read back):")
    for line in config.to_toml().splitlines():
        print(f"  {line}")
    return 0


def run_diff(args) -> int:
    from gateway.boards.config import check_board, diff, diff_flat
    from gateway.boards.kinds import kind_by_code
    from gateway.boards.transport import parse_url

    parse_url(args.url)
    text, config = read_config(args.file)
    ident, _, (held, why) = asyncio.run(_identify(args.url, read_config=True))
    check_board(config, ident.kind, text, args.file)
    kind = kind_by_code(ident.kind).name
    old, header = load_record(kind, ident.serial)
    recorded = f"the config last applied from this host ({header})" if old else \
        "nothing (no config was applied to this board from this host)"
    if held is not None:
        # What the board holds is compared with the board; signalling (host-side) with the record.
        new_flat = config.flat()
        old_flat = {k: v for k, v in (old.flat() if old else {}).items() if k not in held_keys(new_flat)}
        old_flat.update(held)
        old_flat["kind"] = kind
        lines = diff_flat(old_flat, {**new_flat, **held_keys(new_flat)})
        print(f"{args.file} against the board's config (CONFIG_GET); signalling against {recorded}:")
    else:
        lines = diff(old, config)
        print(f"{args.file} against {recorded} (the board cannot report its config: {why}):")
    for line in lines or ["  no differences"]:
        print(f"  {line}" if not line.startswith("  ") else line)
    return 0

