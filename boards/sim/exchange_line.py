"""The exchange's side of one subscriber line: what an FXO port of a board is
plugged into. A state machine driven by the board's hook and audio each tick
(through the network, which detects the DTMF digits of all lines at once)
and the passing of the board's time; it answers with ring, battery, polarity
and audio.

States: ``idle`` (on-hook), ``dial`` (off-hook, dial tone until the first
digit), ``digits`` (collecting), ``lockout`` (no digit in time: reorder
until on-hook), ``call`` (a number was dialled: the far end's program
plays), ``ringing`` (an inbound call rings the line), ``inbound`` (it was
answered: the caller talks), ``released`` (the far end hung up: loop
current dropped, then the disconnect tone, until on-hook).

A number is complete when the directory has an entry that matches it and no
entry could match a longer one, on ``#`` (not itself part of the number,
unless an entry could go on with it), or when ``interdigit_timeout_s`` passes
after a digit; a number no entry matches gets the intercept: the SIT of the
country (Telcordia's IC where the plan has it) and "not in service".
"""

from __future__ import annotations

import dataclasses

from gateway.boards.sim.call import Call
from gateway.boards.sim.directory import Entry
from gateway.boards.sim import far_end
from gateway.boards.sim.far_end import Signal
from gateway.boards.sim.hook import Flashed, HookDecoder, PulseDialled, Released, Seized
from gateway.boards.sim.lineside import PortDrive, PortSense
from gateway.boards.sim.sound import Player, Segment, Sound

CALLERID_AFTER_RING_MS = 500   # GR-30-CORE: on-hook data starts at least 500 ms after the first ring ends

IDLE, DIAL, DIGITS, LOCKOUT, CALL, RINGING, INBOUND, RELEASED = (
    "idle", "dial", "digits", "lockout", "call", "ringing", "inbound", "released")
OFFHOOK_STATES = frozenset((DIAL, DIGITS, LOCKOUT, CALL, INBOUND, RELEASED))


