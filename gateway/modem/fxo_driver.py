"""A V.253 voice modem as an FXO line of the gateway.

A voice modem is an analog line interface: ``ModemFxoDriver`` drives one as
a one-port FXO "board", with the surface ``gateway.runtime`` uses of a
``BoardDriver`` (``name``, ``kind``, ``identity``, ``command(PortCommand)``,
``take_audio``, ``queue_audio``, ``flush_audio``, ``close``, line events as
``PortEvent`` through ``on_event(driver, message)``), so that the channel's
loop-start stack (gateway.loopstart.FxoLine), the media engine and its
detectors run on it exactly as on a board's FXO port.

What the stack asks, in V.253 (gateway.modem.driver.VoiceModem does the
talking; every wait there has a timeout on the gateway's clock):

- OFF_HOOK: ``ATA`` when the line rang in the last 8 s (answer), else
  ``AT+VLS=1`` (seize); then ``AT+VTR`` (duplex voice). A modem without
  ``+VTR`` (ERROR) gets ``AT+VRX``: the channel hears the line but sends
  nothing to it, said once in the log.
- ON_HOOK: ``<DLE>^`` (or ``<DLE>!``) to end the stream, then ``ATH``.
- FLASH: the stream ended, ``ATS29=<ms/10>`` and ``ATD!;`` (V.250's
  hook-flash dial modifier; ``;``: the call stays up), the stream again. A
  modem answering ERROR has no hook flash: refused, logged and counted, the
  call goes on.
- Anything else (an FXS port's): refused, logged and counted.

What the line says, to the stack: ``RING`` (or ``<DLE>R``) is a ``RING_ON``
PortEvent and a ``RING_OFF`` one burst later (the country's ring cadence:
a modem reports no ring's end); ``<DLE>l`` (loop current break) is
``LOOP_CURRENT`` 0 mA, ``<DLE>L`` a ``POLARITY_REVERSAL``; the caller ID
the modem decoded (+VCID / #CID lines, once they stop coming, or at the
next RING at the latest) is a ``CallerIdReported``, which the runtime hands
to ``FxoLine.callerid_decoded``. The modem's own tone reports (busy, dial
tone, ringback, silence, DTMF) are only logged (debug): the gateway's
detectors decide from the audio, as on a board.

Audio: the modem's compression (+VSM, chosen at init: the channel's law
when the modem has it) is converted to and from the channel's G.711 law in
20 ms blocks. Received audio waits in a jitter buffer (``JITTER_TARGET``
blocks before it starts flowing, at most ``JITTER_LIMIT``: the oldest go,
counted in ``late_blocks``); transmitted blocks go out as the engine makes
them (nothing when it plays nothing: the modem fills with silence), at most
``TX_LIMIT`` waiting.

A modem that stops answering (a command's or the audio's timeout, a port
that fails) or answers nonsense to a command raises the channel's alarm
(``LineAlarm``: ``modem-not-answering``, ``modem-gone`` or
``modem-error``; the runtime ends the call under way and takes the channel
out of service); the driver then re-initialises it every ``retry`` seconds
and clears the alarm when it answers again. On hook, an ``AT`` every
``keepalive`` seconds finds a modem that died between calls. A garbled line
received unasked is logged and counted (``garbled_lines``), not an alarm.

One task per modem carries out the commands in order and, between them,
reads the modem (audio and events while a stream runs; events, polled
every ``IDLE_POLL`` s, on hook).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from gateway.boards import protocol as p
from gateway.dsp import g711
from gateway.dsp.tone_plan import load_plan
from gateway.errors import LinegateError, LinkError, ModemError, ModemTimeoutError, UsageError
from gateway.logs import log_event
from gateway.modem import compression
from gateway.modem.driver import DEFAULT_TIMEOUT, RING_GAP, Ring, VoiceModem
from gateway.modem.v253 import DleEventReceived, ResultReceived

log = logging.getLogger("linegate.modem")

BLOCK = 160                  # samples, and G.711 bytes, per 20 ms
JITTER_TARGET = 3            # received blocks held before audio starts flowing (again): 60 ms
JITTER_LIMIT = 8             # more waiting than this: the oldest go
TX_LIMIT = 10                # blocks to send waiting for the modem; more: the oldest go
REQUEST_LIMIT = 16
IDLE_POLL = 0.05             # on hook: how often a command waiting is looked at, at the latest
AUDIO_TIMEOUT = 2.0          # a stream with no audio for this long: the modem stopped answering
KEEPALIVE = 30.0
RETRY = 5.0
CALLER_ID_QUIET = 0.3        # caller-ID lines stop for this long: the report is whole
STREAMING = ("duplex", "receiving")
LAWS = ("ulaw", "alaw")


@dataclass(frozen=True)
class ModemKind:
    """What the runtime reads of a board's kind: a modem is one FXO line."""
    name: str = "modem"
    ports: int = 1
    spans: int = 0


