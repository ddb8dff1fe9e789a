"""G.711 (gateway.dsp.g711 and the C core's lg_g711_*) against the recommendation.

Where the reference comes from: ITU-T Rec. G.711 (11/1988), Tables 1a/1b
(A-law) and 2a/2b (mu-law). Those tables define each law by its eight
segments of sixteen quantisation intervals per polarity: the segment end
points (decision values) and step sizes, and the decoder output value of
every interval, which is the interval's midpoint except for mu-law's first
interval [0, 1), whose output is 0. The reference below rebuilds the decision
values and output values from those end points and steps, quantises with
``np.searchsorted`` and assigns character signals as the tables do: polarity
bit 1 for positive values; A-law then inverts the even bits (XOR 0x55), mu-law
inverts the seven magnitude bits. It shares no code or bit manipulation with
native/g711.c.

The 16-bit convention is ITU-T G.191's reference code (its g711.c): mu-law
quantises the 14 most significant bits (``x >> 2``), A-law the 13 most
significant (``x >> 3``); a negative sample is one's complemented (``~x``)
before the shift; decoded values are scaled back up (x4, x8).
"""

import numpy as np
import pytest

from gateway.dsp import g711
from gateway.dsp.native import ffi, lib
from gateway.errors import UsageError

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)
ALL_CODES = np.arange(256, dtype=np.int64).astype(np.uint8)


def decision_values(segment_ends, steps, first_value):
    """x_0 .. x_128 of G.711 Table 1a / 2a: x_0, then each segment's sixteen
    upper interval ends, walking down from the segment's end point by its step."""
    values = [first_value]
    for end, step in zip(segment_ends, steps):
        values += [end - step * (15 - i) for i in range(16)]
    assert len(values) == 129
    return np.array(values)


# Table 1a (A-law): magnitudes on a 4096 scale (13-bit signed).
A_LAW_DECISIONS = decision_values(
    segment_ends=[32, 64, 128, 256, 512, 1024, 2048, 4096],
    steps=[2, 2, 4, 8, 16, 32, 64, 128],
    first_value=0,
)
A_LAW_OUTPUTS = (A_LAW_DECISIONS[:-1] + A_LAW_DECISIONS[1:]) // 2  # y_1 .. y_128: midpoints
A_LAW_SCALE = 8  # 13-bit values in 16-bit words

