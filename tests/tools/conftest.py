"""Boards for the technician CLI's tests: the native simulator over loopback TCP, and keys and images."""

import asyncio
import socket
import threading

import pytest

from gateway.boards import image as images
from gateway.boards import protocol as p
from gateway.boards import simulator
from gateway.boards.board import Board
from gateway.boards.kinds import kind_by_name


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    images.write_keypair(d / "release.key")
    images.write_keypair(d / "other.key")
    return d


def make_image(keys, path, *, kind="fxo4", version=(1, 1, 0), payload=b"\x5a" * 3000, key="release.key", **kw):
    data = images.build_image(payload, kind_by_name(kind), p.Version(*version),
                              images.load_private_key(keys / key), **kw)
    path.write_bytes(data)
    return path


class SimBoard:
    """A simulated board on its own state directory (trusting release.key), for tests that look at
    it before and after a command."""

    def __init__(self, state, trust, kind="fxo4", seed=5):
        state.mkdir(exist_ok=True)
        self.proc, self.url = simulator.start(kind, state, trust, seed)

    def slots(self):
        async def ask():
            async with await Board.open(self.url) as board:
                return (await board.identify(), await board.slot_info(p.Slot.A), await board.slot_info(p.Slot.B))
        return asyncio.run(ask())

    def close(self):
        simulator.stop(self.proc)


@pytest.fixture
def sim_board(tmp_path, keys):
    board = SimBoard(tmp_path / "board", [keys / "release.key.pub"])
    yield board
    board.close()


@pytest.fixture
def silent_board():
    """A TCP listener that takes the connection and never answers: a board that does not respond."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"tcp://127.0.0.1:{port}"


@pytest.fixture
def host_state(tmp_path, monkeypatch):
    """Where `linegate config` keeps what it applied: a fresh directory per test."""
    d = tmp_path / "host-state"
    monkeypatch.setenv("LINEGATE_STATE_DIR", str(d))
    return d


@pytest.fixture(autouse=True)
def _no_serial_ports(monkeypatch):
    # This machine's serial ports are not the tests' business: probes without URLs see none unless a test says so.
    monkeypatch.setattr("gateway.boards.transport.serial_ports", lambda: [])
