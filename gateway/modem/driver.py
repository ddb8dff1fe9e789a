"""An asyncio driver for V.253 voice modems over a serial port or a pty.

    async with await VoiceModem.open("serial:///dev/ttyACM0?baud=115200") as modem:
        capabilities = await modem.init()           # AT&F E0 V1, +FCLASS=8, +VSM, caller ID on
        ring = await modem.wait_ring(timeout=60)    # Ring(count, caller_id)
        await modem.answer()                        # ATA -> VCON
        await modem.start_receive()                 # AT+VRX -> CONNECT, samples and <DLE> events
        async for block in modem.audio(timeout=2):  # AudioBlock: payload in the chosen encoding
            samples = block.linear()                # 8 kHz int16
        await modem.hangup()

The byte stream is read through ``gateway.modem.v253.DteConnection`` (the
I/O-free parser); this module only moves bytes and waits. Every wait has a
deadline taken from the clock object the modem was opened with (anything
with ``now()`` and an async ``sleep(seconds)``: gateway.clock.RealClock, or a
VirtualClock in the simulator); a modem that does not answer in time is a
``ModemTimeoutError``, a garbled or unknown line a ``ModemError``, both
quoting what the modem sent last. After either, ``init()`` again puts the
modem and the driver back in step.

Reading happens while someone waits (a command, ``wait_ring``,
``next_event``, the audio iterator); what arrives meanwhile is sorted into
bounded queues: events (rings, caller ID, <DLE> events, results nobody asked
for; the oldest are dropped past ``EVENT_QUEUE``, counted in
``dropped_events``) and received audio (the oldest dropped past
``AUDIO_BUFFER`` bytes, counted in ``overrun_bytes``). Transmitted audio is
paced by the clock, at most ``TX_LEAD`` seconds ahead of the line, so that a
modem without hardware flow control does not overflow (vgetty's way).

How real modems are driven (mgetty/vgetty's voice library, IS_101.c and
V253modem.c): answer and dial give VCON in voice mode; +VRX/+VTX/+VTR give
CONNECT; a transmit stream ends with <DLE><ETX> (or <DLE><CAN><DLE><ETX> to
drop what is buffered), receive with <DLE>!, duplex with <DLE>^, each
answered by OK; ATH hangs up from command state only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

import numpy as np

from gateway.boards.transport import open_transport, parse_url
from gateway.errors import LinegateError, ModemError, ModemTimeoutError, UsageError
from gateway.modem import caller_id as cid, compression
from gateway.modem.v253 import (NEED_DATA, CallerIdPacketReceived, CallerIdReceived, CommandEchoed,
                                ComplexEventReceived, ConnectionClosed, DleEventReceived, DteConnection,
                                ReplyRejected, ResultReceived, RingCadenceReported, RingReceived, TextReceived,
                                VoiceEnded, VoiceReceived)

DEFAULT_TIMEOUT = 3.0       # a command's final result
DIAL_TIMEOUT = 60.0         # ATD: dial tone, digits, and the +VRA/+VRN wait
OPEN_TIMEOUT = 5.0
RING_GAP = 8.0              # no ring for this long: the next ring is a new call (cadences pause up to ~6 s)
TX_LEAD = 0.2               # seconds of audio sent ahead of the line (a modem buffers 1-2 KB)
TX_PIECE = 320              # samples per write while transmitting (40 ms)
AUDIO_BUFFER = 64_000       # received bytes kept for a slow reader (8 s of 8-bit audio)
EVENT_QUEUE = 256
FLUSH_QUIET = 0.2           # init: the line is flushed once it stays quiet this long
FLUSH_LIMIT = 2.0
MAX_REPLY_LINES = 200       # information lines of one reply
DIAL_CHARS = set("0123456789*#ABCDabcdWw,@!TtPp ")
DTMF_KEYS = set("0123456789*#ABCD")
_READ_WAIT = 3600.0         # the transport's own timeout: the clock's deadline decides first


@dataclass(frozen=True)
class Capabilities:
    """What ``probe()`` found: the ATI and ATI3 texts, the service classes (+FCLASS=?) and the
    voice compression methods (+VSM=?, parsed; empty when the modem has no voice class)."""

    identity: tuple[str, ...]
    description: tuple[str, ...]
    classes: tuple[str, ...]
    compressions: tuple[compression.CompressionMethod, ...]

    @property
    def voice(self) -> bool:
        return "8" in self.classes


@dataclass(frozen=True)
class Ring:
    """A ring of an incoming call: its number in the call (1, 2, ...) and the caller ID the modem
    reported before it (the line sends it between the first and the second ring)."""

    count: int
    caller_id: cid.CallerId | None


@dataclass(frozen=True)
class AudioBlock:
    """Received voice: the payload as the modem sent it, in ``encoding`` (gateway.modem.compression)."""

    payload: bytes
    encoding: str

    def linear(self) -> np.ndarray:
        """The samples as 16-bit linear, 8 kHz."""
        return compression.decode(self.payload, self.encoding)

    @property
    def law(self) -> str | None:
        """"ulaw" or "alaw" when the payload is G.711 (usable as it is), else None."""
        return self.encoding if self.encoding in ("ulaw", "alaw") else None


def parse_classes(lines: list[str]) -> tuple[str, ...]:
    """+FCLASS=? ("0,1,1.0,2,8" or "(0,1,2,8)", on one line or several) as class names."""
    text = ",".join(line.strip().strip("()") for line in lines if line.strip())
    classes = tuple(item.strip() for item in text.split(",") if item.strip())
    for item in classes:
        if not item.replace(".", "", 1).isdigit():
            raise ModemError(f"+FCLASS=? answered {', '.join(lines)!r}: {item!r} is not a class number",
                             line=",".join(lines).encode(), command="AT+FCLASS=?")
    if not classes:
        raise ModemError("+FCLASS=? listed no class", command="AT+FCLASS=?")
    return classes


class VoiceModem:
    """A V.253 voice modem on a byte transport (see the module's doc). Driven by one task at a
    time for commands; receiving audio and waiting for events may run in another."""

    def __init__(self, transport, *, clock=None, timeout: float = DEFAULT_TIMEOUT):
        from gateway.clock import RealClock

        if timeout <= 0:
            raise UsageError(f"timeout must be more than 0 seconds, not {timeout!r}")
        self.transport = transport
        self.clock = clock or RealClock()
        self.timeout = timeout
        self.state = "idle"          # idle, offhook, receiving, transmitting, duplex
        self.compression: compression.CompressionMethod | None = None
        self.capabilities: Capabilities | None = None
        self.caller_id_command: str | None = None
        self.caller_id: cid.CallerId | None = None
        self.rings = 0
        self.dropped_events = 0
        self.overrun_bytes = 0
        self._conn = DteConnection()
        self._awaiting = False
        self._replies: deque = deque()
        self._events: deque = deque()
        self._audio: deque = deque()
        self._audio_bytes = 0
        self._audio_carry = b""
        self._stream_ended = False
        self._cid_fields: list = []
        self._cid_packet: cid.CallerId | None = None
        self._cid_heard_at: float | None = None     # when the last caller-ID line came (clock time)
        self._last_ring = None
        self._reading = False
        self._progress = asyncio.Event()
        self._tx_start = 0.0
        self._tx_samples = 0

    @classmethod
    async def open(cls, url: str, *, clock=None, timeout: float = DEFAULT_TIMEOUT) -> "VoiceModem":
        """A modem by transport URL: ``serial:///dev/ttyACM0?baud=115200``, ``pty:/dev/pts/N``, or
        ``tcp://HOST:PORT`` (a modem behind a serial-to-network server)."""
        scheme, _ = parse_url(url)
        if scheme not in ("serial", "pty", "tcp"):
            raise UsageError(f"{url}: a modem is reached by serial:///dev/ttyACM0?baud=115200, pty:/dev/pts/N "
                             f"or tcp://HOST:PORT, not {scheme}")
        transport = await open_transport(url, timeout=OPEN_TIMEOUT)
        return cls(transport, clock=clock, timeout=timeout)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    # ---- reading ----

    async def _race(self, awaitable, deadline: float):
        """The awaitable's result, or None if the clock reaches ``deadline`` first."""
        task = asyncio.ensure_future(awaitable)
        timer = asyncio.ensure_future(self.clock.sleep(max(0.0, deadline - self.clock.now())))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        return task.result() if not task.cancelled() else None

    async def _pump(self, deadline: float) -> None:
        """Read once (or, when another task is reading, wait for its read) and sort the events.
        Returns at the deadline at the latest."""
        if self._reading:
            await self._race(self._progress.wait(), deadline)
            return
        self._reading = True
        try:
            try:
                data = await self._race(self.transport.read(_READ_WAIT), deadline)
            except TimeoutError:
                data = None
            if data:
                self._conn.receive_data(data)
                self._sort()
        finally:
            self._reading = False
            progress, self._progress = self._progress, asyncio.Event()
            progress.set()

    def _sort(self) -> None:
        rejected = None
        while (event := self._conn.next_event()) is not NEED_DATA:
            kind = type(event)
            if kind is VoiceReceived:
                self._audio_in(event.data)
            elif kind in (ResultReceived, TextReceived):
                if self._awaiting:
                    self._replies.append(event)
                else:
                    self._event(event)      # nobody asked: NO CARRIER after a call, say
            elif kind is CommandEchoed:
                continue
            elif kind is VoiceEnded:
                self._stream_ended = True
            elif kind is RingReceived or (kind is DleEventReceived and event.name == "ring"):
                try:
                    self._ring()
                except ModemError as error:     # caller ID with a date or time that is not one
                    rejected = rejected or error
            elif kind is CallerIdReceived:
                self._cid_fields.append((event.tag, event.value))
                self._cid_heard_at = self.clock.now()
            elif kind is CallerIdPacketReceived:
                self._cid_packet = event.caller_id
                self._cid_heard_at = self.clock.now()
            elif kind in (DleEventReceived, RingCadenceReported, ComplexEventReceived):
                self._event(event)
            elif kind is ReplyRejected:
                rejected = rejected or event.error()
            elif kind is ConnectionClosed:
                break
        if rejected is not None:
            raise rejected

    def _event(self, event) -> None:
        if len(self._events) >= EVENT_QUEUE:
            self._events.popleft()
            self.dropped_events += 1
        self._events.append(event)

    def _audio_in(self, data: bytes) -> None:
        self._audio.append(data)
        self._audio_bytes += len(data)
        while self._audio_bytes > AUDIO_BUFFER:
            dropped = self._audio.popleft()
            self._audio_bytes -= len(dropped)
            self.overrun_bytes += len(dropped)

    def _end_ringing(self) -> None:
        """The line was answered, seized or hung up: the rings and the caller ID reported with them
        belong to the call that was (a caller ID left unclaimed must not name the next caller)."""
        self.rings, self._last_ring = 0, None
        self._cid_fields, self._cid_packet, self._cid_heard_at = [], None, None

    def _ring(self) -> None:
        now = self.clock.now()
        if self._last_ring is None or now - self._last_ring > RING_GAP:
            self.rings, self.caller_id = 0, None
            if self._cid_heard_at is not None and now - self._cid_heard_at > RING_GAP:
                self._cid_fields, self._cid_packet = [], None    # from a call that rang long ago
        self._last_ring = now
        self.rings += 1
        fields, self._cid_fields = self._cid_fields, []
        packet, self._cid_packet = self._cid_packet, None
        self._cid_heard_at = None
        try:
            if packet is not None or fields:
                self.caller_id = packet if packet is not None else cid.from_fields(fields)
        finally:
            self._event(Ring(self.rings, self.caller_id))   # the ring, even when its caller ID was bad

    def _timeout(self, what: str, timeout: float) -> ModemTimeoutError:
        last = self._conn.last_line
        said = f"; the modem last sent {last!r}" if last is not None else "; the modem sent nothing"
        return ModemTimeoutError(f"{self.transport.url}: {what} within {timeout:g} s{said}", line=last,
                                 command=self._conn.pending)

    def _deadline(self, timeout: float | None) -> tuple[float, float]:
        timeout = self.timeout if timeout is None else timeout
        if timeout <= 0:
            raise UsageError(f"timeout must be more than 0 seconds, not {timeout!r}")
        return timeout, self.clock.now() + timeout

    # ---- commands ----

    async def _write(self, data: bytes) -> None:
        await self.transport.write(data)

    async def _transact(self, line: str, timeout: float | None, finals) -> tuple[str, list[str]]:
        """Send a command line; its final result code (one of ``finals``, else ModemError quoting
        it) and information lines."""
        if self.state in ("receiving", "transmitting", "duplex"):
            raise UsageError(f"cannot send {line}: the modem is {self.state}; stop() first")
        timeout, deadline = self._deadline(timeout)
        self._replies.clear()
        self._awaiting = True
        lines: list[str] = []
        try:
            await self._write(self._conn.send_command(line))
            while True:
                while self._replies:
                    reply = self._replies.popleft()
                    if isinstance(reply, TextReceived):
                        if len(lines) >= MAX_REPLY_LINES:
                            raise ModemError(f"{line} answered more than {MAX_REPLY_LINES} lines",
                                             line=reply.line.encode(), command=line)
                        lines.append(reply.line)
                    elif reply.code in finals:
                        return reply.code, lines
                    else:
                        raise ModemError(f"{self.transport.url}: {line} answered {reply.text!r}",
                                         line=reply.text.encode(), command=line)
                if self.clock.now() >= deadline:
                    raise self._timeout(f"no final result to {line}", timeout)
                await self._pump(deadline)
        finally:
            self._awaiting = False

    async def command(self, line: str, *, timeout: float | None = None) -> list[str]:
        """Send a command line that must answer OK; its information lines."""
        return (await self._transact(line, timeout, ("OK",)))[1]

    async def _optional(self, line: str) -> bool:
        """A setting some modems lack: True if OK, False if ERROR (timeouts still raise)."""
        try:
            await self._transact(line, None, ("OK",))
            return True
        except ModemTimeoutError:
            raise
        except ModemError as error:
            if error.line != b"ERROR":
                raise
            return False

    async def _flush(self) -> None:
        """Drop whatever the modem is still sending (a stream a previous program left running)."""
        limit = self.clock.now() + FLUSH_LIMIT
        while self.clock.now() < limit:
            try:
                data = await self._race(self.transport.read(_READ_WAIT), min(limit, self.clock.now() + FLUSH_QUIET))
            except TimeoutError:
                data = None
            if not data:
                return

    async def init(self, *, caller_id: bool = True, prefer=compression.ENCODINGS,
                   silence_tenths: int = 50) -> Capabilities:
        """Put the modem in a known state: out of any voice stream, factory profile, echo off,
        verbose results, voice class, the first compression of ``prefer`` it offers at 8 kHz,
        VCON right after dialling (+VRA=0, +VRN=0: call progress then comes as <DLE> events),
        silence reporting after ``silence_tenths`` tenths of a second, caller ID (+VCID=1, or
        #CID=1 on modems without +VCID). Returns what ``probe()`` found."""
        # <DLE>! ends receive, <DLE>^ duplex, <DLE><CAN><DLE><ETX> transmit (dropping what is buffered);
        # in command state a modem ignores them.
        await self._write(b"\x10!\x10^\x10\x18\x10\x03\r")
        await self._flush()
        self._conn.reset()
        self._replies.clear()
        self.state = "idle"
        self._end_ringing()
        # AT&F rather than ATZ: a stored profile may have numeric or no result codes.
        await self.command("AT&FE0V1Q0")
        capabilities = await self.probe()
        if not capabilities.voice:
            raise ModemError(f"{self.transport.url}: no voice class among {', '.join(capabilities.classes)} "
                             f"(+FCLASS=?): not a voice modem", command="AT+FCLASS=?")
        method = compression.choose(capabilities.compressions, prefer)
        await self.command(f"AT+VSM={method.number},8000")
        self.compression = method
        await self._optional("AT+VLS=0")
        await self._optional(f"AT+VSD=128,{int(silence_tenths)}")
        await self._optional("AT+VRA=0")
        await self._optional("AT+VRN=0")
        self.caller_id_command = None
        if caller_id:
            for line in ("AT+VCID=1", "AT#CID=1"):
                if await self._optional(line):
                    self.caller_id_command = line
                    break
        return capabilities

    async def probe(self) -> Capabilities:
        """ATI, ATI3, +FCLASS=? and, in voice class, +VSM=?, parsed (ModemError quoting a bad line)."""
        identity = tuple(await self.command("ATI"))
        description = tuple(await self.command("ATI3"))
        classes = parse_classes(await self.command("AT+FCLASS=?"))
        methods: tuple = ()
        if "8" in classes:
            await self.command("AT+FCLASS=8")       # +VSM=? answers ERROR outside voice class
            methods = compression.parse_methods(await self.command("AT+VSM=?"))
        self.capabilities = Capabilities(identity, description, classes, methods)
        return self.capabilities

    # ---- calls ----

    async def wait_ring(self, timeout: float | None = None) -> Ring:
        """The next ring (with the caller ID reported so far); ModemTimeoutError if none comes."""
        timeout, deadline = self._deadline(timeout)
        while True:
            for index, event in enumerate(self._events):
                if isinstance(event, Ring):
                    del self._events[index]
                    return event
            if self.clock.now() >= deadline:
                raise self._timeout("no ring", timeout)
            await self._pump(deadline)

    async def next_event(self, timeout: float | None = None):
        """The next event: Ring, v253.DleEventReceived (busy, dial-tone, dtmf ...), a
        ResultReceived nobody asked for, RingCadenceReported, ComplexEventReceived.
        None when nothing came within ``timeout``."""
        timeout, deadline = self._deadline(timeout)
        while not self._events:
            if self.clock.now() >= deadline:
                return None
            await self._pump(deadline)
        return self._events.popleft()

    def take_events(self) -> list:
        """The events received so far (as ``next_event`` gives them), without waiting or reading."""
        events = list(self._events)
        self._events.clear()
        return events

    @property
    def caller_id_heard_at(self) -> float | None:
        """When (clock time) the last caller-ID line since the last ring came; None when none came."""
        return self._cid_heard_at

    def pending_caller_id(self) -> cid.CallerId | None:
        """The caller ID reported since the last ring (the one the next Ring will carry), without
        taking it; None when there is none. A modem reports it between the first and second ring
        with no line that says it is whole: a caller waits for the lines to stop coming
        (``caller_id_heard_at``; Conexant modems send them in one burst). ModemError for a date
        or time that is not one."""
        if self._cid_packet is not None:
            return self._cid_packet
        if self._cid_fields:
            return cid.from_fields(self._cid_fields)
        return None

    async def wait_event(self, *names: str, timeout: float | None = None) -> DleEventReceived:
        """The next <DLE> event named one of ``names`` ("busy", "dial-tone", "dtmf", "silence" ...;
        v253.EVENTS), skipping others; ModemTimeoutError if none comes."""
        timeout, deadline = self._deadline(timeout)
        while True:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, DleEventReceived) and event.name in names:
                    return event
            if self.clock.now() >= deadline:
                raise self._timeout(f"no {' or '.join(names)} event", timeout)
            await self._pump(deadline)

    async def answer(self, timeout: float | None = None) -> None:
        """ATA: off hook; the modem answers VCON in voice mode."""
        await self._transact("ATA", timeout, ("VCON", "OK"))
        self.state = "offhook"
        self._end_ringing()

    async def off_hook(self, timeout: float | None = None) -> None:
        """AT+VLS=1: take the line (V.253: the line connected to the modem, off hook), in voice
        mode and with nothing dialled: what comes next is the host's (dial tone, digits as audio)."""
        await self._transact("AT+VLS=1", timeout, ("OK", "VCON"))
        self.state = "offhook"
        self._end_ringing()

    async def flash(self, ms: int = 500, timeout: float | None = None) -> None:
        """A hook flash during a call: ``ATS29=<ms/10>`` (the flash's length in 10 ms units on
        Hayes-style modems; tolerated if refused), then ``ATD!;``: V.250's hook-flash dial
        modifier, ``;`` back to command state, the call kept. A modem without it answers ERROR
        (a ModemError quoting it). A voice stream under way must be stopped first."""
        if not 10 <= ms <= 2550:
            raise UsageError(f"flash of {ms!r} ms: 10..2550")
        if self.state != "offhook":
            raise UsageError(f"a hook flash needs a call and no voice stream; the modem is {self.state}")
        await self._optional(f"ATS29={round(ms / 10)}")
        timeout = (self.timeout if timeout is None else timeout) + ms / 1000
        await self._transact("ATD!;", timeout, ("OK", "VCON"))

    async def dial(self, number: str, timeout: float = DIAL_TIMEOUT) -> str:
        """ATD: "VCON" once the modem has dialled (and, with +VRA/+VRN set, the far end seems to
        have answered); "BUSY", "NO DIALTONE", "NO ANSWER" or "NO CARRIER" when the modem found so
        (it is then on hook). Call progress after VCON comes as <DLE> events."""
        if not isinstance(number, str) or not number.strip() or len(number) > 40 or set(number) - DIAL_CHARS:
            raise UsageError(f"dial string {number!r}: up to 40 of 0-9 * # A-D , W @ ! T P")
        code, _ = await self._transact(f"ATD{number}", timeout,
                                       ("VCON", "OK", "BUSY", "NO DIALTONE", "NO ANSWER", "NO CARRIER"))
        self.state = "offhook" if code in ("VCON", "OK") else "idle"
        self._end_ringing()
        return code

    async def _start(self, line: str, state: str, timeout) -> None:
        if self.state != "offhook":
            raise UsageError(f"{line} needs a call (answer or dial first); the modem is {self.state}")
        self._audio.clear()
        self._audio_bytes, self._audio_carry = 0, b""
        self._stream_ended = False
        await self._transact(line, timeout, ("CONNECT",))
        self.state = state
        self._tx_start, self._tx_samples = self.clock.now(), 0

    async def start_receive(self, timeout: float | None = None) -> None:
        """AT+VRX: the modem sends the line's audio (and <DLE> events in it)."""
        await self._start("AT+VRX", "receiving", timeout)

    async def start_transmit(self, timeout: float | None = None) -> None:
        """AT+VTX: the modem plays what ``send_audio`` sends."""
        await self._start("AT+VTX", "transmitting", timeout)

    async def duplex(self, timeout: float | None = None) -> None:
        """AT+VTR: both at once (modems that have it; others answer ERROR, a ModemError)."""
        await self._start("AT+VTR", "duplex", timeout)

    async def stop(self, timeout: float | None = None, *, drop: bool = False) -> None:
        """End the voice stream: <DLE><ETX> after transmit (the modem plays out what it holds first;
        with ``drop``, <DLE><CAN><DLE><ETX>: it drops it), <DLE>! after receive, <DLE>^ after
        duplex; waits for the modem's OK."""
        state = self.state
        if state == "transmitting":
            data = self._conn.clear_and_end_transmit() if drop else self._conn.end_transmit()
            ahead = 0.0 if drop else max(0.0, self._tx_samples / compression.RATE -
                                         (self.clock.now() - self._tx_start))
        elif state == "receiving":
            data, ahead = self._conn.abort_receive(), 0.0
        elif state == "duplex":
            data, ahead = self._conn.end_duplex(), 0.0
        else:
            raise UsageError(f"no voice stream to stop: the modem is {state}")
        timeout, deadline = self._deadline(timeout)
        deadline += ahead
        self._replies.clear()
        self._awaiting = True
        try:
            await self._write(data)
            while True:
                while self._replies:
                    reply = self._replies.popleft()
                    if isinstance(reply, ResultReceived) and reply.code in ("OK", "VCON"):
                        self.state = "offhook"
                        self._stream_ended = True
                        return
                    said = reply.text if isinstance(reply, ResultReceived) else reply.line
                    raise ModemError(f"{self.transport.url}: ending the {state} stream, the modem answered "
                                     f"{said!r}", line=said.encode())
                if self.clock.now() >= deadline:
                    raise self._timeout(f"the {state} stream did not end", timeout + ahead)
                await self._pump(deadline)
        finally:
            self._awaiting = False

    # ---- audio ----

    async def send_audio(self, audio) -> None:
        """Samples to play: bytes in the chosen encoding, or an int16 array (encoded here). Paced by
        the clock at most TX_LEAD seconds ahead of the line."""
        if self.state not in ("transmitting", "duplex"):
            raise UsageError(f"send_audio needs start_transmit() or duplex(); the modem is {self.state}")
        encoding = self.compression.encoding
        payload = compression.encode(audio, encoding) if isinstance(audio, np.ndarray) else bytes(audio)
        width = compression.BYTES_PER_SAMPLE[encoding]
        if len(payload) % width:
            raise UsageError(f"{encoding} audio has whole samples of {width} bytes; {len(payload)} bytes is not")
        step = TX_PIECE * width
        for start in range(0, len(payload), step):
            piece = payload[start:start + step]
            elapsed = self.clock.now() - self._tx_start
            ahead = self._tx_samples / compression.RATE - elapsed
            if ahead < 0:       # we fell behind (the modem has played silence): the timeline starts anew
                self._tx_start, self._tx_samples = self.clock.now(), 0
            elif ahead > TX_LEAD:
                await self.clock.sleep(ahead - TX_LEAD)
            await self._write(self._conn.send_voice(piece))
            self._tx_samples += len(piece) // width

    async def receive_audio(self, timeout: float | None = None) -> AudioBlock | None:
        """The audio received so far (at least one sample; waits for it), or None once the stream
        has ended and everything was read. ModemTimeoutError if the modem sends nothing in time."""
        if self.compression is None:
            raise UsageError("receive_audio before init(): no compression chosen")
        timeout, deadline = self._deadline(timeout)
        width = compression.BYTES_PER_SAMPLE[self.compression.encoding]
        while True:
            if self._audio:
                payload = self._audio_carry + b"".join(self._audio)
                self._audio.clear()
                self._audio_bytes = 0
                cut = len(payload) - len(payload) % width
                payload, self._audio_carry = payload[:cut], payload[cut:]
                if payload:
                    return AudioBlock(payload, self.compression.encoding)
            if self._stream_ended or self.state not in ("receiving", "duplex"):
                return None
            if self.clock.now() >= deadline:
                raise self._timeout("no audio", timeout)
            await self._pump(deadline)

    async def audio(self, timeout: float | None = None):
        """Received audio blocks until the stream ends (async iterator)."""
        while (block := await self.receive_audio(timeout)) is not None:
            yield block

    async def send_dtmf(self, digits: str, duration_ms: int = 100, timeout: float | None = None) -> None:
        """Play DTMF keys on the line (+VTS, each ``duration_ms`` long, set by +VTD). A voice stream
        under way is stopped for it and started again after, as +VTS is a command."""
        if not isinstance(digits, str) or not digits or set(digits.upper()) - DTMF_KEYS or len(digits) > 32:
            raise UsageError(f"DTMF keys {digits!r}: 1 to 32 of 0-9 * # A-D")
        if not 10 <= duration_ms <= 5000:
            raise UsageError(f"duration_ms {duration_ms!r}: 10..5000")
        resume = self.state
        if resume in ("receiving", "transmitting", "duplex"):
            await self.stop()
        if self.state != "offhook":
            raise UsageError(f"send_dtmf needs a call; the modem is {self.state}")
        await self._optional(f"AT+VTD={duration_ms // 10}")
        timeout = (self.timeout if timeout is None else timeout) + len(digits) * 2 * duration_ms / 1000
        await self._transact("AT+VTS=" + ",".join(digits.upper()), timeout, ("OK",))
        if resume != "offhook":
            await {"receiving": self.start_receive, "transmitting": self.start_transmit,
                   "duplex": self.duplex}[resume]()

    # ---- the end ----

    async def hangup(self, timeout: float | None = None) -> None:
        """On hook: end the voice stream first (if one is under way), then ATH."""
        if self.state in ("receiving", "transmitting", "duplex"):
            await self.stop(timeout, drop=True)     # what the modem still holds is not played
        await self._transact("ATH", timeout, ("OK",))
        self.state = "idle"
        self._end_ringing()

    async def close(self) -> None:
        """Hang up if off hook (best effort, briefly), then release the port."""
        try:
            if self.state != "idle":
                await self.hangup(timeout=min(self.timeout, 2.0))
        except LinegateError:
            pass                    # the port is released whatever state the modem is in
        finally:
            await self.transport.close()
