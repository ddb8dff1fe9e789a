"""G.711 mu-law and A-law for NumPy arrays: one call into the C core per array.

    codes = encode(samples, "alaw")     # int16 array -> uint8 array, same shape
    samples = decode(codes, "alaw")     # uint8 array (or bytes) -> int16 array

Linear samples are 16-bit. Encoding keeps the 14 (mu-law) or 13 (A-law) most
significant bits the recommendation works on, with negative values one's
complemented as in ITU-T G.191's reference code; decoding scales the
recommendation's output values back up to 16 bits (native/g711.h).
"""

from __future__ import annotations

import numpy as np

from gateway.dsp.native import as_pointer, check, lib
from gateway.errors import UsageError

LAWS = {"ulaw": lib.LG_ENC_ULAW, "alaw": lib.LG_ENC_ALAW}

# The C functions count samples in an `int`.
_MAX_SAMPLES = np.iinfo(np.intc).max


def _law(law) -> int:
    try:
        return LAWS[law]
    except (KeyError, TypeError):
        raise UsageError(f"law must be one of {', '.join(map(repr, LAWS))}, not {law!r}") from None


def _checked_array(values, dtype, name: str) -> np.ndarray:
    """`values` as a C-contiguous array of exactly `dtype`; never converts
    silently, because a cast from a wider type would wrap loud samples."""
    if not isinstance(values, np.ndarray):
        raise UsageError(f"{name} must be a NumPy {np.dtype(dtype).name} array, not {type(values).__name__}")
    if values.dtype != dtype:
        raise UsageError(f"{name} must have dtype {np.dtype(dtype).name}, not {values.dtype}")
    if values.size > _MAX_SAMPLES:
        raise UsageError(f"{name} has {values.size} samples; at most {_MAX_SAMPLES} per call")
    return np.ascontiguousarray(values)


def encode(linear: np.ndarray, law: str) -> np.ndarray:
    """G.711 codes (uint8, same shape) of 16-bit linear samples (int16)."""
    law_code = _law(law)
    samples = _checked_array(linear, np.int16, "linear")
    codes = np.empty(samples.shape, dtype=np.uint8)
    check(lib.lg_g711_encode(law_code, as_pointer("int16_t *", samples), as_pointer("uint8_t *", codes),
                             samples.size), f"G.711 {law} encode")
    return codes


def decode(codes, law: str) -> np.ndarray:
    """16-bit linear samples (int16, same shape) of G.711 codes: a uint8 array
    or a bytes-like payload as it comes off the wire."""
    law_code = _law(law)
    if isinstance(codes, (bytes, bytearray, memoryview)):
        codes = np.frombuffer(codes, dtype=np.uint8)
    codes = _checked_array(codes, np.uint8, "codes")
    linear = np.empty(codes.shape, dtype=np.int16)
    check(lib.lg_g711_decode(law_code, as_pointer("uint8_t *", codes), as_pointer("int16_t *", linear),
                             codes.size), f"G.711 {law} decode")
    return linear
