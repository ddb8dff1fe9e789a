"""R2 compelled inter-register signalling (ITU-T Q.440-Q.442), without I/O.

The outgoing register (the caller's, ``OutgoingRegister``) sends forward
signals, the incoming register (the called side's, ``IncomingRegister``)
answers each with a backward signal, in a compelled cycle::

    forward signal on  ->  the backward side hears it, puts its answer on
    the forward side hears the answer, takes its signal off
    the backward side hears that, takes its answer off
    the forward side hears that and acts on the answer: the next forward signal

The called side decides what it asks for when a forward signal begins; the
caller acts when a backward signal ends. When the caller has nothing left
to send and its variant has no end-of-number signal, it falls silent; the
called side, hearing nothing for a cycle, takes the number as complete and
sends its next request as a pulse (Q.442), which the caller acts on when
it ends. The signal meanings are the variant's (gateway.r2.variant).

Both registers take ``began(signal, now)``, ``ended(now)`` (from the MF
detector: a forward detector on the called side, a backward one on the
caller's) and ``tick(now)``, and return ``(actions, events)``: ``PlayMf`` /
``StopMf`` for the media, and the outcome events below for the channel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.errors import UsageError
from gateway.line_signal import PlayMf, StopMf
from gateway.r2.variant import REFUSAL_CAUSES, R2Variant

CAUSE_TIMEOUT = 102        # Q.850 recovery on timer expiry
CAUSE_PROTOCOL = 111       # Q.850 protocol error, unspecified


def digit_signal(digit: str) -> int:
    """I-1..I-9 are the digits 1..9, I-10 is 0 (Q.441 Table 5)."""
    return 10 if digit == "0" else int(digit)


def signal_digit(signal: int) -> str:
    return "0" if signal == 10 else str(signal)


# Outcomes, past tense.
@dataclass(frozen=True)
class Accepted:
    """The called side accepted the call (a B-signal, or A-6 without group B)."""
    charge: bool | None
    signal: str


@dataclass(frozen=True)
class Refused:
    """The called side refused the call: ``refusal`` as the variant names it, its Q.850 cause."""
    refusal: str
    cause: int
    signal: str


@dataclass(frozen=True)
class Failed:
    """The register signalling broke down: a timer ran out (cause 102) or a signal made no
    sense at that point (111). ``reason`` says which, naming the signal."""
    reason: str
    cause: int


@dataclass(frozen=True)
class AddressComplete:
    """Outgoing: the called side has the whole number and asks for the category as a group II
    signal (A-3, Mexico's C-3); its decision (a B-signal) comes next."""


@dataclass(frozen=True)
class Offered:
    """Incoming: the caller has sent what we asked for and waits for our decision."""
    dnis: str
    ani: str
    ani_restricted: bool
    category: int


class _Mode(enum.Enum):
    WAITING = "waiting"          # silence both ways: the other side's turn
    SENDING = "sending"          # outgoing: our signal on, waiting for the answer to begin
    HEARING = "hearing"          # outgoing: the answer is on, ours is off, waiting for it to end
    SILENT = "silent"            # outgoing: nothing to send, waiting for a pulsed request
    RESPONDING = "responding"    # incoming: our answer on, waiting for the forward signal to end
    PULSING = "pulsing"          # incoming: a pulsed request on
    OFFERED = "offered"          # incoming: the group II signal is on, the host decides
    DECIDING = "deciding"        # incoming: our B-signal on, waiting for the forward signal to end
    DONE = "done"


class _Register:
    def __init__(self, variant: R2Variant):
        self.variant = variant
        self.timers = variant.timers
        self.mode = _Mode.WAITING
        self.deadline: float | None = None
        self.playing: PlayMf | None = None
        self.heard: int | None = None
        self.outcome = None

    @property
    def done(self) -> bool:
        return self.mode is _Mode.DONE

    def _play(self, group: str, signal: int) -> list:
        actions = [StopMf()] if self.playing is not None else []
        self.playing = PlayMf(group, signal)
        return actions + [self.playing]

    def _stop(self) -> list:
        if self.playing is None:
            return []
        self.playing = None
        return [StopMf()]

    def _finish(self, outcome, now: float) -> tuple[list, list]:
        self.mode, self.deadline, self.outcome = _Mode.DONE, None, outcome
        return self._stop(), [outcome]

    def _fail(self, reason: str, cause: int, now: float) -> tuple[list, list]:
        return self._finish(Failed(reason, cause), now)

    def abort(self) -> list:
        """The call ends some other way: stop playing, do nothing more."""
        self.mode, self.deadline = _Mode.DONE, None
        return self._stop()


class OutgoingRegister(_Register):
    """The caller's register: sends the called number (``dnis``), the category on request,
    the caller's number (``ani``; ``restricted`` sends the variant's "restricted" signal
    instead, an empty number its end signal at once) and reads the called side's answers."""

    def __init__(self, variant: R2Variant, dnis: str, ani: str, category: int, restricted: bool = False):
        super().__init__(variant)
        if not dnis or not dnis.isdigit() or not dnis.isascii():
            raise UsageError(f"dnis {dnis!r}: digits 0-9, at least one")
        if ani and (not ani.isdigit() or not ani.isascii()):
            raise UsageError(f"ani {ani!r}: digits 0-9 or empty")
        if not 1 <= category <= 15:
            raise UsageError(f"category signal {category}: 1..15")
        self.dnis, self.ani, self.category, self.restricted = dnis, ani, category, restricted
        self.group = "I"
        self.dnis_index = -1          # the digit sent last
        self.category_sent = False
        self.ani_index = 0
        self.ani_ended = False

    def start(self, now: float) -> tuple[list, list]:
        """Seizure acknowledged: the first digit goes without being asked for."""
        return self._send_dnis(1, now), []

    # ---- what the detector says ----
    def began(self, signal: int, now: float) -> tuple[list, list]:
        if self.mode in (_Mode.SENDING, _Mode.SILENT):
            self.heard, self.mode = signal, _Mode.HEARING
            self.deadline = now + self.timers.mf_cycle
            return self._stop(), []
        if self.mode is _Mode.HEARING and signal != self.heard:
            return self._fail(f"backward signal {signal} began before {self.heard} ended", CAUSE_PROTOCOL, now)
        return [], []

    def ended(self, now: float) -> tuple[list, list]:
        if self.mode is not _Mode.HEARING:
            return [], []
        signal, self.heard = self.heard, None
        return self._act(signal, now)

    def tick(self, now: float) -> tuple[list, list]:
        if self.deadline is None or now < self.deadline:
            return [], []
        if self.mode is _Mode.SENDING and self.playing is not None:
            what = f"no backward signal answered {self.playing.group}-{self.playing.signal}"
        elif self.mode is _Mode.HEARING:
            what = f"backward signal {self.heard} did not end"
        else:
            what = "no request came after the last digit"
        return self._fail(what, CAUSE_TIMEOUT, now)

    # ---- inside ----
    def _send(self, group: str, signal: int | None, now: float) -> list:
        if signal is None:
            # Nothing to say and no signal for "nothing more": the called side will time out
            # and send its next request as a pulse.
            self.mode, self.deadline = _Mode.SILENT, now + self.timers.silent_wait
            return []
        self.mode = _Mode.SENDING
        # In group II the called side's host decides; the channel's setup timer bounds that wait.
        self.deadline = None if group == "II" else now + self.timers.mf_cycle
        return self._play(group, signal)

    def _send_dnis(self, step: int | None, now: float) -> list:
        """step: +1 the next digit, -n the n-th before the last one sent, None all again."""
        if step is None:
            self.dnis_index = 0
        elif step > 0:
            self.dnis_index += 1
        else:
            self.dnis_index = max(0, self.dnis_index + step)
        if self.dnis_index < len(self.dnis):
            return self._send(self.group, digit_signal(self.dnis[self.dnis_index]), now)
        self.dnis_index = len(self.dnis)
        return self._send(self.group, self.variant.i["end_of_dnis"], now)

    def _send_ani(self, now: float) -> list:
        i = self.variant.i
        if self.restricted:
            signal = i["ani_restricted"] or i["end_of_ani"]
            self.ani_ended = True
        elif self.ani_index < len(self.ani):
            signal = digit_signal(self.ani[self.ani_index])
            self.ani_index += 1
        else:
            signal, self.ani_ended = i["end_of_ani"], True
        return self._send(self.group, signal, now)

    def _send_category(self, now: float) -> list:
        self.category_sent = True
        return self._send("II", self.category, now)

    def _act(self, s: int, now: float) -> tuple[list, list]:
        v = self.variant
        if self.group == "II":
            b = v.b
            if s == b["accept_charge"]:
                return self._finish(Accepted(True, f"B-{s}"), now)
            if s == b["accept_no_charge"]:
                return self._finish(Accepted(False, f"B-{s}"), now)
            refusal = v.refusal(s)
            if refusal is not None:
                return self._finish(Refused(refusal, REFUSAL_CAUSES[refusal], f"B-{s}"), now)
            return self._fail(f"B-{s} means nothing in {v.name}", CAUSE_PROTOCOL, now)
        if self.group == "III":
            c = v.c
            if s == c["next_ani"]:
                return self._send_ani(now), []
            if s == c["change_to_group_b"]:
                self.group = "II"
                return self._send_category(now), [AddressComplete()]
            if s == c["next_dnis_to_group_a"]:
                self.group = "I"
                return self._send_dnis(1, now), []
            if s == c["congestion"]:
                return self._finish(Refused("congestion", REFUSAL_CAUSES["congestion"], f"C-{s}"), now)
            return self._fail(f"C-{s} means nothing in {v.name}", CAUSE_PROTOCOL, now)
        a = v.a
        if s == a["change_to_group_b"]:
            self.group = "II"
            return self._send_category(now), [AddressComplete()]
        if s == a["category_to_group_c"]:
            self.group = "III"
            return self._send_category(now), []
        if s == a["accept_charge"]:
            return self._finish(Accepted(True, f"A-{s}"), now)
        if s in (a["congestion"], a["congestion_international"]):
            return self._finish(Refused("congestion", REFUSAL_CAUSES["congestion"], f"A-{s}"), now)
        # The caller's number: asked for once the category is out. Where the same signal also
        # asks for the next digit of the called number (China's A-1), it means the caller's
        # number until that has ended.
        if s == a["next_ani"] and self.category_sent and (not self.ani_ended or s != a["next_dnis"]):
            return self._send_ani(now), []
        steps = {a["next_dnis"]: 1, a["dnis_minus_1"]: -1, a["dnis_minus_2"]: -2, a["dnis_minus_3"]: -3}
        steps.pop(None, None)
        if s in steps:
            return self._send_dnis(steps[s], now), []
        if s == a["all_dnis_again"]:
            return self._send_dnis(None, now), []
        if s == a["category"]:
            return self._send_category(now), []
        return self._fail(f"A-{s} means nothing in {v.name}", CAUSE_PROTOCOL, now)


class IncomingRegister(_Register):
    """The called side's register: asks for the called number (up to ``max_dnis`` digits or
    its end), the caller's category and number (up to ``max_ani`` digits; 0: not asked),
    after the first digit when ``ani_first`` (the variant's default), then offers the call;
    ``accept`` / ``refuse`` answer with a B-signal."""

    def __init__(self, variant: R2Variant, max_dnis: int = 4, max_ani: int = 10, ani_first: bool | None = None):
        super().__init__(variant)
        if not 1 <= max_dnis <= 80 or not 0 <= max_ani <= 80:
            raise UsageError(f"max_dnis {max_dnis} (1..80), max_ani {max_ani} (0..80)")
        self.max_dnis, self.max_ani = max_dnis, max_ani
        self.ani_first = variant.ani_first if ani_first is None else ani_first
        self.group = "A"
        self.expecting = "dnis"
        self.dnis = ""
        self.ani = ""
        self.ani_restricted = False
        self.category: int | None = None
        self.dnis_complete = False
        # Where one signal asks for both numbers (China's A-1), a caller that has sent its
        # category takes it as a request for its own number until it has sent the end of
        # it: so we read that number to its end, whatever max_ani (openr2's later master
        # does the same for China: OR2_CHAN_DO_NOT_USE_MAX_ANI).
        self._ani_to_its_end = variant.a["next_ani"] is not None and variant.a["next_ani"] == variant.a["next_dnis"]
        self.ani_done = max_ani == 0 and not self._ani_to_its_end
        self._decision = None

    @property
    def accepting(self) -> bool:
        """Our B-signal on is an acceptance."""
        return self.mode is _Mode.DECIDING and isinstance(self._decision, Accepted)

    def start(self, now: float) -> tuple[list, list]:
        """Seizure acknowledged: wait for the first digit."""
        self.mode, self.deadline = _Mode.WAITING, now + self.timers.mf_cycle
        return [], []

    # ---- the host ----
    def accept(self, now: float, charge: bool = True) -> tuple[list, list]:
        if self.mode is not _Mode.OFFERED:
            raise UsageError(f"nothing to accept: the register is {self.mode.value}")
        b = self.variant.b
        signal = b["accept_charge"] if charge or b["accept_no_charge"] is None else b["accept_no_charge"]
        self._decision = Accepted(charge or b["accept_no_charge"] is None, f"B-{signal}")
        self.mode, self.deadline = _Mode.DECIDING, now + self.timers.mf_cycle
        return self._play("B", signal), []

    def refuse(self, cause: int, now: float) -> tuple[list, list]:
        if self.mode is not _Mode.OFFERED:
            raise UsageError(f"nothing to refuse: the register is {self.mode.value}")
        refusal, signal = self.variant.refusal_signal(cause)
        self._decision = Refused(refusal, REFUSAL_CAUSES[refusal], f"B-{signal}")
        self.mode, self.deadline = _Mode.DECIDING, now + self.timers.mf_cycle
        return self._play("B", signal), []

    # ---- what the detector says ----
    def began(self, signal: int, now: float) -> tuple[list, list]:
        if self.mode is _Mode.PULSING:
            actions = self._stop()  # the caller did not wait for the pulse to end; go on
            self.mode = _Mode.WAITING
        elif self.mode is _Mode.WAITING:
            actions = []
        elif self.mode in (_Mode.RESPONDING, _Mode.OFFERED, _Mode.DECIDING) and signal != self.heard:
            return self._fail(f"forward signal {signal} began before {self.heard} ended", CAUSE_PROTOCOL, now)
        else:
            return [], []
        self.heard = signal
        more, events = self._take(signal, now)
        return actions + more, events

    def ended(self, now: float) -> tuple[list, list]:
        if self.mode is _Mode.RESPONDING:
            self.mode, self.deadline, self.heard = _Mode.WAITING, now + self.timers.mf_cycle, None
            return self._stop(), []
        if self.mode is _Mode.DECIDING:
            return self._finish(self._decision, now)
        if self.mode is _Mode.OFFERED:
            return self._fail("the caller's group II signal ended before our decision", CAUSE_PROTOCOL, now)
        return [], []

    def tick(self, now: float) -> tuple[list, list]:
        if self.deadline is None or now < self.deadline:
            return [], []
        if self.mode is _Mode.PULSING:
            self.mode, self.deadline = _Mode.WAITING, now + self.timers.mf_cycle
            return self._stop(), []
        if self.mode is _Mode.WAITING:
            # Silence after a request: a variant without an end-of-number signal ends the
            # number (or the caller's number) this way; our next request goes as a pulse.
            i = self.variant.i
            if self.expecting == "dnis" and self.dnis and i["end_of_dnis"] is None:
                self.dnis_complete = True
            elif self.expecting == "ani" and i["end_of_ani"] is None:
                self.ani_done = True
            else:
                return self._fail(f"no forward signal after our request for {self.expecting}", CAUSE_TIMEOUT, now)
            group, signal, offer = self._next()
            self.mode, self.deadline = _Mode.PULSING, now + self.timers.pulse
            return self._play(group, signal), []
        what = {_Mode.RESPONDING: f"forward signal {self.heard} did not end",
                _Mode.DECIDING: f"forward signal {self.heard} did not end after our decision"}
        return self._fail(what.get(self.mode, self.mode.value), CAUSE_TIMEOUT, now)

    # ---- inside ----
    def _take(self, f: int, now: float) -> tuple[list, list]:
        """A forward signal began: note what it says, answer with the next request."""
        i = self.variant.i
        kind = self.expecting
        if kind == "group-b":
            self.category = f if self.category is None else self.category
            self.mode, self.deadline = _Mode.OFFERED, None
            self.outcome = Offered(self.dnis, "" if self.ani_restricted else self.ani, self.ani_restricted, f)
            return [], [self.outcome]
        if kind == "dnis":
            if 1 <= f <= 10:
                self.dnis += signal_digit(f)
                self.dnis_complete = len(self.dnis) >= self.max_dnis
            elif f == i["end_of_dnis"] and self.dnis:
                self.dnis_complete = True
            else:
                return self._fail(f"I-{f} where a digit of the called number was due", CAUSE_PROTOCOL, now)
        elif kind == "category":
            self.category = f
        elif kind == "ani":
            if 1 <= f <= 10:
                if len(self.ani) < self.max_ani:
                    self.ani += signal_digit(f)
                self.ani_done = len(self.ani) >= self.max_ani and not self._ani_to_its_end
            elif f == i["ani_restricted"] and (f != i["end_of_ani"] or not self.ani):
                # Mexico's I-15 is both: restricted only before any digit.
                self.ani_restricted = self.ani_done = True
            elif f == i["end_of_ani"]:
                self.ani_done = True
            else:
                return self._fail(f"I-{f} where a digit of the caller's number was due", CAUSE_PROTOCOL, now)
        group, signal, _ = self._next()
        self.mode, self.deadline = _Mode.RESPONDING, now + self.timers.mf_cycle
        return self._play(group, signal), []

    def _next(self) -> tuple[str, int, bool]:
        """The next request as (group, signal, is the change to group B)."""
        a, c = self.variant.a, self.variant.c
        group = self.group
        if self.category is None and (len(self.dnis) >= 1 if self.ani_first else self.dnis_complete):
            self.expecting = "category"
            if a["category"] is not None:
                return group, a["category"], False
            self.group = "C"
            return group, a["category_to_group_c"], False
        if self.category is not None and not self.ani_done:
            signal = c["next_ani"] if self.group == "C" else a["next_ani"]
            if signal is not None:
                self.expecting = "ani"
                return group, signal, False
            self.ani_done = True          # no way to ask for it in this group
        if not self.dnis_complete:
            self.expecting = "dnis"
            if self.group == "C":
                self.group = "A"
                return group, c["next_dnis_to_group_a"], False
            return group, a["next_dnis"], False
        self.expecting = "group-b"
        if self.group == "C" or a["change_to_group_b"] is None:
            return group, c["change_to_group_b"], True
        return group, a["change_to_group_b"], True
