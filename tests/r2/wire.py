"""Two R2 channels back to back on virtual time: what one side does (ABCD
bits, MF signals on and off) reaches the other as its inputs after the
delays a line and an MF receiver would add. A tiny discrete-event loop: the
next thing to happen is the earliest queued delivery or channel deadline.

    wire = Wire(R2Channel("ITU"), R2Channel("ITU"))
    wire.do("a", "make_call", "1234", ani="5551000")
    wire.run_until(lambda: wire.signal("b", "offered"))
"""

from __future__ import annotations

import heapq
import itertools

from gateway.line_signal import Detect, PlayMf, SetAbcd, Signal, StopMf

OTHER = {"a": "b", "b": "a"}


class Wire:
    def __init__(self, a, b, *, abcd_delay=0.002, mf_on_delay=0.030, mf_off_delay=0.025, now=0.0):
        self.ch = {"a": a, "b": b}
        self.now = now
        self.delays = {"abcd": abcd_delay, "began": mf_on_delay, "ended": mf_off_delay}
        self._queue: list = []
        self._seq = itertools.count()
        self.signals = {"a": [], "b": []}         # (time, kind, fields)
        self.actions = {"a": [], "b": []}         # (time, action)
        self.playing = {"a": None, "b": None}
        self.detect = {"a": frozenset(), "b": frozenset()}
        self.sent = {"a": a.line.sent, "b": b.line.sent}
        self.cut = {"a": set(), "b": set()}       # kinds of a side's output the other no longer gets
        self._heard = {"a": None, "b": None}      # the signal each side's receiver reported begun

    # ---- the host ----
    def do(self, side: str, command: str, *args, **kwargs):
        ch = self.ch[side]
        if command in ("make_call", "reject"):          # (number or cause, now, ...)
            actions = getattr(ch, command)(args[0], self.now, *args[1:], **kwargs)
        else:                                           # (now, ...)
            actions = getattr(ch, command)(self.now, *args, **kwargs)
        self.apply(side, actions)
        return actions

    # ---- the loop ----
    def apply(self, side: str, actions: list) -> None:
        other = OTHER[side]
        for action in actions:
            self.actions[side].append((self.now, action))
            if isinstance(action, SetAbcd):
                self.sent[side] = action.bits
                self._later("abcd", other, action.bits)
            elif isinstance(action, PlayMf):
                assert self.playing[side] is None, f"{side} plays {action} over {self.playing[side]}"
                self.playing[side] = action
                self._later("began", other, action)
            elif isinstance(action, StopMf):
                assert self.playing[side] is not None, f"{side} stops a signal it is not playing"
                self.playing[side] = None
                self._later("ended", other, None)
            elif isinstance(action, Detect):
                self.detect[side] = action.names
            elif isinstance(action, Signal):
                self.signals[side].append((self.now, action.kind, action.fields))

    def _later(self, kind: str, to: str, value) -> None:
        if kind in self.cut[OTHER[to]]:
            return
        heapq.heappush(self._queue, (self.now + self.delays[kind], next(self._seq), kind, to, value))

    def _deliver(self, kind: str, to: str, value) -> None:
        ch = self.ch[to]
        if kind == "abcd":
            self.apply(to, ch.abcd(value, self.now))
            return
        # An MF receiver hears only the direction it listens for.
        if kind == "began":
            wanted = "mfr2_fwd" if value.forward else "mfr2_bwd"
            if wanted in self.detect[to]:
                self._heard[to] = value.signal
                self.apply(to, ch.mf_began(value.signal, self.now))
        elif self._heard[to] is not None:
            self._heard[to] = None
            self.apply(to, ch.mf_ended(self.now))

    def step(self) -> bool:
        """Advance to the next event; False when nothing is left to happen."""
        times = [self._queue[0][0]] if self._queue else []
        times += [t for t in (self.ch[s].next_deadline for s in "ab") if t is not None]
        if not times:
            return False
        self.now = max(self.now, min(times))
        while self._queue and self._queue[0][0] <= self.now:
            _, _, kind, to, value = heapq.heappop(self._queue)
            self._deliver(kind, to, value)
        for side in "ab":
            deadline = self.ch[side].next_deadline
            if deadline is not None and deadline <= self.now:
                self.apply(side, self.ch[side].tick(self.now))
        return True

    def run_until(self, condition, limit: float = 120.0) -> float:
        """Run until ``condition()`` holds; returns the time. Fails after ``limit`` seconds."""
        end = self.now + limit
        while not condition():
            if not self.step() or self.now > end:
                raise AssertionError(f"not reached by t={self.now:.3f}: a {self.ch['a'].describe()}, "
                                     f"b {self.ch['b'].describe()}; signals {self.signals}")
        return self.now

    def settle(self, limit: float = 300.0) -> float:
        """Run until nothing is left to happen."""
        end = self.now + limit
        while self.step():
            if self.now > end:
                raise AssertionError(f"still busy at t={self.now:.3f}")
        return self.now

    # ---- looking ----
    def signal(self, side: str, kind: str):
        """The fields of the first ``kind`` signal ``side`` gave, or None."""
        for _, k, fields in self.signals[side]:
            if k == kind:
                return fields
        return None

    def has(self, side: str, kind: str) -> bool:
        return any(k == kind for _, k, _ in self.signals[side])

    def kinds(self, side: str) -> list[str]:
        return [k for _, k, _ in self.signals[side]]

    def time_of(self, side: str, kind: str) -> float | None:
        for t, k, _ in self.signals[side]:
            if k == kind:
                return t
        return None
