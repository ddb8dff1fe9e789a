"""Analog loop-start signalling: an FXO port toward an exchange (``FxoLine``)
and an FXS port feeding a phone (``FxsLine``). I/O-free state machines: the
channel driver feeds them port events, detector events, the media engine's
per-tick voice reading and the time, and carries out the actions they
return (gateway.line_signal).

FXO, a call we make: seize (off-hook), wait for the exchange's dial tone
(the native call-progress detector), dial DTMF or pulses, then listen: the
call-progress classes say ringback (alerting), busy, congestion, SIT (the
call failed, with a Q.850 cause) or fax/modem (answered by a machine).
Answer is known from a polarity reversal where the exchange gives one, and
otherwise from the audio: voice-like sound (not a tone) where ringback was,
or right after dialling (Dialogic calls this positive voice detection). The
far end hanging up shows as the loop current dropping, the polarity
reversing back, or the exchange's busy, congestion or dial tone.

FXO, a call that comes in: ringing offers it; the caller ID (between the
first and second ring, or after a polarity reversal before the first) is
waited for up to the second ring; ringing that stops means the caller gave
up.

FXS: the phone going off-hook gets dial tone and its digits (DTMF, or pulses
from its hook) are collected into a call offered to the host; a call made
toward the phone rings it with the caller ID after the first ring; a hook
flash while connected is reported; when the host ends a call while the phone
is still off-hook, the phone hears busy tone until it hangs up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.boards.protocol import PortEventCode as Ev
from gateway.errors import UsageError
from gateway.line_signal import (Battery, Detect, Flash, Hook, Listen, PlayTone, Ring, SendCallerId,
                                 SendDigits, StopMedia, signal)

# Call-progress classes that end a call we make, with their Q.850 cause and who gave it.
FAILURE_TONES = {
    "busy": (17, "remote"),           # user busy
    "congestion": (42, "network"),    # switching equipment congestion
    "sit-ic": (1, "network"),         # intercept: the number is no longer in service
    "sit-vc": (1, "network"),         # vacant code: unallocated number
    "sit-ro": (42, "network"),        # reorder: the network is congested
    "sit-nc": (34, "network"),        # no circuit
    "sit-itu": (1, "network"),        # ITU SIT, most often "number unobtainable"
}
# Tones that mean a machine answered (a fax or a data modem).
ANSWER_TONES = ("fax_ced", "modem")
# Heard on a connected FXO line: the exchange's tones after the far end hung up.
DISCONNECT_TONES = ("busy", "congestion", "dial")
DIAL_METHODS = ("dtmf", "pulse")
# Caller ID sent before the first ring (ETSI EN 300 659-1's DT-AS) comes a few
# seconds before it at most; data older than this belonged to a call that never rang.
CALLERID_MAX_AGE = 8.0
SUPERVISION = ("auto", "polarity", "cpt")


@dataclass(frozen=True)
class FxoConfig:
    dial_method: str = "dtmf"
    dialtone_timeout: float = 3.0     # seconds to wait for dial tone after seizing
    blind_dial: bool = False          # dial when dial tone does not come (some PBX lines give none)
    answer_supervision: str = "auto"  # polarity where the line gives it, the audio otherwise
    voice_blocks: int = 3             # voice-like 20 ms blocks, of the last 5, that mean answered
    no_answer_timeout: float = 60.0   # from the end of dialling to giving up
    callerid_wait: float = 6.0        # inbound: longest wait for caller ID before offering
    ring_gone: float = 8.0            # inbound: no ring for this long means the caller gave up
    guard: float = 0.5                # on-hook time before the line can be seized again
    loop_drop_ma: int = 5             # loop current at or below this while off-hook: the far end left

    def __post_init__(self):
        if self.dial_method not in DIAL_METHODS:
            raise UsageError(f"dial_method {self.dial_method!r}: one of {', '.join(DIAL_METHODS)}")
        if self.answer_supervision not in SUPERVISION:
            raise UsageError(f"answer_supervision {self.answer_supervision!r}: one of {', '.join(SUPERVISION)}")
        if not 1 <= self.voice_blocks <= 5:
            raise UsageError(f"voice_blocks {self.voice_blocks}: 1..5")


class Fxo(enum.Enum):
    IDLE = "idle"
    SEIZING = "seizing"        # off-hook, waiting for dial tone
    DIALING = "dialing"
    PROCEEDING = "proceeding"  # digits out, listening
    ALERTING = "alerting"      # ringback heard
    RINGING = "ringing"        # inbound: the exchange rings us
    CONNECTED = "connected"
    TRANSFERRING = "transferring"  # flashed for a transfer: waiting for dial tone, then dialling
    CLEARING = "clearing"      # on-hook, guard time


class FxoLine:
    """One FXO port. ``detect`` names what the host wants on an answered call
    (``amd`` for a dialer; ``dtmf`` is always on while connected)."""

    def __init__(self, config: FxoConfig | None = None):
        self.config = config or FxoConfig()
        self.state = Fxo.IDLE
        self.deadline: float | None = None
        self.number = ""
        self.detect: frozenset = frozenset()
        self.battery = True
        self.reversed = False
        self.answered_by: str | None = None
        self.callerid: dict | None = None
        self.callerid_at = 0.0
        self.last_ring = 0.0
        self.rings = 0
        self.ringback = False
        self._offered = False
        self._transfer_dialled = False
        self.amd: str | None = None
        self.no_answer = self.config.no_answer_timeout
        self._voice: list = []

    # ---- what the host asks ----
    def originate(self, number: str, now: float, detect=(), no_answer: float | None = None) -> list:
        """Seize and dial ``number``; ``no_answer`` overrides the config's no-answer timeout."""
        if self.state is not Fxo.IDLE:
            raise UsageError(f"the line is {self.state.value}, not idle")
        if not self.battery:
            raise UsageError("the line has no battery")
        self.number, self.detect = number, frozenset(detect)
        self.no_answer = self.config.no_answer_timeout if no_answer is None else no_answer
        self.answered_by, self.ringback, self._voice, self.amd = None, False, [], None
        self.state, self.deadline = Fxo.SEIZING, now + self.config.dialtone_timeout
        return [Hook(True), Detect(frozenset({"cpt"}))]

    def answer(self, now: float) -> list:
        if self.state is not Fxo.RINGING:
            raise UsageError(f"nothing to answer: the line is {self.state.value}")
        return self._connect(now, "local", [Hook(True)])

    def hangup(self, now: float, cause: int = 16) -> list:
        """The host ends the call (or gives up on it)."""
        if self.state in (Fxo.IDLE, Fxo.CLEARING):
            return []
        return self._clear(now, cause, "local")

    def transfer(self, number: str, now: float, flash_ms: int = 250) -> list:
        """Blind transfer by the exchange (hook-flash transfer, as on a PBX or Centrex line):
        flash, wait for the second dial tone, dial, hang up. Without that dial tone the
        exchange offers no transfer: a second flash takes the call back (``transfer-failed``)."""
        if self.state is not Fxo.CONNECTED:
            raise UsageError(f"a transfer needs a connected call; the line is {self.state.value}")
        self.state, self.number = Fxo.TRANSFERRING, number
        self.deadline = now + flash_ms / 1000 + self.config.dialtone_timeout
        self._transfer_dialled = False
        return [Flash(flash_ms), Detect(frozenset({"cpt"}))]

    def flash(self, now: float, ms: int = 100) -> list:
        if self.state is not Fxo.CONNECTED:
            raise UsageError(f"a hook flash needs a connected call; the line is {self.state.value}")
        return [Flash(ms)]

    # ---- what the line, the detectors and the engine say ----
    def port_event(self, code: Ev, value: int, now: float) -> list:
        if code is Ev.RING_ON:
            return self._ring(now)
        if code is Ev.RING_OFF:
            return []
        if code is Ev.BATTERY_LOST:
            self.battery = False
            if self.state in (Fxo.IDLE, Fxo.CLEARING):
                return [signal("alarm", alarm="no-battery")]
            return self._far_end_left(now, "loop-drop")
        if code is Ev.BATTERY_RESTORED:
            self.battery = True
            return [signal("alarm", alarm=None)]
        if code is Ev.POLARITY_REVERSAL:
            self.reversed = not self.reversed
            return self._reversal(now)
        if code is Ev.LOOP_CURRENT:
            if value <= self.config.loop_drop_ma and self.state in (Fxo.CONNECTED, Fxo.ALERTING, Fxo.PROCEEDING):
                return self._far_end_left(now, "loop-drop")
            return []
        return []        # OFF_HOOK / ON_HOOK are an FXS port's

    def detected(self, kind: str, value: str, now: float, ended: bool = False, reason: str | None = None) -> list:
        st = self.state
        if kind == "cpt":
            if ended:
                return []
            if st is Fxo.SEIZING and value == "dial":
                return self._dial(now)
            if st is Fxo.TRANSFERRING and value == "dial" and not self._transfer_dialled:
                self._transfer_dialled, self.deadline = True, None
                return [SendDigits(self.number, self.config.dial_method)]
            if st in (Fxo.DIALING, Fxo.PROCEEDING, Fxo.ALERTING):
                return self._setup_tone(value, now, reason)
            if st is Fxo.CONNECTED and value in DISCONNECT_TONES:
                return [signal("progress", tone=value)] + self._far_end_left(now, f"{value}-tone")
            return []
        if kind == "dtmf" and st is Fxo.CONNECTED and not ended:
            return [signal("digits", digits=value)]
        if kind == "amd" and st is Fxo.CONNECTED:         # one report, its end the moment of decision
            if self.amd == "machine" and value == "machine":
                return []                                  # a beep said so already
            self.amd = value
            return [signal("amd", result=value, beep=False, reason=reason)]
        if kind == "beep" and st is Fxo.CONNECTED and not ended:   # reported as it starts, again as it ends
            # A beep is a recorder's: whatever was decided before, a machine answered.
            self.amd = "machine"
            return [signal("amd", result="machine", beep=True, reason="beep")]
        if kind == "callerid" and st in (Fxo.IDLE, Fxo.RINGING):
            return self._callerid(value, now)
        return []

    def callerid_decoded(self, number: str, name: str, now: float) -> list:
        """The caller ID as the channel driver decoded it (FSK or DTMF CLIP)."""
        return self._callerid({"number": number, "name": name}, now)

    def digits_sent(self, now: float) -> list:
        if self.state is Fxo.TRANSFERRING:
            # Hanging up now hands the call over to the number dialled.
            return self._clear(now, 16, "local", reason="transferred")
        if self.state is not Fxo.DIALING:
            return []
        self.state, self.deadline = Fxo.PROCEEDING, now + self.no_answer
        actions = [signal("proceeding")]
        if self._audio_supervision():
            actions.append(Listen(True))
        return actions

    def heard(self, voice: bool, now: float) -> list:
        """The engine's reading of one 20 ms block while we listen for answer."""
        if self.state not in (Fxo.PROCEEDING, Fxo.ALERTING):
            return []
        self._voice = (self._voice + [voice])[-5:]
        if sum(self._voice) >= self.config.voice_blocks:
            return self._connect(now, "cpt", [Listen(False)])
        return []

    def tick(self, now: float) -> list:
        if self.deadline is None or now < self.deadline:
            return []
        st, self.deadline = self.state, None
        if st is Fxo.SEIZING:
            if self.config.blind_dial:
                return self._dial(now)
            return self._clear(now, 34, "network", reason="no-dialtone")
        if st in (Fxo.PROCEEDING, Fxo.ALERTING):
            return self._clear(now, 19 if st is Fxo.ALERTING else 18, "remote", reason="no-answer")
        if st is Fxo.RINGING:
            if not self._offered:
                return self._offer(now)
            if now - self.last_ring >= self.config.ring_gone:
                return self._clear(now, 16, "remote", reason="caller-gave-up", hook=False)
            self.deadline = self.last_ring + self.config.ring_gone
            return []
        if st is Fxo.CLEARING:
            self.state = Fxo.IDLE
            return [signal("free")]
        if st is Fxo.TRANSFERRING:
            self.state = Fxo.CONNECTED            # no second dial tone: flash back to the call
            return [Flash(250), Detect(frozenset({"dtmf", "cpt"}) | (self.detect - {"cpt"})),
                    signal("transfer-failed", reason="no-dialtone")]
        return []

    # ---- inside ----
    def _audio_supervision(self) -> bool:
        return self.config.answer_supervision in ("auto", "cpt")

    def _dial(self, now: float) -> list:
        self.state, self.deadline = Fxo.DIALING, None
        return [SendDigits(self.number, self.config.dial_method)]

    def _setup_tone(self, tone: str, now: float, reason) -> list:
        actions = [signal("progress", tone=tone, reason=reason)]
        if tone == "ringback":
            self.ringback = True
            if self.state is not Fxo.ALERTING:
                self.state = Fxo.ALERTING
        elif tone in FAILURE_TONES:
            cause, by = FAILURE_TONES[tone]
            actions += self._clear(now, cause, by, reason=tone)
        elif tone in ANSWER_TONES:
            actions += self._connect(now, "cpt", [Listen(False)])
        return actions

    def _reversal(self, now: float) -> list:
        st = self.state
        if st in (Fxo.DIALING, Fxo.PROCEEDING, Fxo.ALERTING) and self.config.answer_supervision != "cpt":
            return self._connect(now, "polarity", [Listen(False)])
        if st is Fxo.CONNECTED and self.answered_by == "polarity":
            return self._far_end_left(now, "polarity-reversal")
        if st is Fxo.IDLE:
            # ETSI DT-AS: caller ID may follow a reversal before the first ring.
            return [Detect(frozenset({"callerid", "dtmf"}))]
        return []

    def _connect(self, now: float, how: str, actions: list) -> list:
        self.state, self.deadline, self.answered_by = Fxo.CONNECTED, None, how
        return actions + [Detect(frozenset({"dtmf", "cpt"}) | (self.detect - {"cpt"})),
                          signal("connected", how=how)]

    def _far_end_left(self, now: float, reason: str) -> list:
        if self.state not in (Fxo.CONNECTED, Fxo.PROCEEDING, Fxo.ALERTING, Fxo.DIALING, Fxo.SEIZING,
                              Fxo.TRANSFERRING):
            return []
        return self._clear(now, 16, "remote", reason=reason)

    def _clear(self, now: float, cause: int, by: str, reason: str | None = None, hook: bool = True) -> list:
        was = self.state
        self.state, self.deadline = Fxo.CLEARING, now + self.config.guard
        self.callerid, self.rings, self._offered = None, 0, False
        actions = [StopMedia(), Detect(frozenset()), Listen(False)]
        if hook and was is not Fxo.RINGING:
            actions.insert(0, Hook(False))
        return actions + [signal("disconnected", cause=cause, by=by, reason=reason)]

    def _ring(self, now: float) -> list:
        self.last_ring = now
        if self.state is Fxo.IDLE:
            if self.callerid is not None and now - self.callerid_at > CALLERID_MAX_AGE:
                self.callerid = None          # heard before an earlier call's ring that never came
            self.state, self.rings, self._offered = Fxo.RINGING, 1, False
            self.deadline = now + self.config.callerid_wait
            actions = [Detect(frozenset({"callerid", "dtmf"}))]
            if self.callerid is not None:        # it came before the ring (DT-AS)
                actions += self._offer(now)
            return actions
        if self.state is Fxo.RINGING:
            self.rings += 1
            if not self._offered and self.rings >= 2:
                return self._offer(now)
            self.deadline = now + self.config.ring_gone
        return []

    def _callerid(self, value, now: float) -> list:
        if isinstance(value, dict):
            self.callerid = value
        else:
            self.callerid = {"number": str(value), "name": ""}
        self.callerid_at = now
        if self.state is Fxo.RINGING and not self._offered:
            return self._offer(now)
        return []

    def _offer(self, now: float) -> list:
        self._offered = True
        self.deadline = self.last_ring + self.config.ring_gone
        cid = self.callerid or {}
        return [Detect(frozenset()), signal("offered", ani=cid.get("number", ""), name=cid.get("name", ""))]


