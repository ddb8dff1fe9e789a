"""The record of one call on a simulated line, kept by the network for tests,
scripts and people (``TelephoneNetwork.history``): the network never tells
the gateway any of this; the gateway has to find it out from the line."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(eq=False)
class Call:
    """One call. Outbound (the gateway called out on an FXO line): ``number`` is what was dialled,
    ``behaviour`` the directory's answer. Inbound (the network called one of our FXO lines, or the
    gateway rang an FXS phone): ``number`` is our line's number (DNIS), ``ani`` / ``name`` /
    ``presentation`` the caller's. Times are the board's clock in ms; ``outcome`` says how it ended."""

    direction: str                       # "out", "in" (to an FXO line), "phone-in", "phone-out" (FXS)
    serial: str
    port: int
    number: str = ""
    behaviour: str | None = None
    ani: str | None = None
    name: str | None = None
    presentation: str = "allowed"
    digits: str = ""                     # DTMF an inbound caller sends once answered
    talk_s: float | None = None          # how long an inbound caller stays once answered
    give_up_after_rings: int | None = None
    voice: tuple = ()                    # the person voices an inbound caller speaks with (empty: any)
    started_ms: int | None = None
    answered_ms: int | None = None
    cleared_ms: int | None = None        # the far end hung up (or the network gave up)
    ended_ms: int | None = None          # the line is idle again
    outcome: str | None = None           # None while it goes on; see OUTCOMES
    cause: int | None = None             # outbound: the Q.850 cause an ISDN network would give (far_end.cause)
    rng: random.Random | None = field(default=None, repr=False)   # the call's own: same seed, same call

    @property
    def ended(self) -> bool:
        return self.outcome is not None


OUTCOMES = {
    "hung-up": "our side hung up",
    "cleared": "the far end hung up (or the network ended the call), and then our side hung up",
    "not-answered": "an inbound caller gave up before the line answered",
    "line-busy": "an inbound call found the line in use",
    "no-dial-tone": "a phone's user heard no dial tone and hung up",
    "board-detached": "the board left the network during the call",
}
