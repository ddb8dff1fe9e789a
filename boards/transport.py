"""Byte transports to a board, opened by URL (CONVENTIONS 9).

    serial:///dev/ttyUSB0?baud=921600   a serial port (pyserial); any tty path, a pty's too
    pty:/dev/pts/7                      a simulated board on a pseudo-terminal (raw mode, no baud)
    tcp://127.0.0.1:7001                a board, or the simulator, listening on TCP
    sim://fxo4?seed=1[&trust=KEY.pub][&network=URL][&clock=real|virtual|granted]
                                        a new simulated board, started for this link and ended with it
    spy+URL                             the same link, every frame logged in hex and decoded

``sim://`` starts the native firmware (gateway.boards.simulator) on a
temporary state directory, provisioned with factory firmware 1.0.0 and
trusting a key generated for it (and ``trust=KEY.pub`` if given, so that
images signed with that key can be flashed), and talks to it over loopback
TCP. Closing the transport ends the process and removes the directory.
``network=URL`` puts the simulated telephone network served at URL
(``unix:PATH`` or ``tcp://127.0.0.1:PORT``, boards/sim/LINESIDE.md) behind its
lines; ``clock`` is the simulator's (gateway.boards.simulator.CLOCKS: ``granted``
is virtual time that only SIM_ADVANCE moves).

Transports are async and move bytes only; frames are the codec's
(gateway.boards.protocol). Every read has a timeout. A failure of the link is
``LinkError``; a URL that cannot be used is ``UsageError`` naming the part that
is wrong and the accepted form. The serial and pty transports let pyserial
configure the port (speed, raw mode) and then drive its file descriptor from
the event loop, so no thread blocks on a read.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import os
import sys
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

from gateway.boards.protocol import FrameError, FrameReader, encode_frame
from gateway.errors import LinkError, UsageError

DEFAULT_BAUD = 921600
DEFAULT_OPEN_TIMEOUT = 5.0
READ_SIZE = 4096
SCHEMES = ("serial", "pty", "tcp", "sim", "spy+")
SPY_LOGGER = "gateway.boards.spy"

_FORMS = {
    "serial": "serial:///dev/ttyUSB0?baud=921600",
    "pty": "pty:/dev/pts/N",
    "tcp": "tcp://HOST:PORT",
    "sim": "sim://KIND?seed=N&trust=KEY.pub&network=URL&clock=real|virtual|granted (KIND: e1x2, fxo4, fxs4; "
           "every option optional)",
}


def _accepted() -> str:
    return ", ".join(_FORMS.values()) + ", or spy+ before any of them"


class Transport(abc.ABC):
    """A byte stream to one board."""

    url: str

    @abc.abstractmethod
    async def read(self, timeout: float) -> bytes:
        """Some bytes (at least one) as soon as they are there; LinkError if the link closed,
        TimeoutError if none came within ``timeout`` seconds."""

    @abc.abstractmethod
    async def write(self, data: bytes) -> None:
        """All of ``data``, in order."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the link; a second close does nothing."""

    async def reconnect(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        """Open the same link again after the board dropped it (a restart may drop a TCP client or
        re-enumerate a USB serial port). LinkError if it cannot be reached within ``timeout``."""
        raise LinkError(f"{self.url}: this transport cannot reconnect")

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


# --- URLs -------------------------------------------------------------------------------------------

def _options(url: str, query: str, allowed: dict[str, Callable]) -> dict:
    options = {}
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if name not in allowed:
            scheme = url.split(":", 1)[0].removeprefix("spy+")
            known = ", ".join(allowed) or "none"
            raise UsageError(f"{url}: unknown option {name!r} (options: {known}; form: {_FORMS[scheme]})")
        try:
            options[name] = allowed[name](value)
        except ValueError as exc:
            raise UsageError(f"{url}: option {name}={value!r}: {exc}") from None
    return options


def _baud(text: str) -> int:
    if not text.isdigit() or not 50 <= int(text) <= 20_000_000:
        raise ValueError("a speed in bits per second, e.g. 921600")
    return int(text)


def _seed(text: str) -> int:
    if not text.isdigit() or int(text) >= 2 ** 63:
        raise ValueError("a seed is a whole number 0 or more")
    return int(text)


def _network(text: str) -> str:
    if not (text.startswith("unix:") and len(text) > 5 or text.startswith("tcp://")):
        raise ValueError("the simulated network's URL: unix:PATH or tcp://127.0.0.1:PORT")
    return text


def _clock(text: str) -> str:
    from gateway.boards.simulator import CLOCKS

    if text not in CLOCKS:
        raise ValueError(", ".join(CLOCKS))
    return text


def _trust(text: str) -> str:
    if not text:
        raise ValueError("names a public key file (KEY.pub from `linegate image keygen`)")
    return text


def parse_url(url: str) -> tuple[str, dict]:
    """The scheme and the parameters of a transport URL (without opening anything).
    ``spy+X`` gives ("spy", {"inner": X}). UsageError for anything else."""
    if not isinstance(url, str) or not url.strip():
        raise UsageError(f"transport URL {url!r} is empty; use {_accepted()}")
    url = url.strip()
    if url.startswith("spy+"):
        inner = url[4:]
        if inner.startswith("spy+"):
            raise UsageError(f"{url}: spy+ once is enough")
        parse_url(inner)
        return "spy", {"inner": inner}
    scheme, sep, rest = url.partition(":")
    if not sep:
        raise UsageError(f"{url!r} is not a transport URL; use {_accepted()}")
    scheme = scheme.lower()
    if scheme not in _FORMS:
        raise UsageError(f"{url}: unknown transport {scheme!r}; use {_accepted()}")
    parts = urlsplit(url)
    if parts.fragment:
        raise UsageError(f"{url}: a fragment (#...) means nothing here; form: {_FORMS[scheme]}")
    if scheme == "tcp":
        _options(url, parts.query, {})
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise UsageError(f"{url}: the port is not a number 1..65535; form: {_FORMS['tcp']}") from None
        if not host or port is None or port == 0 or parts.path not in ("", "/") or parts.username:
            raise UsageError(f"{url}: needs a host and a port and nothing else; form: {_FORMS['tcp']}")
        return "tcp", {"host": host, "port": port}
    if scheme == "sim":
        from gateway.boards.kinds import kind_by_name

        options = _options(url, parts.query, {"seed": _seed, "trust": _trust, "network": _network, "clock": _clock})
        if parts.path not in ("", "/") or not parts.netloc:
            raise UsageError(f"{url}: names a board kind and nothing else; form: {_FORMS['sim']}")
        try:
            kind = kind_by_name(parts.netloc).name
        except UsageError as exc:
            raise UsageError(f"{url}: {exc}; form: {_FORMS['sim']}") from None
        return "sim", {"kind": kind, "seed": options.get("seed", 0), "trust": options.get("trust"),
                       "network": options.get("network"), "clock": options.get("clock", "real")}
    if scheme == "serial":
        if parts.netloc:
            raise UsageError(f"{url}: the device path goes after three slashes; form: {_FORMS['serial']}")
        options = _options(url, parts.query, {"baud": _baud})
        if not parts.path.startswith("/"):
            raise UsageError(f"{url}: no device path; form: {_FORMS['serial']}")
        return "serial", {"path": parts.path, "baud": options.get("baud", DEFAULT_BAUD)}
    # pty:PATH (or pty:///PATH): raw mode, the speed means nothing on a pseudo-terminal.
    path = parts.path
    if parts.netloc:
        raise UsageError(f"{url}: a pty URL names a path; form: {_FORMS['pty']}")
    _options(url, parts.query, {})
    if not path.startswith("/"):
        raise UsageError(f"{url}: a pty URL names an absolute path; form: {_FORMS['pty']}")
    return "pty", {"path": path}


async def open_transport(url: str, *, timeout: float = DEFAULT_OPEN_TIMEOUT,
                         spy: Callable[[str], None] | None = None) -> Transport:
    """Open the transport a URL names. LinkError if it cannot be reached within ``timeout``."""
    scheme, params = parse_url(url)
    if scheme == "spy":
        inner = await open_transport(params["inner"], timeout=timeout)
        return SpyTransport(inner, spy)
    if scheme == "tcp":
        return await TcpTransport.open(url, params["host"], params["port"], timeout)
    if scheme == "sim":
        return await SimTransport.open(url, params["kind"], params["seed"], params["trust"], timeout,
                                       network=params["network"], clock=params["clock"])
    return FdTransport.open(url, params["path"], params.get("baud"))


# --- TCP --------------------------------------------------------------------------------------------

class TcpTransport(Transport):
    def __init__(self, url: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host=None, port=None):
        self.url = url
        self._reader = reader
        self._writer = writer
        self._address = (host, port)

    @staticmethod
    async def _connect(url: str, host: str, port: int, timeout: float):
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise LinkError(f"{url}: cannot connect: {getattr(exc, 'strerror', None) or exc or 'timed out'}") \
                from None

    @classmethod
    async def open(cls, url: str, host: str, port: int, timeout: float) -> "TcpTransport":
        reader, writer = await cls._connect(url, host, port, timeout)
        return cls(url, reader, writer, host, port)

    async def reconnect(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        await self.close()
        self._reader, self._writer = await self._connect(self.url, *self._address, timeout)

    async def read(self, timeout: float) -> bytes:
        try:
            data = await asyncio.wait_for(self._reader.read(READ_SIZE), timeout)
        except ConnectionError as exc:
            raise LinkError(f"{self.url}: {exc.strerror or exc}") from None
        if not data:
            raise LinkError(f"{self.url}: the board closed the connection")
        return data

    async def write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except ConnectionError as exc:
            raise LinkError(f"{self.url}: {exc.strerror or exc}") from None

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass


# --- serial ports and pseudo-terminals ---------------------------------------------------------------

class FdTransport(Transport):
    """A tty opened and configured by pyserial, read and written through the event loop."""

    def __init__(self, url: str, port):
        self.url = url
        self._port = port
        self._fd = port.fileno()
        os.set_blocking(self._fd, False)

    async def reconnect(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        # A USB serial adapter on a restarting board may be gone for a moment: retry until the deadline.
        self._port.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                fresh = FdTransport.open(self.url, self._port.port, self._port.baudrate)
                break
            except LinkError:
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(0.1)
        self._port, self._fd = fresh._port, fresh._fd

    @classmethod
    def open(cls, url: str, path: str, baud: int | None) -> "FdTransport":
        import serial  # only the transports import pyserial (CONVENTIONS 1)

        try:
            # A pty has no speed; pyserial sets one anyway, harmlessly. Raw mode, no flow control.
            port = serial.Serial(path, baudrate=baud or DEFAULT_BAUD, timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"{url}: cannot open {path}: {getattr(exc, 'strerror', None) or exc}") from None
        return cls(url, port)

    async def read(self, timeout: float) -> bytes:
        loop = asyncio.get_running_loop()
        woken = False
        while True:
            try:
                data = os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                data = None
            except OSError as exc:  # EIO: the other side of a pty went away
                raise LinkError(f"{self.url}: {exc.strerror or exc}") from None
            if data:
                return data
            # pyserial sets VMIN=0: a tty with nothing to read returns b"", so b"" is the end
            # only when the descriptor said it was readable (pyserial's rule for a lost device).
            if data == b"" and woken:
                raise LinkError(f"{self.url}: the device closed")
            woken = True
            ready = loop.create_future()
            loop.add_reader(self._fd, lambda: ready.done() or ready.set_result(None))
            try:
                await asyncio.wait_for(ready, timeout)
            finally:
                loop.remove_reader(self._fd)

    async def write(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view):]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                raise LinkError(f"{self.url}: {exc.strerror or exc}") from None
            ready = loop.create_future()
            loop.add_writer(self._fd, lambda: ready.done() or ready.set_result(None))
            try:
                # Bounded: a board that stops reading must not stall the caller for ever.
                await asyncio.wait_for(ready, DEFAULT_OPEN_TIMEOUT)
            except asyncio.TimeoutError:
                raise LinkError(f"{self.url}: the device takes no more bytes") from None
            finally:
                loop.remove_writer(self._fd)

    async def close(self) -> None:
        self._port.close()


# --- sim: the board simulator, started for this link ------------------------------------------------

class SimTransport(Transport):
    """A simulated board of its own: the native firmware process on a temporary state directory,
    reached over loopback TCP. Closing the transport ends the board."""

    def __init__(self, url: str, inner: TcpTransport, proc, scratch, key_path):
        self.url = url
        self.inner = inner
        self.proc = proc
        self._scratch = scratch
        self.key_path = key_path  # the private key the board trusts (generated for it)

    @classmethod
    async def open(cls, url: str, kind: str, seed: int, trust: str | None, timeout: float, *,
                   network: str | None = None, clock: str = "real") -> "SimTransport":
        import tempfile
        from pathlib import Path

        from gateway.boards import image as images
        from gateway.boards import simulator

        trusted = []
        if trust is not None:
            try:
                images.load_public_key(trust)
            except OSError as exc:
                raise UsageError(f"{url}: trust={trust}: {exc.strerror or exc}") from None
            trusted.append(trust)
        scratch = tempfile.TemporaryDirectory(prefix="linegate-sim-")
        try:
            state = Path(scratch.name) / "board"
            state.mkdir()
            key_path = Path(scratch.name) / "trust.key"
            images.write_keypair(key_path)
            # In a thread: the board says HELLO to its network before it listens, and that network
            # may be served by this very event loop.
            proc, tcp_url = await asyncio.to_thread(simulator.start, kind, state, [f"{key_path}.pub", *trusted],
                                                    seed, network=network, clock=clock)
            try:
                _, params = parse_url(tcp_url)
                inner = await TcpTransport.open(tcp_url, params["host"], params["port"], timeout)
            except BaseException:
                simulator.stop(proc)
                raise
        except BaseException:
            scratch.cleanup()
            raise
        return cls(url, inner, proc, scratch, key_path)

    async def read(self, timeout: float) -> bytes:
        return await self.inner.read(timeout)

    async def write(self, data: bytes) -> None:
        await self.inner.write(data)

    async def reconnect(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        if self.proc.poll() is not None:
            raise LinkError(f"{self.url}: the simulated board ended (exit status {self.proc.returncode})")
        await self.inner.reconnect(timeout)

    async def close(self) -> None:
        from gateway.boards import simulator

        await self.inner.close()
        simulator.stop(self.proc)
        self._scratch.cleanup()


def serial_ports() -> list[str]:
    """``serial://`` URLs of the serial ports this machine has (pyserial's list_ports)."""
    from serial.tools import list_ports  # only the transports import pyserial (CONVENTIONS 1)

    return [f"serial://{port.device}" for port in sorted(list_ports.comports(), key=lambda p: p.device)]


# --- spy ----------------------------------------------------------------------------------------------

def _default_spy_sink() -> Callable[[str], None]:
    logger = logging.getLogger(SPY_LOGGER)
    if logger.hasHandlers():
        return logger.info
    return lambda line: print(line, file=sys.stderr, flush=True)


class SpyTransport(Transport):
    """Passes bytes through and logs every frame both ways: direction, seq, the frame in hex and
    the decoded message, or the error of a frame that was refused."""

    def __init__(self, inner: Transport, sink: Callable[[str], None] | None = None):
        self.url = "spy+" + inner.url
        self.inner = inner
        self._sink = sink or _default_spy_sink()
        self._readers = {"<": FrameReader(on_error=lambda e: self._error("<", e)),
                         ">": FrameReader(on_error=lambda e: self._error(">", e))}

    def _error(self, direction: str, error: FrameError) -> None:
        self._sink(f"{direction} refused: {error}")

    def _log(self, direction: str, data: bytes) -> None:
        for frame in self._readers[direction].feed(data):
            raw = encode_frame(frame.message, frame.seq)  # canonical: the very bytes that came
            self._sink(f"{direction} seq {frame.seq} {frame.message.NAME} {raw.hex(' ')}")
            self._sink(f"{direction}   {frame.message!r}")

    async def read(self, timeout: float) -> bytes:
        data = await self.inner.read(timeout)
        self._log("<", data)
        return data

    async def write(self, data: bytes) -> None:
        self._log(">", data)
        await self.inner.write(data)

    async def reconnect(self, timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        await self.inner.reconnect(timeout)
        # A new connection starts a new byte stream: a partial frame held from the old one is not continued.
        self._readers = {d: FrameReader(on_error=r.on_error) for d, r in self._readers.items()}

    async def close(self) -> None:
        await self.inner.close()
