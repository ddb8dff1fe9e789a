"""The telephone on an FXS port, and its user.

Rung (the board's ``ringing``), the user lifts the handset after
``answer_after_rings`` bursts (a moment into the pause after the last one),
talks, and hangs up after ``talk_s``. On their own (``originate`` in the
directory, or ``TelephoneNetwork.dial_from_phone``) they lift the handset,
wait for dial tone (the native call-progress detector on the board's audio,
``dial``, for at most ``dial_wait_s``), key the number in DTMF, talk and
hang up. A user who hears busy or reorder, or whose line goes dead (no
battery for ``DEAD_LINE_MS``), hangs up a moment later. Ringing that stops
for ``RINGING_GONE_MS`` before the answer is a call the user missed.
"""

from __future__ import annotations

import random

from gateway.boards.sim.call import Call
from gateway.boards.sim.directory import Phone
from gateway.boards.sim.far_end import Signal
from gateway.boards.sim.lineside import PortDrive, PortSense
from gateway.boards.sim.sound import Player, Segment

RINGING_GONE_MS = 8000         # longer than any ring pause of the plans (4-5 s)
DEAD_LINE_MS = 300
REACTION_S = (0.5, 1.5)        # from hearing the line end to putting the handset down
ANSWER_PAUSE_S = (0.3, 1.0)
GIVE_UP_TONES = frozenset(("busy", "congestion"))

IDLE, ALERTED, WAITING, TALKING = "idle", "alerted", "waiting", "talking"


