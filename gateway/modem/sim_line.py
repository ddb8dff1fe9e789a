"""The telephone line behind a simulated voice modem.

``ModemLine`` is everything the simulated modem (gateway.modem.sim_modem)
asks of its line, once per 20 ms tick: it tells the line its hook and the
audio it sends (``LineDrive``), the line answers with ringing, loop current,
the audio it carries, and caller ID when the line has finished sending it
(``LineSense``). Audio is 160 bytes of G.711 in the line's ``law``, as on the
simulated boards' ports (gateway.boards.sim.lineside), so that a line of the
simulated telephone network can stand behind the modem with a thin adapter.
The line never tells the modem what happened any other way: the modem's DSP
has to hear busy, dial tone and DTMF in the audio.

``ScriptedLine`` is the line this module brings: a small exchange with a
directory of numbers and what each does, and inbound calls at given times::

    country us
    number 201 busy
    number 202 answer rings=2 audio=speech
    number 203 answer rings=1 audio=echo dtmf=159 dtmf-at=1500ms hangup=30s
    number 204 no-answer
    number 205 congestion
    call at=1s from=5551234 name="JOHN DOE" rings=6 cadence=500/1000 audio=silence

Off hook, the line plays the country's dial tone (gateway.dsp.tone_plan)
until it hears a DTMF key (its own DetectorBank listens to the modem's
audio), collects keys until they make a number of the directory (or 3 s pass
after the last key: an unknown number gets the congestion tone), then plays
what that number does: busy, congestion, ringback for ever (no-answer), or
ringback for ``rings`` cadences and then the far end answers with ``audio``
(``speech``: a voice-like signal; ``silence``; ``echo``: what the modem sends,
100 ms later), presses ``dtmf`` keys ``dtmf-at`` after answering, and hangs
up ``hangup`` after answering (a 300 ms loop-current break, then the busy
tone). Keys the far end hears after answering are kept in ``heard``.

An inbound call rings with the country's ring cadence (or ``cadence``), its
caller ID is delivered 500 ms after the first ring ends (between the first
and the second ring, where an FSK burst would be), and it rings ``rings``
times before the caller gives up. Picked up, the caller behaves as an
answering number does (``audio``, ``dtmf``, ``hangup``).

Script errors are InputErrors naming the source, the line and the field.
"""

from __future__ import annotations

import shlex
import time as _time
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from gateway.dsp import g711
from gateway.dsp.detector_bank import DetectorBank
from gateway.dsp.dtmf import DtmfGenerator
from gateway.dsp.tone_plan import load_plan
from gateway.errors import InputError, UsageError
from gateway.modem.caller_id import CallerId

TICK_MS = 20
BLOCK = 160                 # samples per tick at 8 kHz
RATE = 8000
DIGIT_TIMEOUT_MS = 3000     # after the last key: the number is complete
NO_DIGITS_MS = 10_000       # off hook without dialling: the exchange gives up (congestion)
CALLER_ID_DELAY_MS = 500    # after the end of the first ring
RELEASE_BREAK_MS = 300      # loop current break when the far end hangs up
ECHO_DELAY_MS = 100
TONE_LEVEL_DBM0 = -13.0
DTMF_LEVEL_DBM0 = -8.0
BEHAVIOURS = ("busy", "congestion", "no-answer", "answer")
AUDIO = ("speech", "silence", "echo")


@dataclass(frozen=True)
class LineDrive:
    """What the modem does to its line during one tick: its hook and the audio it sends."""
    time_ms: int
    offhook: bool
    audio: bytes            # BLOCK bytes of G.711 in the line's law


@dataclass(frozen=True)
class LineSense:
    """What the line does during that tick: ringing voltage, loop current (off hook only), the
    audio it carries (None when it carries nothing: on hook, but for an on-hook caller-ID
    signal the modem then decodes itself), caller ID already decoded on the tick it has been
    sent in full (a scripted line's shortcut), and the loop's polarity (reversed or not)."""
    ring: bool = False
    loop_current: bool = True
    audio: bytes | None = None
    caller_id: CallerId | None = None
    reversed: bool = False


def default_law(country: str) -> str:
    """The G.711 law of a country's lines: mu-law in North America and Japan, A-law elsewhere."""
    return "ulaw" if country in ("us", "us-old", "jp") else "alaw"


