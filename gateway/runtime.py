"""The running gateway: boards, their ports as channels with their
signalling stacks, the media engine's 20 ms tick, and the call model.

Everything happens in one asyncio task per gateway (the tick) plus one
reader per board: line events wait in a queue for the tick, so the stacks
and the call model only ever run in the tick, one thing at a time, on the
one clock. Host operations (from the CTI service) run between ticks and
take effect at once; what they start is carried on by the tick.

Time: stacks get monotonic seconds (``clock.now()``); the call model and
its events get wall-clock seconds (``clock.wall()`` shifted the same way),
so event times and call records read as dates.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from gateway.board_driver import BoardDriver
from gateway.boards import protocol as p
from gateway.call import CAUSES, CallModel, CallState, ChannelState
from gateway.clear_channel import ClearLine
from gateway.dsp import callerid
from gateway.dsp.tone import tone as tone_samples
from gateway.dsp.tone_plan import load_plan
from gateway.errors import LinegateError, UsageError
from gateway.line_signal import (Battery, Detect, Flash, Hook, Listen, PlayTone, Ring, SendCallerId, SendDigits,
                                 Signal, StopMedia)
from gateway.loopstart import Fxo, FxoConfig, FxoLine, FxsConfig, FxsLine
from gateway.media import DigitsSource, MediaEngine, SamplesSource, load_prompt
from gateway.modem.fxo_driver import CallerIdReported, LineAlarm, ModemFxoDriver

log = logging.getLogger("linegate.gateway")

TICK = 0.020
PULSE_BREAK_MS, PULSE_MAKE, PULSE_INTERDIGIT = 60, 0.040, 0.700     # 10 pps, 60/40 (ITU-T Q.23 era practice)


def tone_cycle(country: str, tone: str):
    """One cadence cycle of a plan's tone as samples (a steady tone: one second; 30 s at most)."""
    spec = load_plan(country)[tone]
    player = spec.player()
    total = player.total_samples
    if total is None:                    # it repeats: one round of its elements
        cycle_ms = sum(seg.duration_ms for seg in spec.segments() if not seg.forever)
        total = cycle_ms * 8 if cycle_ms else 8000
    return player.generate(min(total, 8000 * 30))


