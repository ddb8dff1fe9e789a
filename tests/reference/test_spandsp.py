"""Checks of the spandsp yardstick itself (tests/reference/spandsp.py).

If these fail, comparisons with spandsp (talk-off tests, the benchmark) measure
the wrong thing. Skipped, saying why, when libspandsp-dev is not installed.
"""

import numpy as np
import pytest

from tests.dsp import dtmf_signals as sig
from tests.reference import spandsp

pytestmark = pytest.mark.skipif(not spandsp.available(),
                                reason=f"spandsp reference not available: {spandsp.unavailable_reason()}")


def all_keys_tape(seed):
    """The 16 keys, 50 ms on / 50 ms off at -10 dBm0, after an odd lead-in."""
    tape = sig.Tape(sig.rng_for("spandsp-reference", seed)).silence(sig.ms(37))
    for key in sig.KEYS:
        tape.digit(key, sig.ms(50), dbm0=-10.0).silence(sig.ms(50))
    return tape, sig.quantize(tape.signal())


def test_hears_each_key_once_soon_after_it_starts():
    tape, x = all_keys_tape(0)
    found = spandsp.detect_digits(x)
    assert "".join(d for d, _ in found) == sig.KEYS
    for (digit, pos), burst in zip(found, tape.bursts):
        # Reported when the second agreeing 102-sample block ends; the first may
        # begin a little before the tone: 1-3 blocks (13-38 ms) after the onset.
        assert pos % spandsp.SPANDSP_BLOCK == 0
        assert burst.start + spandsp.SPANDSP_BLOCK < pos <= burst.start + 3 * spandsp.SPANDSP_BLOCK


def test_bank_channels_are_independent_and_blocking_does_not_matter():
    _, x = all_keys_tape(1)
    x = np.concatenate([x, np.zeros(-len(x) % 160, dtype=np.int16)])
    audio = np.stack([x, np.zeros_like(x), x[::-1].copy()])
    exact = spandsp.SpandspDtmfBank(3, exact=True)
    loose = spandsp.SpandspDtmfBank(3, exact=False)
    got_exact, got_loose = [], []
    for at in range(0, len(x), 160):
        got_exact += exact.feed(audio[:, at:at + 160])
        got_loose += loose.feed(audio[:, at:at + 160])
    whole = spandsp.detect_digits(x)
    assert [(d.digit, d.pos) for d in got_exact if d.channel == 0] == whole
    assert not [d for d in got_exact if d.channel == 1]
    assert [(d.channel, d.digit) for d in got_loose] == [(d.channel, d.digit) for d in got_exact]
    # Without cutting at block edges a position is the end of the fed block.
    for e, lo in zip(got_exact, got_loose):
        assert lo.pos % 160 == 0 and e.pos <= lo.pos < e.pos + 160


def test_ulaw_input_is_decoded_like_linear():
    _, x = all_keys_tape(2)
    codes = sig.ulaw_encode(x)
    assert spandsp.detect_digits(codes, encoding="ulaw") == spandsp.detect_digits(sig.ulaw_decode(codes))


def test_parameters_reach_the_receiver():
    tape = sig.Tape(sig.rng_for("spandsp-reference", "twist")).silence(sig.ms(30))
    tape.digit("5", sig.ms(80), row_dbm0=-6.0, col_dbm0=-12.0).silence(sig.ms(60))  # 6 dB normal twist
    x = sig.quantize(tape.signal())
    assert [d for d, _ in spandsp.detect_digits(x)] == ["5"]          # default limit 8 dB
    assert spandsp.detect_digits(x, twist=4) == []                    # limit lowered to 4 dB
    assert spandsp.detect_digits(x, threshold=-5) == []               # tones below -5 dBm0