class ModemLine(Protocol):
    """The far side of a simulated modem's line. A line with I/O of its own (a line of the
    simulated network, gateway.modem.network_line) also has ``async start()`` and
    ``async close()``, which the modem's server calls around serving."""

    law: str                # "ulaw" or "alaw": the audio both ways
    country: str            # the tone plan the line plays (the modem's detectors try it first)

    def tick(self, drive: LineDrive) -> LineSense: ...


# ---- the script ----

@dataclass(frozen=True)
class Behaviour:
    """What a number (or an inbound caller, once answered) does."""
    kind: str = "answer"
    rings: int = 2                  # ringback cadences before answering
    audio: str = "speech"
    dtmf: str = ""
    dtmf_at_ms: int = 1000
    hangup_ms: int | None = None


@dataclass(frozen=True)
class InboundCall:
    at_ms: int
    caller_id: CallerId
    rings: int = 6
    cadence_ms: tuple[int, ...] | None = None
    behaviour: Behaviour = Behaviour()


@dataclass(frozen=True)
class LineScript:
    country: str = "us"
    numbers: dict = field(default_factory=dict)      # number -> Behaviour
    calls: tuple[InboundCall, ...] = ()


DEFAULT_NUMBERS = {
    "201": Behaviour("busy"),
    "202": Behaviour("answer", rings=2, audio="speech"),
    "203": Behaviour("answer", rings=1, audio="echo"),
    "204": Behaviour("no-answer"),
    "205": Behaviour("congestion"),
}


def _duration(text: str, where: str, key: str) -> int:
    try:
        if text.endswith("ms"):
            value = float(text[:-2])
        elif text.endswith("s"):
            value = float(text[:-1]) * 1000
        else:
            raise ValueError
        if not 0 <= value <= 86_400_000:
            raise ValueError
    except ValueError:
        raise InputError(f"{where}: {key}={text!r} is not a duration like 500ms or 2s",
                         field=key, value=text) from None
    return int(value)


