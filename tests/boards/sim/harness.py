"""A board's side of the simulated network for tests: drives one port tick by tick
(hook, digits, audio toward the line) and listens to the line with the gateway's own
native detectors, as the gateway would. Fakes nothing: the network under test gets
the same ticks a board simulator would send."""

from __future__ import annotations

import numpy as np

from gateway.boards.sim.lineside import BoardAttached, PortDrive, Tick
from gateway.dsp import DetectorBank, g711
from gateway.dsp.dtmf import DtmfGenerator

TICK_MS = 20
BLOCK = 160
IDLE = {"ulaw": 0xFF, "alaw": 0xD5}


class Port:
    """One port of a board attached to ``network``; ``listen`` names the detectors (DetectorBank's)
    run on what the line sends (reset with ``reset_detectors``)."""

    def __init__(self, network, kind="fxo4", serial="FXO4-00000001", port=0, law="ulaw", listen=("cpt",),
                 country="us", start_ms=1000, attach=True):
        self.network, self.serial, self.port, self.law = network, serial, port, law
        if attach:
            network.attach(BoardAttached(kind, serial, 4, 0))
        self.now = start_ms
        self.offhook = False
        self.ringing = False
        self.battery = True
        self.reversed_toward_phone = False
        self._changes: list = []
        self._tx = bytearray()               # audio queued toward the line (G.711)
        self.bank = DetectorBank(1, detect=listen, encoding=law, country=country if "cpt" in listen else None) \
            if listen else None
        self.events: list = []               # (seconds since start, DetectorEvent)
        self.senses: list = []               # (time_ms, PortSense)
        self.received = bytearray()          # every byte the line sent
        self.start_ms = start_ms

    # -- what we do

    def hook(self, offhook: bool, ms_before: int = 10) -> None:
        self.offhook = offhook
        self._changes.append((ms_before, offhook))

    def send(self, codes: bytes) -> None:
        self._tx += codes

    def dial_dtmf(self, digits: str, on_ms: int = 80, off_ms: int = 80, level_dbm0: float = -8.0) -> None:
        self.send(g711.encode(DtmfGenerator(digits, on_ms, off_ms, level_dbm0).all(), self.law).tobytes())

    def dial_pulses(self, digits: str, break_ms: int = 60, make_ms: int = 40, gap_ms: int = 700) -> None:
        """Loop-disconnect dialling, run tick by tick (hook changes at 5 ms resolution)."""
        plan = []                            # (offset ms from now, offhook)
        at = 0
        for digit in digits:
            for _ in range(10 if digit == "0" else int(digit)):
                plan.append((at, False))
                at += break_ms
                plan.append((at, True))
                at += make_ms
            at += gap_ms - make_ms
        start = self.now
        while plan:
            end = self.now + TICK_MS
            changes = []
            while plan and start + plan[0][0] <= end:
                offset, offhook = plan.pop(0)
                changes.append((end - (start + offset), offhook))
            self._changes += changes
            if changes:
                self.offhook = changes[-1][1]
            self.step()
        self.run(0.4)                         # the exchange ends a digit 300 ms after its last pulse

    def reset_detectors(self) -> None:
        if self.bank is not None:
            self.bank.reset(0)

    # -- time

    def step(self, **drive):
        """One tick; returns the line's PortSense."""
        self.now += TICK_MS
        audio = bytes(self._tx[:BLOCK]).ljust(BLOCK, bytes([IDLE[self.law]]))
        del self._tx[:BLOCK]
        port = PortDrive(self.port, self.law, offhook=self.offhook, hook_changes=tuple(self._changes),
                         ringing=self.ringing, battery=self.battery, reversed=self.reversed_toward_phone,
                         audio=audio, **drive)
        self._changes = []
        tock = self.network.tick(Tick(self.serial, self.now, [port]))
        sense = tock.ports[0]
        self.senses.append((self.now, sense))
        if sense.audio is not None:
            self.received += sense.audio
            if self.bank is not None:
                for event in self.bank.feed(np.frombuffer(sense.audio, np.uint8)[None, :]):
                    self.events.append((self.seconds, event))
        return sense

    def run(self, seconds: float, until=None):
        """Ticks for ``seconds`` (or until ``until(sense)`` is true); the last PortSense."""
        sense = None
        for _ in range(round(seconds * 1000 / TICK_MS)):
            sense = self.step()
            if until is not None and until(sense):
                break
        return sense

    @property
    def seconds(self) -> float:
        return (self.now - self.start_ms) / 1000

    def first(self, kind: str, value=None, after: float = 0.0):
        """The first recognised event of ``kind`` (and ``value``) after ``after`` s: (time, event) or None."""
        for t, event in self.events:
            if t >= after and event.kind == kind and (value is None or event.value == value) \
                    and (event.end is None or kind == "amd"):
                return t, event
        return None

    def values(self, kind: str) -> list:
        return [event.value for _, event in self.events if event.kind == kind and (event.end is None or kind == "amd")]

    def linear(self) -> np.ndarray:
        return g711.decode(bytes(self.received), self.law)
