"""The one clock: every timeout and timestamp in the gateway comes from the
clock object it was built with (CONVENTIONS.md, rule 3).

``RealClock`` is monotonic time for waits and the wall clock for records.
``VirtualClock`` is the simulator's: time stands still until the media
engine advances it (one 20 ms tick at a time, as fast as the work allows),
so an eight-hour campaign runs in minutes through the same code.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time


class RealClock:
    """Monotonic seconds for waits; ``wall()`` for timestamps people read."""

    virtual = False

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))


class VirtualClock:
    """Simulated time. ``now()`` starts at 0; ``wall()`` is ``epoch + now()``
    (the epoch defaults to the real wall clock when the clock was made, so
    records still carry plausible dates). Sleepers wake, in deadline order,
    when ``advance`` moves time past their deadline."""

    virtual = True

    def __init__(self, epoch: float | None = None):
        self._now = 0.0
        self.epoch = time.time() if epoch is None else float(epoch)
        self._sleepers: list = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self.epoch + self._now

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    def next_deadline(self) -> float | None:
        """The earliest deadline anyone sleeps until (None: nobody sleeps)."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)          # cancelled sleepers
        return self._sleepers[0][0] if self._sleepers else None

    def advance(self, to: float) -> None:
        """Move time forward to ``to`` (never back) and wake every sleeper
        whose deadline has come. The woken tasks run when the caller next
        yields to the event loop."""
        if to < self._now:
            raise ValueError(f"virtual time runs forward only: {to} < {self._now}")
        self._now = float(to)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
