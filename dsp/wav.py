"""Streaming WAV reader: RIFF chunks parsed here, samples read block by block.

    wav = open_wav("call.wav", channel=0)
    wav.rate, wav.channels, wav.sample_format, wav.frames
    for block in wav.blocks(160):        # int16, mono, at wav.rate
        ...

The stdlib ``wave`` module only reads integer PCM; telephone recordings are
often G.711 (format tags 6 and 7) or WAVE_FORMAT_EXTENSIBLE, so the chunks are
parsed here. Everything is checked when the file is opened: a file that opens
can be read to the end unless it changes underneath. Every problem with the
file's bytes is an ``AudioFormatError`` that names the file, the field, the
value and the byte offset.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from gateway.dsp import g711
from gateway.errors import AudioFormatError, UsageError

FORMAT_PCM = 0x0001
FORMAT_IEEE_FLOAT = 0x0003
FORMAT_ALAW = 0x0006
FORMAT_MULAW = 0x0007
FORMAT_EXTENSIBLE = 0xFFFE

# Names of common tags we do not decode, so the error says what the file is.
# (Microsoft mmreg.h.)
FORMAT_NAMES = {
    0x0000: "unknown",
    0x0002: "Microsoft ADPCM",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0040: "G.721 ADPCM",
    0x0050: "MPEG",
    0x0055: "MPEG Layer 3",
    0x00FF: "AAC",
    0x1610: "HE-AAC",
    0xF1AC: "FLAC",
}

# KSDATAFORMAT_SUBTYPE_* GUIDs are the format tag as a little-endian uint32
# followed by these 12 bytes (00000000-0000-0010-8000-00aa00389b71).
_SUBFORMAT_GUID_TAIL = bytes.fromhex("000010008000" "00aa00389b71")

_SUPPORTED_HINT = "use PCM 16-bit, G.711 A-law/mu-law or float"

# The data size written by recorders that stream to a pipe and cannot seek
# back (arecord, sox, ffmpeg): the audio runs to the end of the file.
UNKNOWN_DATA_SIZE = 0xFFFFFFFF

# A real file has a handful of chunks before its audio; a file made of
# thousands of tiny chunks is damage or an attack, not a recording.
MAX_CHUNKS = 10_000

_RIFF_HEADER = struct.Struct("<4sI4s")
_CHUNK_HEADER = struct.Struct("<4sI")
_FMT_BASIC = struct.Struct("<HHIIHH")        # tag, channels, rate, byte rate, block align, bits
_FMT_EXTENSION = struct.Struct("<HHI16s")    # cbSize, valid bits, channel mask, subformat


@dataclass(frozen=True)
class _Encoding:
    """How one sample of a channel is stored."""

    name: str
    bytes_per_sample: int


_PCM_BY_BITS = {
    8: _Encoding("pcm_u8", 1),
    16: _Encoding("pcm_s16", 2),
    24: _Encoding("pcm_s24", 3),
    32: _Encoding("pcm_s32", 4),
}
_FLOAT_BY_BITS = {32: _Encoding("float32", 4), 64: _Encoding("float64", 8)}
_G711 = {FORMAT_ALAW: _Encoding("alaw", 1), FORMAT_MULAW: _Encoding("ulaw", 1)}


def _format_name(tag: int) -> str:
    name = FORMAT_NAMES.get(tag)
    return f"format 0x{tag:04X} ({name})" if name else f"format 0x{tag:04X}"


class WavReader:
    """An opened, validated WAV file; ``blocks()`` streams one channel as int16."""

    def __init__(self, path, *, rate: int, channels: int, channel: int, encoding: _Encoding,
                 block_align: int, frames: int, data_offset: int, fmt_offset: int):
        self.path = path
        self.rate = rate
        self.channels = channels
        self.channel = channel
        self.sample_format = encoding.name
        self.frames = frames
        self.block_align = block_align
        self.data_offset = data_offset
        self.fmt_offset = fmt_offset  # of the fmt chunk's body, for errors about its fields
        self._encoding = encoding

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate

    def __repr__(self):
        return (f"WavReader({os.fspath(self.path)!r}, rate={self.rate}, channels={self.channels}, "
                f"channel={self.channel}, sample_format={self.sample_format!r}, frames={self.frames})")

    def blocks(self, frames_per_block: int) -> Iterator[np.ndarray]:
        """Yield the chosen channel as int16 arrays of ``frames_per_block`` samples
        (the last one may be shorter), at the file's own rate. Reads the file a
        block at a time, so memory does not grow with the file's length."""
        if not isinstance(frames_per_block, (int, np.integer)) or frames_per_block < 1:
            raise UsageError(f"frames_per_block must be a positive integer, not {frames_per_block!r}")
        with open(self.path, "rb") as f:
            f.seek(self.data_offset)
            remaining = self.frames
            offset = self.data_offset
            while remaining > 0:
                count = min(remaining, int(frames_per_block))
                want = count * self.block_align
                raw = f.read(want)
                if len(raw) < want:
                    # Checked at open; only a file cut while we read it gets here.
                    raise AudioFormatError(
                        f"file ended inside the data chunk (expected {want} more bytes, got {len(raw)})",
                        source=self.path, field="data", value=len(raw), offset=offset + len(raw))
                yield self._decode(raw, count)
                remaining -= count
                offset += want

    def read_all(self) -> np.ndarray:
        """The whole chosen channel at once (for short files and tests)."""
        parts = list(self.blocks(max(1, min(self.frames, 1 << 16))))
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def _decode(self, raw: bytes, count: int) -> np.ndarray:
        width = self._encoding.bytes_per_sample
        frames = np.frombuffer(raw, np.uint8).reshape(count, self.block_align)
        first = self.channel * width
        sample_bytes = np.ascontiguousarray(frames[:, first:first + width])
        name = self._encoding.name
        if name == "pcm_s16":
            return sample_bytes.view("<i2").reshape(count).astype(np.int16)
        if name == "pcm_u8":
            # 8-bit WAV is unsigned with 128 as silence.
            return ((sample_bytes.reshape(count).astype(np.int16) - 128) << 8).astype(np.int16)
        if name == "pcm_s24":
            b = sample_bytes.astype(np.int32)
            value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            value = np.where(value >= 1 << 23, value - (1 << 24), value)
            # Keep the top 16 bits: the same truncation a 24-to-16-bit converter does without dither.
            return (value >> 8).astype(np.int16)
        if name == "pcm_s32":
            return (sample_bytes.view("<i4").reshape(count) >> 16).astype(np.int16)
        if name in ("float32", "float64"):
            dtype = "<f4" if name == "float32" else "<f8"
            x = sample_bytes.view(dtype).reshape(count).astype(np.float64)
            # Full scale is +-1.0; louder samples saturate, NaN becomes silence.
            x = np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
            return np.minimum(np.rint(x * 32768.0), 32767).astype(np.int16)
        if name in ("alaw", "ulaw"):
            return g711.decode(sample_bytes.reshape(count), name)
        raise AssertionError(f"no decoder for {name}")  # every _Encoding above has a branch