# ---- FXS ----

@dataclass(frozen=True)
class FxsConfig:
    extension: str = ""               # the phone's own number (the ANI of its calls)
    interdigit: float = 4.0           # seconds after a digit that end the number
    first_digit: float = 10.0         # dial tone this long with no digit: the phone is left off the hook
    max_digits: int = 20
    ring_timeout: float = 60.0        # ringing the phone this long with no answer: cause 19
    flash_min: float = 0.1            # on-hook breaks of flash_min..flash_max while connected are flashes
    flash_max: float = 0.9
    pulse_max: float = 0.09           # a break up to this long while collecting is one dial pulse
    interpulse: float = 0.3           # a make longer than this ends a pulsed digit
    disconnect_battery_ms: int = 0    # >0: drop battery this long when the far end ends a call

    def __post_init__(self):
        if not self.flash_min < self.flash_max:
            raise UsageError("flash_min must be below flash_max")


class Fxs(enum.Enum):
    IDLE = "idle"
    DIALTONE = "dialtone"        # off-hook, collecting digits
    OFFERED = "offered"          # the phone's call waits for the host
    RINGING = "ringing"          # we ring the phone
    CONNECTED = "connected"
    CLEARING = "clearing"        # the call ended; the phone is still off-hook


class FxsLine:
    """One FXS port and the phone on it. Two timers: the state's (digits,
    ringing) and the hook's (is an on-hook break a pulse, a flash or a
    hang-up?); ``deadline`` is the sooner."""

    def __init__(self, config: FxsConfig | None = None):
        self.config = config or FxsConfig()
        self.state = Fxs.IDLE
        self.offhook = False
        self.digits = ""
        self.detect: frozenset = frozenset()
        self.callerid: tuple | None = None
        self.rings = 0
        self._timer: float | None = None        # the state's
        self._onhook_at: float | None = None    # the hook's: when the current break began
        self._pulses = 0

    @property
    def deadline(self) -> float | None:
        hook = None
        if self._onhook_at is not None:
            hook = self._onhook_at + self._break_limit()
        times = [t for t in (self._timer, hook) if t is not None]
        return min(times) if times else None

    def _break_limit(self) -> float:
        """How long an on-hook break may last before it is a hang-up."""
        if self.state in (Fxs.CONNECTED, Fxs.OFFERED):
            return self.config.flash_max
        return 0.3 if self.state is Fxs.DIALTONE else 0.2

    # ---- the host ----
    def originate(self, number: str, now: float, callerid: tuple = ("", ""), detect=(),
                  no_answer: float | None = None) -> list:
        """Ring the phone (``number`` is informational: the port is the phone)."""
        if self.state is not Fxs.IDLE or self.offhook:
            raise UsageError(f"the phone is {'off-hook' if self.offhook else self.state.value}")
        ring_for = self.config.ring_timeout if no_answer is None else no_answer
        self.state, self._timer = Fxs.RINGING, now + ring_for
        self.callerid, self.rings, self.detect = callerid, 0, frozenset(detect)
        return [Ring(True), signal("alerting")]

    def answer(self, now: float) -> list:
        if self.state is not Fxs.OFFERED:
            raise UsageError(f"nothing to answer: the port is {self.state.value}")
        return self._connect(now, "local")

    def hangup(self, now: float, cause: int = 16) -> list:
        if self.state is Fxs.RINGING:
            self.state, self._timer = Fxs.IDLE, None
            return [Ring(False), StopMedia(), signal("disconnected", cause=cause, by="local"), signal("free")]
        if self.state in (Fxs.OFFERED, Fxs.CONNECTED):
            return self._far_side_cleared(now, cause, "local")
        return []

    # ---- the port ----
    def port_event(self, code: Ev, value: int, now: float) -> list:
        if code is Ev.OFF_HOOK and not self.offhook:
            self.offhook = True
            return self._off_hook(now)
        if code is Ev.ON_HOOK and self.offhook:
            self.offhook = False
            if self.state not in (Fxs.IDLE, Fxs.RINGING):
                self._onhook_at = now
            return []
        if code is Ev.RING_OFF and self.state is Fxs.RINGING:
            self.rings += 1
            if self.rings == 1 and self.callerid and self.callerid[0]:
                return [SendCallerId(*self.callerid)]
        return []

    def detected(self, kind: str, value: str, now: float, ended: bool = False, reason: str | None = None) -> list:
        if kind != "dtmf" or ended:
            return []
        if self.state is Fxs.DIALTONE:
            return self._digit(value, now)
        if self.state is Fxs.CONNECTED:
            return [signal("digits", digits=value)]
        return []

    def tick(self, now: float) -> list:
        deadline = self.deadline
        if deadline is None or now < deadline:
            return []
        if self._onhook_at is not None and now >= self._onhook_at + self._break_limit():
            return self._hung_up(now)
        self._timer = None
        if self.state is Fxs.RINGING:
            self.state = Fxs.IDLE
            return [Ring(False), StopMedia(), signal("disconnected", cause=19, by="remote", reason="no-answer"),
                    signal("free")]
        if self.state is Fxs.DIALTONE:
            if self._pulses:                   # the make after the last pulse: the digit is complete
                self.digits += str(self._pulses % 10)
                self._pulses = 0
                if len(self.digits) >= self.config.max_digits:
                    return self._offer(now)
                self._timer = now + self.config.interdigit - self.config.interpulse
                return []
            if self.digits:
                return self._offer(now)
            # Left off the hook with no digit: receiver-off-hook treatment until it hangs up.
            self.state = Fxs.CLEARING
            return [PlayTone("congestion"), Detect(frozenset())]
        return []

    # ---- inside ----
    def _off_hook(self, now: float) -> list:
        if self._onhook_at is not None:
            # Back off-hook within the break limit: a dial pulse, a flash or a bounce.
            brk, self._onhook_at = now - self._onhook_at, None
            if self.state is Fxs.DIALTONE and brk <= self.config.pulse_max:
                self._pulses += 1
                self._timer = now + self.config.interpulse
                return [PlayTone(None)] if self._pulses == 1 and not self.digits else []
            if self.state is Fxs.CONNECTED and brk >= self.config.flash_min:
                return [signal("flash", ms=round(brk * 1000))]
            return []                           # a bounce, or a flash where none means anything
        if self.state is Fxs.RINGING:
            self._timer = None
            return self._connect(now, "phone", [Ring(False)])
        if self.state is Fxs.IDLE:
            self.state, self.digits, self._pulses = Fxs.DIALTONE, "", 0
            self._timer = now + self.config.first_digit
            return [PlayTone("dial"), Detect(frozenset({"dtmf"})), signal("seized")]
        return []

    def _hung_up(self, now: float) -> list:
        self._onhook_at = None
        was, self.state, self._timer = self.state, Fxs.IDLE, None
        actions = [PlayTone(None), StopMedia(), Detect(frozenset())]
        if was in (Fxs.OFFERED, Fxs.CONNECTED):
            actions.append(signal("disconnected", cause=16, by="remote"))
        return actions + [signal("free")]

    def _digit(self, digit: str, now: float) -> list:
        actions = [PlayTone(None)] if not self.digits else []
        if digit == "#" and self.digits:
            return actions + self._offer(now)
        self.digits += digit
        if len(self.digits) >= self.config.max_digits:
            return actions + self._offer(now)
        self._timer = now + self.config.interdigit
        return actions

    def _offer(self, now: float) -> list:
        self.state, self._timer = Fxs.OFFERED, None
        return [PlayTone("ringback"), signal("offered", ani=self.config.extension, dnis=self.digits, name="")]

    def _connect(self, now: float, how: str, actions: list | None = None) -> list:
        self.state = Fxs.CONNECTED
        return (actions or []) + [PlayTone(None), Detect(frozenset({"dtmf"}) | self.detect),
                                  signal("connected", how=how)]

    def _far_side_cleared(self, now: float, cause: int, by: str) -> list:
        self.state, self._timer = Fxs.CLEARING, None
        actions = [StopMedia(), Detect(frozenset()), signal("disconnected", cause=cause, by=by)]
        if self.config.disconnect_battery_ms:
            actions.append(Battery(False, self.config.disconnect_battery_ms))
        return actions + [PlayTone("busy")]