class PhoneLine:
    """One FXS port's phone."""

    __slots__ = ("net", "serial", "port", "settings", "law", "player", "state", "offhook", "call", "rings",
                 "ringing", "last_ring_ms", "answer_at", "hangup_at", "dial_deadline", "dead_since",
                 "originate_at", "pending_number", "number", "calls_made")

    def __init__(self, net, serial: str, port: int, settings: Phone, law: str = "ulaw"):
        self.net = net
        self.serial = serial
        self.port = port
        self.settings = settings
        self.law = law
        self.player = Player(law, net.library.noise)
        self.state = IDLE
        self.offhook = False
        self.call: Call | None = None
        self.rings = 0
        self.ringing = False
        self.last_ring_ms = 0
        self.answer_at = None
        self.hangup_at = None
        self.dial_deadline = None
        self.dead_since = None
        self.originate_at = None        # set at the board's first tick when the directory asks
        self.pending_number = None
        self.number = None               # what the user dials now
        self.calls_made = 0

    def start(self, now: int) -> None:
        """The board's first tick: the user's own first call, if any, is timed from here."""
        if self.settings.originate:
            self.originate_at = now + round(self.settings.originate_after_s * 1000)

    def dial(self, number: str, call: Call) -> None:
        """The user will dial ``number`` at the next tick (when the phone is idle)."""
        self.pending_number = (number, call)

    # -- what the board did

    def drive(self, drive: PortDrive, now: int) -> None:
        if drive.law != self.law:
            if self.offhook:
                self.net.listen_for_tones(self, False)
            self.law = drive.law
            self.player.set_law(drive.law)
            if self.offhook:
                self.net.listen_for_tones(self, True)
        ringing = drive.ringing
        if ringing != self.ringing:
            self.ringing = ringing
            if not ringing and self.state in (IDLE, ALERTED):
                self.rings += 1
            if ringing and self.state == IDLE:
                self.state = ALERTED
                self.call = self.net.new_call(self, Call("phone-in", self.serial, self.port, started_ms=now))
        if ringing:
            self.last_ring_ms = now
        state = self.state
        if state == ALERTED:
            if self.answer_at is None and self.rings >= self.settings.answer_after_rings:
                self.answer_at = now + round(self._rng().uniform(*ANSWER_PAUSE_S) * 1000)
            if self.answer_at is not None and now >= self.answer_at:
                self._answer(now)
            elif not ringing and now - self.last_ring_ms >= RINGING_GONE_MS:
                self._end(now, "not-answered")
        elif state == IDLE:
            if self.pending_number is not None:
                number, call = self.pending_number
                self.pending_number = None
                self._lift(now, number, call)
            elif self.originate_at is not None and now >= self.originate_at:
                every = self.settings.originate_every_s
                self.originate_at = now + round(every * 1000) if every > 0 else None
                self._lift(now, self.settings.originate, None)
        elif state == WAITING:
            if now >= self.dial_deadline:
                self._end(now, "no-dial-tone")
        if self.offhook:
            if not drive.battery:
                if self.dead_since is None:
                    self.dead_since = now
                elif now - self.dead_since >= DEAD_LINE_MS and self.hangup_at is None:
                    self._hang_up_soon(now)
            else:
                self.dead_since = None
            if self.hangup_at is not None and now >= self.hangup_at:
                self._end(now, "hung-up")

    def tone_heard(self, tone: str, now: int) -> None:
        """The call-progress detector named a tone on the board's audio toward the phone."""
        if self.state == WAITING and tone == "dial":
            self._dial(now)
        elif self.state == TALKING and tone in GIVE_UP_TONES and self.hangup_at is None:
            self._hang_up_soon(now)

    def _rng(self) -> random.Random:
        return self.net.rng(self, self.call)

    def _answer(self, now: int) -> None:
        self.answer_at = None
        self.offhook = True
        self.state = TALKING
        self.call.answered_ms = now
        self.net.listen_for_tones(self, True)
        programs = self.net.programs
        talk = programs.talk(self._rng(), self.settings.voice, 2, (1.0, 2.5), self.settings.talk_s)
        self.player.play(talk + [Segment.act(Signal.CLEARED)])

    def _lift(self, now: int, number: str, call: Call | None) -> None:
        if call is None:
            call = Call("phone-out", self.serial, self.port, number)
        call.started_ms = now
        self.call = self.net.new_call(self, call)
        self.number = number
        self.offhook = True
        self.state = WAITING
        self.dial_deadline = now + round(self.settings.dial_wait_s * 1000)
        self.player.stop()
        self.net.listen_for_tones(self, True)

    def _dial(self, now: int) -> None:
        rng = self._rng()
        self.state = TALKING
        self.call.answered_ms = None
        programs = self.net.programs
        keyed = [programs.pause(rng.uniform(0.3, 0.8)), Segment(self.net.library.dtmf(self.number))]
        talk = programs.talk(rng, self.settings.voice, 2, (1.0, 2.5), self.settings.talk_s)
        self.player.play(keyed + talk + [Segment.act(Signal.CLEARED)])

    def _hang_up_soon(self, now: int) -> None:
        self.hangup_at = now + round(self._rng().uniform(*REACTION_S) * 1000)
        if self.call is not None and self.call.cleared_ms is None:
            self.call.cleared_ms = now      # the gateway's side ended it: the user only follows

    def _end(self, now: int, outcome: str) -> None:
        """The handset goes down (or the ringing stopped unanswered)."""
        if self.offhook:
            self.net.listen_for_tones(self, False)
        self.offhook = False
        self.state = IDLE
        self.rings = 0
        self.answer_at = self.hangup_at = self.dial_deadline = self.dead_since = None
        self.player.stop()
        if self.call is not None and self.call.outcome is None:
            self.call.outcome = outcome
            self.call.ended_ms = now
        self.call = None

    def detach(self, now: int | None) -> None:
        if self.call is not None and self.call.outcome is None:
            self.call.outcome = "board-detached"
            self.call.ended_ms = now
        if self.offhook:
            self.net.listen_for_tones(self, False)

    # -- what the phone does

    def sense(self, now: int) -> PortSense:
        audio = None
        if self.offhook:
            audio = self.player.block()
            if self.player.fired and Signal.CLEARED in self.player.fired:
                # The user's own talk is over: they hang up (the far end, from the gateway's side).
                if self.call is not None and self.call.cleared_ms is None:
                    self.call.cleared_ms = now
                self._end(now, "cleared")
                audio = None
        return PortSense(self.port, False, True, False, self.offhook, audio)
