"""What the far end of a call does, as a program of sounds and line signals for
a line's player (sound.Segment): the callee of each directory behaviour,
a person talking (a callee, an inbound caller, the user of a phone), and
the network's release after the far end clears.

A program is built whole when the call starts, from the directory entry
and the call's own random generator (so a seed gives the same call), and
carries two signals as segment actions: ``ANSWERED`` (the far end went
off-hook: answer supervision, a polarity reversal where the entry asks for
one) and ``CLEARED`` (the far end hung up, or the network gave up).

Q.850 causes of ``reject`` as an analog caller hears them (REJECT_TONES):
17 (user busy) the busy tone; the causes Telcordia's special information
tones exist for as their SIT with an announcement (GR-1162: IC, intercept,
for numbers not in service: 1 unallocated, 22 number changed, 28 invalid
format; VC, vacant code, for a code that routes nowhere: 2, 3 no route;
NC, no circuit: 34 no circuit available, 44 requested circuit not
available; RO, reorder, for failures on the way: 27 destination out of
order, 38 network out of order, 41 temporary failure, 42 switching
equipment congestion); every other cause (21 call rejected, 31
unspecified, ...) congestion, the tone Asterisk's Dial() gives for a
failure that is not busy.
"""

from __future__ import annotations

import enum
import random

from gateway.boards.sim import voices
from gateway.boards.sim.directory import DEFAULT_ANNOUNCEMENT, Entry, Exchange
from gateway.boards.sim.sound import RATE, Segment, Sound
from gateway.boards.sim.tone_library import ToneLibrary


class Signal(enum.Enum):
    ANSWERED = "answered"
    CLEARED = "cleared"


REJECT_TONES = {17: "busy",
                1: "sit-ic", 22: "sit-ic", 28: "sit-ic",
                2: "sit-vc", 3: "sit-vc",
                34: "sit-nc", 44: "sit-nc",
                27: "sit-ro", 38: "sit-ro", 41: "sit-ro", 42: "sit-ro"}
# V.25's "billing delay": the called modem or fax is silent 1.8-2.5 s after answering before its tone.
BILLING_DELAY_S = (1.8, 2.5)
FAX_PREAMBLE_S = 1.0                # T.30 5.3.1: 1 s of flags before each frame
FAX_REPEAT_S = 3.0                  # T.30 T4: a called fax repeats its DIS every 3 s until answered
FAX_CED_GAP_S = 0.075               # T.30: 75 ms between CED and the V.21 signals
SIT_TO_ANNOUNCEMENT_S = 0.1
BETWEEN_ANNOUNCEMENTS_S = 1.0


# The Q.850 cause of each behaviour's end, as an ISDN network would signal it (E1, later): 16 normal
# clearing when an answered far end hangs up, 17 user busy, 34 no circuit, 19 no answer (alerted),
# the SIT's cause by subtype (1 unallocated, 3 no route, 38 network out of order, 34 no circuit).
BEHAVIOUR_CAUSES = {"human": 16, "machine": 16, "fax": 16, "modem": 16, "busy": 17, "congestion": 34,
                    "no-answer": 19}
SIT_CAUSES = {"ic": 1, "vc": 3, "ro": 38, "nc": 34, "itu": 1}


def cause(entry: Entry) -> int:
    """The Q.850 cause of an entry's call (a reject keeps the one it was given)."""
    if entry.behaviour == "reject":
        return entry.cause
    if entry.behaviour == "sit":
        return SIT_CAUSES[entry.sit]
    return BEHAVIOUR_CAUSES[entry.behaviour]


def reject_tone(cause: int) -> str:
    """``busy``, ``congestion`` or ``sit-XX``: what a cause sounds like on an analog line."""
    return REJECT_TONES.get(cause, "congestion")


