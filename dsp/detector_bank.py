"""Many-channel detection: one call into the C core per block for N channels.

    bank = DetectorBank(channels=256, detect=("dtmf",), rate=8000)
    for event in bank.feed(block):      # block: int16, shape (256, samples)
        ...
    bank.flush()                         # end of stream: close digits in progress

A DTMF key is reported twice: when it is recognised (``end is None``), at most
45 ms of audio after it began, and when it ends (``end`` set, same ``start``).
Times are sample indices since the channel's last ``reset``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gateway.dsp.native import check, ffi, lib
from gateway.errors import UsageError

# lg_event as NumPy sees it, so that a block's events convert in one call.
_EVENT_DTYPE = np.dtype({
    "names": [name for name, _ in ffi.typeof("lg_event").fields],
    "formats": [{"int32_t": np.int32, "int64_t": np.int64}[field.type.cname] for _, field in ffi.typeof("lg_event").fields],
    "offsets": [field.offset for _, field in ffi.typeof("lg_event").fields],
    "itemsize": ffi.sizeof("lg_event"),
})

ENCODINGS = {"linear": lib.LG_ENC_S16, "ulaw": lib.LG_ENC_ULAW, "alaw": lib.LG_ENC_ALAW}
DETECTORS = ("dtmf",)
_KINDS = {lib.LG_EVENT_DTMF: "dtmf"}


@dataclass(frozen=True, slots=True)
class DetectorEvent:
    """A detection on one channel. ``end`` is None while the tone goes on."""

    channel: int
    kind: str
    value: str
    start: int
    end: int | None

    @property
    def ended(self) -> bool:
        return self.end is not None


# A block can carry dozens of events; a frozen dataclass's __init__ sets each
# field through object.__setattr__ and costs twice as much as filling the
# slots of a new instance directly. Same class, same immutability for users.
_new_event = object.__new__
_EVENT_SLOT_SETTERS = tuple(getattr(DetectorEvent, name).__set__
                            for name in ("channel", "kind", "value", "start", "end"))


def _event(channel, kind, value, start, end):
    event = _new_event(DetectorEvent)
    set_channel, set_kind, set_value, set_start, set_end = _EVENT_SLOT_SETTERS
    set_channel(event, channel)
    set_kind(event, kind)
    set_value(event, value)
    set_start(event, start)
    set_end(event, end)
    return event


def _default_dtmf_params():
    params = ffi.new("lg_dtmf_rx_params *")
    lib.lg_dtmf_rx_params_default(params)
    return params


_DEFAULTS = _default_dtmf_params()


@dataclass(frozen=True)
class DtmfParams:
    """Receiver settings; the defaults come from the C core."""

    min_level_dbm0: float = _DEFAULTS.min_level_dbm0
    max_normal_twist_db: float = _DEFAULTS.max_normal_twist_db
    max_reverse_twist_db: float = _DEFAULTS.max_reverse_twist_db
    max_freq_dev_pct: float = _DEFAULTS.max_freq_dev_pct
    min_tone_fraction: float = _DEFAULTS.min_tone_fraction
    min_peak_ratio_db: float = _DEFAULTS.min_peak_ratio_db
    min_on_ms: int = _DEFAULTS.min_on_ms
    min_off_ms: int = _DEFAULTS.min_off_ms

    def _to_c(self):
        params = ffi.new("lg_dtmf_rx_params *")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            try:
                setattr(params, field.name, value)
            except (TypeError, OverflowError) as exc:
                raise UsageError(f"DtmfParams.{field.name}={value!r}: {exc}") from None
        bad = lib.lg_dtmf_rx_params_bad_field(params)
        if bad >= 0:
            # The C struct's declaration order names the field; its limits live in C.
            name = ffi.typeof("lg_dtmf_rx_params").fields[bad][0]
            raise UsageError(f"DtmfParams.{name}={getattr(self, name)!r} is out of the receiver's range")
        return params


class DetectorBank:
    """Detectors for ``channels`` channels fed in lock step."""

    def __init__(self, channels: int, detect=("dtmf",), rate: int = 8000,
                 encoding: str = "linear", dtmf: DtmfParams | None = None):
        if not isinstance(channels, (int, np.integer)) or channels < 1:
            raise UsageError(f"channels must be a positive integer, not {channels!r}")
        if isinstance(detect, str):
            detect = (detect,)
        unknown = [d for d in detect if d not in DETECTORS]
        if unknown or not detect:
            raise UsageError(f"detect={tuple(detect)!r}: known detectors are {', '.join(DETECTORS)}")
        if rate != lib.LG_SAMPLE_RATE:
            raise UsageError(f"rate={rate}: the detectors run at {lib.LG_SAMPLE_RATE} Hz; resample first")
        if encoding not in ENCODINGS:
            raise UsageError(f"encoding={encoding!r}: one of {', '.join(ENCODINGS)}")
        self.channels = int(channels)
        self.detect = tuple(detect)
        self.rate = rate
        self.encoding = encoding
        self._dtype = np.int16 if encoding == "linear" else np.uint8
        self.dtmf_params = dtmf or DtmfParams()
        self._desc = ffi.new("lg_dtmf_rx_desc *")
        check(lib.lg_dtmf_rx_desc_init(self._desc, self.dtmf_params._to_c()), "DTMF receiver parameters")
        self._bank = ffi.new("lg_dtmf_rx_bank *")
        self._lanes = ffi.new("lg_dtmf_rx_lane[]", (self.channels + lib.LG_LANE - 1) // lib.LG_LANE)
        self._states = ffi.new("lg_dtmf_rx_state[]", self.channels)
        check(lib.lg_dtmf_rx_bank_init(self._bank, self._lanes, self._states, self.channels), "DTMF bank")
        self._events = None
        self._events_capacity = 0
        self._events_sized_for = None
        self._encoding_code = ENCODINGS[encoding]

    def _event_buffer(self, nsamples):
        if nsamples == self._events_sized_for:  # blocks are usually all the same size
            return self._events
        needed = check(lib.lg_dtmf_rx_max_events(self.channels, nsamples), "event bound")
        self._events_sized_for = nsamples
        if needed > self._events_capacity:
            self._events_capacity = max(needed, 64)
            self._events = ffi.new("lg_event[]", self._events_capacity)
        return self._events

    def _convert(self, count):
        if count == 0:
            return []
        records = np.frombuffer(ffi.buffer(self._events, count * _EVENT_DTYPE.itemsize), dtype=_EVENT_DTYPE)
        return [_event(channel, _KINDS[kind], chr(value), start, None if end < 0 else end)
                for channel, kind, value, _flags, start, end in records.tolist()]

    def feed(self, block) -> list[DetectorEvent]:
        """Feed the next samples of every channel; returns the events found."""
        if type(block) is not np.ndarray:
            block = np.asarray(block)
        if block.ndim == 1 and self.channels == 1:
            block = block[np.newaxis, :]
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise UsageError(f"block must have shape ({self.channels}, samples), not {block.shape}")
        if block.dtype != self._dtype:
            raise UsageError(
                f"block dtype must be {np.dtype(self._dtype).name} for encoding={self.encoding!r}, not {block.dtype}")
        if not block.flags.c_contiguous:
            block = np.ascontiguousarray(block)
        nsamples = block.shape[1]
        if nsamples == 0:
            return []
        events = self._event_buffer(nsamples)
        count = check(lib.lg_dtmf_rx_feed(
            self._desc, self._bank, self._lanes, self._states, ffi.from_buffer(block),
            self._encoding_code, nsamples, nsamples, events, self._events_capacity), "DTMF feed")
        return self._convert(count)

    def flush(self) -> list[DetectorEvent]:
        """End of stream: end every tone in progress and return those events."""
        events = self._event_buffer(0)
        count = check(lib.lg_dtmf_rx_flush(self._desc, self._bank, self._lanes, self._states,
                                           events, self._events_capacity), "DTMF flush")
        return self._convert(count)

    def reset(self, channel: int) -> None:
        """Restart one channel: forget its state; its sample clock restarts at 0."""
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise UsageError(f"channel must be an integer, not {channel!r}")
        if not 0 <= channel < self.channels:
            raise UsageError(f"channel {channel} is outside 0..{self.channels - 1}")
        check(lib.lg_dtmf_rx_reset(self._bank, self._lanes, self._states, channel), "DTMF reset")
