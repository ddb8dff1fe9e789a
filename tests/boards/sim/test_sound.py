"""Sounds and the player that slices them into 20 ms blocks."""

import numpy as np
import pytest

from gateway.boards.sim.sound import BLOCK, Player, Segment, Sound
from gateway.dsp import g711
from gateway.errors import UsageError


def ramp(n, start=0):
    return (np.arange(start, start + n) % 2000 - 1000) * 16.0


def played(player, blocks):
    return b"".join(player.block() for _ in range(blocks))


def test_a_loop_wraps_seamlessly_whatever_its_length():
    for n in (100, 160, 1000, 1234):
        sound = Sound("t", ramp(n), loop_from=0)
        idle = Sound("idle", np.zeros(50), loop_from=0)
        player = Player("ulaw", idle)
        player.play([Segment(sound)])
        out = played(player, 40)
        expected = g711.encode(np.tile(sound.linear, -(-40 * BLOCK // sound.samples) + 1), "ulaw").tobytes()
        assert out == expected[:40 * BLOCK], n


def test_segments_cut_join_and_fire_actions_in_their_tick():
    idle = Sound("idle", np.full(300, 8.0), loop_from=0)
    a = Sound("a", np.full(250, 1000.0))
    b = Sound("b", np.full(400, -1000.0), loop_from=100)
    player = Player("alaw", idle)
    player.play([Segment(a, action="A"), Segment(b, 170), Segment.act("end")])
    first = player.block()
    assert player.fired == ["A"]
    second = player.block()
    assert player.fired == []
    third = player.block()
    assert player.fired == ["end"]
    codes = lambda x, n: g711.encode(np.full(n, x, dtype=np.int16), "alaw").tobytes()
    assert first + second + third == codes(1000, 250) + codes(-1000, 170) + codes(8, 60)
    assert player.idle_now


def test_a_finite_sound_then_the_idle_noise():
    idle = Sound("idle", ramp(777), loop_from=0)
    player = Player("ulaw", idle)
    player.play([Segment(Sound("x", np.full(100, 500.0)))])
    out = player.block()
    assert out[:100] == g711.encode(np.full(100, 500, np.int16), "ulaw").tobytes()
    assert out[100:] == idle.codes("ulaw")[:60]


def test_from_codes_plays_the_bytes_given():
    raw = bytes(range(256)) * 2
    sound = Sound.from_codes("cid", "ulaw", raw)
    player = Player("ulaw", Sound("idle", np.zeros(200), loop_from=0))
    player.play([Segment(sound)])
    assert played(player, 4)[:512] == raw


def test_misuse():
    with pytest.raises(UsageError, match="must loop"):
        Player("ulaw", Sound("x", np.zeros(10)))
    with pytest.raises(UsageError, match="law"):
        Player("slin", Sound("x", np.zeros(10), loop_from=0))
    with pytest.raises(UsageError, match="loop_from"):
        Sound("x", np.zeros(10), loop_from=10)


def test_a_player_changes_law_where_it_is():
    sound = Sound("t", ramp(1000), loop_from=0)
    idle = Sound("idle", np.zeros(200), loop_from=0)
    a, b = Player("ulaw", idle), Player("ulaw", idle)
    a.play([Segment(sound)])
    b.play([Segment(sound)])
    played(a, 3)
    played(b, 3)
    b.set_law("alaw")
    assert g711.decode(b.block(), "alaw").tolist() == pytest.approx(g711.decode(a.block(), "ulaw").tolist(), rel=0.05, abs=64)
