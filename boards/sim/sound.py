"""Sounds ready for the line, and the player that cuts them into 20 ms blocks.

The network serves hundreds of lines every 20 ms, so nothing is generated
or encoded per tick: a ``Sound`` is G.711 bytes made once per law (tones,
prompts, beeps, all with the line's noise already in them), and a line's
``Player`` hands out 160-byte slices of them. A sound that loops (a tone's
cadence, the idle line's noise) keeps a copy of its loop's first block
after its end, so a block that wraps around is still one slice.

A player plays a queue of ``Segment``s: a sound for its natural length, for
a given number of samples (a loop for as long as wanted, a prompt cut
short) or for ever; a segment may carry an ``action``, any object, reported
by ``block()`` in the tick the segment starts (answering, hanging up: the
line signals that go with the audio). When the queue is empty the player
plays the line's noise.
"""

from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass

import numpy as np

from gateway.dsp import g711
from gateway.errors import UsageError

RATE = 8000
BLOCK = 160                      # samples (and G.711 bytes) in a 20 ms tick
LAWS = ("ulaw", "alaw")
# A 0 dBm0 sine peaks 3.14 dB below 16-bit full scale (G.711's 0 dBm0, as gateway.dsp.tone has it).
ZERO_DBM0_RMS = 32768 * 10 ** (-3.14 / 20) / np.sqrt(2)
NOISE_LOOP_SAMPLES = 10_957      # the idle line's noise: 1.37 s, a prime so it lines up with no cadence


def dbm0_rms(level_dbm0: float) -> float:
    """The RMS in 16-bit sample units of a signal at ``level_dbm0``."""
    return ZERO_DBM0_RMS * 10 ** (level_dbm0 / 20)


def line_noise(samples: int, level_dbm0: float, key: str) -> np.ndarray:
    """White noise (float) at ``level_dbm0``, the same for the same ``key``: a real line
    is never digital silence, and a detector's noise floor should see what it would."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    return rng.standard_normal(samples) * dbm0_rms(level_dbm0)


class Sound:
    """A sound as G.711 bytes, made once per law from 16-bit samples (float or int, noise already
    added). ``loop_from``: the sample where it starts again when it ends (None: it ends)."""

    __slots__ = ("name", "samples", "loop_from", "_linear", "_codes")

    def __init__(self, name: str, linear: np.ndarray, loop_from: int | None = None):
        linear = np.clip(np.rint(np.asarray(linear, dtype=np.float64)), -32768, 32767).astype(np.int16)
        if loop_from is not None:
            if not 0 <= loop_from < len(linear):
                raise UsageError(f"sound {name}: loop_from {loop_from} outside 0..{len(linear) - 1}")
            loop = linear[loop_from:]
            if len(loop) < BLOCK:  # a block must never wrap twice
                linear = np.concatenate([linear[:loop_from], np.tile(loop, -(-BLOCK // len(loop)))])
        self.name = name
        self.samples = len(linear)
        self.loop_from = loop_from
        self._linear = linear
        self._codes: dict[str, bytes] = {}

    @classmethod
    def from_codes(cls, name: str, law: str, codes: bytes) -> Sound:
        """A sound given as G.711 bytes in ``law`` (played in that law exactly as given)."""
        if law not in LAWS:
            raise UsageError(f"law must be one of {', '.join(LAWS)}, not {law!r}")
        sound = cls(name, g711.decode(bytes(codes), law))
        sound._codes[law] = bytes(codes)
        return sound

    @property
    def loops(self) -> bool:
        return self.loop_from is not None

    @property
    def linear(self) -> np.ndarray:
        return self._linear

    def codes(self, law: str) -> bytes:
        """The G.711 bytes in ``law``; a looping sound has its loop's first block again after its end."""
        codes = self._codes.get(law)
        if codes is None:
            encoded = g711.encode(self._linear, law).tobytes()
            if self.loop_from is not None:
                encoded += encoded[self.loop_from:self.loop_from + BLOCK]
            codes = self._codes[law] = encoded
        return codes

    def __repr__(self):
        kind = f"loop from {self.loop_from}" if self.loops else "once"
        return f"Sound({self.name!r}, {self.samples / RATE:.2f} s, {kind})"


