"""``linegate serve``: run the gateway.

    linegate serve [--config FILE] [--socket PATH] [--db PATH] [--virtual-clock] [--no-inbound] [--log-json]

Without --config it runs the embedded default: simulated fxo4 and fxs4
boards (the native firmware as processes) behind the simulated telephone
network (boards/sim: the default directory), the CTI socket at
$XDG_RUNTIME_DIR/linegate/cti.sock (else ./linegate.sock) and the
call-detail records in ./linegate.db (SQLite, WAL). --virtual-clock runs the
same code on simulated time, as fast as the machine allows (boards,
network and gateway in lock step); a config with voice modems ([[modems]],
real or simulated) keeps real time. Logs go to stderr, one structured line
per event (key=value, or JSON lines with --log-json). Stops on Ctrl-C or
SIGTERM, after closing the calls' records.
"""

from __future__ import annotations

import asyncio
import signal

from gateway.errors import UsageError


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("serve", help="run the gateway: boards, calls, the CTI socket",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("--config", metavar="FILE", help="the daemon's TOML config (gateway/config.py); "
                                                     "default: the simulated boards and network")
    p.add_argument("--socket", metavar="PATH", help="the CTI socket (default: the config's, else "
                                                     "$XDG_RUNTIME_DIR/linegate/cti.sock or ./linegate.sock)")
    p.add_argument("--db", metavar="PATH", help="the SQLite store of call records (default: the config's, "
                                                 "else ./linegate.db)")
    p.add_argument("--virtual-clock", action="store_true", help="simulated time, as fast as the CPU allows "
                                                                "(simulated boards only, no modems)")
    p.add_argument("--no-inbound", action="store_true", help="the simulated network places no calls of its own")
    p.add_argument("--log-json", action="store_true", help="log JSON lines instead of key=value")
    p.set_defaults(run=run)


def load(args):
    from gateway.config import default_config, load_config
    config = load_config(args.config) if args.config else default_config()
    if args.virtual_clock and not all(b.simulated for b in config.boards):
        raise UsageError("--virtual-clock needs every board simulated (real boards keep real time)")
    return config


def run(args) -> int:
    from gateway.daemon import Daemon
    from gateway.logs import setup_logging

    config = load(args)

    async def serve() -> int:
        daemon = Daemon(config, socket_path=args.socket, db_path=args.db, virtual_clock=args.virtual_clock,
                        inbound=False if args.no_inbound else None)
        setup_logging(config.log_level, json_lines=args.log_json, clock=daemon.clock)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await daemon.start()
            waiter = loop.create_task(stop.wait())
            ended = loop.create_task(daemon.stopped.wait())
            await asyncio.wait({waiter, ended}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            ended.cancel()
            return 0 if stop.is_set() else 1
        finally:
            await daemon.stop()

    return asyncio.run(serve())
