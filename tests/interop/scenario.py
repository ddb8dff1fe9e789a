"""Calls between Linegate and openr2 on the lock-step bench, as the interop tests and
tests/bench/bench_r2.py make them. Each returns what both sides saw."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.r2 import R2Channel
from tests.interop.bench import Bench, LinegateEndpoint, OpenR2Endpoint
from tests.interop.openr2_peer import OpenR2Peer

SETTLE_MS = 100          # idle bits exchanged before the first call


@dataclass
class Outcome:
    linegate: LinegateEndpoint
    openr2: OpenR2Endpoint | None
    seize_ms: int | None = None
    offer_ms: int | None = None

    @property
    def setup_s(self) -> float:
        return (self.offer_ms - self.seize_ms) / 1000


def linegate_calls_openr2(binary, variant, dnis="4000", ani="5551234", category="national", *,
                          restricted=False, max_ani=10, max_dnis=None, decision="accept", clearer="linegate",
                          answer=True) -> Outcome:
    """Linegate seizes; openr2 (called side, max_dnis defaults to the number's length) accepts
    or refuses (``decision``: "accept" or an openr2 cause name), answers, and one side clears."""
    with OpenR2Peer(binary, variant, max_ani=max_ani, max_dnis=max_dnis or len(dnis)) as peer:
        lg, o = LinegateEndpoint(R2Channel(variant)), OpenR2Endpoint(peer, 1)
        bench = Bench((lg, o))
        bench.run(lambda: bench.now_ms >= SETTLE_MS)
        lg.do("make_call", dnis, ani=ani, category=category, ani_restricted=restricted)
        done = set()

        def host():
            if o.offered() is not None and "decided" not in done:
                done.add("decided")
                peer.accept(1) if decision == "accept" else peer.hangup(1, decision)
            if answer and o.event("accepted") is not None and "answered" not in done:
                done.add("answered")
                peer.answer(1)

        if decision == "accept":
            bench.run(lambda: lg.signal("connected") is not None, host)
        outcome = Outcome(lg, o, lg.first_seize_ms, (o.offered() or {}).get("time_ms"))
        return _clear(bench, outcome, clearer if decision == "accept" else None, host)


def openr2_calls_linegate(binary, variant, dnis="4000", ani="5551234", category="national", *,
                          restricted=False, max_ani=10, max_dnis=None, decision="accept",
                          clearer="linegate") -> Outcome:
    """openr2 seizes; Linegate (max_dnis defaults to the number's length) answers or rejects
    with Q.850 cause ``decision``, and one side clears."""
    with OpenR2Peer(binary, variant) as peer:
        lg = LinegateEndpoint(R2Channel(variant, max_dnis=max_dnis or len(dnis), max_ani=max_ani))
        o = OpenR2Endpoint(peer, 1)
        bench = Bench((lg, o))
        bench.run(lambda: bench.now_ms >= SETTLE_MS)
        peer.make_call(1, dnis, ani=ani, category=category, restricted=restricted)
        done = set()

        def host():
            if lg.signal("offered") is not None and "decided" not in done:
                done.add("decided")
                lg.do("answer") if decision == "accept" else lg.do("reject", decision)

        if decision == "accept":
            bench.run(lambda: o.event("answered") is not None and lg.signal("connected") is not None, host)
        outcome = Outcome(lg, o, o.first_seize_ms, lg.time_of("offered"))
        return _clear(bench, outcome, clearer if decision == "accept" else None, host)


def _clear(bench: Bench, outcome: Outcome, clearer: str | None, host) -> Outcome:
    """``clearer`` ends the call (None: it is ending by itself); run until both sides rest."""
    lg, o = outcome.linegate, outcome.openr2
    if clearer == "linegate":
        lg.do("hangup")
    elif clearer == "openr2":
        o.peer.hangup(o.chan)
    bench.run(lambda: lg.signal("free") is not None and o.event("end") is not None, host)
    return outcome


def openr2_calls_openr2(binary, variant, dnis="4000", ani="5551234", category="national", max_ani=10) -> int:
    """openr2 to openr2 through the same bench: seize to offer in ms."""
    with OpenR2Peer(binary, variant, channels=2, max_ani=max_ani, max_dnis=len(dnis)) as peer:
        a, b = OpenR2Endpoint(peer, 1), OpenR2Endpoint(peer, 2)
        bench = Bench((a, b))
        bench.run(lambda: bench.now_ms >= SETTLE_MS)
        peer.make_call(1, dnis, ani=ani, category=category)
        bench.run(lambda: b.offered() is not None)
        return b.offered()["time_ms"] - a.first_seize_ms


def linegate_calls_linegate(variant, dnis="4000", ani="5551234", category="national", max_ani=10) -> int:
    """Two Linegate channels through the same bench and MF audio: seize to offer in ms."""
    a = LinegateEndpoint(R2Channel(variant))
    b = LinegateEndpoint(R2Channel(variant, max_dnis=len(dnis), max_ani=max_ani))
    bench = Bench((a, b))
    bench.run(lambda: bench.now_ms >= SETTLE_MS)
    a.do("make_call", dnis, ani=ani, category=category)
    bench.run(lambda: b.signal("offered") is not None)
    return b.time_of("offered") - a.first_seize_ms
