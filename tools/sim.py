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
for the host (as fast as the host takes its output), or, once a host has sent
SIM_ADVANCE, only up to the time the host granted (PROTOCOL.md, "Host-granted
time"); ``--hold-clock`` holds it at 0 from boot until the first grant.

``--network URL`` (``unix:PATH`` or ``tcp://127.0.0.1:PORT``) puts the simulated
telephone network served there behind the board's lines instead of the built-in
exchange, phones and loops (boards/sim/LINESIDE.md; conditions from ``--fault``
and ``--script`` still apply on top).

``--target cortex-m`` runs the same firmware sources cross-built for a
Cortex-M3 under ``qemu-system-arm -M mps2-an385`` instead (built first when
its ELF is missing or older than its sources; needs gcc-arm-none-eabi,
libnewlib-arm-none-eabi and qemu-system-arm, else exit 3). The board is made
from the same state directory: its identity from ``board.txt``, its flash
from ``flash.bin`` when a native run left one, else provisioned afresh with
the factory image and keys. QEMU loads these as a provisioning block into
the board's RAM (boards/firmware/README.md); flash writes last until QEMU
exits (they survive RESET) and are not written back to DIR.

``linegate sim modem --listen pty [--number 201=busy] [--call "at=2s from=5551234"]
[--country CC] [--script FILE]`` runs a simulated V.253 voice modem instead, on a
pseudo-terminal, with a scripted line behind it (gateway/modem/sim_modem.py);
``linegate sim modem --listen pty --network URL [--country CC] [--seed N]`` puts
a line of the simulated telephone network behind it instead, an fxo4 of one
port with the serial ``V253-<N in hex>`` (gateway/modem/network_line.py), real
time only.

Exit codes beyond the CLI's: 6 when ``--power-cut-after-writes N`` cut the power.

``linegate sim directory [--file F] [--json]`` checks and shows the simulated
telephone network's directory (gateway.tools.sim_directory).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from pathlib import Path

from gateway.boards import image as images
from gateway.boards import simulator
from gateway.boards.kinds import KINDS as BOARD_KINDS
from gateway.errors import NativeError, UsageError

KINDS = {kind.name: kind for kind in BOARD_KINDS}
FACTORY_VERSION = simulator.FACTORY_VERSION
EXECUTABLE = simulator.EXECUTABLE


# `linegate sim TOOL ...`: tools of the simulation that are not a board kind, each a module with
# add_arguments(parser) and run(args); their options join the parser in a group of their own.
TOOLS = {"directory": "gateway.tools.sim_directory"}


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("sim", help="run the native board firmware as a simulated board "
                                           "(linegate sim directory: the simulated network's directory)",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("kind", metavar="KIND", choices=sorted(KINDS) + ["modem"] + sorted(TOOLS),
                   help="board kind: " + ", ".join(sorted(KINDS)) + "; or modem, a simulated V.253 voice modem "
                        "(--listen pty; its line: --number, --call, --country, --script); or "
                        + ", ".join(sorted(TOOLS)))
    p.add_argument("--listen", metavar="URL",
                   help="tcp://HOST:PORT to serve the host link on (port 0: any free port), or pty for a pseudo-terminal "
                        "(its path is printed: listening on pty:/dev/pts/N)")
    p.add_argument("--state", metavar="DIR", help="directory keeping the board's flash across restarts (default: a temporary board)")
    p.add_argument("--trust", metavar="KEY.pub", help="public key the board trusts (needed for a new board)")
    p.add_argument("--seed", type=int, help="makes the serial number (a new board; default 0)")
    p.add_argument("--power-cut-after-writes", type=int, metavar="N", help="die abruptly right after N flash page writes")
    p.add_argument("--fault", action="append", default=[], metavar="WHAT@UNIT[:FROM[-UNTIL]]",
                   help="a line condition, e.g. los@span1, ais@span0:2s-5s, offhook@port1:500ms (repeatable)")
    p.add_argument("--script", metavar="FILE", help="line conditions, one a line (# comments); for a modem, "
                                                    "its line's script (gateway/modem/sim_line.py)")
    p.add_argument("--number", action="append", default=[], metavar="N=BEHAVIOUR",
                   help="modem: what dialling N does, e.g. 201=busy, '202=answer rings=2 audio=speech' (repeatable)")
    p.add_argument("--call", action="append", default=[], metavar="OPTIONS",
                   help="modem: an inbound call, e.g. 'at=2s from=5551234 name=\"JOHN DOE\"' (repeatable)")
    p.add_argument("--country", metavar="CC", help="modem: the line's tone plan (default us)")
    p.add_argument("--virtual-clock", action="store_true",
                   help="board time advances only while the board waits for the host, without sleeping")
    p.add_argument("--hold-clock", action="store_true",
                   help="with --virtual-clock: time stands at 0 until a host grants some (SIM_ADVANCE)")
    p.add_argument("--exit-with-parent", action="store_true",
                   help="end when the process that started this one ends (a daemon or a test that owns it)")
    p.add_argument("--network", metavar="URL",
                   help="the simulated telephone network behind the lines: unix:PATH or tcp://127.0.0.1:PORT")
    p.add_argument("--target", choices=["native", "cortex-m"], default="native",
                   help="native: the firmware as a process (default); cortex-m: cross-built, under qemu-system-arm")
    for tool in TOOLS.values():
        importlib.import_module(tool).add_arguments(p)
    p.set_defaults(run=run)


# The executable and a new board's factory key and image are the boards package's (gateway.boards.simulator),
# shared with the sim:// transport; these names stay for callers of this module.
executable = simulator.executable
_make_factory = simulator.make_factory


def run(args) -> int:
    if args.kind in TOOLS:
        board_options = [f"--{name.replace('_', '-')}" for name in ("listen", "state", "trust", "seed",
                         "power_cut_after_writes", "script", "country") if getattr(args, name) is not None]
        board_options += ["--fault"] * bool(args.fault) + ["--virtual-clock"] * args.virtual_clock
        board_options += ["--target"] * (args.target != "native")
        board_options += ["--number"] * bool(args.number) + ["--call"] * bool(args.call)
        if board_options:
            raise UsageError(f"linegate sim {args.kind}: {', '.join(board_options)}: "
                             f"a board's or a modem's options, not {args.kind}'s")
        return importlib.import_module(TOOLS[args.kind]).run(args)
    if getattr(args, "file", None) is not None or getattr(args, "json", False):
        raise UsageError(f"--file and --json are options of linegate sim {' / '.join(TOOLS)}, not of a board")
    if args.listen is None:
        raise UsageError(f"linegate sim {args.kind}: --listen URL is required (tcp://HOST:PORT or pty)")
    if args.kind == "modem":
        return _run_modem(args)
    if args.number or args.call or args.country:
        raise UsageError("--number, --call and --country are for `linegate sim modem`")
    if not args.listen.startswith("tcp://") and args.listen != "pty":
        raise UsageError(f"--listen {args.listen}: want tcp://HOST:PORT or pty")
    if args.power_cut_after_writes is not None and args.power_cut_after_writes < 0:
        raise UsageError("--power-cut-after-writes must be 0 or more")
    if args.target == "cortex-m":
        return _run_cortex_m(args)
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
        for fault in args.fault:
            cmd += ["--fault", fault]     # checked by the simulator, which knows the board's ports and spans
        if args.script:
            if not Path(args.script).is_file():
                raise UsageError(f"--script {args.script}: no such file")
            cmd += ["--script", args.script]
        if args.hold_clock and not args.virtual_clock:
            raise UsageError("--hold-clock holds a virtual clock: give --virtual-clock too")
        if args.virtual_clock:
            cmd += ["--virtual-clock"]
        if args.exit_with_parent:
            cmd += ["--exit-with-parent"] + (["--hold-clock"] if args.hold_clock else [])
        if args.network:
            if not (args.network.startswith("unix:") or args.network.startswith("tcp://")):
                raise UsageError(f"--network {args.network}: want unix:PATH or tcp://127.0.0.1:PORT")
            cmd += ["--network", args.network]
        return _serve(subprocess.Popen(cmd))


def _run_modem(args) -> int:
    """``linegate sim modem``: a simulated voice modem on a pty (gateway.modem.sim_modem)."""
    import shlex
    import time

    from gateway.modem import sim_line, sim_modem

    board_only = [name for name, given in (("--state", args.state), ("--trust", args.trust),
                                           ("--seed", args.seed is not None and not args.network),
                                           ("--power-cut-after-writes", args.power_cut_after_writes),
                                           ("--fault", args.fault), ("--virtual-clock", args.virtual_clock),
                                           ("--hold-clock", args.hold_clock),
                                           ("--target cortex-m", args.target == "cortex-m")) if given]
    if board_only:
        raise UsageError(f"{', '.join(board_only)}: for boards, not for `linegate sim modem`"
                         + (" (--seed goes with --network)" if args.seed is not None and not args.network else ""))
    if args.network:
        from gateway.modem.network_line import NetworkLine, line_serial

        scripted = [name for name, given in (("--number", args.number), ("--call", args.call),
                                             ("--script", args.script)) if given]
        if scripted:
            raise UsageError(f"{', '.join(scripted)}: a scripted line's; with --network the network's "
                             "directory says what numbers do")
        line = NetworkLine(args.network, serial=line_serial(args.seed or 0), country=args.country or "us",
                           on_event=sim_modem.log_to_stderr)
        return sim_modem.serve(args.listen, line, exit_with_parent=args.exit_with_parent)
    # Without numbers of its own, the line knows the default directory (201 busy, 202 answers ...).
    script = sim_line.LineScript(numbers={} if args.number or args.script else dict(sim_line.DEFAULT_NUMBERS))
    if args.country:
        script = sim_line.parse_script(f"country {shlex.quote(args.country)}", source="--country", base=script)
    for entry in args.number:
        number, sep, behaviour = entry.partition("=")
        if not sep:
            raise UsageError(f"--number {entry!r}: want N=BEHAVIOUR, e.g. 201=busy")
        script = sim_line.parse_script(f"number {number} {behaviour}", source=f"--number {entry}", base=script)
    for call in args.call:
        script = sim_line.parse_script(f"call {call}", source=f"--call {call}", base=script)
    if args.script:
        if not Path(args.script).is_file():
            raise UsageError(f"--script {args.script}: no such file")
        script = sim_line.parse_script(Path(args.script).read_text(), source=args.script, base=script)
    line = sim_line.ScriptedLine(script, epoch=time.time(), on_event=sim_modem.log_to_stderr)
    return sim_modem.serve(args.listen, line, exit_with_parent=args.exit_with_parent)


def _serve(proc: subprocess.Popen) -> int:
    """Waits for the board process; takes it down with us on Ctrl-C or SIGTERM
    (Python's default SIGTERM would leave it running, orphaned, holding the port)."""
    def on_term(signum, frame):
        raise KeyboardInterrupt

    # Signal handlers belong to the main thread; elsewhere (run in-process) the caller owns them.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if main else None
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


# ---- --target cortex-m: the cross-built firmware under QEMU ----

FIRMWARE_SOURCES = Path(__file__).resolve().parent.parent / "boards" / "firmware"
QEMU = "qemu-system-arm"
PROVISION_FORMAT = 1
PROVISION_FACTORY_IMAGE, PROVISION_WHOLE_FLASH = 1, 2
PROVISION_HEADER = 256   # target/cortex-m/main.c lays the block out; keep in step
NATIVE_HW_REVISION = 1   # what the native target gives a new board


def _firmware_builder():
    """boards/firmware/build_firmware.py of the checkout (it is not a package)."""
    script = FIRMWARE_SOURCES / "build_firmware.py"
    if not script.is_file():
        raise NativeError(f"--target cortex-m builds the firmware from its sources, which are not here ({script}): "
                          "run linegate from a checkout, or set LINEGATE_FW_CORTEX_M to a built ELF")
    spec = importlib.util.spec_from_file_location("build_firmware", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cortex_m_elf(builder) -> Path:
    """The Cortex-M ELF, built (into boards/bin/ beside the native executable) when missing or stale.
    LINEGATE_FW_CORTEX_M names a prebuilt one instead."""
    override = os.environ.get("LINEGATE_FW_CORTEX_M")
    if override:
        if not Path(override).is_file():
            raise NativeError(f"LINEGATE_FW_CORTEX_M={override}: no such file")
        return Path(override)
    elf = FIRMWARE_SOURCES.parent / "bin" / builder.CORTEX_M_ELF
    if elf.is_file() and elf.stat().st_mtime >= max(os.stat(p).st_mtime for p in builder.cortex_m_inputs()):
        return elf
    print(f"building {elf.name} ...", file=sys.stderr, flush=True)
    try:
        report = builder.build_cortex_m(str(elf))
    except RuntimeError as exc:
        raise NativeError(str(exc)) from None
    print(report, end="", file=sys.stderr, flush=True)
    return elf


def serial_number(kind: str, seed: int) -> str:
    """The serial the native target derives from a seed (target/native/main.c, serial_from_seed)."""
    return f"{kind.upper()}-{zlib.crc32(seed.to_bytes(8, 'little')):08X}"[:16]


def _read_board_txt(path: Path) -> tuple[str, int, int]:
    words = path.read_text().split()
    try:
        if words[0::2] != ["kind", "seed", "hw_revision"]:
            raise ValueError
        return words[1], int(words[3]), int(words[5])
    except (ValueError, IndexError):
        raise UsageError(f"{path} is damaged (want: kind K / seed N / hw_revision N)") from None


def provision_block(kind: str, hw_revision: int, serial: str, keys: list[bytes], *, factory_image: bytes = None,
                    flash: bytes = None) -> bytes:
    """What QEMU loads at the firmware's provisioning address (layout: target/cortex-m/main.c)."""
    if flash is None and not 1 <= len(keys) <= 4:
        raise UsageError(f"a new board trusts 1 to 4 keys, not {len(keys)}")
    contents, data = (PROVISION_WHOLE_FLASH, flash) if flash is not None else (PROVISION_FACTORY_IMAGE, factory_image)
    header = struct.pack("<4sHBB16sBBHI128s", b"LGPV", PROVISION_FORMAT, KINDS[kind].code, hw_revision,
                         serial.encode(), len(keys), contents, 0, len(data), b"".join(keys))
    return header.ljust(PROVISION_HEADER, b"\0") + data


def _run_cortex_m(args) -> int:
    if args.power_cut_after_writes is not None:
        raise UsageError("--power-cut-after-writes: the native target only (the power cut is a model of the simulator)")
    if args.fault or args.script or args.virtual_clock or args.network:
        raise UsageError("--fault, --script, --virtual-clock and --network: the native target only (its line models)")
    builder = _firmware_builder()
    if shutil.which(QEMU) is None:
        raise NativeError(f"--target cortex-m needs {QEMU}, which was not found: {builder.CORTEX_M_APT}")
    elf = cortex_m_elf(builder)
    host, _, port = args.listen[len("tcp://"):].rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen {args.listen}: want tcp://HOST:PORT")
    trusted = [images.load_public_key(args.trust)] if args.trust else []

    with tempfile.TemporaryDirectory(prefix="linegate-sim-") as scratch:
        state = Path(args.state) if args.state else Path(scratch) / "board"
        if not state.is_dir():
            if state.exists():
                raise UsageError(f"--state {state}: not a directory")
            state.mkdir(parents=True)
        board_txt = state / "board.txt"
        if board_txt.exists():
            kind, seed, hw_revision = _read_board_txt(board_txt)
            if kind != args.kind:
                raise UsageError(f"--state {state} holds a {kind} board, not {args.kind}")
            if args.seed is not None and args.seed != seed:
                raise UsageError(f"--state {state} holds the board of seed {seed}, not {args.seed}")
        else:
            kind, seed, hw_revision = args.kind, args.seed or 0, NATIVE_HW_REVISION
        serial = serial_number(kind, seed)
        flash_bin = state / "flash.bin"
        if flash_bin.exists():
            flash = flash_bin.read_bytes()
            if len(flash) != KINDS[kind].flash.total:
                raise UsageError(f"--state {state}: flash.bin is {len(flash)} bytes, not {KINDS[kind].flash.total}")
            # The flash's own key block decides what the bootloader trusts.
            block = provision_block(kind, hw_revision, serial, [], flash=flash)
        else:
            if not trusted:
                raise UsageError(f"--state {state} holds no board yet: a new board needs --trust KEY.pub")
            factory_pub, image = state / "factory.key.pub", state / f"factory-{FACTORY_VERSION}.img"
            if not (factory_pub.exists() and image.exists()):
                factory_pub, image = _make_factory(state, kind)
            block = provision_block(kind, hw_revision, serial, [images.load_public_key(factory_pub), *trusted],
                                    factory_image=image.read_bytes())
            if not board_txt.exists():
                board_txt.write_text(f"kind {kind}\nseed {seed}\nhw_revision {hw_revision}\n")
        block_path = Path(scratch) / "provision.bin"
        block_path.write_bytes(block)

        # We bind the port and hand QEMU the listening socket: a busy port is
        # our clear error, port 0 works, and the port is known before QEMU runs.
        try:
            listener = socket.create_server((host, int(port)))
        except OSError as exc:
            raise UsageError(f"--listen {args.listen}: {exc.strerror or exc}") from None
        with listener:
            fd = listener.fileno()
            # No network: QEMU still warns that the board's own Ethernet chip
            # (lan9118) "has no peer"; harmless.
            cmd = [QEMU, "-M", "mps2-an385", "-nodefaults", "-display", "none", "-nic", "none",
                   "-chardev", f"socket,id=link,fd={fd},server=on,wait=off", "-serial", "chardev:link",
                   "-kernel", str(elf),
                   "-device", f"loader,file={block_path},addr={builder.CORTEX_M_PROVISION_ADDR:#x}"]
            proc = subprocess.Popen(cmd, pass_fds=[fd])
            bound_host, bound_port = listener.getsockname()[:2]
        print(f"listening on tcp://{bound_host}:{bound_port}", flush=True)
        return _serve(proc)
