"""The interop tests' MF sound: every R2 signal in both directions is sent by the C core's
tone generator, passes A-law, and is heard as itself by the native receiver, begun and ended;
the other direction hears nothing."""

import numpy as np
import pytest

from tests.interop import mf_audio


@pytest.mark.parametrize("forward", [True, False])
def test_every_signal_is_heard_as_itself(forward):
    for signal in range(1, 16):
        tx = mf_audio.MfTransmitter()
        rx, other = mf_audio.make_receiver(forward), mf_audio.make_receiver(not forward)
        tx.play(signal, forward)
        heard = []
        for _ in range(3):
            block = mf_audio.decode(mf_audio.encode(tx.block()))
            heard += rx.feed(block)
            assert other.feed(block) == []
        tx.stop()
        for _ in range(2):
            heard += rx.feed(mf_audio.decode(mf_audio.encode(tx.block())))
        assert heard == [("began", signal), ("ended", signal)], (signal, forward)


def test_frequencies_are_q441s():
    assert mf_audio.frequencies(1, True) == (1380, 1500) and mf_audio.frequencies(15, True) == (1860, 1980)
    assert mf_audio.frequencies(10, False) == (780, 660) and mf_audio.frequencies(11, False) == (1140, 540)


def test_silence_and_a_single_tone_are_not_signals():
    rx = mf_audio.make_receiver(True)
    assert rx.feed(np.zeros(160, dtype=np.int16)) == []
    t = np.arange(160) / 8000
    assert rx.feed((3000 * np.sin(2 * np.pi * 1500 * t)).astype(np.int16)) == []