class OperationError(LinegateError):
    """A host operation that cannot be done; ``code`` is the CTI error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class LineChannel:
    id: str
    group: str
    kind: str                     # "fxo", "fxs" or "e1"
    driver: BoardDriver
    port: int                     # the port, or the span of an E1 timeslot
    law: str
    country: str
    stack: object
    index: int = -1               # the engine's channel number
    pulses: asyncio.Task | None = None
    collect: dict | None = None   # a call.collect in progress
    waiters: dict = field(default_factory=dict)   # media tag -> what waits for it (see _media_done)
    transfer: asyncio.Future | None = None        # a hook-flash transfer under way
    extension: str = ""
    hold_tone: str = "ringback"
    timeslot: int = 0             # E1: 1..15, 17..31; analog: 0 (PROTOCOL.md "Channels")
    clip: object = None           # FXO: the DTMF CLIP assembler while the line rings


@dataclass
class BoardSpec:
    url: str
    name: str
    group: str | None = None
    law: str = "alaw"
    country: str = "us"
    extensions: tuple = ()        # FXS: the phones' numbers, port by port
    fxo: FxoConfig = field(default_factory=FxoConfig)
    fxs: dict = field(default_factory=dict)


@dataclass
class ModemSpec:
    """A V.253 voice modem as a one-port FXO line (gateway.modem.fxo_driver)."""
    url: str
    name: str
    group: str = "modem"
    law: str = "ulaw"
    country: str = "us"
    number: str = ""              # the line's own number (the DNIS of calls to it)
    fxo: FxoConfig = field(default_factory=FxoConfig)
    keepalive: float = 30.0


# A modem's line alarm ends the call under way with Q.850 41, temporary failure.
MODEM_ALARM_CAUSE = 41


class Gateway:
    def __init__(self, clock, country: str = "us", call_prefix: str = "c"):
        self.clock = clock
        self.country = country
        self.model = CallModel(call_prefix=call_prefix)
        self.drivers: list[BoardDriver] = []
        self.channels: dict[str, LineChannel] = {}
        self.by_port: dict[tuple, LineChannel] = {}
        self._span_channels: dict[tuple, list] = {}     # (board, span) -> its timeslots' channels
        self.engine: MediaEngine | None = None
        self.listeners = []               # callables taking the model's events (CTI, store, log)
        self._line_events: deque = deque()
        self._board_offset: dict[str, float] = {}
        self._wall_offset = clock.wall() - clock.now()
        self._tags = itertools.count(1)
        self._collect_waiters = {}
        self.ticks = 0
        self.overruns = 0
        self.faults = 0                   # actions that failed (logged; the tick goes on)
        self._stopping = False

    # ---- set-up ----
    async def add_board(self, spec: BoardSpec) -> BoardDriver:
        driver = BoardDriver(spec.url, spec.name, self._on_board_event)
        await driver.open()
        kind = driver.kind.name
        if kind == "e1x2":
            await self._add_spans(driver, spec)
            self.drivers.append(driver)
            return driver
        port_kind = kind[:3]
        group = spec.group or port_kind
        for port in range(driver.identity.ports):
            await driver.request(p.ConfigurePort(port, p.Law.ALAW if spec.law == "alaw" else p.Law.ULAW,
                                                 spec.country, 0, 0))
            if port_kind == "fxo":
                stack = FxoLine(spec.fxo)
            else:
                ext = spec.extensions[port] if port < len(spec.extensions) else f"{spec.name}{port}"
                stack = FxsLine(FxsConfig(extension=ext, **spec.fxs))
            channel = LineChannel(f"{spec.name}/{port}", group, port_kind, driver, port, spec.law, spec.country, stack)
            # FXS: the phone's number (the ANI of its calls); FXO: the line's own number (the DNIS of
            # calls to it: an analog line does not say which number was called).
            channel.extension = spec.extensions[port] if port < len(spec.extensions) else \
                getattr(stack.config, "extension", "")
            self.channels[channel.id] = channel
            self.by_port[(spec.name, port)] = channel
            self.model.add_channel(channel.id, group, port_kind, self.wall())
        self.drivers.append(driver)
        return driver

    async def add_modem(self, spec: ModemSpec) -> ModemFxoDriver:
        """A voice modem as a channel NAME/0 of kind fxo: the loop-start stack on V.253."""
        driver = ModemFxoDriver(spec.url, spec.name, self._on_board_event, clock=self.clock, law=spec.law,
                                country=spec.country, keepalive=spec.keepalive)
        await driver.open()
        channel = LineChannel(f"{spec.name}/0", spec.group, "fxo", driver, 0, spec.law, spec.country,
                              FxoLine(spec.fxo), extension=spec.number)
        self.channels[channel.id] = channel
        self.by_port[(spec.name, 0)] = channel
        self.model.add_channel(channel.id, spec.group, "fxo", self.wall())
        self.drivers.append(driver)
        return driver

    async def _add_spans(self, driver: BoardDriver, spec: BoardSpec) -> None:
        """An E1 board's 30 bearer timeslots per span, as clear channels (E1 signalling,
        PRI and R2, will give them calls of their own)."""
        group = spec.group or "e1"
        for span in range(driver.identity.spans):
            await driver.request(p.ConfigureSpan(span, p.Framing.CCS, True, p.LineCoding.HDB3, span + 1,
                                                 p.Law.ALAW if spec.law == "alaw" else p.Law.ULAW))
            for ts in [*range(1, 16), *range(17, 32)]:
                channel = LineChannel(f"{spec.name}/{span}.{ts}", group, "e1", driver, span, spec.law, spec.country,
                                      ClearLine(), timeslot=ts)
                self.channels[channel.id] = channel
                self._span_channels.setdefault((spec.name, span), []).append(channel)
                self.model.add_channel(channel.id, group, "e1", self.wall())

    def start_engine(self) -> None:
        channels = list(self.channels.values())
        self.engine = MediaEngine([c.law for c in channels], country=self.country)
        for i, channel in enumerate(channels):
            channel.index = i
            if channel.country != self.country:
                self.engine.set_country(i, channel.country)
        self._by_index = channels

    async def close(self) -> None:
        self._stopping = True
        for driver in self.drivers:
            await driver.close()

    # ---- time ----
    def now(self) -> float:
        return self.clock.now()

    def wall(self, now: float | None = None) -> float:
        return (self.clock.now() if now is None else now) + self._wall_offset

    # ---- board events (reader tasks) ----
    def _on_board_event(self, driver: BoardDriver, message) -> None:
        now = self.clock.now()
        if isinstance(message, p.PortEvent):
            # The board's own clock places the event more finely than our tick: keep the
            # smallest seen offset between the clocks (the least delayed event).
            seen = now - message.time_ms / 1000.0
            offset = min(self._board_offset.get(driver.name, seen), seen)
            self._board_offset[driver.name] = offset
            self._line_events.append((driver.name, message, min(now, offset + message.time_ms / 1000.0)))
        elif isinstance(message, p.Log):
            log.log(10 + 10 * int(message.level), "board=%s says: %s", driver.name, message.text)
        elif isinstance(message, p.Alarms):
            self._line_events.append((driver.name, message, now))
        elif isinstance(message, (CallerIdReported, LineAlarm)):      # a modem's (gateway.modem.fxo_driver)
            self._line_events.append((driver.name, message, min(now, message.time_ms / 1000.0)))

    # ---- the tick ----
    async def run(self, pacer) -> None:
        """Tick until ``stop``. ``pacer`` moves time one tick at a time (real or virtual)."""
        try:
            while not self._stopping:
                await pacer.next_tick(self)
                await self.tick()
        finally:
            self._abandon_waits()

    def _abandon_waits(self) -> None:
        """Time stops: whoever waits for a piece of media or for digits is answered now."""
        now = self.clock.now()
        for channel in self.channels.values():
            for tag in list(channel.waiters):
                self._resolve(channel, tag, "stopped", now)
            if channel.collect is not None:
                self._finish_collect(channel, "stopped", now)
            if channel.transfer is not None and not channel.transfer.done():
                channel.transfer.set_exception(OperationError("wrong-state", "the gateway stopped"))

    def stop(self) -> None:
        self._stopping = True

    async def tick(self) -> None:
        now = self.clock.now()
        self.ticks += 1
        while self._line_events:
            name, message, at = self._line_events.popleft()
            if isinstance(message, p.PortEvent):
                channel = self.by_port.get((name, message.port))
                if channel is not None:
                    self._apply(channel, self._ask(channel, channel.stack.port_event, message.event, message.value, at),
                                at)
            elif isinstance(message, p.Alarms):
                self._span_alarms(name, message, at)
            elif isinstance(message, (CallerIdReported, LineAlarm)):
                channel = self.by_port.get((name, message.port))
                if channel is not None:
                    self._modem_line_event(channel, message, at)
        rx = {}
        for channel in self._by_index:
            block = channel.driver.take_audio(channel.port, channel.timeslot)
            if block is not None:
                rx[channel.index] = block
        result = self.engine.tick(rx)
        for index, ev in result.events:
            channel = self._by_index[index]
            self._detected(channel, ev, now)
        for index, voice in result.voice.items():
            channel = self._by_index[index]
            self._apply(channel, self._ask(channel, channel.stack.heard, voice, now), now)
        for index, tag, reason in result.done:
            self._media_done(self._by_index[index], tag, reason, now)
        for channel in self._by_index:
            deadline = channel.stack.deadline
            if deadline is not None and deadline <= now:
                self._apply(channel, self._ask(channel, channel.stack.tick, now), now)
            if channel.collect is not None:
                self._collect_timer(channel, now)
        for index, block in result.tx.items():
            channel = self._by_index[index]
            channel.driver.queue_audio(channel.port, channel.timeslot, channel.law, block)
        for driver in self.drivers:
            await driver.flush_audio()
        self._publish()

    def _publish(self) -> None:
        events = self.model.drain()
        if events:
            for listener in self.listeners:
                listener(events)

    def _span_alarms(self, board: str, message, now: float) -> None:
        """A span's alarms (PROTOCOL.md: raised after 100 ms, cleared 200 ms after they went) on
        each of its timeslots' channels. A span that lost its frames (LOS, AIS, LOF) carries no
        call: those up are cleared with cause 38, network out of order; RAI alone (the far end
        does not hear us) is reported and left to the signalling."""
        names = [flag.name.lower() for flag in p.Alarm if message.alarms & flag]
        down = bool(message.alarms & (p.Alarm.LOS | p.Alarm.AIS | p.Alarm.LOF))
        for channel in self._span_channels.get((board, message.span), ()):
            state = self.model.channels[channel.id]
            if down and state.call is not None and not self.model.calls[state.call].ended:
                self._apply(channel, channel.stack.line_down(now, 38), now)
            self.model.set_alarm(channel.id, ",".join(names) if names else None, self.wall(now))

    # ---- detector events ----
    def _detected(self, channel: LineChannel, ev, now: float) -> None:
        if ev.kind == "callerid":
            try:
                info = callerid.from_event(ev)
            except (LinegateError, ValueError) as exc:
                log.warning("channel=%s caller ID not decoded: %s", channel.id, exc)
                return
            self._callerid(channel, info, now)
            return
        if ev.kind == "dtmf" and channel.kind == "fxo" and channel.stack.state in (Fxo.IDLE, Fxo.RINGING):
            # On-hook DTMF is DTMF CLIP (countries that send caller ID so).
            if channel.clip is None:
                channel.clip = callerid.DtmfClipAssembler()
            try:
                info = channel.clip.feed(ev)
            except LinegateError as exc:
                log.warning("channel=%s DTMF caller ID dropped: %s", channel.id, exc)
                return
            if info is not None:
                self._callerid(channel, info, now)
            return
        if ev.kind == "dtmf" and ev.end is None:
            if channel.waiters:
                self._barge_in(channel, ev.value, now)
            if channel.collect is not None:
                self._collect_digit(channel, ev.value, now)
        self._apply(channel, self._ask(channel, channel.stack.detected, ev.kind, ev.value, now,
                                       ended=ev.end is not None, reason=ev.reason), now)

    def _modem_line_event(self, channel: LineChannel, message, now: float) -> None:
        """A modem's caller-ID report goes to the stack as decoded caller ID; its alarm to the
        channel, ending the call under way (the modem was re-initialised, on hook)."""
        if isinstance(message, CallerIdReported):
            self._apply(channel, channel.stack.callerid_decoded(message.number, message.name, now), now)
            return
        call = self._call_of(channel)
        if message.alarm is not None and call is not None and not self.model.calls[call].ended:
            self._apply(channel, channel.stack.hangup(now, MODEM_ALARM_CAUSE), now)
        self.model.set_alarm(channel.id, message.alarm, self.wall(now))

    def _callerid(self, channel: LineChannel, info, now: float) -> None:
        self._apply(channel, channel.stack.callerid_decoded(info.number or "", info.name or "", now), now)

    def _media_done(self, channel: LineChannel, tag, reason: str, now: float) -> None:
        if tag == "digits:":
            self._apply(channel, channel.stack.digits_sent(now), now)
            return
        waiter = channel.waiters.get(tag)
        if waiter is None:
            return
        if waiter["kind"] == "play" and reason == "done" and waiter["left"] > 1:
            waiter["left"] -= 1
            self.engine.play(channel.index, waiter["make"](), tag=tag)     # the next repetition
            return
        self._resolve(channel, tag, reason, now)

    def _resolve(self, channel: LineChannel, tag, reason: str, now: float) -> None:
        """Answer whoever waits for a piece of media, and say so in an event."""
        waiter = channel.waiters.pop(tag)
        future, kind = waiter["future"], waiter["kind"]
        call = waiter["call"]
        if kind == "dtmf":
            result = {"reason": reason}
        elif kind == "play":
            result = {"reason": reason}
            self.model.note("call.played", self.wall(now), call=call, channel=channel.id, reason=reason)
        else:
            seconds = round(self.engine.recorded_seconds(channel.index), 2)
            result = {"file": waiter["file"], "seconds": seconds, "reason": reason}
            self.model.note("call.recorded", self.wall(now), call=call, channel=channel.id, **result)
        if not future.done():
            future.set_result(result)

    def _call_of(self, channel: LineChannel) -> str | None:
        return self.model.channels[channel.id].call

    # ---- carrying out a stack's actions ----
    def _ask(self, channel: LineChannel, what, *args, **kwargs) -> list:
        """A stack's answer to an input; a stack that fails is logged and answers nothing."""
        try:
            return what(*args, **kwargs)
        except Exception:
            self.faults += 1
            log.exception("channel=%s stack %s failed", channel.id, getattr(what, "__name__", what))
            return []

    def _apply(self, channel: LineChannel, actions: list, now: float) -> None:
        for action in actions:
            try:
                self._carry_out(channel, action, now)
            except Exception:
                # One channel's trouble (a bug, a refused transition) must not stop the others' calls.
                self.faults += 1
                log.exception("channel=%s action=%r failed", channel.id, action)

    def _carry_out(self, channel: LineChannel, action, now: float) -> None:
        if isinstance(action, Signal):
            self._signal(channel, action, now)
        elif isinstance(action, Hook):
            self._port(channel, p.PortAction.OFF_HOOK if action.offhook else p.PortAction.ON_HOOK)
        elif isinstance(action, Flash):
            self._port(channel, p.PortAction.FLASH, action.ms)
        elif isinstance(action, SendDigits):
            if action.method == "dtmf":
                self.engine.play(channel.index, DigitsSource(action.digits), tag="digits:")
            else:
                channel.pulses = asyncio.get_running_loop().create_task(self._pulse(channel, action.digits))
        elif isinstance(action, Detect):
            self.engine.set_detectors(channel.index, action.names)
        elif isinstance(action, Listen):
            self.engine.set_listen(channel.index, action.on)
        elif isinstance(action, PlayTone):
            self.engine.play_tone(channel.index, action.tone)
        elif isinstance(action, Ring):
            self._port(channel, p.PortAction.RING_START if action.on else p.PortAction.RING_STOP)
        elif isinstance(action, Battery):
            self._port(channel, p.PortAction.BATTERY_ON if action.on else p.PortAction.BATTERY_OFF)
            if not action.on and action.ms:
                asyncio.get_running_loop().call_later(action.ms / 1000, self._port, channel,
                                                      p.PortAction.BATTERY_ON)
        elif isinstance(action, SendCallerId):
            self._send_callerid(channel, action)
        elif isinstance(action, StopMedia):
            self._stop_media(channel, now)
            if channel.pulses is not None:
                channel.pulses.cancel()
                channel.pulses = None

    def _port(self, channel: LineChannel, action: p.PortAction, ms: int = 0) -> None:
        channel.driver.command(p.PortCommand(channel.port, action, ms))

    async def _pulse(self, channel: LineChannel, digits: str) -> None:
        """Pulse dialling: one FLASH (break) per pulse, ten for 0; the board times each break."""
        for digit in digits:
            if not digit.isdigit():
                continue
            for _ in range(int(digit) or 10):
                self._port(channel, p.PortAction.FLASH, PULSE_BREAK_MS)
                await self.clock.sleep(PULSE_BREAK_MS / 1000 + PULSE_MAKE)
            await self.clock.sleep(PULSE_INTERDIGIT)
        channel.pulses = None
        self._apply(channel, channel.stack.digits_sent(self.clock.now()), self.clock.now())

    def _send_callerid(self, channel: LineChannel, action: SendCallerId) -> None:
        """To a phone on an FXS port: the country's signal (Bell 202 or V.23 MDMF, or DTMF CLIP)."""
        when = time.strftime("%m%d%H%M", time.localtime(self.wall()))
        info = callerid.CallerId(number=action.number or None, name=action.name or None, time=when,
                                 number_absent_reason=None if action.number else "unavailable")
        try:
            audio = callerid.callerid_audio(info, channel.country)
        except LinegateError as exc:         # a number or name the signal cannot carry
            log.warning("channel=%s caller ID not sent: %s", channel.id, exc)
            return
        self.engine.play(channel.index, SamplesSource(audio))

    def _stop_media(self, channel: LineChannel, now: float) -> None:
        self.engine.stop(channel.index)
        for tag in list(channel.waiters):
            self._resolve(channel, tag, "hangup", now)
        if channel.collect is not None:
            self._finish_collect(channel, "hangup", now)

    def _barge_in(self, channel: LineChannel, digit: str, now: float) -> None:
        """A key stops the plays that allow barge-in and the recordings it terminates."""
        for tag, waiter in list(channel.waiters.items()):
            stops = (waiter["kind"] == "play" and waiter.get("barge_in")) or \
                    (waiter["kind"] == "record" and digit in (waiter.get("terminator") or ""))
            if stops:
                self.engine.cancel(channel.index, tag)
                self._resolve(channel, tag, "digit", now)

    def _signal(self, channel: LineChannel, sig: Signal, now: float) -> None:
        wall = self.wall(now)
        f = sig.fields
        model = self.model
        call = model.channels[channel.id].call
        kind = sig.kind
        if kind == "offered":
            model.offer(channel.id, f.get("ani", ""), f.get("dnis", "") or channel.extension, f.get("name", ""), wall)
        elif kind == "free":
            if call is not None and not model.calls[call].ended:
                log.error("channel=%s freed with call %s still up", channel.id, call)
                return
            model.free(channel.id, wall)
        elif kind == "alarm":
            model.set_alarm(channel.id, f.get("alarm"), wall)
        elif kind == "seized":
            model.set_channel_state(channel.id, ChannelState.DIALING, wall)
        elif call is None:
            return
        elif kind == "proceeding":
            model.proceeding(call, wall)
        elif kind == "progress":
            model.progress(call, f["tone"], wall)
        elif kind == "alerting":
            model.alerting(call, wall)
        elif kind == "connected":
            model.connected(call, wall, f.get("how", "signalling"))
        elif kind == "disconnected":
            model.disconnected(call, f["cause"], f["by"], wall, reason=f.get("reason"))
            if channel.transfer is not None and not channel.transfer.done():
                channel.transfer.set_result({"how": "flash"} if f.get("reason") == "transferred" else None)
            channel.transfer = None
            other = self.engine.unbridge(channel.index)
            if other is not None:
                # One leg of a bridge ended: the other goes too.
                peer = self._by_index[other]
                peer_call = self._call_of(peer)
                if peer_call and not model.calls[peer_call].ended:
                    self._apply(peer, peer.stack.hangup(now, 16), now)
        elif kind == "transfer-failed":
            if channel.transfer is not None and not channel.transfer.done():
                channel.transfer.set_exception(OperationError(
                    "not-allowed", f"the exchange gave no dial tone after the flash ({f.get('reason')}): "
                                   "this line offers no transfer; the call is back"))
            channel.transfer = None
        elif kind == "amd":
            record = model.calls[call]
            model.amd(call, f.get("result") or record.amd or "notsure", wall, beep=f.get("beep", False),
                      reason=f.get("reason"))
        elif kind == "digits":
            model.digits(call, f["digits"], wall)
        elif kind == "flash":
            model.note("call.flash", wall, call=call, channel=channel.id, ms=f.get("ms"))

    # ---- host operations ----
    def channel_for(self, group: str | None, channel_id: str | None) -> LineChannel:
        if channel_id is not None:
            channel = self.channels.get(channel_id)
            if channel is None:
                raise OperationError("not-found", f"no channel {channel_id!r}")
            state = self.model.channels[channel_id]
            if state.state is not ChannelState.IDLE or state.call is not None:
                raise OperationError("busy", f"channel {channel_id} is {state.state.value}")
            return channel
        groups = {c.group for c in self.channels.values()}
        if group is not None and group not in groups:
            raise OperationError("not-found", f"no channel group {group!r} (groups: {', '.join(sorted(groups))})")
        wanted = group or "fxo"
        for state in self.model.idle_channels(wanted):
            return self.channels[state.id]
        raise OperationError("busy", f"no idle channel in group {wanted!r}")

    def make_call(self, to: str, frm: str = "", group: str | None = None, channel_id: str | None = None,
                  detect=(), meta: dict | None = None, timeout: float | None = None) -> str:
        if not to or any(c not in "0123456789*#ABCDabcd" for c in to):
            raise OperationError("bad-args", f"to: {to!r} is not a dialable number (digits, * # A-D)")
        channel = self.channel_for(group, channel_id)
        now = self.clock.now()
        if channel.kind in ("fxo", "e1"):
            try:
                actions = channel.stack.originate(to, now, detect=detect, no_answer=timeout)
            except UsageError as exc:
                raise OperationError("wrong-state", str(exc)) from None
        else:
            try:
                actions = channel.stack.originate(to, now, callerid=(frm, ""), detect=detect, no_answer=timeout)
            except UsageError as exc:
                raise OperationError("wrong-state", str(exc)) from None
        call = self.model.originate(channel.id, to, frm, self.wall(now), meta={**(meta or {}), "detect": list(detect)})
        self._apply(channel, actions, now)
        self._publish()
        return call.id

    def _channel_of_call(self, call_id: str):
        try:
            call = self.model.get(call_id)
        except UsageError:
            raise OperationError("not-found", f"no call {call_id!r}") from None
        return call, self.channels[call.channel]

    def answer(self, call_id: str) -> None:
        call, channel = self._channel_of_call(call_id)
        if call.state is not CallState.OFFERED:
            raise OperationError("wrong-state", f"call {call_id} is {call.state.value}, not offered")
        now = self.clock.now()
        self._apply(channel, channel.stack.answer(now), now)
        self._publish()

    def hangup(self, call_id: str, cause: int = 16) -> None:
        call, channel = self._channel_of_call(call_id)
        if call.ended:
            raise OperationError("wrong-state", f"call {call_id} has ended already")
        now = self.clock.now()
        self._apply(channel, channel.stack.hangup(now, cause), now)
        self._publish()

    def hold(self, call_id: str) -> None:
        call, channel = self._channel_of_call(call_id)
        if call.state is not CallState.CONNECTED:
            raise OperationError("wrong-state", f"call {call_id} is {call.state.value}, not connected")
        now = self.clock.now()
        self.engine.play_tone(channel.index, channel.hold_tone)     # the far end hears that it is held
        self.engine.set_detectors(channel.index, ())
        self.model.held(call_id, self.wall(now))
        self._publish()

    def retrieve(self, call_id: str) -> None:
        call, channel = self._channel_of_call(call_id)
        if call.state is not CallState.HELD:
            raise OperationError("wrong-state", f"call {call_id} is {call.state.value}, not held")
        now = self.clock.now()
        self.engine.play_tone(channel.index, None)
        self.engine.set_detectors(channel.index, ("dtmf", "cpt") if channel.kind == "fxo" else ("dtmf",))
        self.model.retrieved(call_id, self.wall(now))
        self._publish()

    async def transfer(self, call_id: str, to: str | None = None, consult: str | None = None) -> dict:
        """Blind (``to``) or consultative (``consult``: another call of ours) transfer.
        Consultative: the two calls' channels are bridged and the host leaves them
        (both stay up until one side hangs up, which ends the other). Blind on an FXO
        line: the exchange's hook-flash transfer; on other channels: a new call to
        ``to`` on an FXO line, bridged when it answers."""
        call, channel = self._channel_of_call(call_id)
        if call.state not in (CallState.CONNECTED, CallState.HELD):
            raise OperationError("wrong-state", f"call {call_id} is {call.state.value}, not connected or held")
        now = self.clock.now()
        if consult is not None:
            other, peer = self._channel_of_call(consult)
            if other.id == call.id:
                raise OperationError("bad-args", "consult: a call cannot be transferred to itself")
            if other.state not in (CallState.CONNECTED, CallState.HELD):
                raise OperationError("wrong-state", f"call {consult} is {other.state.value}, not connected")
            self._join(channel, peer, now)
            return {"how": "bridge", "calls": [call_id, consult]}
        if not to or any(c not in "0123456789*#ABCD" for c in to.upper()):
            raise OperationError("bad-args", f"to: {to!r} is not a dialable number")
        if channel.kind == "fxo":
            if call.state is CallState.HELD:
                self.retrieve(call_id)
            channel.transfer = asyncio.get_running_loop().create_future()
            self._apply(channel, channel.stack.transfer(to, now), now)
            self.model.note("call.transferring", self.wall(now), call=call_id, channel=channel.id, to=to)
            self._publish()
            result = await channel.transfer
            if result is None:
                raise OperationError("wrong-state", f"call {call_id} ended before the transfer was done")
            return result
        leg = self.make_call(to, frm=call.frm, group="fxo", meta={"transfer_of": call_id})
        ended = await self._settle(leg)
        if ended:
            record = self.model.calls[leg]
            raise OperationError("busy", f"the transfer target {to} did not answer "
                                         f"(cause {record.cause}: {CAUSES.get(record.cause, 'unknown')})")
        _, peer = self._channel_of_call(leg)
        if self.model.calls[call_id].ended:
            self.hangup(leg)
            raise OperationError("wrong-state", f"call {call_id} ended before the transfer was done")
        self._join(channel, peer, self.clock.now())
        return {"how": "bridge", "calls": [call_id, leg]}

    async def _settle(self, call_id: str) -> bool:
        """Wait until a call we made is connected (False) or has ended (True)."""
        while True:
            record = self.model.calls.get(call_id)
            if record is None or record.ended:
                return True
            if record.state is CallState.CONNECTED:
                return False
            await self.clock.sleep(TICK)

    def _join(self, a: LineChannel, b: LineChannel, now: float) -> None:
        for channel in (a, b):
            call = self.model.calls[self._call_of(channel)]
            if call.state is CallState.HELD:
                self.retrieve(call.id)
            self.engine.stop(channel.index)
        self.engine.bridge(a.index, b.index)
        ca, cb = self._call_of(a), self._call_of(b)
        self.model.note("call.transferred", self.wall(now), call=ca, channel=a.id, to_call=cb)
        self.model.note("call.transferred", self.wall(now), call=cb, channel=b.id, to_call=ca)
        self._publish()

    def connected_channel(self, call_id: str) -> LineChannel:
        call, channel = self._channel_of_call(call_id)
        if call.state is not CallState.CONNECTED:
            raise OperationError("wrong-state", f"call {call_id} is {call.state.value}, not connected")
        return channel

    def _wait_for(self, channel: LineChannel, kind: str, call_id: str, **info) -> tuple[str, asyncio.Future]:
        tag = f"{kind}:{next(self._tags)}"
        future = asyncio.get_running_loop().create_future()
        channel.waiters[tag] = {"kind": kind, "future": future, "call": call_id, **info}
        return tag, future

    async def send_dtmf(self, call_id: str, digits: str, duration_ms: int = 100, gap_ms: int = 100) -> dict:
        """Send DTMF keys on a connected call; returns when they are out."""
        channel = self.connected_channel(call_id)
        if not digits or any(c not in "0123456789*#ABCD" for c in digits.upper()):
            raise OperationError("bad-args", f"digits: {digits!r} (0-9 * # A-D)")
        tag, future = self._wait_for(channel, "dtmf", call_id)
        self.engine.play(channel.index, DigitsSource(digits.upper(), on_ms=duration_ms, off_ms=gap_ms), tag=tag)
        result = await future
        if result["reason"] != "done":
            raise OperationError("wrong-state", f"call {call_id} ended while its keys were sent")
        return {}

    async def play(self, call_id: str, file: str | None = None, tone: str | None = None, repeat: int = 1,
                   barge_in: bool = False) -> dict:
        """Play a WAV file or a tone of the channel's country ``repeat`` times; returns when it
        has ended ({"reason": "done" | "digit" | "hangup" | "stopped"}). A tone plays one cadence
        cycle per repetition (one second for a steady tone)."""
        channel = self.connected_channel(call_id)
        if file is not None:
            try:
                samples = load_prompt(file)
            except (LinegateError, OSError) as exc:
                raise OperationError("bad-args", f"file: {exc}") from None
            make = lambda: SamplesSource(samples)                                   # noqa: E731
        elif tone is not None:
            try:
                samples = tone_cycle(channel.country, tone)
            except LinegateError as exc:
                raise OperationError("bad-args", f"tone: {exc}") from None
            make = lambda: SamplesSource(samples)                                   # noqa: E731
        else:
            raise OperationError("bad-args", "play needs a file or a tone")
        tag, future = self._wait_for(channel, "play", call_id, left=repeat, make=make, barge_in=barge_in)
        self.engine.play(channel.index, make(), tag=tag)
        return await future

    async def record(self, call_id: str, file: str, max_seconds: float = 60.0, silence_seconds: float | None = None,
                     terminator: str | None = None, beep: bool = False) -> dict:
        """Record what the far end sends; returns when it has ended
        ({"file", "seconds", "reason": "max" | "silence" | "digit" | "hangup"})."""
        channel = self.connected_channel(call_id)
        if beep:
            beep_samples = tone_samples([1000.0], -10.0, 250)
            tag, future = self._wait_for(channel, "play", call_id, left=1, make=None, barge_in=False)
            self.engine.play(channel.index, SamplesSource(beep_samples), tag=tag)
            if (await future)["reason"] != "done":
                return {"file": str(file), "seconds": 0.0, "reason": "hangup"}
        tag, future = self._wait_for(channel, "record", call_id, file=str(file), terminator=terminator)
        try:
            self.engine.record(channel.index, file, max_seconds, tag=tag, silence_seconds=silence_seconds)
        except LinegateError as exc:
            channel.waiters.pop(tag)
            raise OperationError("bad-args", f"file: {exc}") from None
        return await future

    async def collect(self, call_id: str, max_digits: int, terminator: str | None = None,
                      first_timeout: float = 5.0, inter_timeout: float = 3.0, flush: bool = False) -> dict:
        """Collect DTMF keys; returns {"digits", "reason": "max" | "terminator" | "timeout" | "hangup"}.
        Keys come from the moment of the call (``flush`` is accepted: nothing is buffered before)."""
        channel = self.connected_channel(call_id)
        if channel.collect is not None:
            raise OperationError("busy", f"call {call_id} collects digits already")
        now = self.clock.now()
        future = asyncio.get_running_loop().create_future()
        channel.collect = {"digits": "", "max": max_digits, "terminator": terminator, "future": future,
                           "deadline": now + first_timeout, "inter": inter_timeout}
        return await future

    def _collect_digit(self, channel: LineChannel, digit: str, now: float) -> None:
        c = channel.collect
        if c["terminator"] and digit in c["terminator"]:
            self._finish_collect(channel, "terminator", now)
            return
        c["digits"] += digit
        c["deadline"] = now + c["inter"]
        if len(c["digits"]) >= c["max"]:
            self._finish_collect(channel, "max", now)

    def _collect_timer(self, channel: LineChannel, now: float) -> None:
        if now >= channel.collect["deadline"]:
            self._finish_collect(channel, "timeout", now)

    def _finish_collect(self, channel: LineChannel, reason: str, now: float) -> None:
        c, channel.collect = channel.collect, None
        result = {"digits": c["digits"], "reason": reason}
        if not c["future"].done():
            c["future"].set_result(result)
        call = self._call_of(channel)
        if call:
            self.model.note("call.collected", self.wall(now), call=call, channel=channel.id, **result)

    def channel_status(self, channel_id: str) -> dict:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise OperationError("not-found", f"no channel {channel_id!r}")
        state = self.model.channels[channel_id]
        stack = channel.stack
        return {"channel": channel_id, "group": channel.group, "kind": channel.kind, "state": state.state.value,
                "call": state.call, "alarm": state.alarm, "board": channel.driver.name, "port": channel.port,
                "law": channel.law, "country": channel.country, "line": stack.state.value,
                "detectors": list(self.engine.active(channel.index)) if self.engine else [],
                "since": round(state.since, 3)}

    def channels_list(self, group: str | None = None) -> list:
        return [self.channel_status(cid) for cid, c in self.channels.items() if group is None or c.group == group]
