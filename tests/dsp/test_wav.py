"""gateway.dsp.wav: every accepted format reads back, every damaged file is named.

Files are made by tests/dsp/wav_writer.py, written from the format's
documentation rather than from the reader.
"""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.dsp import g711
from gateway.dsp.wav import MAX_CHUNKS, open_wav
from gateway.errors import AudioFormatError, UsageError
from tests.dsp.wav_writer import (ALAW, EXTENSIBLE, IEEE_FLOAT, MULAW, PCM, chunk, fmt_body, riff, wav_bytes,
                                  write_pcm16)

RNG = np.random.default_rng(20240611)
# Full-scale-ish noise with both extremes present, so saturation and sign handling show.
REFERENCE = np.concatenate([[32767, -32768, 0, 1, -1], RNG.integers(-32768, 32768, 995)]).astype(np.int16)


def read_all(path, channel=None, block=97):
    """Read through blocks() with an odd block size, so block edges are exercised."""
    wav = open_wav(path, channel=channel)
    return wav, np.concatenate(list(wav.blocks(block)))


# --- formats that read back -------------------------------------------------------------

def encode_pcm_u8(x):
    return ((x.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()


def encode_pcm_s24(x):
    # Low byte random: the reader keeps the top 16 bits, so it must come back as x.
    value = (x.astype(np.int32) << 8) | RNG.integers(0, 256, len(x))
    b = value.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
    return b.tobytes()


def encode_pcm_s32(x):
    return ((x.astype(np.int64) << 16) | RNG.integers(0, 1 << 16, len(x))).astype("<i4").tobytes()


def expected_u8(x):
    return ((x.astype(np.int32) >> 8) << 8).astype(np.int16)


INTEGER_AND_FLOAT_CASES = [
    # name, tag, bits, encode, expected, extensible subformat
    ("pcm_s16", PCM, 16, lambda x: x.astype("<i2").tobytes(), lambda x: x, None),
    ("pcm_u8", PCM, 8, encode_pcm_u8, expected_u8, None),
    ("pcm_s24", PCM, 24, encode_pcm_s24, lambda x: x, None),
    ("pcm_s32", PCM, 32, encode_pcm_s32, lambda x: x, None),
    ("float32", IEEE_FLOAT, 32, lambda x: (x / 32768.0).astype("<f4").tobytes(), lambda x: x, None),
    ("float64", IEEE_FLOAT, 64, lambda x: (x / 32768.0).astype("<f8").tobytes(), lambda x: x, None),
    ("pcm_s16", EXTENSIBLE, 16, lambda x: x.astype("<i2").tobytes(), lambda x: x, PCM),
    ("pcm_s24", EXTENSIBLE, 24, encode_pcm_s24, lambda x: x, PCM),
    ("float32", EXTENSIBLE, 32, lambda x: (x / 32768.0).astype("<f4").tobytes(), lambda x: x, IEEE_FLOAT),
]


@pytest.mark.parametrize("name, tag, bits, encode, expected, subformat", INTEGER_AND_FLOAT_CASES,
                         ids=[f"{c[0]}-{'ext' if c[5] else 'plain'}" for c in INTEGER_AND_FLOAT_CASES])
def test_integer_and_float_formats_read_back(tmp_path, name, tag, bits, encode, expected, subformat):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(tag, 1, 11025, bits, encode(REFERENCE), subformat=subformat))
    wav, samples = read_all(path)
    assert (wav.rate, wav.channels, wav.sample_format, wav.frames) == (11025, 1, name, len(REFERENCE))
    assert samples.dtype == np.int16
    np.testing.assert_array_equal(samples, expected(REFERENCE))


@pytest.mark.parametrize("tag, name", [(ALAW, "alaw"), (MULAW, "ulaw")])
@pytest.mark.parametrize("extensible", [False, True])
def test_g711_formats_read_back(tmp_path, tag, name, extensible):
    codes = g711.encode(REFERENCE, name)
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(tag, 1, 8000, 8, codes.tobytes(), subformat=tag if extensible else None))
    wav, samples = read_all(path)
    assert (wav.sample_format, wav.frames) == (name, len(REFERENCE))
    # G.711 keeps about 12 bits of a sample's magnitude: within 1/32 (A) or 1/16 (mu) of it.
    big = np.abs(REFERENCE.astype(np.int32)) > 1024
    relative = np.abs(samples[big] - REFERENCE[big].astype(np.int32)) / np.abs(REFERENCE[big].astype(np.int32))
    assert relative.max() < 1 / 16


def test_g711_known_codes(tmp_path):
    # ITU-T G.711 decoder outputs (16-bit scale), as in spandsp's g711.h tables:
    # A-law 0xD5/0x55 are +-8, 0xAA/0x2A are +-32256; mu-law 0xFF is 0, 0x80/0x00 are +-32124.
    cases = {ALAW: ([0xD5, 0x55, 0xAA, 0x2A], [8, -8, 32256, -32256]),
             MULAW: ([0xFF, 0x7F, 0x80, 0x00], [0, 0, 32124, -32124])}
    for tag, (codes, linear) in cases.items():
        path = tmp_path / f"{tag}.wav"
        path.write_bytes(wav_bytes(tag, 1, 8000, 8, bytes(codes)))
        _, samples = read_all(path)
        assert samples.tolist() == linear


def test_float_saturates_and_silences_nan(tmp_path):
    values = np.array([1.0, -1.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 0.5], "<f4")
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(IEEE_FLOAT, 1, 8000, 32, values.tobytes()))
    _, samples = read_all(path)
    assert samples.tolist() == [32767, -32768, 32767, -32768, 32767, -32768, 0, 16384]


def test_extensible_with_fewer_valid_bits_reads_the_container(tmp_path):
    # 20 valid bits in a 24-bit container, as many recorders write.
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(EXTENSIBLE, 1, 8000, 24, encode_pcm_s24(REFERENCE), subformat=PCM, valid_bits=20))
    _, samples = read_all(path)
    np.testing.assert_array_equal(samples, REFERENCE)


def test_channel_is_chosen_from_interleaved_frames(tmp_path):
    frames = np.stack([REFERENCE, -REFERENCE // 2, REFERENCE // 3], axis=1)
    # 24-bit, three channels: one frame is 9 bytes, so channel offsets are not word aligned.
    data = np.stack([np.frombuffer(encode_pcm_s24(frames[:, c]), np.uint8).reshape(-1, 3) for c in range(3)],
                    axis=1).tobytes()
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(PCM, 3, 8000, 24, data))
    for channel in range(3):
        wav, samples = read_all(path, channel=channel)
        assert (wav.channels, wav.channel) == (3, channel)
        np.testing.assert_array_equal(samples, frames[:, channel])


def test_blocks_have_the_asked_size_and_cover_the_file(tmp_path):
    path = write_pcm16(tmp_path / "x.wav", REFERENCE)
    wav = open_wav(path)
    sizes = [len(b) for b in wav.blocks(160)]
    assert sizes == [160] * 6 + [40]
    assert list(wav.blocks(1000))[0].tolist() == REFERENCE.tolist()  # blocks() can be iterated again
    np.testing.assert_array_equal(wav.read_all(), REFERENCE)
    with pytest.raises(UsageError):
        next(wav.blocks(0))


def test_empty_data_chunk_gives_no_blocks(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(PCM, 1, 8000, 16, b""))
    wav = open_wav(path)
    assert wav.frames == 0 and list(wav.blocks(160)) == []


def test_unknown_and_odd_length_chunks_are_skipped(tmp_path):
    data = REFERENCE[:101].astype("<i2").tobytes()
    path = tmp_path / "x.wav"
    path.write_bytes(riff(
        chunk(b"JUNK", b"abc"),                      # odd length: one pad byte follows
        chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16)),
        chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00test\x00"),
        chunk(b"data", data),
        chunk(b"cue ", b"\x00" * 4),
    ) + b"\x00\x01\x02")                             # stray bytes after the last chunk
    _, samples = read_all(path)
    np.testing.assert_array_equal(samples, REFERENCE[:101])


def test_data_before_fmt_and_odd_8_bit_data(tmp_path):
    data = encode_pcm_u8(REFERENCE[:7])   # 7 bytes: the data chunk itself is padded
    path = tmp_path / "x.wav"
    path.write_bytes(riff(chunk(b"data", data), chunk(b"fmt ", fmt_body(PCM, 1, 8000, 8))))
    _, samples = read_all(path)
    np.testing.assert_array_equal(samples, expected_u8(REFERENCE[:7]))


def test_long_file_is_streamed_not_loaded(tmp_path):
    # 60 s of 48 kHz stereo 16-bit (11.5 MB, sparse on disk): reading it must hold
    # about one block in memory, not the file.
    path = tmp_path / "long.wav"
    data_size = 60 * 48000 * 4
    with open(path, "wb") as f:
        f.write(riff(chunk(b"fmt ", fmt_body(PCM, 2, 48000, 16)), chunk(b"data", b"", declared_size=data_size),
                     riff_size=4 + 24 + 8 + data_size))
        f.truncate(f.tell() + data_size)
    wav = open_wav(path, channel=1)
    assert wav.frames == 60 * 48000 and wav.duration == 60.0
    tracemalloc.start()
    try:
        total = sum(len(block) for block in wav.blocks(960))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == wav.frames
    assert peak < 200_000, f"peak {peak} bytes while reading an {data_size}-byte data chunk"


# --- damaged and unsupported files -------------------------------------------------------

def fmt_offset(prefix_chunks=b""):
    """Byte offset of the fmt body in a file whose fmt chunk follows ``prefix_chunks``."""
    return 12 + len(prefix_chunks) + 8


def open_error(path, **kwargs) -> AudioFormatError:
    with pytest.raises(AudioFormatError) as caught:
        open_wav(path, **kwargs)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.source == path and str(path) in str(error)
    return error


def test_not_a_wav_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00 some mp3")
    error = open_error(path)
    assert "not a WAV file (starts with b'ID3\\x04" in str(error)
    assert (error.field, error.offset) == ("riff", 0)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert "not a WAV file (starts with b'')" in str(open_error(path))


def test_big_endian_rifx_is_named(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(b"RIFX\x00\x00\x00\x24WAVE")
    assert "big-endian RIFX" in str(open_error(path))


def test_truncated_data_chunk(tmp_path):
    path = tmp_path / "cut.wav"
    path.write_bytes(riff(chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16)), chunk(b"data", b"\0" * 10, declared_size=1000)))
    error = open_error(path)
    assert "data chunk declares 1000 bytes but only 10 are present" in str(error)
    data_header = 12 + 8 + 16
    assert (error.field, error.value, error.offset) == ("data.size", 1000, data_header + 4)
    assert f"byte {data_header + 4}" in str(error)


def test_streamed_file_with_unknown_data_size_reads_to_the_end(tmp_path):
    # What arecord/sox/ffmpeg write when their output is a pipe.
    samples = (np.arange(500, dtype=np.int16) * 37).astype(np.int16)
    path = tmp_path / "streamed.wav"
    path.write_bytes(riff(chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16)),
                          chunk(b"data", samples.tobytes(), declared_size=0xFFFFFFFF)))
    wav = open_wav(path)
    assert wav.frames == 500
    np.testing.assert_array_equal(np.concatenate(list(wav.blocks(160))), samples)


def test_chunk_running_off_the_end_before_data(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(riff(chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16)), chunk(b"LIST", b"abcd", declared_size=5000)))
    error = open_error(path)
    assert "chunk b'LIST' declares 5000 bytes but only 4 are present" in str(error) and "no data chunk" in str(error)


def test_missing_fmt_chunk(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(riff(chunk(b"data", b"\0\0")))
    error = open_error(path)
    assert "no fmt chunk" in str(error) and error.field == "fmt"


def test_missing_data_chunk(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(riff(chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16)), chunk(b"LIST", b"ab")))
    error = open_error(path)
    assert "no data chunk" in str(error) and error.field == "data"


