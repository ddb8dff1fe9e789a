"""Inbound traffic: calls from the network to our FXO lines, as the directory's
``[inbound]`` plan asks. Each line gets its own Poisson stream of
``calls_per_hour`` (exponential gaps drawn from a generator seeded by the
network's seed and the line, so the same seed and ticks give the same
calls); each call picks a caller by weight and how long they will talk.
A call that finds the line in use is recorded as ``line-busy`` and dropped.
"""

from __future__ import annotations

import random

from gateway.boards.sim.call import Call
from gateway.boards.sim.directory import Caller, Inbound


class InboundTraffic:
    """When the next call comes to each line, and who calls."""

    def __init__(self, plan: Inbound, seed: int):
        self.plan = plan
        self.seed = seed
        self._next: dict[tuple[str, int], float] = {}
        self._rngs: dict[tuple[str, int], random.Random] = {}
        self._numbers = frozenset(plan.lines)

    def serves(self, number: str | None) -> bool:
        """Calls come to this number of ours."""
        if self.plan.calls_per_hour <= 0:
            return False
        return not self._numbers or number in self._numbers

    def _rng(self, key) -> random.Random:
        rng = self._rngs.get(key)
        if rng is None:
            rng = self._rngs[key] = random.Random(f"{self.seed}/{key[0]}/{key[1]}/arrivals")
        return rng

    def due(self, serial: str, port: int, number: str | None, now: int) -> Call | None:
        """A new call to this line if one arrives by ``now`` (the board's time in ms)."""
        key = (serial, port)
        when = self._next.get(key)
        if when is None:
            if not self.serves(number):
                self._next[key] = float("inf")
                return None
            when = self._next[key] = now + self._gap_ms(key)
        if now < when:
            return None
        self._next[key] = when + self._gap_ms(key)
        return self.new_call(serial, port, number, self._rng(key))

    def _gap_ms(self, key) -> float:
        return self._rng(key).expovariate(self.plan.calls_per_hour / 3_600_000)

    def new_call(self, serial: str, port: int, number: str | None, rng: random.Random,
                 caller: Caller | None = None) -> Call:
        """A call from a caller of the plan (``caller``, or one drawn by weight)."""
        plan = self.plan
        if caller is None:
            caller = rng.choices(plan.callers, weights=[c.weight for c in plan.callers])[0]
        low, high = caller.talk_s or plan.talk_s
        return Call("in", serial, port, number or "", ani=caller.number, name=caller.name,
                    presentation=caller.presentation, digits=caller.digits, talk_s=rng.uniform(low, high),
                    give_up_after_rings=plan.give_up_after_rings, voice=caller.voice)
