"""Every generated sound of one country's network, made once and kept: the tone
plan's tones (gateway.dsp.tone_plan), special information tones, fax and
modem answer tones, answering-machine beeps, DTMF strings, the line's noise.

Levels (dBm0 per frequency) follow the North American precise tone plan:
dial tone -13, audible ringing -19, busy and reorder -24; other networks'
tones are played at the same levels, a plan's ``levels_db`` (bursts of
different levels) on top.

Fax and modem tones, with their sources:
- CED (the called fax's answer tone): 2100 Hz, 2.6-4 s, then 75 ms of
  silence and the V.21 preamble: HDLC flags (0x7E, bits sent least
  significant first) at 300 bit/s in V.21 channel 2, 1650 Hz for a one and
  1850 Hz for a zero, for 1 s (ITU-T T.30; V.21).
- ANSam/ (a V.8 modem's answer tone): 2100 Hz amplitude-modulated at 15 Hz
  to a depth of 20 %, its phase reversed every 450 ms, for 3.3 s (ITU-T
  V.8; V.25 for the reversals and the 2.6-4 s length).
"""

from __future__ import annotations

import math

import numpy as np

from gateway.boards.sim.sound import NOISE_LOOP_SAMPLES, RATE, Sound, dbm0_rms, line_noise
from gateway.dsp.dtmf import DtmfGenerator
from gateway.dsp.tone import ToneGenerator, ToneSegment
from gateway.dsp.tone_plan import TonePlan, load_plan

TONE_LEVELS_DBM0 = {"dial": -13.0, "ringback": -19.0, "busy": -24.0, "congestion": -24.0}
OTHER_TONE_DBM0 = -17.0
SIT_SUBTYPES = ("ic", "vc", "ro", "nc", "itu")
# ITU-T E.180 / Q.35's special information tone when a plan has none: 950, 1400, 1800 Hz, 330 ms each.
ITU_SIT = ((950.0, 330), (1400.0, 330), (1800.0, 330))
CONTINUOUS_LOOP_MS = 1000        # a tone that plays for ever: 1 s loops seamlessly for whole-Hz tones
FAX_TONE_DBM0 = -12.0
CED_HZ = 2100.0
V21_MARK_HZ, V21_SPACE_HZ, V21_BAUD = 1650.0, 1850.0, 300
HDLC_FLAG = 0x7E
ANSAM_AM_HZ, ANSAM_DEPTH, ANSAM_REVERSAL_MS = 15.0, 0.2, 450
BEEP_DBM0 = -10.0
DTMF_DBM0, DTMF_TWIST_DB = -8.0, 2.0       # a telephone's keypad: the high group a little louder


