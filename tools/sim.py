"""``linegate sim``: run a board's firmware as the board simulator.

    linegate sim fxo4 --listen tcp://127.0.0.1:7001 --state ./board1 --trust release.key.pub

The native target of the firmware (boards/firmware, built with the package
into gateway/boards/bin/) runs as a process: its flash is ``DIR/flash.bin``,
its host link a TCP listener. It prints ``listening on tcp://HOST:PORT`` and
serves until interrupted.

A new state directory is a new board, made here as a factory would make it:
a factory key pair is generated into ``DIR/factory.key`` / ``DIR/factory.key.pub``,
factory firmware 1.0.0 (the native payload: opaque bytes naming the kind and
version) is signed with it, and the board is provisioned trusting both the
factory key and ``--trust KEY.pub``, with the factory image in slot A. The
bootloader checks that image like any other before booting it.

Exit codes beyond the CLI's: 6 when ``--power-cut-after-writes N`` cut the power.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from gateway.boards import image as images
from gateway.boards import simulator
from gateway.boards.kinds import KINDS as BOARD_KINDS
from gateway.errors import UsageError

KINDS = {kind.name: kind for kind in BOARD_KINDS}
FACTORY_VERSION = simulator.FACTORY_VERSION
EXECUTABLE = simulator.EXECUTABLE


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("sim", help="run the native board firmware as a simulated board",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("kind", metavar="KIND", choices=sorted(KINDS), help="board kind: " + ", ".join(sorted(KINDS)))
    p.add_argument("--listen", required=True, metavar="URL", help="tcp://HOST:PORT to serve the host link on (port 0: any free port)")
    p.add_argument("--state", metavar="DIR", help="directory keeping the board's flash across restarts (default: a temporary board)")
    p.add_argument("--trust", metavar="KEY.pub", help="public key the board trusts (needed for a new board)")
    p.add_argument("--seed", type=int, help="makes the serial number (a new board; default 0)")
    p.add_argument("--power-cut-after-writes", type=int, metavar="N", help="die abruptly right after N flash page writes")
    p.add_argument("--target", choices=["native", "cortex-m"], default="native")
    p.set_defaults(run=run)


# The executable and a new board's factory key and image are the boards package's (gateway.boards.simulator),
# shared with the sim:// transport; these names stay for callers of this module.
executable = simulator.executable
_make_factory = simulator.make_factory


def run(args) -> int:
    if args.target != "native":
        raise UsageError("--target cortex-m: the Cortex-M build is not part of this release yet; use --target native")
    if not args.listen.startswith("tcp://"):
        raise UsageError(f"--listen {args.listen}: want tcp://HOST:PORT")
    if args.power_cut_after_writes is not None and args.power_cut_after_writes < 0:
        raise UsageError("--power-cut-after-writes must be 0 or more")
    executable()  # a missing build is exit 3 before anything is made
    with tempfile.TemporaryDirectory(prefix="linegate-sim-") as scratch:
        state = Path(args.state) if args.state else Path(scratch)
        if not state.is_dir():
            if state.exists():
                raise UsageError(f"--state {state}: not a directory")
            state.mkdir(parents=True)
        if args.trust:
            images.load_public_key(args.trust)
        elif not (state / "flash.bin").exists():
            raise UsageError(f"--state {state} holds no board yet: a new board needs --trust KEY.pub")
        cmd = simulator.command(args.kind, state, args.listen, [args.trust] if args.trust else [], args.seed,
                                args.power_cut_after_writes)
        proc = subprocess.Popen(cmd)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise
