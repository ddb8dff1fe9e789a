"""Streaming rational resampling, for bringing recordings to the 8 kHz of the core.

    resampler = Resampler(44100)            # to 8000 Hz
    for block in wav.blocks(882):
        out = resampler.feed(block)         # int16, about 160 samples
    out = resampler.flush()                 # the last samples

Block by block gives exactly the samples of one call on the whole signal
(``resample``): the resampler keeps the input history its filter reaches back
into. The filter's delay is taken out, so output sample m is the signal at
time m / rate_out, the same instant as in the input: a tone that starts at
1.000 s in the file starts at 1.000 s in the output.

The filter is a Kaiser-window FIR (``scipy.signal.firwin``) run as a polyphase
filter by ``scipy.signal.upfirdn``. It passes up to 85 % of the lower of the
two Nyquist frequencies (3400 Hz when going to 8 kHz: the whole telephone
band) and is 70 dB down from the Nyquist frequency on, so nothing above 4 kHz
folds back into the band.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import firwin, kaiser_beta, kaiserord, upfirdn

from gateway.errors import UsageError

TARGET_RATE = 8000
PASSBAND_FRACTION = 0.85    # of the lower Nyquist frequency
STOPBAND_ATTENUATION_DB = 70.0
# The filter grows with the reduced ratio's terms (about 58 taps per unit of
# max(up, down)); rates such as 8001 Hz would need millions of taps.
MAX_RATIO_TERM = 2000


def resampling_ratio(rate_in: int, rate_out: int = TARGET_RATE) -> tuple[int, int]:
    """(up, down) in lowest terms; raises UsageError for rates it cannot serve."""
    for name, rate in (("rate_in", rate_in), ("rate_out", rate_out)):
        if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or rate < 1:
            raise UsageError(f"{name} must be a positive integer number of Hz, not {rate!r}")
    common = gcd(int(rate_in), int(rate_out))
    up, down = int(rate_out) // common, int(rate_in) // common
    if max(up, down) > MAX_RATIO_TERM:
        raise UsageError(f"resampling {rate_in} Hz to {rate_out} Hz needs the ratio {up}/{down}; "
                         f"ratios with terms above {MAX_RATIO_TERM} are not supported")
    return up, down


def design_filter(up: int, down: int) -> np.ndarray:
    """The anti-aliasing / anti-imaging low-pass at rate_in * up, gain ``up``."""
    # Frequencies relative to the Nyquist frequency of the upsampled signal,
    # where the lower of the two original Nyquist frequencies is 1 / max(up, down).
    nyquist = 1.0 / max(up, down)
    passband_edge = PASSBAND_FRACTION * nyquist
    numtaps, _ = kaiserord(STOPBAND_ATTENUATION_DB, nyquist - passband_edge)
    numtaps |= 1  # odd: a whole-sample delay, (numtaps - 1) / 2
    taps = firwin(numtaps, (passband_edge + nyquist) / 2, window=("kaiser", kaiser_beta(STOPBAND_ATTENUATION_DB)))
    # Zero stuffing by `up` divides the level by `up`; the filter gives it back.
    return taps * up


class Resampler:
    """Resamples one int16 stream from ``rate_in`` to ``rate_out`` block by block."""

    def __init__(self, rate_in: int, rate_out: int = TARGET_RATE):
        self.rate_in = int(rate_in)
        self.rate_out = int(rate_out)
        self.up, self.down = resampling_ratio(rate_in, rate_out)
        self._passthrough = self.up == self.down == 1
        taps = design_filter(self.up, self.down) if not self._passthrough else np.ones(1)
        delay = (len(taps) - 1) // 2  # in samples of the upsampled signal
        # upfirdn computes the upsampled signal at multiples of `down` counted from
        # the first input sample it is given. Leading zeros make the delay a
        # multiple of `down`, so the delay-free instants lie on that grid; the
        # history kept always starts at an input index that is a multiple of
        # `down`, so block outputs land on the same grid as whole-signal ones.
        pad = (-delay) % self.down
        self._taps = np.concatenate([np.zeros(pad), taps])
        self._skip = (delay + pad) // self.down  # filter outputs before output sample 0
        self._history = np.zeros(0, np.float64)
        self._history_start = 0   # input index of _history[0], a multiple of `down`
        self._consumed = 0        # input samples fed so far
        self._emitted = 0         # output samples returned so far
        self._flushed = False

    def output_length(self, input_length: int) -> int:
        """Samples out for ``input_length`` in: the input's duration at rate_out, rounded up."""
        return -(-input_length * self.up // self.down)

    def feed(self, block) -> np.ndarray:
        """The output samples that ``block`` (int16, 1-D) completes."""
        if self._flushed:
            raise UsageError("this Resampler has been flushed; make a new one for a new stream")
        block = np.asarray(block)
        if block.ndim != 1:
            raise UsageError(f"block must be 1-D, not of shape {block.shape}")
        if block.dtype != np.int16:
            raise UsageError(f"block dtype must be int16, not {block.dtype}")
        if self._passthrough:
            self._consumed += len(block)
            self._emitted += len(block)
            return block.copy()
        self._history = np.concatenate([self._history, block.astype(np.float64)])
        self._consumed += len(block)
        # Output g of the padded filter needs inputs up to floor(g * down / up).
        ready = (self._consumed * self.up - 1) // self.down + 1 - self._skip
        return self._produce(ready)

    def flush(self) -> np.ndarray:
        """The samples still owed at the end of the stream (the input is taken to
        continue as silence for as long as the filter reaches)."""
        if self._flushed:
            return np.zeros(0, np.int16)
        self._flushed = True
        total = self.output_length(self._consumed)
        if self._passthrough or total <= self._emitted:
            return np.zeros(0, np.int16)
        last_input_needed = ((total - 1 + self._skip) * self.down) // self.up
        zeros = last_input_needed + 1 - (self._history_start + len(self._history))
        if zeros > 0:
            self._history = np.concatenate([self._history, np.zeros(zeros)])
        return self._produce(total)

    def _produce(self, end: int) -> np.ndarray:
        """Output samples [_emitted, end) from the history, then drop history no longer needed."""
        if end <= self._emitted:
            return np.zeros(0, np.int16)
        filtered = upfirdn(self._taps, self._history, self.up, self.down)
        first = self._emitted + self._skip - self._history_start * self.up // self.down
        out = filtered[first:first + end - self._emitted]
        assert len(out) == end - self._emitted, "history too short for the outputs asked for"
        self._emitted = end
        # The next output reaches back to input ceil((g * down - len(taps) + 1) / up).
        g = self._emitted + self._skip
        oldest_needed = max(0, -(-(g * self.down - len(self._taps) + 1) // self.up))
        new_start = oldest_needed - oldest_needed % self.down
        if new_start > self._history_start:
            self._history = self._history[new_start - self._history_start:]
            self._history_start = new_start
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)


def resample(samples, rate_in: int, rate_out: int = TARGET_RATE) -> np.ndarray:
    """The whole signal in one call; equal to feeding it block by block."""
    resampler = Resampler(rate_in, rate_out)
    return np.concatenate([resampler.feed(samples), resampler.flush()])