@dataclass(frozen=True)
class _Chunk:
    ident: bytes
    size: int
    offset: int  # of the chunk header

    @property
    def body(self) -> int:
        return self.offset + _CHUNK_HEADER.size


def open_wav(path, channel: int | None = None) -> WavReader:
    """Open and check a WAV file; ``channel`` (0-based) picks one of several."""
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        return _parse(f, path, file_size, channel)


def _parse(f, path, file_size: int, channel: int | None) -> WavReader:
    def error(message, field, value, offset):
        return AudioFormatError(message, source=path, field=field, value=value, offset=offset)

    head = f.read(_RIFF_HEADER.size)
    if len(head) < _RIFF_HEADER.size or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        if head[:4] in (b"RIFX", b"RF64") and head[8:12] == b"WAVE":
            kind = "big-endian RIFX" if head[:4] == b"RIFX" else "RF64 (larger than 4 GB)"
            raise error(f"{kind} WAV files are not supported", "riff", head[:4], 0)
        raise error(f"not a WAV file (starts with {head!r})", "riff", head, 0)

    fmt_chunk = None
    data_chunk = None
    offset = _RIFF_HEADER.size
    for _ in range(MAX_CHUNKS):
        if fmt_chunk is not None and data_chunk is not None:
            break
        if offset + _CHUNK_HEADER.size > file_size:
            break  # end of file (a few stray bytes after the last chunk are tolerated)
        f.seek(offset)
        ident, size = _CHUNK_HEADER.unpack(f.read(_CHUNK_HEADER.size))
        chunk = _Chunk(ident, size, offset)
        present = file_size - chunk.body
        if ident == b"data" and data_chunk is None:
            if size == UNKNOWN_DATA_SIZE:
                chunk = _Chunk(ident, present, offset)
                size = present
            if size > present:
                raise error(f"data chunk declares {size} bytes but only {present} are present (truncated file)",
                            "data.size", size, offset + 4)
            data_chunk = chunk
        elif ident == b"fmt " and fmt_chunk is None:
            if size > present:
                raise error(f"fmt chunk declares {size} bytes but only {present} are present (truncated file)",
                            "fmt.size", size, offset + 4)
            fmt_chunk = chunk
        elif size > present:
            # An unknown chunk that runs off the end hides whatever chunk was to follow.
            missing = "fmt" if fmt_chunk is None else "data"
            raise error(f"chunk {ident!r} declares {size} bytes but only {present} are present "
                        f"(truncated file; no {missing} chunk)", "chunk.size", size, offset + 4)
        # Chunks are padded to an even length; the pad byte is not in the size.
        offset = chunk.body + size + (size & 1)
    else:
        raise error(f"more than {MAX_CHUNKS} chunks before the audio", "chunks", MAX_CHUNKS, offset)

    if fmt_chunk is None:
        raise error("no fmt chunk (the chunk that says how samples are stored)", "fmt", None, offset)
    if data_chunk is None:
        raise error("no data chunk (the file holds no audio)", "data", None, offset)

    channels, rate, encoding, block_align = _parse_fmt(f, fmt_chunk, error)
    base = fmt_chunk.body

    if block_align != channels * encoding.bytes_per_sample:
        raise error(f"block_align {block_align} does not match {channels} channel(s) of "
                    f"{encoding.bytes_per_sample * 8}-bit samples (expected {channels * encoding.bytes_per_sample})",
                    "block_align", block_align, base + 12)

    if channel is None:
        if channels > 1:
            what = "stereo" if channels == 2 else f"{channels}-channel"
            raise error(f"{what} file: choose one with --channel (0..{channels - 1})", "channels", channels, base + 2)
        channel = 0
    elif not isinstance(channel, (int, np.integer)) or isinstance(channel, bool):
        raise UsageError(f"channel must be an integer, not {channel!r}")
    elif not 0 <= channel < channels:
        raise error(f"channel {channel} asked for but the file has {channels} channel(s) (0..{channels - 1})",
                    "channels", channels, base + 2)

    # A trailing partial frame (a damaged or sloppily written file) is dropped,
    # like every WAV reader does: there is no sample to decode in it.
    frames = data_chunk.size // block_align
    return WavReader(path, rate=rate, channels=channels, channel=int(channel), encoding=encoding,
                     block_align=block_align, frames=frames, data_offset=data_chunk.body,
                     fmt_offset=fmt_chunk.body)