# Table 2a (mu-law): magnitudes on an 8159 scale (14-bit signed).
MU_LAW_DECISIONS = decision_values(
    segment_ends=[31, 95, 223, 479, 991, 2015, 4063, 8159],
    steps=[2, 4, 8, 16, 32, 64, 128, 256],
    first_value=0,
)
MU_LAW_OUTPUTS = np.concatenate([[0], (MU_LAW_DECISIONS[1:-1] + MU_LAW_DECISIONS[2:]) // 2])
MU_LAW_SCALE = 4  # 14-bit values in 16-bit words


def reference_magnitude_and_sign(linear, shift):
    """G.191: the magnitude on the recommendation's scale, one's complement for negatives."""
    x = linear.astype(np.int32)
    positive = x >= 0
    magnitude = np.where(positive, x, ~x) >> shift
    return magnitude, positive


def interval_index(magnitude, decisions):
    """0-based interval n-1 with x_{n-1} <= magnitude < x_n; values past the last
    decision value (overload) stay in the last interval."""
    return np.searchsorted(decisions[1:-1], magnitude, side="right")


def reference_alaw_encode(linear):
    magnitude, positive = reference_magnitude_and_sign(linear, 3)
    index = interval_index(magnitude, A_LAW_DECISIONS)
    character = np.where(positive, 0x80, 0x00) | index
    return (character ^ 0x55).astype(np.uint8)  # Table 1: even bits inverted


def reference_ulaw_encode(linear):
    magnitude, positive = reference_magnitude_and_sign(linear, 2)
    index = interval_index(magnitude, MU_LAW_DECISIONS)
    character = np.where(positive, 0x80, 0x00) | (index ^ 0x7F)  # Table 2: magnitude bits inverted
    return character.astype(np.uint8)


def reference_alaw_decode(codes):
    character = codes.astype(np.int32) ^ 0x55
    value = A_LAW_OUTPUTS[character & 0x7F] * A_LAW_SCALE
    return np.where(character & 0x80, value, -value).astype(np.int16)


def reference_ulaw_decode(codes):
    character = codes.astype(np.int32)
    value = MU_LAW_OUTPUTS[(character & 0x7F) ^ 0x7F] * MU_LAW_SCALE
    return np.where(character & 0x80, value, -value).astype(np.int16)


REFERENCE = {
    "ulaw": (reference_ulaw_encode, reference_ulaw_decode),
    "alaw": (reference_alaw_encode, reference_alaw_decode),
}
SCALAR = {
    "ulaw": (lib.lg_g711_ulaw_encode, lib.lg_g711_ulaw_decode),
    "alaw": (lib.lg_g711_alaw_encode, lib.lg_g711_alaw_decode),
}
LAWS = ("ulaw", "alaw")


class TestReferenceTables:
    """The reference itself against figures printed in G.711's tables."""

    def test_alaw_table_1a_figures(self):
        assert A_LAW_DECISIONS[[0, 16, 32, 48, 64, 80, 96, 112, 128]].tolist() == [
            0, 32, 64, 128, 256, 512, 1024, 2048, 4096]
        assert A_LAW_OUTPUTS[[0, 1, 15, 16, 32, 127]].tolist() == [1, 3, 31, 33, 66, 4032]

    def test_mulaw_table_2a_figures(self):
        assert MU_LAW_DECISIONS[[0, 1, 2, 16, 32, 48, 64, 80, 96, 112, 128]].tolist() == [
            0, 1, 3, 31, 95, 223, 479, 991, 2015, 4063, 8159]
        assert MU_LAW_OUTPUTS[[0, 1, 15, 16, 32, 127]].tolist() == [0, 2, 30, 33, 99, 8031]

    def test_the_known_end_values(self):
        assert reference_ulaw_decode(np.array([0x00, 0x80, 0xFF, 0x7F], np.uint8)).tolist() == [
            -32124, 32124, 0, 0]
        assert reference_alaw_decode(np.array([0xD5, 0x55, 0xAA, 0x2A], np.uint8)).tolist() == [
            8, -8, 32256, -32256]


@pytest.mark.parametrize("law", LAWS)
def test_every_code_decodes_as_the_recommendation_says(law):
    _, reference_decode = REFERENCE[law]
    np.testing.assert_array_equal(g711.decode(ALL_CODES, law), reference_decode(ALL_CODES))


@pytest.mark.parametrize("law", LAWS)
def test_every_int16_encodes_as_the_recommendation_says(law):
    reference_encode, _ = REFERENCE[law]
    np.testing.assert_array_equal(g711.encode(ALL_INT16, law), reference_encode(ALL_INT16))


@pytest.mark.parametrize("law, linear, code", [
    ("ulaw", 0, 0xFF), ("ulaw", -1, 0x7F), ("ulaw", 32767, 0x80), ("ulaw", -32768, 0x00),
    ("ulaw", 3, 0xFF), ("ulaw", 4, 0xFE),      # 14-bit magnitude 1 is the first decision value
    ("alaw", 0, 0xD5), ("alaw", -1, 0x55), ("alaw", 32767, 0xAA), ("alaw", -32768, 0x2A),
    ("alaw", 15, 0xD5), ("alaw", 16, 0xD4),    # 13-bit magnitude 2 is the first decision value
])
def test_spot_values(law, linear, code):
    assert g711.encode(np.array([linear], np.int16), law)[0] == code


@pytest.mark.parametrize("law", LAWS)
class TestRoundTrip:
    def test_a_decoded_value_encodes_to_its_code(self, law):
        codes = ALL_CODES
        if law == "ulaw":
            # mu-law has two zeros; 0x7F (negative zero) decodes to 0, which encodes as 0xFF.
            codes = codes[codes != 0x7F]
        np.testing.assert_array_equal(g711.encode(g711.decode(codes, law), law), codes)

    def test_requantising_a_decoded_signal_changes_nothing(self, law):
        decoded = g711.decode(g711.encode(ALL_INT16, law), law)
        np.testing.assert_array_equal(g711.decode(g711.encode(decoded, law), law), decoded)

    def test_reconstruction_is_monotonic_and_within_one_step(self, law):
        decoded = g711.decode(g711.encode(ALL_INT16, law), law).astype(np.int32)
        assert np.all(np.diff(decoded) >= 0)
        decisions, scale = (MU_LAW_DECISIONS, MU_LAW_SCALE) if law == "ulaw" else (A_LAW_DECISIONS, A_LAW_SCALE)
        largest_step = int(np.diff(decisions).max()) * scale
        assert np.abs(decoded - ALL_INT16.astype(np.int32)).max() <= largest_step


@pytest.mark.parametrize("law", LAWS)
class TestArraysAgainstScalars:
    def test_encode(self, law):
        scalar_encode, _ = SCALAR[law]
        expected = np.array([scalar_encode(int(x)) for x in ALL_INT16], np.uint8)
        np.testing.assert_array_equal(g711.encode(ALL_INT16, law), expected)

    def test_decode(self, law):
        _, scalar_decode = SCALAR[law]
        expected = np.array([scalar_decode(int(c)) for c in ALL_CODES], np.int16)
        np.testing.assert_array_equal(g711.decode(ALL_CODES, law), expected)


class TestArrayHandling:
    def test_shape_is_kept(self):
        block = ALL_INT16[:4 * 160].reshape(4, 160)
        codes = g711.encode(block, "alaw")
        assert codes.shape == (4, 160) and codes.dtype == np.uint8
        decoded = g711.decode(codes, "alaw")
        assert decoded.shape == (4, 160) and decoded.dtype == np.int16

    def test_non_contiguous_input(self):
        strided = ALL_INT16[::7]
        np.testing.assert_array_equal(g711.encode(strided, "ulaw"), g711.encode(strided.copy(), "ulaw"))
        block = ALL_CODES.reshape(16, 16).T
        np.testing.assert_array_equal(g711.decode(block, "ulaw"), g711.decode(block.copy(), "ulaw"))

    def test_empty(self):
        assert g711.encode(np.zeros(0, np.int16), "ulaw").shape == (0,)
        assert g711.decode(np.zeros(0, np.uint8), "alaw").shape == (0,)

    def test_decode_takes_a_wire_payload(self):
        payload = bytes(range(256))
        np.testing.assert_array_equal(g711.decode(payload, "alaw"), g711.decode(ALL_CODES, "alaw"))
        np.testing.assert_array_equal(g711.decode(bytearray(payload), "ulaw"), g711.decode(ALL_CODES, "ulaw"))

    def test_read_only_input(self):
        frozen = ALL_INT16.copy()
        frozen.flags.writeable = False
        np.testing.assert_array_equal(g711.encode(frozen, "alaw"), g711.encode(ALL_INT16, "alaw"))


class TestErrors:
    @pytest.mark.parametrize("dtype", [np.int32, np.uint16, np.float32, np.uint8])
    def test_encode_wants_int16(self, dtype):
        with pytest.raises(UsageError, match=f"linear must have dtype int16, not {np.dtype(dtype).name}"):
            g711.encode(np.zeros(4, dtype), "ulaw")

    @pytest.mark.parametrize("dtype", [np.int8, np.int16, np.float64])
    def test_decode_wants_uint8(self, dtype):
        with pytest.raises(UsageError, match=f"codes must have dtype uint8, not {np.dtype(dtype).name}"):
            g711.decode(np.zeros(4, dtype), "alaw")

    def test_a_list_is_not_silently_converted(self):
        with pytest.raises(UsageError, match="linear must be a NumPy int16 array, not list"):
            g711.encode([1, 2, 3], "ulaw")

    @pytest.mark.parametrize("law", ["mulaw", "ULAW", "", None, 1])
    def test_unknown_law(self, law):
        with pytest.raises(UsageError, match=f"law must be one of 'ulaw', 'alaw', not {law!r}"):
            g711.encode(np.zeros(1, np.int16), law)
        with pytest.raises(UsageError, match="law must be one of"):
            g711.decode(np.zeros(1, np.uint8), law)

    def test_the_core_rejects_an_unknown_law_and_a_negative_count(self):
        linear = ffi.new("int16_t[]", 4)
        codes = ffi.new("uint8_t[]", 4)
        assert lib.lg_g711_encode(lib.LG_ENC_S16, linear, codes, 4) == lib.LG_E_ARG
        assert lib.lg_g711_decode(99, codes, linear, 4) == lib.LG_E_ARG
        assert lib.lg_g711_encode(lib.LG_ENC_ULAW, linear, codes, -1) == lib.LG_E_ARG
        assert lib.lg_g711_decode(lib.LG_ENC_ALAW, ffi.NULL, linear, 4) == lib.LG_E_ARG
