"""What moves the gateway from one 20 ms tick to the next.

``RealPacer`` waits for the next tick on the real clock; a tick that comes
late (the work took longer than 20 ms) is not made up for beyond 100 ms:
the schedule starts again from now and the overrun is counted, because
audio that old is gone anyway (the boards' queues hold 120 ms).
"""

from __future__ import annotations

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