def _count(text: str, where: str, key: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise InputError(f"{where}: {key}={text!r} is not a whole number {low}..{high}", field=key, value=text)
    return int(text)


def _number(text: str, where: str, key: str) -> str:
    if not text or len(text) > 20 or any(c not in "0123456789*#ABCD" for c in text):
        raise InputError(f"{where}: {key} {text!r} is not a number of up to 20 DTMF keys (0-9 * # A-D)",
                         field=key, value=text)
    return text


def _behaviour(options: dict, where: str, kind: str = "answer") -> Behaviour:
    behaviour = Behaviour(kind)
    for key, value in options.items():
        if key == "rings":
            behaviour = replace(behaviour, rings=_count(value, where, key, 0, 100))
        elif key == "audio":
            if value not in AUDIO:
                raise InputError(f"{where}: audio={value!r} is not one of {', '.join(AUDIO)}", field=key, value=value)
            behaviour = replace(behaviour, audio=value)
        elif key == "dtmf":
            behaviour = replace(behaviour, dtmf=_number(value, where, key))
        elif key == "dtmf-at":
            behaviour = replace(behaviour, dtmf_at_ms=_duration(value, where, key))
        elif key == "hangup":
            behaviour = replace(behaviour, hangup_ms=_duration(value, where, key))
        else:
            raise InputError(f"{where}: unknown option {key!r} (rings, audio, dtmf, dtmf-at, hangup)",
                             field=key, value=value)
    return behaviour


def _options(words: list[str], where: str) -> dict:
    options = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InputError(f"{where}: {word!r} is not KEY=VALUE", field="option", value=word)
        if key in options:
            raise InputError(f"{where}: {key} given twice", field=key, value=value)
        options[key] = value
    return options


def parse_script(text: str, *, source: str = "script", base: LineScript | None = None) -> LineScript:
    """A LineScript from script text (see the module's doc), added to ``base``."""
    script = base or LineScript(numbers={})
    numbers = dict(script.numbers)
    calls = list(script.calls)
    country = script.country
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{source}, line {number}"
        try:
            words = shlex.split(raw, comments=True)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}", field="line", value=raw) from None
        if not words:
            continue
        verb, rest = words[0], words[1:]
        if verb == "country":
            if len(rest) != 1:
                raise InputError(f"{where}: country takes one code, e.g. country us", field="country", value=raw)
            country = load_plan(rest[0]).country      # an unknown country names the known ones
        elif verb == "number":
            if len(rest) < 2 or rest[1] not in BEHAVIOURS:
                raise InputError(f"{where}: want: number N BEHAVIOUR [KEY=VALUE...], BEHAVIOUR one of "
                                 f"{', '.join(BEHAVIOURS)}", field="number", value=raw)
            numbers[_number(rest[0], where, "number")] = _behaviour(_options(rest[2:], where), where, rest[1])
        elif verb == "call":
            options = _options(rest, where)
            at_ms = _duration(options.pop("at", "0s"), where, "at")
            caller = options.pop("from", None)
            name = options.pop("name", None)
            date, clock = options.pop("date", None), options.pop("time", None)
            rings = _count(options.pop("rings", "6"), where, "rings", 1, 100)
            cadence_text = options.pop("cadence", None)
            cadence = None
            if cadence_text is not None:
                cadence = tuple(_count(part, where, "cadence", 50, 20_000) for part in cadence_text.split("/"))
                if len(cadence) % 2:
                    raise InputError(f"{where}: cadence={cadence_text!r} needs on/off pairs in ms, e.g. 2000/4000",
                                     field="cadence", value=cadence_text)
            for key, value in (("date", date), ("time", clock)):
                if value is not None and (len(value) != 4 or not value.isdigit()):
                    raise InputError(f"{where}: {key}={value!r} is not {'MMDD' if key == 'date' else 'HHMM'}",
                                     field=key, value=value)
            caller_id = CallerId(number=_number(caller, where, "from") if caller else None,
                                 number_absent=None if caller else "private", name=name[:15] if name else None,
                                 date=date, time=clock)
            calls.append(InboundCall(at_ms, caller_id, rings, cadence, _behaviour(options, where)))
        else:
            raise InputError(f"{where}: {verb!r} is not country, number or call", field="verb", value=verb)
    return LineScript(country, numbers, tuple(sorted(calls, key=lambda c: c.at_ms)))


# ---- a voice-like signal ----

class SpeechLike:
    """A voice-like test signal: voiced syllables (a gliding pitch and its harmonics shaped by two
    formants) between pauses, at a talker's level. Deterministic for a seed; it carries no steady
    tone pair, so DTMF and call-progress detectors must stay quiet on it (a test checks)."""

    def __init__(self, seed: int = 0, level_dbm0: float = -18.0):
        self._rng = np.random.default_rng(seed)
        self._amplitude = 32768 * 10 ** ((level_dbm0 - 3.14) / 20) * np.sqrt(2)
        self._queue = np.zeros(0, np.int16)

    def _syllable(self) -> np.ndarray:
        rng = self._rng
        length = int(rng.uniform(0.12, 0.32) * RATE)
        pause = int(rng.uniform(0.06, 0.45) * RATE)
        f0 = np.linspace(rng.uniform(95, 180), rng.uniform(95, 180), length) * (
            1 + 0.03 * np.sin(np.arange(length) * 2 * np.pi * 5 / RATE))
        phase = np.cumsum(2 * np.pi * f0 / RATE)
        formants = (rng.uniform(300, 800), rng.uniform(900, 2300))
        voiced = np.zeros(length)
        for k in range(1, int(3400 / f0.max()) + 1):
            gain = sum(1 / (1 + ((k * f0.mean() - f) / 120) ** 2) for f in formants) / k ** 0.5
            voiced += gain * np.sin(k * phase)
        voiced *= np.hanning(length) / (np.sqrt(np.mean(voiced ** 2)) + 1e-9) * self._amplitude / np.sqrt(2)
        return np.concatenate([np.clip(voiced, -32767, 32767).astype(np.int16), np.zeros(pause, np.int16)])

    def generate(self, n: int) -> np.ndarray:
        while len(self._queue) < n:
            self._queue = np.concatenate([self._queue, self._syllable()])
        out, self._queue = self._queue[:n], self._queue[n:]
        return out


# ---- the scripted line ----

