"""MF R2 as sound for the interop tests: one small adapter between an
``R2Channel``'s actions (``PlayMf`` / ``StopMf`` / ``Detect``) and 20 ms
A-law blocks, so that openr2 hears real tones and Linegate hears openr2's.

Sending uses the C core's tone generator (gateway.dsp.tone). Receiving uses
the native ``mfr2_fwd`` / ``mfr2_bwd`` detectors of ``DetectorBank``
(``make_receiver``), the ones the gateway runs.

Q.441 / Q.451: a signal is two of six frequencies f0..f5; forward
(caller's) signals use 1380..1980 Hz, backward ones 1140..540 Hz, 120 Hz
apart. Signals 1..15 are the pairs in the order f0+f1, f0+f2, f1+f2,
f0+f3, f1+f3, f2+f3, f0+f4 ... f3+f5, f4+f5 (the weights 0, 1, 2, 4, 7, 11
add up to the number, except that 4+7 is 10 and 7+11 is 15).
"""

from __future__ import annotations

import itertools

import numpy as np

from gateway.dsp import detector_bank, g711
from gateway.dsp.tone import ToneGenerator, ToneSegment

FORWARD_HZ = (1380, 1500, 1620, 1740, 1860, 1980)
BACKWARD_HZ = (1140, 1020, 900, 780, 660, 540)
PAIRS = {n: pair for n, pair in enumerate(sorted(itertools.combinations(range(6), 2), key=lambda p: (p[1], p[0])), 1)}
SIGNALS = {pair: n for n, pair in PAIRS.items()}
# -11 dBm0 per frequency: what openr2's generator sends (r2engine.c), within Q.454's -11.5 +- 1 dB.
LEVEL_DBM0 = -11.0
BLOCK = 160
LAW = "alaw"


def frequencies(signal: int, forward: bool) -> tuple[int, int]:
    i, j = PAIRS[signal]
    table = FORWARD_HZ if forward else BACKWARD_HZ
    return table[i], table[j]


class MfTransmitter:
    """Plays what the channel asks for, one block at a time."""

    def __init__(self):
        self._tone: ToneGenerator | None = None
        self.signal: tuple[int, bool] | None = None

    def play(self, signal: int, forward: bool) -> None:
        self.signal = (signal, forward)
        self._tone = ToneGenerator([ToneSegment(frequencies(signal, forward), LEVEL_DBM0, 0)])

    def stop(self) -> None:
        self.signal, self._tone = None, None

    def block(self) -> np.ndarray:
        if self._tone is None:
            return np.zeros(BLOCK, dtype=np.int16)
        return self._tone.generate(BLOCK)


class NativeReceiver:
    """The native mfr2 detector through DetectorBank: ("began", n) and ("ended", n)."""

    def __init__(self, forward: bool):
        self.kind = "mfr2_fwd" if forward else "mfr2_bwd"
        self._bank = detector_bank.DetectorBank(1, detect=(self.kind,), encoding="linear")

    def feed(self, samples: np.ndarray) -> list[tuple[str, int]]:
        out = []
        for event in self._bank.feed(samples.reshape(1, -1)):
            number = int("".join(ch for ch in str(event.value) if ch.isdigit()))
            out.append(("ended" if event.ended else "began", number))
        return out


def make_receiver(forward: bool):
    """The one place that picks the MF receiver."""
    return NativeReceiver(forward)


def encode(samples: np.ndarray) -> bytes:
    return g711.encode(samples, LAW).tobytes()


def decode(block: bytes) -> np.ndarray:
    return g711.decode(np.frombuffer(block, dtype=np.uint8), LAW)
