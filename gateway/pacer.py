"""What moves the gateway from one 20 ms tick to the next.

``RealPacer`` waits for the next tick on the real clock; a tick that comes
late (the work took longer than 20 ms) is not made up for beyond 100 ms:
the schedule starts again from now and the overrun is counted, because
audio that old is gone anyway (the boards' queues hold 120 ms).
"""

from __future__ import annotations

import asyncio

from gateway.runtime import TICK

MAX_BEHIND = 0.1


class RealPacer:
    def __init__(self, clock):
        self.clock = clock
        self.next: float | None = None
        self.overruns = 0

    async def next_tick(self, gateway) -> None:
        now = self.clock.now()
        self.next = now if self.next is None else self.next + TICK
        if self.next < now - MAX_BEHIND:
            self.overruns += 1
            gateway.overruns += 1
            self.next = now
        await self.clock.sleep_until(self.next)


class VirtualPacer:
    """Simulated time (``linegate serve --virtual-clock``): each tick, every
    board is granted 20 ms more of its own clock (SIM_ADVANCE, PROTOCOL.md)
    and answers when it has done that time's work, its audio and events for
    it already sent; then the gateway's VirtualClock moves 20 ms. Lock step:
    as fast as the slowest board and the gateway's own work allow, and the
    same run every time. Boards must run the native simulator with
    ``--virtual-clock``."""

    def __init__(self, clock):
        if not getattr(clock, "virtual", False):
            raise ValueError("VirtualPacer needs a VirtualClock")
        self.clock = clock
        self.base: dict = {}          # board name -> its clock (ms) at our tick 0
        self.ticks = 0

    async def start(self, gateway) -> None:
        from gateway.boards import protocol as p
        replies = await asyncio.gather(*(d.request(p.SimAdvance(0)) for d in gateway.drivers))
        self.base = {d.name: r.now_ms for d, r in zip(gateway.drivers, replies)}

    async def next_tick(self, gateway) -> None:
        from gateway.boards import protocol as p
        if not self.base and gateway.drivers:
            await self.start(gateway)
        self.ticks += 1
        step = self.ticks * round(TICK * 1000)
        await asyncio.gather(*(d.request(p.SimAdvance(self.base[d.name] + step)) for d in gateway.drivers))
        self.clock.advance(self.ticks * TICK)
        await asyncio.sleep(0)        # let what the new time woke (pulse dialling, waits) run first
