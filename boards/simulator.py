"""Starting the board simulator: the native firmware executable on a state directory.

``linegate sim`` (gateway.tools.sim) and the ``sim://KIND?seed=N`` transport both
start boards through here, so a board made by either is made the same way: a
new state directory gets a factory key pair and factory firmware 1.0.0 signed
with it (IMAGE.md, "The native target"), and the executable provisions the
flash from them. The process prints ``listening on tcp://HOST:PORT`` once ready.

``network`` puts the simulated telephone network at that URL behind the board's
lines (``--network``, boards/sim/LINESIDE.md: the board says HELLO before it
listens, so a board the network refuses does not start); ``clock`` is ``real``,
``virtual`` (``--virtual-clock``: time passes while the board waits for its host)
or ``granted`` (``--virtual-clock --hold-clock``: time stands until the host
grants some with SIM_ADVANCE, PROTOCOL.md "Host-granted time").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gateway.boards import image as images
from gateway.boards.kinds import kind_by_name
from gateway.boards.protocol import Version
from gateway.errors import LinkError, NativeError, UsageError

FACTORY_VERSION = Version(1, 0, 0)
EXECUTABLE = "linegate-fw-native"
START_TIMEOUT = 10.0
CLOCKS = {"real": [], "virtual": ["--virtual-clock"], "granted": ["--virtual-clock", "--hold-clock"]}


def executable() -> Path:
    """The built native firmware; LINEGATE_FW_NATIVE overrides (tests, sanitizer builds)."""
    override = os.environ.get("LINEGATE_FW_NATIVE")
    path = Path(override) if override else Path(__file__).resolve().parent / "bin" / EXECUTABLE
    if not path.is_file() or not os.access(path, os.X_OK):
        raise NativeError(f"the board simulator is not built ({path} is missing): run `pip install -e .` "
                          "or `python setup.py build_ext --inplace` (needs gcc)")
    return path


def make_factory(state: Path, kind: str) -> tuple[Path, Path]:
    """A factory key pair and factory firmware signed with it, in ``state``: (KEY.pub, IMAGE)."""
    key_path, image_path = state / "factory.key", state / "factory-1.0.0.img"
    images.write_keypair(key_path, overwrite=True)
    payload = f"Linegate native firmware {FACTORY_VERSION} for {kind} (factory)\n".encode()
    # Any hardware revision: the factory image is made for the board at hand.
    image = images.build_image(payload, kind_by_name(kind), FACTORY_VERSION, images.load_private_key(key_path),
                               hw_revision_min=0, hw_revision_max=255)
    image_path.write_bytes(image)
    return Path(str(key_path) + ".pub"), image_path


def command(kind: str, state: Path, listen: str, trust: list | tuple = (), seed: int | None = None,
            power_cut_after_writes: int | None = None, network: str | None = None, clock: str = "real") -> list[str]:
    """The executable's command line; provisions a new board (factory key and image) when ``state``
    holds none yet."""
    if clock not in CLOCKS:
        raise UsageError(f"clock {clock!r}: one of {', '.join(CLOCKS)}")
    cmd = [str(executable()), "--kind", kind, "--state", str(state), "--listen", listen, *CLOCKS[clock]]
    if network is not None:
        cmd += ["--network", network]
    for key in trust:
        cmd += ["--trust", str(key)]
    if not (state / "flash.bin").exists():
        factory_pub, image = make_factory(state, kind)
        cmd += ["--trust", str(factory_pub), "--factory-image", str(image)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if power_cut_after_writes is not None:
        cmd += ["--power-cut-after-writes", str(power_cut_after_writes)]
    return cmd


def start(kind: str, state: Path, trust: list | tuple = (), seed: int | None = None,
          line: list | tuple = (), network: str | None = None, clock: str = "real") -> tuple[subprocess.Popen, str]:
    """Start a simulated board listening on a free loopback port: (process, ``tcp://`` URL);
    ``line``: more options of the simulator for its line model (e.g. ``["--fault", "los@span1"]``).
    LinkError (with what the executable said) when it does not come up. Blocks until the board
    listens; with a ``network`` served by this thread's event loop, call it from another thread
    (``asyncio.to_thread``): the board says HELLO first. The board belongs to this process: it
    ends when this process does, however that comes (``--exit-with-parent``)."""
    # stderr to a file, not a pipe: nobody reads a pipe while the board runs, and a full one would stall it.
    cmd = [*command(kind, state, "tcp://127.0.0.1:0", trust, seed, network=network, clock=clock),
           "--exit-with-parent", *line]
    with open(state / "simulator.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True)
    # The first line says where it listens; a failed start closes stdout at once, so this does not hang.
    line = proc.stdout.readline()
    if not line.startswith("listening on tcp://"):
        try:
            proc.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        why = ((state / "simulator.log").read_text(errors="replace").strip().splitlines() or [line.strip()
                                                                                               or "no output"])[-1]
        proc.stdout.close()
        raise LinkError(f"the board simulator ({kind}) did not start: {why}")
    return proc, line.split()[-1]


def stop(proc: subprocess.Popen) -> None:
    """End a simulated board started by ``start`` and release its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
