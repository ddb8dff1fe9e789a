"""``linegate sim``: run a board's firmware as the board simulator.

    linegate sim fxo4 --listen tcp://127.0.0.1:7001 --state ./board1 --trust release.key.pub

The native target of the firmware (boards/firmware, built with the package
into gateway/boards/bin/) runs as a process: its flash is ``DIR/flash.bin``,
its host link a TCP listener or a pseudo-terminal. It prints ``listening on
tcp://HOST:PORT`` (or ``listening on pty:/dev/pts/N``) and serves until interrupted.

A new state directory is a new board, made here as a factory would make it:
a factory key pair is generated into ``DIR/factory.key`` / ``DIR/factory.key.pub``,
factory firmware 1.0.0 (the native payload: opaque bytes naming the kind and
version) is signed with it, and the board is provisioned trusting both the
factory key and ``--trust KEY.pub``, with the factory image in slot A. The
bootloader checks that image like any other before booting it.

The line side is modelled (boards/sim/line_model.h): FXO ports see an
exchange, FXS ports a phone, E1 spans are looped, every channel's audio comes
back. ``--fault WHAT@UNIT[:FROM[-UNTIL]]`` (repeatable) and ``--script FILE``
(one such condition a line) say what the line does and when, e.g.
``--fault los@span1`` (span 1 unplugged from the start), ``--fault ais@span0:2s-5s``,
``--fault offhook@port1:500ms-3s`` (the phone on FXS port 1 is picked up).
``--virtual-clock`` runs the board on a clock that advances only while it waits
for the host (as fast as the host takes its output).

Exit codes beyond the CLI's: 6 when ``--power-cut-after-writes N`` cut the power.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from gateway.boards import image as images
from gateway.boards.kinds import KINDS as BOARD_KINDS
from gateway.boards.protocol import Version
from gateway.errors import NativeError, UsageError

KINDS = {kind.name: kind for kind in BOARD_KINDS}
FACTORY_VERSION = Version(1, 0, 0)
EXECUTABLE = "linegate-fw-native"


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("sim", help="run the native board firmware as a simulated board",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("kind", metavar="KIND", choices=sorted(KINDS), help="board kind: " + ", ".join(sorted(KINDS)))
    p.add_argument("--listen", required=True, metavar="URL",
                   help="tcp://HOST:PORT to serve the host link on (port 0: any free port), or pty for a pseudo-terminal "
                        "(its path is printed: listening on pty:/dev/pts/N)")
    p.add_argument("--state", metavar="DIR", help="directory keeping the board's flash across restarts (default: a temporary board)")
    p.add_argument("--trust", metavar="KEY.pub", help="public key the board trusts (needed for a new board)")
    p.add_argument("--seed", type=int, help="makes the serial number (a new board; default 0)")
    p.add_argument("--power-cut-after-writes", type=int, metavar="N", help="die abruptly right after N flash page writes")
    p.add_argument("--fault", action="append", default=[], metavar="WHAT@UNIT[:FROM[-UNTIL]]",
                   help="a line condition, e.g. los@span1, ais@span0:2s-5s, offhook@port1:500ms (repeatable)")
    p.add_argument("--script", metavar="FILE", help="line conditions, one a line (# comments)")
    p.add_argument("--virtual-clock", action="store_true",
                   help="board time advances only while the board waits for the host, without sleeping")
    p.add_argument("--target", choices=["native", "cortex-m"], default="native")
    p.set_defaults(run=run)


def executable() -> Path:
    """The built native firmware; LINEGATE_FW_NATIVE overrides (tests, sanitizer builds)."""
    override = os.environ.get("LINEGATE_FW_NATIVE")
    path = Path(override) if override else Path(__file__).resolve().parent.parent / "boards" / "bin" / EXECUTABLE
    if not path.is_file():
        # Installed layout: gateway/tools/sim.py beside gateway/boards/bin.
        import gateway.boards

        path = Path(gateway.boards.__file__).resolve().parent / "bin" / EXECUTABLE
    if not path.is_file() or not os.access(path, os.X_OK):
        raise NativeError(f"the board simulator is not built ({path} is missing): run `pip install -e .` "
                          "or `python setup.py build_ext --inplace` (needs gcc)")
    return path


def _make_factory(state: Path, kind: str) -> tuple[Path, Path]:
    """A factory key pair and factory firmware signed with it, in ``state``."""
    key_path, image_path = state / "factory.key", state / "factory-1.0.0.img"
    images.write_keypair(key_path, overwrite=True)
    payload = f"Linegate native firmware {FACTORY_VERSION} for {kind} (factory)\n".encode()
    # Any hardware revision: the factory image is made for the board at hand.
    image = images.build_image(payload, KINDS[kind], FACTORY_VERSION, images.load_private_key(key_path),
                               hw_revision_min=0, hw_revision_max=255)
    image_path.write_bytes(image)
    return Path(str(key_path) + ".pub"), image_path


def run(args) -> int:
    if args.target != "native":
        raise UsageError("--target cortex-m: the Cortex-M build is not part of this release yet; use --target native")
    if not args.listen.startswith("tcp://") and args.listen != "pty":
        raise UsageError(f"--listen {args.listen}: want tcp://HOST:PORT or pty")
    if args.power_cut_after_writes is not None and args.power_cut_after_writes < 0:
        raise UsageError("--power-cut-after-writes must be 0 or more")
    binary = executable()
    with tempfile.TemporaryDirectory(prefix="linegate-sim-") as scratch:
        state = Path(args.state) if args.state else Path(scratch)
        if not state.is_dir():
            if state.exists():
                raise UsageError(f"--state {state}: not a directory")
            state.mkdir(parents=True)
        cmd = [str(binary), "--kind", args.kind, "--state", str(state), "--listen", args.listen]
        if args.trust:
            images.load_public_key(args.trust)
            cmd += ["--trust", args.trust]
        if not (state / "flash.bin").exists():
            if not args.trust:
                raise UsageError(f"--state {state} holds no board yet: a new board needs --trust KEY.pub")
            factory_pub, image = _make_factory(state, args.kind)
            cmd += ["--trust", str(factory_pub), "--factory-image", str(image)]
        if args.seed is not None:
            cmd += ["--seed", str(args.seed)]
        if args.power_cut_after_writes is not None:
            cmd += ["--power-cut-after-writes", str(args.power_cut_after_writes)]
        for fault in args.fault:
            cmd += ["--fault", fault]     # checked by the simulator, which knows the board's ports and spans
        if args.script:
            if not Path(args.script).is_file():
                raise UsageError(f"--script {args.script}: no such file")
            cmd += ["--script", args.script]
        if args.virtual_clock:
            cmd += ["--virtual-clock"]
        proc = subprocess.Popen(cmd)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise
