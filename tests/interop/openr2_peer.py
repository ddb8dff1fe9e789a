"""libopenr2 as a peer: build ``r2_peer.c`` and drive it (see the comment at its top).

    binary = build_peer(tmp_dir)                 # gcc -rdynamic ... -lopenr2
    with OpenR2Peer(binary, "ITU", channels=2) as peer:
        peer.make_call(1, "1234", ani="5551000")
        outputs = peer.tick(20, {1: ([], block)})    # lock step: one 20 ms block per channel

The peer runs on the test's time: each ``tick`` sets openr2's clock, gives
every channel the block and ABCD bits of that tick, and returns what openr2
sent back. Events (``offered ani=... dnis=...``, ``answered``, ``disconnect
cause=...``) are kept per channel with the tick's time.
"""

from __future__ import annotations

import ctypes.util
import re
import shutil
import socket
import struct
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "r2_peer.c"
BLOCK = 160
SILENCE = b"\xd5" * BLOCK

# openr2's enums (openr2/r2proto.h, 1.3.3).
CATEGORIES = {"national": 0, "national-priority": 1, "international": 2, "international-priority": 3,
              "collect": 4}
CATEGORY_NAMES = {"National Subscriber": "national", "National Priority Subscriber": "national-priority",
                  "International Subscriber": "international",
                  "International Priority Subscriber": "international-priority", "Collect Call": "collect"}
CAUSES = {"busy": 0, "congestion": 1, "unallocated": 2, "out-of-order": 3, "unspecified": 4, "no-answer": 5,
          "normal": 6, "collect-rejected": 7, "forced-release": 8, "number-changed": 9}


def missing() -> str | None:
    """Why the interop tests cannot run here, or None."""
    if shutil.which("gcc") is None:
        return "gcc is not installed"
    if not Path("/usr/include/openr2.h").exists() or ctypes.util.find_library("openr2") is None:
        return "libopenr2-dev is not installed (apt-get install -y libopenr2-dev)"
    return None


def build_peer(directory: Path) -> Path:
    """Compile r2_peer.c: -rdynamic puts its ioctl() and gettimeofday() in front of libc's for libopenr2."""
    binary = Path(directory) / "r2_peer"
    result = subprocess.run(["gcc", "-std=gnu99", "-O1", "-Wall", "-Wextra", "-Werror", "-rdynamic", "-o", str(binary),
                             str(SOURCE), "-lopenr2"], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"building {SOURCE.name} failed:\n{result.stderr}")
    return binary


class PeerError(AssertionError):
    pass