class Programs:
    """Builds the programs of one network (one country, one exchange)."""

    def __init__(self, library: ToneLibrary, exchange: Exchange):
        self.lib = library
        self.exchange = exchange
        spec = library.plan["ringback"]
        # One ring is one period of the ringback cadence (a double ring is one ring).
        start = spec.repeat_from or 0
        loop = spec.elements[start:]
        self.ring_period_s = sum((e.duration_ms or 0) for e in loop) / 1000 or 6.0
        last_on = 0
        elapsed = 0
        for element in loop:
            elapsed += element.duration_ms or 0
            if not element.silent:
                last_on = elapsed
        self.ring_on_s = last_on / 1000            # where the period's last burst ends
        self.silence = library.noise

    # -- pieces

    def pause(self, seconds: float) -> Segment:
        return Segment.seconds(self.silence, seconds)

    def cut(self, program: list, seconds: float | None) -> list:
        return cut(program, seconds, self.silence)

    def voice(self, name: str) -> Sound:
        return self.lib.speech(name, voices.voice(name))

    def answer_time(self, entry: Entry, rng: random.Random) -> float:
        """Seconds from the first ring to the answer."""
        if entry.answer_after_s is not None:
            return entry.answer_after_s
        rings = entry.answer_after_rings or 0
        if rings == 0:
            return 0.0
        gap = self.ring_period_s - self.ring_on_s
        return (rings - 1) * self.ring_period_s + self.ring_on_s + min(rng.uniform(0.3, 1.5), 0.8 * gap)

    def ringing(self, seconds: float) -> list:
        return [Segment.seconds(self.lib.tone("ringback"), seconds)] if seconds > 0 else []

    def talk(self, rng: random.Random, names, hellos: int, pause_s, until_s: float, digits: str = "") -> list:
        """A person on the line for ``until_s`` seconds: a moment, "Hello?" (one of ``names``), a
        pause, maybe "Hello?" again (up to ``hellos`` times in all), the DTMF ``digits`` and a pause,
        then quiet."""
        names = tuple(names) or voices.voice_names("person")
        said = Segment(self.voice(rng.choice(names)))
        program = [self.pause(rng.uniform(0.2, 0.6)), said]
        for _ in range(rng.randint(1, max(1, hellos)) - 1):
            program += [self.pause(rng.uniform(*pause_s)), said]
        program.append(self.pause(rng.uniform(*pause_s)))
        if digits:
            program += [Segment(self.lib.dtmf(digits)), self.pause(rng.uniform(*pause_s))]
        return self.cut(program, until_s)

    # -- callees

    def callee(self, entry: Entry, rng: random.Random) -> list:
        """Everything the caller hears and sees from the last digit on, ending with CLEARED when the
        far end or the network ends the call (busy and congestion tones go on until we hang up)."""
        program = [self.pause(self.exchange.post_dial_delay_s)]
        behaviour = entry.behaviour
        if behaviour in ("busy", "congestion"):
            return program + [Segment(self.tone(behaviour))]
        if behaviour == "no-answer":
            if entry.rings is None:
                return program + [Segment(self.lib.tone("ringback"))]
            return program + self.ringing(entry.rings * self.ring_period_s) + [Segment.act(Signal.CLEARED)]
        if behaviour == "sit":
            return program + self.intercept(entry.sit, entry.announcement, entry.repeat)
        if behaviour == "reject":
            tone = reject_tone(entry.cause)
            if tone.startswith("sit-"):
                subtype = tone[4:]
                announcement = entry.announcement or DEFAULT_ANNOUNCEMENT[subtype]
                return program + self.intercept(subtype, announcement, entry.repeat)
            return program + [Segment(self.tone(tone))]
        answer = self.answer_time(entry, rng)
        program += self.ringing(answer) + [Segment.act(Signal.ANSWERED)]
        if behaviour == "human":
            return program + self.talk(rng, entry.voice, entry.greetings, entry.pause_s, entry.hangup_after_s) \
                + [Segment.act(Signal.CLEARED)]
        if behaviour == "machine":
            return program + self.machine(entry, rng) + [Segment.act(Signal.CLEARED)]
        if behaviour == "fax":
            return program + self.fax(entry, rng) + [Segment.act(Signal.CLEARED)]
        if behaviour == "modem":
            tone = [self.pause(rng.uniform(*BILLING_DELAY_S)), Segment(self.lib.ansam(entry.ans_s))]
            return program + self.cut(tone, entry.hangup_after_s) + [Segment.act(Signal.CLEARED)]
        raise AssertionError(f"no program for behaviour {behaviour}")   # every BEHAVIOURS word has one

    def tone(self, name: str) -> Sound:
        """busy or congestion; a plan without a congestion tone gives busy (as Asterisk's do)."""
        return self.lib.tone(name if self.lib.has(name) else "busy")

    def intercept(self, subtype: str, announcement: str, repeat: int) -> list:
        once = [Segment(self.lib.sit(subtype)), self.pause(SIT_TO_ANNOUNCEMENT_S), Segment(self.voice(announcement)),
                self.pause(BETWEEN_ANNOUNCEMENTS_S)]
        return once * repeat + [Segment.act(Signal.CLEARED)]

    def machine(self, entry: Entry, rng: random.Random) -> list:
        name = entry.greeting or rng.choice(voices.voice_names("greeting"))
        greeting = self.voice(name)
        program = [self.pause(rng.uniform(0.3, 0.8))]
        if entry.greeting_s is None:
            program.append(Segment(greeting))
        else:
            # Cut to the length asked for, or said again after a breath until it is that long.
            wanted = round(entry.greeting_s * RATE)
            said = []
            while sum(length(s) for s in said) < wanted:
                said += [Segment(greeting), self.pause(0.5)]
            program += self.cut(said[:-1], entry.greeting_s)
        program.append(self.pause(rng.uniform(0.3, 0.6)))
        if entry.beep != "none":
            program.append(Segment(self.lib.beep(entry.beep_hz, entry.beep_ms)))
        return program + [self.pause(entry.record_max_s)]

    def fax(self, entry: Entry, rng: random.Random) -> list:
        program = [self.pause(rng.uniform(*BILLING_DELAY_S)), Segment(self.lib.ced(entry.ced_s)),
                   self.pause(FAX_CED_GAP_S)]
        flags = Segment(self.lib.v21_flags(FAX_PREAMBLE_S))
        played = sum(length(s) for s in program)
        while played < entry.hangup_after_s * RATE:
            program += [flags, self.pause(FAX_REPEAT_S)]
            played += flags.sound.samples + round(FAX_REPEAT_S * RATE)
        return self.cut(program, entry.hangup_after_s)

    # -- the network after the far end cleared

    def release(self, disconnect_tone: str, after_s: float) -> list:
        """What a line hears once the far end is gone: quiet, then the tone (for ever) or quiet."""
        if disconnect_tone == "none":
            return []
        return [self.pause(after_s), Segment(self.tone(disconnect_tone))]


def length(segment: Segment) -> int | None:
    """Samples a segment plays (None: for ever)."""
    if segment.samples is not None:
        return segment.samples if segment.sound is None or segment.sound.loops \
            else min(segment.samples, segment.sound.samples)
    if segment.sound is None:
        return 0
    return None if segment.sound.loops else segment.sound.samples


def cut(program: list, seconds: float | None, silence: Sound) -> list:
    """``program`` made to last exactly ``seconds``: cut short, or ended with ``silence`` (a loop)
    for what is left; None leaves it as it is."""
    if seconds is None:
        return program
    left = round(seconds * RATE)
    out = []
    for segment in program:
        n = length(segment)
        if n is None or n > left:
            if left > 0:
                out.append(Segment(segment.sound, left, segment.action))
            return out
        out.append(segment)
        left -= n
    if left > 0:
        out.append(Segment(silence, left))
    return out