@dataclass(frozen=True)
class Segment:
    """A sound in a player's queue: ``samples`` None is the sound's natural length (for ever for a
    loop); ``action`` is reported when the segment starts. ``Segment(None, 0, action)`` is an
    action alone."""

    sound: Sound | None
    samples: int | None = None
    action: object = None

    @staticmethod
    def seconds(sound: Sound, seconds: float, action=None) -> Segment:
        return Segment(sound, max(0, round(seconds * RATE)), action)

    @staticmethod
    def act(action) -> Segment:
        return Segment(None, 0, action)


class Player:
    """A queue of segments played as 160-byte blocks in one law; the line's noise when empty."""

    __slots__ = ("law", "idle", "_queue", "_sound", "_data", "_pos", "_end", "_wrap", "_left", "fired")

    def __init__(self, law: str, idle: Sound):
        if law not in LAWS:
            raise UsageError(f"law must be one of {', '.join(LAWS)}, not {law!r}")
        if not idle.loops:
            raise UsageError(f"the idle sound must loop: {idle!r}")
        self.law = law
        self.idle = idle
        self._queue: deque = deque()
        self.fired: list = []          # actions of the segments started by the last block()
        self._start_idle(0)

    def set_law(self, law: str) -> None:
        """Plays on in another law from the same place (every law's bytes of a sound line up)."""
        if law not in LAWS:
            raise UsageError(f"law must be one of {', '.join(LAWS)}, not {law!r}")
        self.law = law
        self._data = self._sound.codes(law)

    @property
    def sound(self) -> Sound:
        """The sound playing now (the idle noise when nothing else is)."""
        return self._sound

    @property
    def idle_now(self) -> bool:
        return self._sound is self.idle and not self._queue

    def play(self, segments, offset: int = 0) -> None:
        """Replaces whatever is playing by ``segments``; ``offset`` samples into the idle noise after them."""
        self._queue.clear()
        self._queue.extend(segments)
        self._start_idle(offset)
        self._left = 0               # the next block starts the queue

    def then(self, segments) -> None:
        """Adds ``segments`` after those queued."""
        self._queue.extend(segments)
        if self._sound is self.idle and self._left < 0:
            self._left = 0

    def stop(self) -> None:
        """Nothing but the line's noise from the next block on."""
        self._queue.clear()
        self._start_idle(self._pos if self._sound is self.idle else 0)

    def _start_idle(self, offset: int) -> None:
        self._sound = self.idle
        self._data = self.idle.codes(self.law)
        self._end = self.idle.samples
        self._wrap = self.idle.loop_from
        self._pos = offset % self.idle.samples
        self._left = -1

    def _next(self) -> None:
        """Starts the next segment of the queue (or the idle noise)."""
        while self._queue:
            segment = self._queue.popleft()
            if segment.action is not None:
                self.fired.append(segment.action)
            sound = segment.sound
            if sound is None or segment.samples == 0:
                continue
            self._sound = sound
            self._data = sound.codes(self.law)
            self._end = sound.samples
            self._wrap = sound.loop_from
            self._pos = 0
            if segment.samples is None:
                self._left = -1 if sound.loop_from is not None else sound.samples
            else:
                self._left = segment.samples if sound.loop_from is not None else min(segment.samples, sound.samples)
            return
        self._start_idle(self._pos if self._sound is self.idle else 0)

    def block(self) -> bytes:
        """The next 160 bytes; ``fired`` then holds the actions of the segments that started in them."""
        if self.fired:
            self.fired = []
        left = self._left
        pos = self._pos
        if left < 0 or left >= BLOCK:
            if pos + BLOCK <= self._end:          # the usual case: one slice, no wrap, no segment change
                self._pos = pos + BLOCK
                if left > 0:
                    self._left = left - BLOCK
                return self._data[pos:pos + BLOCK]
        return self._assemble()

    def _assemble(self) -> bytes:
        parts = []
        need = BLOCK
        while need:
            if self._left == 0:
                self._next()
                continue
            if self._pos >= self._end:
                if self._wrap is None:        # a sound that ends
                    self._left = 0
                    continue
                self._pos = self._wrap + (self._pos - self._end)
            take = need if self._left < 0 else min(need, self._left)
            if self._wrap is None:
                take = min(take, self._end - self._pos)
            # A loop's data holds one block past its end, so take <= 160 never runs off it.
            parts.append(self._data[self._pos:self._pos + take])
            self._pos += take
            if self._wrap is not None and self._pos >= self._end:
                self._pos = self._wrap + (self._pos - self._end)
            if self._left > 0:
                self._left -= take
            need -= take
        return b"".join(parts)