class OpenR2Peer:
    def __init__(self, binary: Path, variant: str, channels: int = 1, *, max_ani: int = 10, max_dnis: int = 4,
                 ani_first: bool | None = None, verbose: bool = False, timeout: float = 10.0):
        self.variant = variant
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.stderr_path = None
        args = [str(binary), str(theirs.fileno()), variant, str(channels), str(max_ani), str(max_dnis),
                str(-1 if ani_first is None else int(ani_first)), str(int(verbose))]
        self.proc = subprocess.Popen(args, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=None if verbose else subprocess.PIPE)
        theirs.close()
        self.sock = ours
        self.sock.settimeout(timeout)
        self.channels = channels
        self.now_ms = 0
        self.events: dict[int, list[tuple[int, str]]] = {n: [] for n in range(1, channels + 1)}
        self.sent: dict[int, int] = {}
        self._inbox: dict[int, list[int]] = {n: [] for n in range(1, channels + 1)}   # ABCD changes since the tick
        message = self._receive()
        while message[:1] != b"R":          # the channels going idle come first
            self._take(message)
            message = self._receive()
        if message[1] != channels:
            raise PeerError(f"r2_peer started {message[1]} channels, not {channels}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.sock.send(b"Q")
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.sock.close()

    def _stderr(self) -> str:
        if self.proc.poll() is not None and self.proc.stderr is not None:
            return self.proc.stderr.read().decode(errors="replace")
        return ""

    def _receive(self) -> bytes:
        try:
            message = self.sock.recv(2048)
        except socket.timeout:
            raise PeerError(f"r2_peer did not answer in time {self._stderr()}") from None
        if not message:
            raise PeerError(f"r2_peer exited ({self.proc.poll()}): {self._stderr()}")
        return message

    def _take(self, message: bytes) -> tuple[int, bytes] | None:
        """Note an unsolicited message; return ('A' block) for the tick's collection."""
        kind, body = message[:1], message[1:]
        if kind == b"C":
            self.sent[body[0]] = body[1]
            self._inbox[body[0]].append(body[1])
        elif kind == b"E":
            self.events[body[0]].append((self.now_ms, body[1:].decode(errors="replace")))
        elif kind == b"A":
            return body[0], body[1:]
        else:
            raise PeerError(f"r2_peer sent {message!r}")
        return None

    def _command(self, message: bytes) -> None:
        self.sock.send(message)

    # ---- the tick ----
    def tick(self, now_ms: int, inputs: dict[int, tuple[list[int], bytes]]) -> dict[int, tuple[list[int], bytes]]:
        """Give each channel its ABCD changes and 20 ms of A-law, run openr2 at ``now_ms``,
        return each channel's (ABCD changes, block)."""
        self.now_ms = now_ms
        for chan, (changes, block) in inputs.items():
            for bits in changes:
                self._command(bytes([ord("C"), chan, bits]))
            self._command(bytes([ord("A"), chan]) + block)
        self._command(b"T" + struct.pack("<I", now_ms))
        blocks: dict[int, bytes] = {}
        while True:
            message = self._receive()
            if message[:1] == b"T":
                if struct.unpack("<I", message[1:5])[0] != now_ms:
                    raise PeerError(f"r2_peer ended tick {message[1:]!r}, not {now_ms}")
                break
            taken = self._take(message)
            if taken is not None:
                blocks[taken[0]] = taken[1]
        out = {}
        for chan in range(1, self.channels + 1):
            out[chan] = (self._inbox[chan], blocks.get(chan, SILENCE))
            self._inbox[chan] = []
        return out

    # ---- commands (they act at once; their effects come with the next tick) ----
    def make_call(self, chan: int, dnis: str, ani: str = "", category: str = "national",
                  restricted: bool = False) -> None:
        self._command(bytes([ord("M"), chan, CATEGORIES[category], int(restricted)]) + f"{ani},{dnis}".encode())

    def accept(self, chan: int, charge: bool = True) -> None:
        self._command(bytes([ord("Y"), chan, 0 if charge else 1]))

    def answer(self, chan: int) -> None:
        self._command(bytes([ord("N"), chan]))

    def hangup(self, chan: int, cause: str = "normal") -> None:
        self._command(bytes([ord("H"), chan, CAUSES[cause]]))

    def block(self, chan: int) -> None:
        self._command(bytes([ord("B"), chan]))

    def unblock(self, chan: int) -> None:
        self._command(bytes([ord("I"), chan]))

    # ---- looking ----
    def event(self, chan: int, prefix: str) -> tuple[int, str] | None:
        """The first event of ``chan`` starting with ``prefix`` as (time ms, text), or None."""
        for when, text in self.events[chan]:
            if text.startswith(prefix):
                return when, text
        return None

    def offered(self, chan: int) -> dict | None:
        found = self.event(chan, "offered ")
        if found is None:
            return None
        match = re.fullmatch(r"offered ani=(\d*) dnis=(\d*) category=(.*) restricted=([01])", found[1])
        if match is None:
            raise PeerError(f"cannot read {found[1]!r}")
        ani, dnis, category, restricted = match.groups()
        return {"ani": ani, "dnis": dnis, "category": CATEGORY_NAMES.get(category, category),
                "restricted": restricted == "1", "time_ms": found[0]}


__all__ = ["OpenR2Peer", "PeerError", "build_peer", "missing", "BLOCK", "SILENCE"]