def test_fmt_chunk_too_short(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(riff(chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16)[:14]), chunk(b"data", b"")))
    error = open_error(path)
    assert "fmt chunk is 14 bytes, at least 16 are needed" in str(error)
    assert error.offset == 12 + 4


def test_block_align_inconsistent(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(PCM, 2, 8000, 16, b"\0" * 12, block_align=3))
    error = open_error(path, channel=0)
    assert "block_align 3 does not match 2 channel(s) of 16-bit samples (expected 4)" in str(error)
    assert (error.field, error.value, error.offset) == ("block_align", 3, fmt_offset() + 12)


@pytest.mark.parametrize("channels, rate, field, message, offset", [
    (0, 8000, "channels", "channels is 0", 2),
    (1, 0, "rate", "sample rate is 0", 4),
])
def test_zero_channels_or_rate(tmp_path, channels, rate, field, message, offset):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(PCM, channels, rate, 16, b"", block_align=2))
    error = open_error(path)
    assert message in str(error)
    assert (error.field, error.value, error.offset) == (field, 0, fmt_offset() + offset)


def test_unsupported_format_tag_is_named(tmp_path):
    path = tmp_path / "song.wav"
    path.write_bytes(wav_bytes(0x0055, 1, 8000, 0, b"\xff\xfb", block_align=1))
    error = open_error(path)
    assert ("format 0x0055 (MPEG Layer 3) is not supported; use PCM 16-bit, G.711 A-law/mu-law or float"
            in str(error))
    assert (error.field, error.value, error.offset) == ("fmt.format_tag", 0x55, fmt_offset())


def test_unnamed_format_tag(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(0x1234, 1, 8000, 16, b""))
    assert "format 0x1234 is not supported" in str(open_error(path))


@pytest.mark.parametrize("tag, bits, message", [
    (PCM, 12, "PCM with 12 bits per sample is not supported (accepted: 8, 16, 24, 32)"),
    (IEEE_FLOAT, 16, "IEEE float with 16 bits per sample is not supported (accepted: 32, 64)"),
    (ALAW, 16, "G.711 A-law with 16 bits per sample is not supported (accepted: 8)"),
])
def test_unsupported_sample_size(tmp_path, tag, bits, message):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(tag, 1, 8000, bits, b"", block_align=2))
    error = open_error(path)
    assert message in str(error)
    assert (error.field, error.value, error.offset) == ("fmt.bits_per_sample", bits, fmt_offset() + 14)


def test_extensible_with_foreign_subformat_guid(tmp_path):
    # KSDATAFORMAT_SUBTYPE_DOLBY_AC3_SPDIF-like GUID: not of the 0000xxxx-0000-0010-8000-00aa00389b71 family.
    guid = bytes.fromhex("00112233445566778899aabbccddeeff")
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(EXTENSIBLE, 1, 8000, 16, b"", subformat=guid))
    error = open_error(path)
    assert "WAVE_FORMAT_EXTENSIBLE subformat {33221100-5544-7766-8899-aabbccddeeff} is not supported" in str(error)
    assert error.offset == fmt_offset() + 24


def test_extensible_with_unsupported_subformat_code(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(EXTENSIBLE, 1, 8000, 16, b"", subformat=0x0055))
    error = open_error(path)
    assert "format 0x0055 (MPEG Layer 3) is not supported" in str(error)
    assert (error.field, error.offset) == ("fmt.subformat", fmt_offset() + 24)


def test_extensible_fmt_without_its_extension(tmp_path):
    path = tmp_path / "x.wav"
    body = fmt_body(EXTENSIBLE, 1, 8000, 16, subformat=PCM)[:18]
    path.write_bytes(riff(chunk(b"fmt ", body), chunk(b"data", b"")))
    assert "WAVE_FORMAT_EXTENSIBLE fmt chunk is 18 bytes, 40 are needed" in str(open_error(path))


def test_extensible_valid_bits_above_container(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(EXTENSIBLE, 1, 8000, 16, b"", subformat=PCM, valid_bits=24))
    error = open_error(path)
    assert "valid bits per sample 24 exceeds the container's 16 bits" in str(error)
    assert error.offset == fmt_offset() + 18


