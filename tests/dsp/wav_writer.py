"""A small WAV writer for tests: every format the reader accepts, and broken files.

Written independently of gateway.dsp.wav (from the RIFF/WAVE layout in
Microsoft's "Multimedia Programming Interface and Data Specifications 1.0" and
the WAVE_FORMAT_EXTENSIBLE note) so that the reader is checked against a
second reading of the format, not against itself.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

PCM, IEEE_FLOAT, ALAW, MULAW, EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
GUID_TAIL = bytes.fromhex("000010008000" "00aa00389b71")


def chunk(ident: bytes, body: bytes, *, declared_size: int | None = None, pad: bool = True) -> bytes:
    """A RIFF chunk; odd bodies get the pad byte the format requires."""
    size = len(body) if declared_size is None else declared_size
    return ident + struct.pack("<I", size) + body + (b"\0" if pad and len(body) % 2 else b"")


def fmt_body(tag: int, channels: int, rate: int, bits: int, *, block_align: int | None = None,
             subformat: int | bytes | None = None, valid_bits: int | None = None, cb_size: int = 22) -> bytes:
    """A fmt chunk body; with ``subformat`` it is WAVE_FORMAT_EXTENSIBLE (and ``tag`` is ignored)."""
    if block_align is None:
        block_align = channels * (bits // 8)
    if subformat is None:
        return struct.pack("<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits)
    guid = subformat if isinstance(subformat, bytes) else struct.pack("<I", subformat) + GUID_TAIL
    return struct.pack("<HHIIHHHHI16s", EXTENSIBLE, channels, rate, rate * block_align, block_align, bits,
                       cb_size, bits if valid_bits is None else valid_bits, 0, guid)


def riff(*chunks: bytes, riff_size: int | None = None) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


def wav_bytes(tag: int, channels: int, rate: int, bits: int, data: bytes, **fmt) -> bytes:
    return riff(chunk(b"fmt ", fmt_body(tag, channels, rate, bits, **fmt)), chunk(b"data", data))


def write_pcm16(path: Path, samples: np.ndarray, rate: int = 8000) -> Path:
    """``samples``: int16, shape (frames,) or (frames, channels)."""
    samples = np.asarray(samples, dtype="<i2")
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    path.write_bytes(wav_bytes(PCM, channels, rate, 16, samples.tobytes()))
    return path


def read_pcm16(path: Path) -> tuple[np.ndarray, int]:
    """Samples and rate of a plain mono 16-bit file (such as the corpus's), via the stdlib."""
    import wave

    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16), w.getframerate()