KIND = ModemKind()


@dataclass(frozen=True)
class ModemIdentity:
    """Who the modem said it is (ATI, ATI3) and how its audio goes (+VSM)."""
    serial: str                 # the port it is on: modems have no serial number in V.253
    model: str
    compression: str
    ports: int = 1
    spans: int = 0


@dataclass(frozen=True)
class CallerIdReported:
    """Caller ID the line's device decoded itself (a modem's +VCID report), for the port's
    stack (``FxoLine.callerid_decoded``)."""
    port: int
    number: str
    name: str
    time_ms: int


@dataclass(frozen=True)
class LineAlarm:
    """The line's device cannot serve the port (``alarm`` says why, ``reason`` in words), or
    can again (``alarm`` None)."""
    port: int
    alarm: str | None
    reason: str
    time_ms: int


class ModemFxoDriver:
    """One voice modem as a one-port FXO board (see the module's doc). ``on_event(driver,
    message)`` gets PortEvent, CallerIdReported and LineAlarm messages, from the driver's task;
    it must not block."""

    kind = KIND

    def __init__(self, url: str, name: str, on_event, *, clock, law: str = "ulaw", country: str = "us",
                 timeout: float = DEFAULT_TIMEOUT, keepalive: float = KEEPALIVE, retry: float = RETRY,
                 audio_timeout: float = AUDIO_TIMEOUT):
        if law not in LAWS:
            raise UsageError(f"law must be 'ulaw' or 'alaw', not {law!r}")
        for what, value in (("timeout", timeout), ("keepalive", keepalive), ("retry", retry),
                            ("audio_timeout", audio_timeout)):
            if not value > 0:
                raise UsageError(f"{what} must be more than 0 seconds, not {value!r}")
        self.url = url
        self.name = name
        self.on_event = on_event
        self.clock = clock
        self.law = law
        self.country = country
        self.timeout, self.keepalive, self.retry, self.audio_timeout = timeout, keepalive, retry, audio_timeout
        self.ring_burst = load_plan(country).ring_cadence_ms[0] / 1000
        self.modem: VoiceModem | None = None
        self.identity: ModemIdentity | None = None
        self.alarm: str | None = None
        self.half_duplex = False                # the modem has no +VTR: receive only
        self.late_blocks = 0                    # received blocks dropped: the tick did not take them in time
        self.underruns = 0                      # ticks that found no received block
        self.dropped_tx_blocks = 0
        self.command_failures = 0
        self.garbled_lines = 0
        self.failures = 0                       # alarms raised
        self._requests: deque = deque()
        self._rx: deque = deque()
        self._rx_carry = bytearray()
        self._priming = True
        self._tx: deque = deque()
        self._tx_block: bytes | None = None
        self._task: asyncio.Task | None = None
        self._last_ring: float | None = None
        self._ring_off_due: float | None = None
        self._cid_reported = None               # the caller ID reported for the ringing under way
        self._cid_looked_at: float | None = None
        self._keepalive_due = 0.0
        self._retry_at = 0.0
        self._stale_transport = False

    @property
    def encoding(self) -> str | None:
        """The modem's compression (gateway.modem.compression's name), once initialised."""
        return self.modem.compression.encoding if self.modem and self.modem.compression else None

    # ---- set-up and the end ----

    async def open(self) -> "ModemFxoDriver":
        """Open the port and initialise the modem (ModemError / LinkError if it will not), then
        start serving the line."""
        self.modem = await VoiceModem.open(self.url, clock=self.clock, timeout=self.timeout)
        try:
            await self._init()
        except BaseException:
            await self.modem.transport.close()
            raise
        caps = self.modem.capabilities
        self.identity = ModemIdentity(self.url, " ".join(caps.description or caps.identity),
                                      self.modem.compression.encoding)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"modem {self.name}")
        return self

    async def _init(self) -> None:
        prefer = (self.law, *(e for e in compression.ENCODINGS if e != self.law))
        await self.modem.init(prefer=prefer)
        self.half_duplex = False
        self._keepalive_due = self.clock.now() + self.keepalive

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        for request, done in self._requests:
            if not done.done():
                done.set_result(False)
        self._requests.clear()
        if self.modem is not None:
            await self.modem.close()        # hangs up if off hook (briefly, best effort)

    # ---- what the runtime asks ----

    def command(self, message: p.PortCommand) -> asyncio.Future:
        """Queue a port command; carried out in order by the driver's task. The future says
        whether it was done (a refusal is logged and counted, as a board's is)."""
        done = asyncio.get_running_loop().create_future()
        if not isinstance(message, p.PortCommand) or message.port != 0:
            self._refuse(message, "a modem has one port, 0, and takes PORT_COMMAND only", done)
        elif self.alarm is not None and message.command is not p.PortAction.ON_HOOK:
            self._refuse(message, f"the modem is in alarm ({self.alarm})", done)
        elif len(self._requests) >= REQUEST_LIMIT:
            self._refuse(message, f"{REQUEST_LIMIT} commands wait already", done)
        else:
            self._requests.append((message, done))
        return done

    def take_audio(self, unit: int, channel: int) -> bytes | None:
        """The next received 20 ms block in the channel's law, or None (not streaming, or the
        jitter buffer is filling again after running dry)."""
        if self._priming:
            if len(self._rx) < JITTER_TARGET:
                return None
            self._priming = False
        if not self._rx:
            self._priming = True
            if self.modem is not None and self.modem.state in STREAMING:
                self.underruns += 1
            return None
        return self._rx.popleft()

    def queue_audio(self, unit: int, channel: int, law: str, block: bytes) -> None:
        if law != self.law:
            raise UsageError(f"modem {self.name} carries {self.law}, not {law}")
        self._tx_block = block

    async def flush_audio(self) -> None:
        """Once a tick: this tick's block joins the queue to send. Nothing is sent when nothing
        plays: the modem then plays silence (and says ``<DLE>u``), and what plays next starts
        without silence queued ahead of it in the modem (a backlog there would delay the
        digits and prompts by up to its buffer, half a second)."""
        block, self._tx_block = self._tx_block, None
        if block is None or self.modem is None or self.modem.state != "duplex" or self.alarm is not None:
            return
        self._tx.append(block)
        if len(self._tx) > TX_LIMIT:
            self._tx.popleft()
            self.dropped_tx_blocks += 1

    # ---- the driver's task ----

    async def _run(self) -> None:
        while True:
            try:
                if self.alarm is not None:
                    await self._recover()
                elif self._requests:
                    message, done = self._requests.popleft()
                    try:
                        done_ok = await self._carry_out(message)
                    except BaseException:
                        if not done.done():
                            done.set_result(False)
                        raise
                    if not done.done():
                        done.set_result(done_ok)
                elif self.modem.state in STREAMING:
                    await self._stream_step()
                else:
                    await self._idle_step()
            except ModemTimeoutError as exc:
                self._fail("modem-not-answering", exc)
            except LinkError as exc:
                self._stale_transport = True
                self._fail("modem-gone", exc)
            except ModemError as exc:
                # Garbled or unknown lines that came unasked: the modem still talks; noted, not an alarm.
                self.garbled_lines += 1
                log_event(log, logging.WARNING, "modem.garbled", modem=self.name, reason=str(exc))
            except Exception as exc:            # a fault of ours: the line is out of service, not dead for good
                log_event(log, logging.ERROR, "modem.driver-fault", modem=self.name, exc_info=True)
                self._fail("modem-error", exc)

    async def _carry_out(self, message: p.PortCommand) -> bool:
        action = message.command
        modem = self.modem
        try:
            if action is p.PortAction.OFF_HOOK:
                if modem.state == "idle":
                    rang = self._last_ring is not None and self.clock.now() - self._last_ring < RING_GAP
                    await (modem.answer() if rang else modem.off_hook())
                    self._ring_off_due, self._last_ring, self._cid_reported = None, None, None
                    await self._open_stream()
                return True
            if action is p.PortAction.ON_HOOK:
                if modem.state != "idle":
                    await modem.hangup()
                self._reset_audio()
                self._last_ring, self._cid_reported = None, None
                self._keepalive_due = self.clock.now() + self.keepalive
                return True
            if action is p.PortAction.FLASH:
                if modem.state == "idle":
                    self._refuse(message, "on hook: no call to flash")
                    return False
                if modem.state in STREAMING:
                    await modem.stop(drop=True)
                try:
                    await modem.flash(min(max(message.ms or 500, 10), 2550))
                    done = True
                except ModemError as exc:
                    if isinstance(exc, ModemTimeoutError) or exc.line != b"ERROR":
                        raise
                    self._refuse(message, "the modem has no hook flash (ATD!; answered ERROR)")
                    done = False
                await self._open_stream()
                return done
        except ModemError as exc:
            if isinstance(exc, ModemTimeoutError):
                raise
            self.command_failures += 1
            self._fail("modem-error", exc)
            return False
        self._refuse(message, f"{action.name} is not an FXO line's (a voice modem is one)")
        return False

    async def _open_stream(self) -> None:
        self._reset_audio()
        if not self.half_duplex:
            try:
                await self.modem.duplex()
                return
            except ModemError as exc:
                if isinstance(exc, ModemTimeoutError) or exc.line != b"ERROR":
                    raise
                self.half_duplex = True
                log_event(log, logging.WARNING, "modem.receive-only", modem=self.name,
                          reason="AT+VTR answered ERROR: the channel hears the line but sends nothing to it")
        await self.modem.start_receive()

    async def _stream_step(self) -> None:
        block = await self.modem.receive_audio(timeout=self.audio_timeout)
        if block is None:
            raise ModemError(f"{self.url}: the modem ended the voice stream on its own")
        self._audio_in(block.payload)
        for event in self.modem.take_events():
            self._modem_event(event)
        if self._tx:
            payload, self._tx = b"".join(self._tx), deque()
            if self.modem.state == "duplex":
                if self.encoding != self.law:
                    payload = compression.encode(g711.decode(payload, self.law), self.encoding)
                await self.modem.send_audio(payload)

    async def _idle_step(self) -> None:
        event = await self.modem.next_event(timeout=IDLE_POLL)
        if event is not None:
            self._modem_event(event)
        now = self.clock.now()
        heard_at = self.modem.caller_id_heard_at
        if heard_at is not None and heard_at != self._cid_looked_at and now - heard_at >= CALLER_ID_QUIET:
            self._cid_looked_at = heard_at          # once per burst of lines, even when it is garbled
            caller_id = self.modem.pending_caller_id()
            if caller_id is not None:
                self._caller_id(caller_id, now)
        if self._ring_off_due is not None and now >= self._ring_off_due:
            self._ring_off_due = None
            self._port_event(p.PortEventCode.RING_OFF, 0, now)
        if now >= self._keepalive_due and not self._requests:
            await self.modem.command("AT")
            self._keepalive_due = self.clock.now() + self.keepalive

    async def _recover(self) -> None:
        await self.clock.sleep(max(0.0, self._retry_at - self.clock.now()))
        try:
            if self._stale_transport:
                await self.modem.transport.close()
                self.modem = await VoiceModem.open(self.url, clock=self.clock, timeout=self.timeout)
                self._stale_transport = False
            await self._init()
        except LinegateError as exc:
            self._stale_transport = self._stale_transport or isinstance(exc, LinkError)
            self._retry_at = self.clock.now() + self.retry
            log_event(log, logging.DEBUG, "modem.still-failing", modem=self.name, reason=str(exc))
            return
        self.alarm = None
        log_event(log, logging.INFO, "modem.recovered", modem=self.name)
        self._emit(LineAlarm(0, None, "the modem answers again", self._ms()))

    def _fail(self, alarm: str, exc: Exception) -> None:
        self.failures += 1
        self._reset_audio()
        for message, done in self._requests:
            if not done.done():
                done.set_result(message.command is p.PortAction.ON_HOOK)   # init puts it on hook
        self._requests.clear()
        self._ring_off_due = None
        log_event(log, logging.ERROR, "modem.failed", modem=self.name, alarm=alarm, reason=str(exc))
        self._retry_at = self.clock.now()       # re-initialise at once, then every ``retry`` s
        if self.alarm is None:
            self.alarm = alarm
            self._emit(LineAlarm(0, alarm, str(exc), self._ms()))

    # ---- what the modem says ----

    def _modem_event(self, event) -> None:
        now = self.clock.now()
        if isinstance(event, Ring):
            if self._last_ring is None or now - self._last_ring > RING_GAP:
                self._cid_reported = None           # a new call rings
            if event.caller_id is not None:
                self._caller_id(event.caller_id, now)
            if self._ring_off_due is not None:     # a cadence shorter than the country's: it ended by now
                self._port_event(p.PortEventCode.RING_OFF, 0, now)
            self._last_ring = now
            self._ring_off_due = now + self.ring_burst
            self._port_event(p.PortEventCode.RING_ON, 0, now)
        elif isinstance(event, DleEventReceived) and event.name == "loop-break":
            self._port_event(p.PortEventCode.LOOP_CURRENT, 0, now)
        elif isinstance(event, DleEventReceived) and event.name == "polarity-reversal":
            self._port_event(p.PortEventCode.POLARITY_REVERSAL, 0, now)
        elif isinstance(event, ResultReceived):
            log_event(log, logging.INFO, "modem.said", modem=self.name, result=event.text)
        else:
            # Tone reports and the like: the gateway's own detectors decide from the audio.
            log_event(log, logging.DEBUG, "modem.reported", modem=self.name, what=repr(event))

    def _caller_id(self, caller_id, now: float) -> None:
        if caller_id == self._cid_reported:
            return                          # the same call's caller ID again (each ring carries it)
        self._cid_reported = caller_id
        self._emit(CallerIdReported(0, caller_id.number or "", caller_id.name or "", self._ms(now)))

    def _port_event(self, code: p.PortEventCode, value: int, now: float) -> None:
        self._emit(p.PortEvent(0, code, value, self._ms(now)))

    def _emit(self, message) -> None:
        self.on_event(self, message)

    def _ms(self, now: float | None = None) -> int:
        return int((self.clock.now() if now is None else now) * 1000)

    def _refuse(self, message, why: str, done: asyncio.Future | None = None) -> None:
        self.command_failures += 1
        what = message.command.name if isinstance(message, p.PortCommand) else type(message).__name__
        log_event(log, logging.WARNING, "modem.command-refused", modem=self.name, command=what, reason=why)
        if done is not None and not done.done():
            done.set_result(False)

    # ---- audio ----

    def _reset_audio(self) -> None:
        self._rx.clear()
        self._rx_carry.clear()
        self._priming = True
        self._tx.clear()

    def _audio_in(self, payload: bytes) -> None:
        if self.encoding != self.law:
            payload = g711.encode(compression.decode(payload, self.encoding), self.law).tobytes()
        carry = self._rx_carry
        carry += payload
        while len(carry) >= BLOCK:
            self._rx.append(bytes(carry[:BLOCK]))
            del carry[:BLOCK]
            if len(self._rx) > JITTER_LIMIT:
                self._rx.popleft()
                self.late_blocks += 1