class ExchangeLine:
    """One subscriber line (a board's FXO port) at the exchange."""

    __slots__ = ("net", "serial", "port", "number", "law", "player", "hook", "state", "digits", "deadline",
                 "battery_back_ms", "reversed", "call", "entry", "ring_start", "callerid_sent", "calls_made",
                 "flashes")

    def __init__(self, net, serial: str, port: int, number: str | None, law: str = "ulaw"):
        self.net = net
        self.serial = serial
        self.port = port
        self.number = number                 # our subscriber number (the DNIS of calls to us)
        self.law = law
        self.player = Player(law, net.library.noise)
        self.hook = HookDecoder(net.directory.exchange.hangup_ms)
        self.state = IDLE
        self.digits = ""
        self.deadline = None                 # of the state's timer (first digit, inter-digit)
        self.battery_back_ms = None          # loop current dropped until then
        self.reversed = False
        self.call: Call | None = None
        self.entry: Entry | None = None
        self.ring_start = 0
        self.callerid_sent = False
        self.calls_made = 0
        self.flashes = 0

    # -- what the board did

    def drive(self, drive: PortDrive, now: int) -> None:
        """The board's hook during the tick that ends at ``now``."""
        if drive.law != self.law:
            self._change_law(drive.law)
        hook = self.hook
        events = None
        if drive.hook_changes:
            events = []
            for before, offhook in drive.hook_changes:
                events += hook.change(now - before, bool(offhook))
        if drive.offhook != hook.offhook:          # a board that reports no changes: at the tick's end
            events = (events or []) + hook.change(now, drive.offhook)
        if hook.in_use:
            if events is None:
                events = hook.poll(now)
            else:
                events += hook.poll(now)
        if events:
            for event in events:
                self._hook_event(event, now)
        if self.deadline is not None and now >= self.deadline:
            self._timeout(now)

    def _change_law(self, law: str) -> None:
        """The board changed the port's law: the line plays on, the detectors listen in the new one."""
        listening = self.state in (DIAL, DIGITS)
        if listening:
            self.net.listen_for_digits(self, False)
        self.law = law
        self.player.set_law(law)
        if listening:
            self.net.listen_for_digits(self, True)

    def _hook_event(self, event, now: int) -> None:
        kind = type(event)
        if kind is Seized:
            if self.state == RINGING:
                self._answer_inbound(event.time_ms)
            elif self.state == IDLE:
                self.state = DIAL
                self.digits = ""
                self.deadline = event.time_ms + round(self.net.directory.exchange.first_digit_timeout_s * 1000)
                self.player.play([Segment(self.net.library.tone("dial"))])
                self.net.listen_for_digits(self, True)
        elif kind is Released:
            self._hang_up(event.time_ms)
        elif kind is PulseDialled:
            if self.state in (DIAL, DIGITS):
                self.digit(event.digit, now)
        elif kind is Flashed:
            self.flashes += 1   # no features behind a flash here: the far end carries on

    def digit(self, key: str, now: int) -> None:
        """A digit the exchange received (DTMF or pulses) while collecting."""
        if self.state not in (DIAL, DIGITS):
            return
        if self.state == DIAL:
            self.state = DIGITS
            self.player.stop()
        directory = self.net.directory
        self.digits += key
        if key == "#" and not directory.extends(self.digits) and not directory.lookup(self.digits):
            self._dialled(self.digits[:-1], now)
        elif directory.lookup(self.digits) is not None and not directory.extends(self.digits):
            self._dialled(self.digits, now)
        else:
            self.deadline = now + round(directory.exchange.interdigit_timeout_s * 1000)

    def _timeout(self, now: int) -> None:
        self.deadline = None
        if self.state == DIAL:
            # Permanent signal: no digit in time; reorder until the subscriber hangs up.
            self.state = LOCKOUT
            self.net.listen_for_digits(self, False)
            self.player.play([Segment(self.net.programs.tone("congestion"))])
        elif self.state == DIGITS:
            self._dialled(self.digits, now)

    def _dialled(self, number: str, now: int) -> None:
        self.deadline = None
        self.net.listen_for_digits(self, False)
        entry = self.net.directory.lookup(number) or dataclasses.replace(self.net.intercept, number=number)
        self.entry = entry
        self.state = CALL
        self.call = self.net.new_call(self, Call("out", self.serial, self.port, number, entry.behaviour,
                                                 started_ms=now, cause=far_end.cause(entry)))
        self.player.play(self.net.programs.callee(entry, self.net.rng(self, self.call)))

    # -- inbound

    def ring_in(self, call: Call, now: int) -> bool:
        """An inbound call arrives; False when the line is in use."""
        if self.state != IDLE or self.hook.in_use:
            return False
        self.state = RINGING
        self.call = call
        call.started_ms = now
        self.ring_start = now
        self.callerid_sent = False
        return True

    def _ring(self, now: int) -> bool:
        """Ringing voltage now; the caller gives up after their rings."""
        cadence = self.net.ring_cadence
        period = self.net.ring_period_ms
        elapsed = now - self.ring_start
        call = self.call
        if elapsed >= call.give_up_after_rings * period:
            call.outcome = "not-answered"
            call.ended_ms = now
            self.call = None
            self.state = IDLE
            self.player.stop()
            return False
        if not self.callerid_sent and elapsed >= cadence[0]:
            self.callerid_sent = True
            codes = self.net.callerid_audio(call, self.law)
            if codes:
                sound = Sound.from_codes("callerid", self.law, codes)
                self.player.play([self.net.programs.pause(CALLERID_AFTER_RING_MS / 1000), Segment(sound)])
        position = elapsed % period
        for i in range(0, len(cadence), 2):
            if position < cadence[i]:
                return True
            position -= cadence[i] + cadence[i + 1]
            if position < 0:
                return False
        return False

    def _answer_inbound(self, now: int) -> None:
        call = self.call
        call.answered_ms = now
        self.state = INBOUND
        talk = self.net.programs.talk(self.net.rng(self, call), call.voice, 2, (1.0, 2.0), call.talk_s,
                                      call.digits)
        self.player.play(talk + [Segment.act(Signal.CLEARED)])

    # -- the call's end

    def _cleared(self, now: int) -> None:
        """The far end hung up (or the network ended the call)."""
        if self.call is not None and self.call.cleared_ms is None:
            self.call.cleared_ms = now
        if self.state == INBOUND:
            inbound = self.net.inbound
            drop, tone, after = inbound.battery_drop_ms, inbound.disconnect_tone, inbound.disconnect_tone_after_s
        else:
            entry = self.entry
            drop, tone, after = entry.battery_drop_ms, entry.disconnect_tone, entry.disconnect_tone_after_s
        self.state = RELEASED
        if drop:
            self.battery_back_ms = now + drop
        self.reversed = False
        self.player.play(self.net.programs.release(tone, after))

    def _hang_up(self, now: int) -> None:
        """Our side went on-hook for good."""
        if self.state in (DIAL, DIGITS):
            self.net.listen_for_digits(self, False)
        call = self.call
        if call is not None and call.outcome is None:
            call.outcome = "cleared" if call.cleared_ms is not None else "hung-up"
            call.ended_ms = now
        self.call = None
        self.entry = None
        self.state = IDLE
        self.deadline = None
        self.reversed = False
        self.player.stop()

    def detach(self, now: int | None) -> None:
        if self.call is not None and self.call.outcome is None:
            self.call.outcome = "board-detached"
            self.call.ended_ms = now
        if self.state in (DIAL, DIGITS):
            self.net.listen_for_digits(self, False)

    # -- what the line does

    def sense(self, now: int) -> PortSense:
        """The line toward the board for the next tick."""
        state = self.state
        ring = False
        if state == RINGING:
            ring = self._ring(now)
            state = self.state
        audio = None
        if state in OFFHOOK_STATES or not self.player.idle_now:
            audio = self.player.block()
            if self.player.fired:
                for action in self.player.fired:
                    if action is Signal.ANSWERED:
                        self.call.answered_ms = now
                        self.reversed = self.entry.reversal
                    elif action is Signal.CLEARED:
                        self._cleared(now)
        battery = True
        if self.battery_back_ms is not None:
            if now < self.battery_back_ms:
                battery = False
            else:
                self.battery_back_ms = None
        return PortSense(self.port, ring, battery, self.reversed, False, audio)