class ToneLibrary:
    """The sounds of one country's network at one noise level, made on first use and kept."""

    def __init__(self, country: str, noise_dbm0: float):
        self.plan: TonePlan = load_plan(country)
        self.country = self.plan.country
        self.noise_dbm0 = noise_dbm0
        self._sounds: dict = {}
        self.noise = self._kept("noise", lambda: Sound(
            "noise", line_noise(NOISE_LOOP_SAMPLES, noise_dbm0, f"noise/{self.country}"), loop_from=0))

    def _kept(self, key, make) -> Sound:
        sound = self._sounds.get(key)
        if sound is None:
            sound = self._sounds[key] = make()
        return sound

    def _noisy(self, name: str, x: np.ndarray, loop_from: int | None = None) -> Sound:
        return Sound(name, x + line_noise(len(x), self.noise_dbm0, f"{self.country}/{name}"), loop_from)

    # -- the plan's tones

    def has(self, tone: str) -> bool:
        return tone in self.plan.tones

    def tone(self, name: str) -> Sound:
        """A tone of the plan as it plays: its ``!`` part once, then its cadence looping (a tone
        that ends, such as a SIT, ends)."""
        return self._kept(("tone", name), lambda: self._render_tone(name))

    def _render_tone(self, name: str) -> Sound:
        spec = self.plan[name]
        level = TONE_LEVELS_DBM0.get(name, OTHER_TONE_DBM0)
        offsets = self.plan.levels_db.get(name, (0.0,) * len(spec.elements))
        parts = []
        loop_from = None
        for i, (element, offset) in enumerate(zip(spec.elements, offsets)):
            if not element.once and loop_from is None:
                loop_from = sum(len(p) for p in parts)
            ms = element.duration_ms or CONTINUOUS_LOOP_MS
            parts.append(_element(element.segment(level + offset), ms))
        return self._noisy(f"tone/{name}", np.concatenate(parts), loop_from)

    # -- special information tones

    def sit(self, subtype: str) -> Sound:
        """The three tones of a special information tone, once: Telcordia's by subtype (from the plan,
        else from the North American plan, whose they are), or ``itu``: the plan's ``info`` tone up to
        its first long pause (ITU-T E.180's 950/1400/1800 Hz when the plan has none)."""
        return self._kept(("sit", subtype), lambda: self._render_sit(subtype))

    def _render_sit(self, subtype: str) -> Sound:
        if subtype == "itu":
            elements = []
            if self.has("info"):
                for element in self.plan["info"].elements:
                    if element.silent and elements and (element.duration_ms or 10**9) >= 300:
                        break
                    elements.append(element)
            if not elements:
                x = np.concatenate([_element(ToneSegment(hz, OTHER_TONE_DBM0, ms), ms) for hz, ms in ITU_SIT])
                return self._noisy("sit/itu", x)
            parts = [_element(e.segment(OTHER_TONE_DBM0), e.duration_ms or 330) for e in elements]
            return self._noisy("sit/itu", np.concatenate(parts))
        name = f"sit-{subtype}"
        plan = self.plan if self.has(name) else load_plan("us")
        spec = plan[name]
        x = np.concatenate([_element(e.segment(OTHER_TONE_DBM0), e.duration_ms) for e in spec.elements])
        return self._noisy(f"sit/{subtype}", x)

    # -- fax and modem

    def ced(self, seconds: float) -> Sound:
        ms = round(seconds * 1000)
        return self._kept(("ced", ms), lambda: self._noisy(
            f"ced/{ms}", _sine(CED_HZ, FAX_TONE_DBM0, ms * RATE // 1000)))

    def v21_flags(self, seconds: float) -> Sound:
        """HDLC flags in V.21 channel 2 (the called fax's preamble)."""
        ms = round(seconds * 1000)
        return self._kept(("v21", ms), lambda: self._noisy(f"v21/{ms}", _v21_flags(ms)))

    def ansam(self, seconds: float) -> Sound:
        """ANSam with phase reversals (V.8's answer tone)."""
        ms = round(seconds * 1000)
        return self._kept(("ansam", ms), lambda: self._noisy(f"ansam/{ms}", _ansam(ms)))

    # -- answering-machine beeps, DTMF

    def beep(self, freqs: tuple[float, ...], ms: int) -> Sound:
        """A beep: one sine, or several one after the other (``ms`` each)."""
        key = ("beep", tuple(freqs), ms)
        return self._kept(key, lambda: self._noisy(
            "beep/" + "+".join(f"{f:g}" for f in freqs) + f"/{ms}", _tones(freqs, BEEP_DBM0, ms * RATE // 1000)))

    def dtmf(self, digits: str, on_ms: int = 80, off_ms: int = 80) -> Sound:
        """``digits`` as a keypad sends them."""
        key = ("dtmf", digits, on_ms, off_ms)
        return self._kept(key, lambda: self._noisy(
            f"dtmf/{digits}", DtmfGenerator(digits, on_ms, off_ms, DTMF_DBM0, DTMF_TWIST_DB).all().astype(float)))

    def speech(self, name: str, samples: np.ndarray) -> Sound:
        """A recorded voice with the line's noise added."""
        return self._kept(("speech", name), lambda: self._noisy(f"voice/{name}", samples.astype(float)))


def _element(segment: ToneSegment, ms: int) -> np.ndarray:
    n = ms * RATE // 1000
    if not segment.freqs:
        return np.zeros(n)
    fixed = ToneSegment(segment.freqs, segment.levels_dbm0, ms, segment.am_hz, segment.am_depth)
    return ToneGenerator([fixed]).generate(n).astype(float)


def _sine(hz: float, level_dbm0: float, n: int) -> np.ndarray:
    t = np.arange(n) / RATE
    x = math.sqrt(2) * dbm0_rms(level_dbm0) * np.sin(2 * np.pi * hz * t)
    ramp = min(40, n // 2)                     # 5 ms edges: a switched tone, not a click
    if ramp:
        x[:ramp] *= np.linspace(0, 1, ramp)
        x[-ramp:] *= np.linspace(1, 0, ramp)
    return x


def _tones(freqs, level_dbm0: float, n: int) -> np.ndarray:
    """Tones one after the other, ``n`` samples each, phase running on from one to the next
    (one oscillator retuned, as a machine's beep is made), with 5 ms edges at the start and end."""
    freq = np.repeat(np.asarray(freqs, dtype=float), n)
    x = math.sqrt(2) * dbm0_rms(level_dbm0) * np.sin(2 * np.pi * np.cumsum(freq) / RATE)
    ramp = min(40, len(x) // 2)
    x[:ramp] *= np.linspace(0, 1, ramp)
    x[-ramp:] *= np.linspace(1, 0, ramp)
    return x


def _v21_flags(ms: int) -> np.ndarray:
    n = ms * RATE // 1000
    bits_needed = -(-n * V21_BAUD // RATE) + 1
    flag_bits = [(HDLC_FLAG >> i) & 1 for i in range(8)]
    bits = np.array((flag_bits * (bits_needed // 8 + 1))[:bits_needed])
    bit_index = (np.arange(n) * V21_BAUD) // RATE
    freq = np.where(bits[bit_index] == 1, V21_MARK_HZ, V21_SPACE_HZ)
    phase = 2 * np.pi * np.cumsum(freq) / RATE           # continuous phase from bit to bit
    return math.sqrt(2) * dbm0_rms(FAX_TONE_DBM0) * np.sin(phase)


def _ansam(ms: int) -> np.ndarray:
    n = ms * RATE // 1000
    t = np.arange(n) / RATE
    reversals = np.floor(t * 1000 / ANSAM_REVERSAL_MS)
    carrier = np.sin(2 * np.pi * CED_HZ * t + np.pi * reversals)
    envelope = 1 + ANSAM_DEPTH * np.sin(2 * np.pi * ANSAM_AM_HZ * t)
    x = math.sqrt(2) * dbm0_rms(FAX_TONE_DBM0) * envelope * carrier
    x[:40] *= np.linspace(0, 1, 40)
    x[-40:] *= np.linspace(1, 0, 40)
    return x