def _parse_fmt(f, chunk: _Chunk, error):
    base = chunk.body
    if chunk.size < _FMT_BASIC.size:
        raise error(f"fmt chunk is {chunk.size} bytes, at least {_FMT_BASIC.size} are needed",
                    "fmt.size", chunk.size, chunk.offset + 4)
    f.seek(base)
    body = f.read(min(chunk.size, _FMT_BASIC.size + _FMT_EXTENSION.size))
    tag, channels, rate, _byte_rate, block_align, bits = _FMT_BASIC.unpack_from(body)
    # byte_rate is redundant and often wrong in files from sloppy writers; it is not used.

    if channels == 0:
        raise error("channels is 0", "channels", channels, base + 2)
    if rate == 0:
        raise error("sample rate is 0", "rate", rate, base + 4)

    code = tag
    if tag == FORMAT_EXTENSIBLE:
        if len(body) < _FMT_BASIC.size + _FMT_EXTENSION.size:
            raise error(f"WAVE_FORMAT_EXTENSIBLE fmt chunk is {chunk.size} bytes, "
                        f"{_FMT_BASIC.size + _FMT_EXTENSION.size} are needed", "fmt.size", chunk.size, chunk.offset + 4)
        cb_size, valid_bits, _mask, subformat = _FMT_EXTENSION.unpack_from(body, _FMT_BASIC.size)
        if cb_size < 22:
            raise error(f"WAVE_FORMAT_EXTENSIBLE needs an extension of 22 bytes, cbSize is {cb_size}",
                        "fmt.cbSize", cb_size, base + 16)
        if valid_bits > bits:
            raise error(f"valid bits per sample {valid_bits} exceeds the container's {bits} bits",
                        "fmt.valid_bits", valid_bits, base + 18)
        (code,) = struct.unpack_from("<I", subformat)
        if subformat[4:] != _SUBFORMAT_GUID_TAIL or code > 0xFFFF:
            raise error(f"WAVE_FORMAT_EXTENSIBLE subformat {_guid_text(subformat)} is not supported; {_SUPPORTED_HINT}",
                        "fmt.subformat", subformat, base + 24)
        # Samples are read in their container size; valid_bits below it only means
        # the low bits are zero, which the conversion to int16 drops or keeps harmlessly.

    field, field_offset = ("fmt.subformat", base + 24) if tag == FORMAT_EXTENSIBLE else ("fmt.format_tag", base)
    if code == FORMAT_PCM:
        table, kind = _PCM_BY_BITS, "PCM"
    elif code == FORMAT_IEEE_FLOAT:
        table, kind = _FLOAT_BY_BITS, "IEEE float"
    elif code in _G711:
        table, kind = {8: _G711[code]}, "G.711 A-law" if code == FORMAT_ALAW else "G.711 mu-law"
    else:
        raise error(f"{_format_name(code)} is not supported; {_SUPPORTED_HINT}", field, code, field_offset)
    encoding = table.get(bits)
    if encoding is None:
        accepted = ", ".join(str(b) for b in table)
        raise error(f"{kind} with {bits} bits per sample is not supported (accepted: {accepted})",
                    "fmt.bits_per_sample", bits, base + 14)
    return channels, rate, encoding, block_align


def _guid_text(guid: bytes) -> str:
    d1, d2, d3 = struct.unpack_from("<IHH", guid)
    rest = guid[8:].hex()
    return f"{{{d1:08x}-{d2:04x}-{d3:04x}-{rest[:4]}-{rest[4:]}}}"


def write_wav(path, samples: np.ndarray, rate: int = 8000) -> None:
    """Writes ``samples`` (int16; shape (frames,) or (frames, channels)) as 16-bit PCM WAV.

    The recorder's side of this module: plain PCM, the format every player and
    ``open_wav`` read. The file is written whole; an unwritable path is a UsageError."""
    data = np.asarray(samples)
    if data.dtype != np.int16 or data.ndim not in (1, 2):
        raise UsageError(f"write_wav takes int16 samples of shape (frames,) or (frames, channels), not "
                         f"{data.dtype} {data.shape}")
    channels = 1 if data.ndim == 1 else data.shape[1]
    body = np.ascontiguousarray(data).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", FORMAT_PCM, channels, rate, rate * channels * 2, channels * 2, 16)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
    try:
        with open(path, "wb") as f:
            f.write(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the WAV file: {exc.strerror or exc}") from None
