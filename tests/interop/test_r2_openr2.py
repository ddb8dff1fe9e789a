"""Linegate's MFC/R2 against libopenr2 1.3.3 (Debian's libopenr2-dev), the library
Asterisk uses: calls both ways in every variant openr2 has, numbers, category and
restriction arriving intact, answer and clear from either side, refusals; openr2 runs
in tests/interop/r2_peer.c on emulated DAHDI channels, in lock step with Linegate.

Where openr2 1.3.3 reads its own tables in ways a caller must respect, the tests say so:
- China: openr2's caller cannot send its number (its A-1 means "next digit of the called
  number" before anything else), so openr2 is only the called side here (INTEROP.md).
  Its called side reads our number up to max_ani digits, then asks A-1 for the called
  number, while our caller, in the middle of its own number, would send that; openr2
  gets a max_ani above the number's length and so hears our end-of-number I-15.
- Mexico: openr2 reads I-15 as "restricted" even after digits, so its max_ani is the
  number's length (it stops asking before our I-15).
"""

import pytest

from gateway.r2 import R2Channel, variants
from tests.interop.bench import Bench, LinegateEndpoint, OpenR2Endpoint
from tests.interop.openr2_peer import OpenR2Peer
from tests.interop.scenario import (linegate_calls_linegate, linegate_calls_openr2, openr2_calls_linegate,
                                    openr2_calls_openr2)

VARIANTS = sorted(variants())
ANI = "5551234"


def openr2_max_ani(variant):
    return len(ANI) if variant == "MX" else 10


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("clearer", ["linegate", "openr2"])
def test_linegate_calls_openr2(r2_peer, variant, clearer):
    out = linegate_calls_openr2(r2_peer, variant, "40123", ANI, "international", max_ani=openr2_max_ani(variant),
                                clearer=clearer)
    offered = out.openr2.offered()
    assert (offered["dnis"], offered["ani"], offered["category"], offered["restricted"]) == \
        ("40123", ANI, "international", False)
    lg = out.linegate
    assert [k for _, k, _ in lg.signals] == ["proceeding", "alerting", "connected", "disconnected", "free"]
    assert out.openr2.event("accepted") is not None and out.openr2.event("end") is not None
    ended = lg.signal("disconnected")
    if clearer == "linegate":
        assert ended["by"] == "local" and out.openr2.event("disconnect cause=Normal Clearing") is not None
    else:
        assert ended == {"cause": 16, "by": "remote", "reason": "clear-back"}
    assert not lg.ch.errors and out.openr2.event("protocol-error") is None


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "CN"])
@pytest.mark.parametrize("clearer", ["linegate", "openr2"])
def test_openr2_calls_linegate(r2_peer, variant, clearer):
    out = openr2_calls_linegate(r2_peer, variant, "40123", ANI, "national-priority", clearer=clearer)
    lg = out.linegate
    assert lg.signal("offered") == {"ani": ANI, "dnis": "40123", "name": "", "category": "national-priority",
                                    "ani_restricted": False}
    assert [k for _, k, _ in lg.signals] == ["seized", "offered", "alerting", "connected", "disconnected", "free"]
    assert out.openr2.event("accepted mode=Call With Charge") is not None
    ended = lg.signal("disconnected")
    if clearer == "linegate":
        assert ended["by"] == "local" and out.openr2.event("disconnect cause=Normal Clearing") is not None
    else:
        assert ended == {"cause": 16, "by": "remote", "reason": "clear-forward"}
    assert not lg.ch.errors and out.openr2.event("protocol-error") is None


@pytest.mark.parametrize("variant", VARIANTS)
def test_restricted_caller_number_both_ways(r2_peer, variant):
    out = linegate_calls_openr2(r2_peer, variant, "4012", ANI, restricted=True)
    assert out.openr2.offered()["restricted"] is True and out.openr2.offered()["ani"] == ""
    if variant != "CN":
        out = openr2_calls_linegate(r2_peer, variant, "4012", ANI, restricted=True)
        assert out.linegate.signal("offered")["ani_restricted"] is True


@pytest.mark.parametrize("variant, openr2_cause, q850, text", [
    ("ITU", "busy", 17, "Busy Number"), ("ITU", "unallocated", 1, "Unallocated Number"),
    ("ITU", "congestion", 34, "Network Congestion"), ("ITU", "out-of-order", 27, "Line Out Of Order"),
    ("BR", "busy", 17, "Busy Number"), ("BR", "number-changed", 22, "Number Changed"),
    ("MX", "busy", 17, "Busy Number"), ("CO", "unallocated", 1, "Unallocated Number"),
])
def test_refusals_both_ways(r2_peer, variant, openr2_cause, q850, text):
    out = linegate_calls_openr2(r2_peer, variant, "4012", ANI, max_ani=openr2_max_ani(variant), decision=openr2_cause)
    assert out.linegate.signal("disconnected") == {"cause": q850, "by": "remote", "reason": openr2_cause}
    out = openr2_calls_linegate(r2_peer, variant, "4012", ANI, decision=q850)
    assert out.openr2.event(f"disconnect cause={text}") is not None
    assert out.linegate.signal("disconnected")["cause"] == q850


def test_a_number_without_end_signal_reaches_openr2_after_its_timeout(r2_peer):
    # Argentina has no end-of-number signal: openr2 waits its mf_back_cycle (5 s), then pulses A-3.
    out = linegate_calls_openr2(r2_peer, "AR", "4012", ANI, max_dnis=8)
    assert out.openr2.offered()["dnis"] == "4012"
    assert 5.0 < out.setup_s < 7.0


def test_setup_time_seize_to_offer_in_itu(r2_peer):
    """Printed: seize to offer, ITU, 4-digit number and 7-digit caller, virtual time on 20 ms
    blocks (the same for every run). openr2 to openr2 takes ~1.4 s (INTEROP.md)."""
    openr2 = openr2_calls_openr2(r2_peer, "ITU", "4000", ANI) / 1000
    out = linegate_calls_openr2(r2_peer, "ITU", "4000", ANI).setup_s
    into = openr2_calls_linegate(r2_peer, "ITU", "4000", ANI).setup_s
    ours = linegate_calls_linegate("ITU", "4000", ANI) / 1000
    print("\nR2 set-up, seize to offer (ITU, 4+7 digits, the native MF receiver): "
          f"openr2->openr2 {openr2:.2f} s, Linegate->openr2 {out:.2f} s, openr2->Linegate {into:.2f} s, "
          f"Linegate->Linegate {ours:.2f} s")
    for seconds in (openr2, out, into, ours):
        assert 0.8 < seconds < 2.5


def test_blocking_both_ways(r2_peer):
    with OpenR2Peer(r2_peer, "ITU") as peer:
        lg, o = LinegateEndpoint(R2Channel("ITU")), OpenR2Endpoint(peer, 1)
        bench = Bench((lg, o))
        bench.run(lambda: bench.now_ms >= 100)
        peer.block(1)
        bench.run(lambda: lg.signal("alarm") is not None)
        assert lg.signal("alarm") == {"alarm": "blocked"}
        peer.unblock(1)
        bench.run(lambda: [k for _, k, _ in lg.signals].count("alarm") == 2)
        assert lg.signals[-1][2] == {"alarm": None}
        lg.do("block")
        bench.run(lambda: o.event("blocked") is not None)
        lg.do("unblock")
        bench.run(lambda: [t for _, t in peer.events[1]].count("idle") >= 2)
