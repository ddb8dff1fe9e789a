"""Fuzzing the frame codec: random and mutated frames, garbage between frames.

What must hold: nothing but FrameError ever leaves decode_frame, nothing at
all leaves FrameReader.feed, no input makes either loop, every intact frame
that follows garbage is decoded, and a payload that decodes re-encodes to the
same bytes (one encoding per message). Bounded: about two seconds in all.
"""

import random
import time
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.boards import protocol as p
from gateway.boards.protocol import FrameError, FrameReader, decode_frame, encode_frame
from tests.boards.test_protocol import LAYOUTS

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID = [encode_frame(m, 1000 + i) for i, (m, _) in enumerate(LAYOUTS)]


def frame_with(type_code: int, payload: bytes, seq: int = 0) -> bytes:
    body = bytes([1, type_code]) + seq.to_bytes(2, "little") + len(payload).to_bytes(2, "little") + payload
    return b"LG" + body + zlib.crc32(body).to_bytes(4, "little")


def sized_payload(cls):
    spec = cls._spec
    if cls is p.StatusReport:
        return st.tuples(st.integers(0, 6), st.integers(0, 3), st.binary(min_size=4, max_size=4)).flatmap(
            lambda t: st.binary(min_size=3 * t[0], max_size=3 * t[0]).flatmap(
                lambda ports: st.binary(min_size=13 * t[1], max_size=13 * t[1]).map(
                    lambda spans: bytes([t[0]]) + ports + bytes([t[1]]) + spans + t[2])))
    if cls is p.TrustedKeys:  # a count (any byte: 0 and 5+ are refused at the count), then that many keys
        return st.integers(0, 255).flatmap(
            lambda n: st.binary(min_size=32 * min(n, 5), max_size=32 * min(n, 5)).map(lambda keys: bytes([n]) + keys))
    least, most = (0, 0) if spec.tail is None else (spec.tail[0], min(spec.tail[1], 40))
    return st.binary(min_size=spec.fixed + least, max_size=spec.fixed + most)


typed_payloads = st.sampled_from(p.MESSAGES).flatmap(lambda cls: st.tuples(st.just(cls), sized_payload(cls)))


@FUZZ
@given(typed_payloads)
def test_a_payload_decodes_to_one_message_that_encodes_back_to_it(case):
    cls, payload = case
    try:
        message = decode_frame(frame_with(cls.TYPE, payload)).message
    except FrameError as exc:
        assert exc.field.startswith(cls.NAME + ".") and 8 <= exc.offset < 8 + len(payload)
        return
    assert type(message) is cls and message.payload() == payload
    if cls is p.Audio:  # the fast path and construct's agree
        assert p.Message.payload(message) == payload
        assert p.Message._decode_generic.__func__(cls, payload, 8) == message


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data):
    try:
        decode_frame(data)
    except FrameError:
        pass
    reader = FrameReader()
    reader.feed(data)
    assert reader.pending <= p.MAX_FRAME
    assert reader.noise_bytes + reader.pending <= len(data)


mutations = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]), st.integers(0, 10_000),
                               st.integers(0, 255)), min_size=1, max_size=4)


def mutate(frame: bytes, steps) -> bytes:
    data = bytearray(frame)
    for what, at, value in steps:
        i = at % (len(data) + 1)
        if what == "flip" and data:
            data[i % len(data)] ^= 1 << (value % 8)
        elif what == "cut":
            del data[i:]
        elif what == "insert":
            data[i:i] = bytes([value])
        elif what == "delete" and data:
            del data[i % len(data)]
    return bytes(data)


@FUZZ
@given(st.sampled_from(VALID), mutations)
def test_mutated_frames_are_refused_or_intact(frame, steps):
    data = mutate(frame, steps)
    try:
        got = decode_frame(data)
    except FrameError:
        return
    assert encode_frame(got.message, got.seq) == data  # only an intact frame passes


garbage = st.one_of(st.binary(max_size=60),
                    st.lists(st.sampled_from([b"L", b"G", b"LG", b"LG\x01", b"LG\x01\x15\x00\x00\xa7\x00", b"\x00",
                                              b"\xff"]), max_size=12).map(b"".join),
                    st.sampled_from(VALID).map(lambda f: f[:len(f) // 2]))


@FUZZ
@given(st.lists(st.tuples(garbage, st.sampled_from(range(len(VALID)))), min_size=1, max_size=6),
       st.integers(1, 64))
def test_every_intact_frame_after_garbage_is_decoded(parts, chunk):
    stream = b"".join(g + VALID[i] for g, i in parts) + bytes(p.MAX_FRAME)  # zeros: the link goes on
    reader = FrameReader()
    got = []
    for at in range(0, len(stream), chunk):
        got += reader.feed(stream[at:at + chunk])
    expected = [LAYOUTS[i][0] for _, i in parts]
    # A half frame in the garbage followed by its own intact copy may pass as well only if it is whole: never.
    assert [f.message for f in got] == expected
    assert [f.seq for f in got] == [1000 + i for _, i in parts]
    assert reader.pending == 0


def test_seeded_mutation_storm_is_bounded():
    """Thousands of mutated streams, fed in random chunks: no exception, no stall, a time bound."""
    rng = random.Random(5)
    started = time.monotonic()
    intact = 0
    for _ in range(1500):
        frames = [rng.choice(VALID) for _ in range(rng.randint(1, 4))]
        data = bytearray(b"".join(frames))
        for _ in range(rng.randint(0, 6)):
            i = rng.randrange(len(data) + 1)
            action = rng.random()
            if action < 0.4 and data:
                data[i % len(data)] ^= 1 << rng.randrange(8)
            elif action < 0.7:
                data[i:i] = rng.randbytes(rng.randint(1, 20))
            elif data:
                del data[i:i + rng.randint(1, 20)]
        reader = FrameReader()
        at = 0
        while at < len(data):
            n = rng.randint(1, 300)
            for frame in reader.feed(data[at:at + n]):
                assert encode_frame(frame.message, frame.seq) == data[frame.offset:frame.offset + len(
                    encode_frame(frame.message, frame.seq))]
                intact += 1
            at += n
        assert reader.pending <= p.MAX_FRAME
    assert intact > 1000  # most frames survive a few local mutations
    assert time.monotonic() - started < 60  # a hang would show here long before the suite's timeout
