"""Linegate's D-channel against libpri, over a Unix SOCK_SEQPACKET socketpair: the peer
(pri_peer.c, built here with gcc against -lpri) runs libpri in its own process; this side
runs a ``gateway.isdn.dchannel.DChannel`` on real time, the I/O its core leaves out.

``build_peer`` compiles the peer once (None, with the reason, when libpri-dev or gcc is
missing); ``Session`` starts a peer and pumps frames both ways until a condition holds.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import time
from pathlib import Path

from gateway.isdn.q921 import SendFrame

HERE = Path(__file__).parent
PEER_SOURCE = HERE / "pri_peer.c"
INSTALL_HINT = "apt-get install -y libpri-dev"


def build_peer(directory: Path) -> tuple[Path | None, str]:
    """Compile pri_peer.c into ``directory``: (path, "") or (None, why not)."""
    if shutil.which("gcc") is None:
        return None, "gcc is not installed"
    exe = Path(directory) / "pri_peer"
    proc = subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
                           str(PEER_SOURCE), "-lpri"], capture_output=True, text=True)
    if proc.returncode != 0:
        if "libpri.h" in proc.stderr or "-lpri" in proc.stderr or "cannot find" in proc.stderr:
            return None, f"libpri-dev is not installed ({INSTALL_HINT})"
        raise RuntimeError(f"pri_peer.c does not build:\n{proc.stderr}")
    return exe, ""


class PeerEvent(dict):
    """One line of the peer: ``name`` and its key=value fields."""

    def __init__(self, line: str):
        name, *fields = line.split()
        super().__init__(kv.split("=", 1) for kv in fields if "=" in kv)
        self.name = name
        self.line = line

    def int(self, key: str) -> int:
        return int(self[key])

    def __repr__(self):
        return f"<{self.line}>"


class Session:
    """A peer process and our D-channel on the two ends of one socketpair."""

    def __init__(self, exe: Path, dchannel, role: str, *, timers=(), overlap=False, auto_answer=False,
                 auto_release=False, debug=False):
        self.ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        args = [str(exe), "--fd", str(theirs.fileno()), "--role", role]
        for name, ms in timers:
            args += ["--timer", f"{name}={ms}"]
        args += ["--overlap"] * overlap + ["--auto-answer"] * auto_answer + ["--auto-release"] * auto_release
        args += ["--debug"] * debug
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=None if debug else subprocess.DEVNULL, pass_fds=(theirs.fileno(),))
        theirs.close()
        self.ours.setblocking(False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.dchannel = dchannel
        self.events: list = []          # ours (only appended to: waits remember positions)
        self.peer_events: list[PeerEvent] = []
        self.frames: list = []          # (direction, bytes): ">" ours sent, "<" received
        self.cut = False                # True: frames are lost both ways (a broken span)
        self._partial = b""
        self._taken: set = set()        # positions in peer_events already waited for
        self._ours_taken: set = set()   # and in events
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.ours, selectors.EVENT_READ, "frame")
        self._selector.register(self.proc.stdout, selectors.EVENT_READ, "peer")
        self.wait_peer("READY")

    # ---- driving ----
    @staticmethod
    def now() -> float:
        return time.monotonic()

    def apply(self, outputs: list) -> list:
        """Carry out our stack's outputs: frames to the socket, the rest kept as events."""
        for item in outputs:
            if isinstance(item, SendFrame):
                self.frames.append((">", item.frame))
                if not self.cut:
                    self.ours.send(item.frame)
            else:
                self.events.append(item)
        return outputs

    def command(self, line: str):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def pump(self, timeout: float):
        """Move frames and lines for up to ``timeout`` seconds (one pass of select)."""
        deadline = self.dchannel.next_deadline
        wait = timeout if deadline is None else max(0.0, min(timeout, deadline - self.now()))
        for key, _ in self._selector.select(wait):
            if key.data == "frame":
                while True:
                    try:
                        frame = self.ours.recv(4096)
                    except BlockingIOError:
                        break
                    if not frame:
                        break
                    self.frames.append(("<", frame))
                    if not self.cut:
                        self.apply(self.dchannel.receive(frame, self.now()))
            else:
                self._read_peer()
        self.apply(self.dchannel.tick(self.now()))

    def _read_peer(self):
        try:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        if not chunk:
            raise AssertionError(f"pri_peer exited ({self.proc.poll()})")
        self._partial += chunk
        *lines, self._partial = self._partial.split(b"\n")
        for line in lines:
            event = PeerEvent(line.decode())
            if event.name == "ERROR":
                raise AssertionError(f"pri_peer: {event.line}")
            self.peer_events.append(event)

    def until(self, predicate, timeout: float = 5.0, what: str = "the condition"):
        end = self.now() + timeout
        while True:
            result = predicate()
            if result is not None and result is not False:
                return result
            if self.now() >= end:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; ours: {self.events[-8:]}; "
                                     f"peer: {self.peer_events[-8:]}")
            self.pump(min(0.05, max(0.0, end - self.now())))

    def wait_peer(self, name: str, timeout: float = 5.0, **fields) -> PeerEvent:
        """The first line of the peer named ``name`` with these fields not waited for before."""
        def found():
            for i, event in enumerate(self.peer_events):
                if i not in self._taken and event.name == name and \
                        all(event.get(k) == str(v) for k, v in fields.items()):
                    self._taken.add(i)
                    return event
            return None
        return self.until(found, timeout, f"peer {name} {fields}")

    def wait_ours(self, cls, timeout: float = 5.0, **fields):
        """The first of our events of this class with these fields not waited for before."""
        def found():
            for i, event in enumerate(self.events):
                if i not in self._ours_taken and isinstance(event, cls) and \
                        all(getattr(event, k) == v for k, v in fields.items()):
                    self._ours_taken.add(i)
                    return event
            return None
        return self.until(found, timeout, f"our {cls.__name__} {fields}")

    def close(self):
        try:
            self.command("quit")
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._selector.close()
        self.ours.close()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