@pytest.mark.parametrize("channels, phrase", [(2, "stereo file"), (6, "6-channel file")])
def test_multichannel_needs_a_channel(tmp_path, channels, phrase):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(PCM, channels, 8000, 16, b"\0" * (2 * channels)))
    error = open_error(path)
    assert f"{phrase}: choose one with --channel (0..{channels - 1})" in str(error)
    assert (error.field, error.value, error.offset) == ("channels", channels, fmt_offset() + 2)
    beyond = open_error(path, channel=channels)
    assert f"channel {channels} asked for but the file has {channels} channel(s)" in str(beyond)


def test_channel_out_of_range_on_mono(tmp_path):
    path = write_pcm16(tmp_path / "x.wav", REFERENCE[:10])
    assert "channel 1 asked for but the file has 1 channel(s) (0..0)" in str(open_error(path, channel=1))
    assert open_wav(path, channel=0).frames == 10


def test_too_many_chunks(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(riff(*([chunk(b"JUNK", b"")] * (MAX_CHUNKS + 1)), chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16))))
    assert f"more than {MAX_CHUNKS} chunks before the audio" in str(open_error(path))


# --- fuzzing: only AudioFormatError may escape, and nothing hangs -------------------------

FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def read_or_refuse(path):
    """Open and read every block; the only acceptable failure is AudioFormatError."""
    try:
        wav = open_wav(path)
    except AudioFormatError:
        return
    for block in wav.blocks(64):
        assert block.dtype == np.int16 and block.ndim == 1


@pytest.fixture(scope="module")
def fuzz_path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "fuzzed.wav"


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(fuzz_path, data):
    fuzz_path.write_bytes(data)
    read_or_refuse(fuzz_path)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_chunks_after_a_riff_header(fuzz_path, data):
    fuzz_path.write_bytes(b"RIFF" + struct.pack("<I", len(data) + 4) + b"WAVE" + data)
    read_or_refuse(fuzz_path)


VALID_FILES = [
    wav_bytes(PCM, 1, 8000, 16, REFERENCE[:20].astype("<i2").tobytes()),
    wav_bytes(PCM, 2, 44100, 24, encode_pcm_s24(REFERENCE[:24])),
    wav_bytes(IEEE_FLOAT, 1, 16000, 64, (REFERENCE[:8] / 32768.0).astype("<f8").tobytes()),
    wav_bytes(ALAW, 1, 8000, 8, bytes(range(17))),
    wav_bytes(EXTENSIBLE, 1, 48000, 32, (REFERENCE[:8] / 32768.0).astype("<f4").tobytes(), subformat=IEEE_FLOAT),
    riff(chunk(b"JUNK", b"xyz"), chunk(b"fmt ", fmt_body(MULAW, 1, 8000, 8)), chunk(b"data", bytes(range(9)))),
]


@FUZZ
@given(original=st.sampled_from(VALID_FILES),
       edits=st.lists(st.tuples(st.integers(0, 79), st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.none() | st.integers(0, 120))
def test_fuzz_mutated_valid_headers(fuzz_path, original, edits, cut):
    data = bytearray(original)
    for position, value in edits:
        if position < len(data):
            data[position] = value
    fuzz_path.write_bytes(bytes(data[:cut] if cut is not None else data))
    read_or_refuse(fuzz_path)


@FUZZ
@given(original=st.sampled_from(VALID_FILES), field=st.sampled_from([4, 16, 22, 24, 28, 32, 34, 40]),
       value=st.sampled_from([0, 1, 2, 3, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
def test_fuzz_extreme_header_fields(fuzz_path, original, field, value):
    # Sizes, counts and rates set to the values that break naive arithmetic.
    data = bytearray(original)
    width = 4 if field in (4, 16, 24, 28, 40) else 2
    data[field:field + width] = (value & (1 << 8 * width) - 1).to_bytes(width, "little")
    fuzz_path.write_bytes(bytes(data))
    read_or_refuse(fuzz_path)