def _silence(law: str) -> bytes:
    return g711.encode(np.zeros(BLOCK, np.int16), law).tobytes()


class _Source:
    """Audio of the far end for one state: a tone of the plan, the far end's voice, or silence."""

    def __init__(self, law, player=None, behaviour: Behaviour | None = None, seed=0):
        self.law = law
        self.player = player
        self.behaviour = behaviour
        self.speech = SpeechLike(seed) if behaviour and behaviour.audio == "speech" else None
        self.dtmf = DtmfGenerator(behaviour.dtmf, 80, 80, DTMF_LEVEL_DBM0) if behaviour and behaviour.dtmf else None
        self.echo = [_silence(law)] * (ECHO_DELAY_MS // TICK_MS)
        self.elapsed_ms = 0

    def block(self, heard: bytes) -> bytes:
        elapsed, self.elapsed_ms = self.elapsed_ms, self.elapsed_ms + TICK_MS
        if self.player is not None:
            samples = self.player.generate(BLOCK)
        elif self.behaviour is None or self.behaviour.audio == "silence":
            samples = np.zeros(BLOCK, np.int16)
        elif self.speech is not None:
            samples = self.speech.generate(BLOCK)
        else:
            self.echo.append(heard)
            samples = g711.decode(self.echo.pop(0), self.law)
        if self.dtmf is not None and elapsed >= self.behaviour.dtmf_at_ms and not self.dtmf.finished:
            keys = self.dtmf.generate(BLOCK)
            samples = samples.copy()
            samples[:len(keys)] = keys
        if len(samples) < BLOCK:   # a tone that ended
            samples = np.concatenate([samples, np.zeros(BLOCK - len(samples), np.int16)])
        return g711.encode(np.ascontiguousarray(samples, np.int16), self.law).tobytes()


class ScriptedLine:
    """A line with a scripted exchange behind it (see the module's doc). ``heard`` lists the DTMF
    keys the far end heard after answering; ``dialled`` the numbers the modem dialled."""

    def __init__(self, script: LineScript | None = None, *, law: str | None = None, epoch: float = 0.0,
                 seed: int = 0, on_event=None):
        self.script = script or LineScript(numbers=dict(DEFAULT_NUMBERS))
        self.plan = load_plan(self.script.country)
        self.country = self.plan.country
        self.law = law or default_law(self.country)
        if self.law not in ("ulaw", "alaw"):
            raise UsageError(f"law must be 'ulaw' or 'alaw', not {self.law!r}")
        self.epoch = epoch          # wall time of the line's time 0 (the caller ID's date and time)
        self.seed = seed
        self.on_event = on_event or (lambda text: None)   # what the line does, told as it happens
        self.heard: list[str] = []
        self.dialled: list[str] = []
        self._ears = DetectorBank(1, detect=("dtmf",), encoding=self.law)
        self._calls = list(self.script.calls)
        self._inbound: InboundCall | None = None
        self._inbound_start = 0
        self._state = "idle"
        self._since = 0
        self._digits = ""
        self._last_key_ms = 0
        self._source: _Source | None = None
        self._behaviour: Behaviour | None = None
        self._offhook = False

    # -- states --

    def _enter(self, state: str, now: int, source: _Source | None = None) -> None:
        self._state, self._since, self._source = state, now, source

    def _tone(self, name: str) -> _Source:
        spec = self.plan.tones.get(name) or self.plan["busy"]
        return _Source(self.law, spec.player(TONE_LEVEL_DBM0))

    def _answered(self, now: int, behaviour: Behaviour) -> None:
        self.on_event(f"answered ({behaviour.audio})")
        self._behaviour = behaviour
        self._ears.reset(0)
        self._enter("connected", now, _Source(self.law, behaviour=behaviour, seed=self.seed + now))

    def _ringback_ms(self) -> int:
        return sum(element.duration_ms or 0 for element in self.plan["ringback"].elements) or 6000

    def tick(self, drive: LineDrive) -> LineSense:
        now = drive.time_ms
        if drive.offhook != self._offhook:
            self._offhook = drive.offhook
            if drive.offhook:
                self._ears.reset(0)
                if self._state == "ringing":
                    self._answered(now, self._inbound.behaviour)
                else:
                    self._digits = ""
                    self._enter("dialtone", now, self._tone("dial"))
            else:
                self._inbound = None
                self._enter("idle", now)
        if not drive.offhook:
            return self._on_hook(now)
        heard = drive.audio if len(drive.audio) == BLOCK else _silence(self.law)
        for event in self._ears.feed(np.frombuffer(heard, np.uint8)[np.newaxis, :]):
            if event.kind == "dtmf" and event.end is not None:
                # A key counts once it has ended, as an exchange registers it: a number is routed
                # (and maybe answered) only after its last key has stopped sounding.
                self._key(event.value, now)
        self._progress(now)
        loop = not (self._state == "released" and now - self._since < RELEASE_BREAK_MS)
        audio = self._source.block(heard) if self._source is not None else _silence(self.law)
        return LineSense(loop_current=loop, audio=audio if loop else _silence(self.law))

    def _key(self, key: str, now: int) -> None:
        if self._state in ("dialtone", "digits"):
            self._digits += key
            self._last_key_ms = now
            if self._state == "dialtone":
                self._enter("digits", now)
        elif self._state == "connected":
            self.heard.append(key)
            self.on_event(f"heard DTMF {key}")

    def _progress(self, now: int) -> None:
        state, elapsed = self._state, now - self._since
        if state == "dialtone" and elapsed >= NO_DIGITS_MS:
            self._enter("congestion", now, self._tone("congestion"))
        elif state == "digits":
            known = self.script.numbers
            if self._digits in known and not any(n != self._digits and n.startswith(self._digits) for n in known) \
                    or now - self._last_key_ms >= DIGIT_TIMEOUT_MS:
                self._route(now)
        elif state == "ringback" and self._behaviour.kind == "answer" \
                and elapsed >= self._behaviour.rings * self._ringback_ms():
            self._answered(now, self._behaviour)
        elif state == "connected" and self._behaviour.hangup_ms is not None and elapsed >= self._behaviour.hangup_ms:
            self.on_event("far end hung up")
            self._enter("released", now, self._tone("busy"))

    def _route(self, now: int) -> None:
        self.dialled.append(self._digits)
        behaviour = self.script.numbers.get(self._digits)
        self.on_event(f"dialled {self._digits}: {behaviour.kind if behaviour else 'unknown number, congestion'}")
        if behaviour is None:
            self._enter("congestion", now, self._tone("congestion"))
            return
        self._behaviour = behaviour
        if behaviour.kind in ("busy", "congestion"):
            self._enter(behaviour.kind, now, self._tone(behaviour.kind))
        elif behaviour.kind == "answer" and behaviour.rings == 0:
            self._answered(now, behaviour)
        else:
            self._enter("ringback", now, self._tone("ringback"))

    def _on_hook(self, now: int) -> LineSense:
        if self._inbound is None and self._calls and now >= self._calls[0].at_ms:
            self._inbound, self._inbound_start = self._calls.pop(0), now
            self.on_event(f"inbound call from {self._inbound.caller_id.number or 'a withheld number'}")
            self._enter("ringing", now)
        if self._inbound is None:
            return LineSense()
        call = self._inbound
        cadence = call.cadence_ms or self.plan.ring_cadence_ms
        period = sum(cadence)
        elapsed = now - self._inbound_start
        if elapsed >= call.rings * period:
            self.on_event("the caller gave up")
            self._inbound = None
            self._enter("idle", now)
            return LineSense()
        phase, ring, edge = elapsed % period, False, 0
        for index, length in enumerate(cadence):
            if phase < edge + length:
                ring = index % 2 == 0
                break
            edge += length
        caller_id = None
        if elapsed == cadence[0] + CALLER_ID_DELAY_MS - (cadence[0] + CALLER_ID_DELAY_MS) % TICK_MS:
            caller_id = self._stamped(call.caller_id, call.at_ms)
        return LineSense(ring=ring, caller_id=caller_id)

    def _stamped(self, caller_id: CallerId, at_ms: int) -> CallerId:
        if caller_id.date and caller_id.time:
            return caller_id
        local = _time.localtime(self.epoch + at_ms / 1000)
        return replace(caller_id, date=caller_id.date or _time.strftime("%m%d", local),
                       time=caller_id.time or _time.strftime("%H%M", local))
