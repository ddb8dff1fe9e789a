"""Many-channel detection: one call into the C core per block and detector for N channels.

    bank = DetectorBank(channels=256, detect=("dtmf", "modem"), rate=8000)
    for event in bank.feed(block):      # block: int16, shape (256, samples)
        ...
    bank.flush()                         # end of stream: close tones in progress

Detectors and the values of their events:
- ``dtmf``: the key ("0".."9", "*", "#", "A".."D"). Reported when recognised
  (``end is None``), at most 45 ms of audio after it began, and again when it
  ends (``end`` set, same ``start``).
- ``modem``: fax and modem tones, "CNG", "CED", "ANS_PR", "ANSAM", "ANSAM_PR",
  "BELL_2225". A 2100 Hz tone first reported as "CED" may be reported again,
  with the same ``start`` and ``end is None``, as its phase reversals or
  modulation show ("ANS_PR", "ANSAM", "ANSAM_PR"); the end event carries the
  last value.
- ``cpt``: call progress, one class per tone pattern: "dial", "ringback",
  "busy", "congestion", a special information tone by its subtype
  ("sit-ic", "sit-vc", "sit-ro", "sit-nc", "sit-itu"), "fax_cng",
  "fax_ced" and "modem" (from the fax and modem tone unit). Reported once
  the pattern is recognised (``end is None``, ``start`` where it began) and
  again when it stops. ``reason`` names the cadence that fitted best
  ("de.busy"); ``country`` (for all channels, or per channel with
  ``set_country``) says which plan to try first.
- ``amd``: after answer (``reset`` the channel then), one decision "human",
  "machine" or "notsure" (``start == end``, the sample it was taken at;
  ``reason`` as amd.conf users know them: "long-greeting", "beep", ...), and
  ``beep`` events (value: its frequency in Hz) for the end-of-greeting beep,
  reported when recognised and when it ends.
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
    "formats": [{"int32_t": np.int32, "int64_t": np.int64, "float": np.float32}[field.type.cname] for _, field in ffi.typeof("lg_event").fields],
    "offsets": [field.offset for _, field in ffi.typeof("lg_event").fields],
    "itemsize": ffi.sizeof("lg_event"),
})

ENCODINGS = {"linear": lib.LG_ENC_S16, "ulaw": lib.LG_ENC_ULAW, "alaw": lib.LG_ENC_ALAW}
DETECTORS = ("dtmf", "modem", "cpt", "amd")
AMD_CLASSES = {lib.LG_AMD_HUMAN: "human", lib.LG_AMD_MACHINE: "machine", lib.LG_AMD_NOTSURE: "notsure"}
# Reason codes of amd.h as the words amd.conf users know ("long-greeting"); the
# phrase model's decisions are "human-voice" and "greeting-voice".
AMD_REASONS = {getattr(lib, name): name[len("LG_AMD_REASON_"):].lower().replace("_", "-")
               for name in dir(lib) if name.startswith("LG_AMD_REASON_")}
MODEM_TONES = {lib.LG_MODEM_TONE_CNG: "CNG", lib.LG_MODEM_TONE_CED: "CED", lib.LG_MODEM_TONE_ANS_PR: "ANS_PR",
               lib.LG_MODEM_TONE_ANSAM: "ANSAM", lib.LG_MODEM_TONE_ANSAM_PR: "ANSAM_PR",
               lib.LG_MODEM_TONE_BELL_2225: "BELL_2225"}
# Fax and modem tones as call-progress classes.
MODEM_CPT_CLASSES = {lib.LG_MODEM_TONE_CNG: "fax_cng", lib.LG_MODEM_TONE_CED: "fax_ced",
                     lib.LG_MODEM_TONE_ANS_PR: "modem", lib.LG_MODEM_TONE_ANSAM: "modem",
                     lib.LG_MODEM_TONE_ANSAM_PR: "modem", lib.LG_MODEM_TONE_BELL_2225: "modem"}


@dataclass(frozen=True, slots=True)
class DetectorEvent:
    """A detection on one channel. ``end`` is None while the tone goes on.
    ``confidence`` (0..1) says how sure the detector is of ``value``;
    ``reason`` names why a classifier decided (None when it gives none)."""

    channel: int
    kind: str
    value: str
    start: int
    end: int | None
    confidence: float = 1.0
    reason: str | None = None

    @property
    def ended(self) -> bool:
        return self.end is not None


# A block can carry dozens of events; a frozen dataclass's __init__ sets each
# field through object.__setattr__ and costs twice as much as filling the
# slots of a new instance directly. Same class, same immutability for users.
_new_event = object.__new__
_EVENT_SLOT_SETTERS = tuple(getattr(DetectorEvent, name).__set__
                            for name in ("channel", "kind", "value", "start", "end", "confidence", "reason"))


def _event(channel, kind, value, start, end, confidence, reason):
    event = _new_event(DetectorEvent)
    set_channel, set_kind, set_value, set_start, set_end, set_confidence, set_reason = _EVENT_SLOT_SETTERS
    set_channel(event, channel)
    set_kind(event, kind)
    set_value(event, value)
    set_start(event, start)
    set_end(event, end)
    set_confidence(event, confidence)
    set_reason(event, reason)
    return event


def _c_defaults(unit):
    params = ffi.new(f"lg_{unit}_params *")
    getattr(lib, f"lg_{unit}_params_default")(params)
    return params


def _params_to_c(params, unit):
    """A frozen params dataclass as the C struct of `unit`, checked by C (whose
    limits these are): the error names the field and the value."""
    label = type(params).__name__
    struct = ffi.new(f"lg_{unit}_params *")
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        try:
            setattr(struct, field.name, value)
        except (TypeError, OverflowError) as exc:
            raise UsageError(f"{label}.{field.name}={value!r}: {exc}") from None
    bad = getattr(lib, f"lg_{unit}_params_bad_field")(struct)
    if bad >= 0:
        # The C struct's declaration order names the field.
        name = ffi.typeof(f"lg_{unit}_params").fields[bad][0]
        raise UsageError(f"{label}.{name}={getattr(params, name)!r} is out of the detector's range")
    return struct


_DTMF = _c_defaults("dtmf_rx")


@dataclass(frozen=True)
class DtmfParams:
    """DTMF receiver settings; the defaults come from the C core."""

    min_level_dbm0: float = _DTMF.min_level_dbm0
    max_normal_twist_db: float = _DTMF.max_normal_twist_db
    max_reverse_twist_db: float = _DTMF.max_reverse_twist_db
    max_freq_dev_pct: float = _DTMF.max_freq_dev_pct
    min_tone_fraction: float = _DTMF.min_tone_fraction
    min_peak_ratio_db: float = _DTMF.min_peak_ratio_db
    min_on_ms: int = _DTMF.min_on_ms
    min_off_ms: int = _DTMF.min_off_ms


_MODEM = _c_defaults("modem_tone")


@dataclass(frozen=True)
class ModemToneParams:
    """Fax and modem tone detector settings; the defaults come from the C core."""

    min_level_dbm0: float = _MODEM.min_level_dbm0
    min_tone_fraction: float = _MODEM.min_tone_fraction
    cng_max_dev_hz: float = _MODEM.cng_max_dev_hz
    ans_max_dev_hz: float = _MODEM.ans_max_dev_hz
    bell_max_dev_hz: float = _MODEM.bell_max_dev_hz
    am_min_depth_pct: float = _MODEM.am_min_depth_pct
    am_max_depth_pct: float = _MODEM.am_max_depth_pct
    cng_min_on_ms: int = _MODEM.cng_min_on_ms
    ced_min_on_ms: int = _MODEM.ced_min_on_ms
    bell_min_on_ms: int = _MODEM.bell_min_on_ms
    min_on_ms: int = _MODEM.min_on_ms
    max_gap_ms: int = _MODEM.max_gap_ms


class _NativeDetector:
    """One detector of the core for all the bank's channels: its descriptor,
    lane and channel states, and its event buffer. Every unit has the same
    entry points (lg_<unit>_desc_init, _bank_init, _reset, _max_events, _feed,
    _flush)."""

    def __init__(self, unit, channels, params, namers, setup=None):
        self._calls = {name: getattr(lib, f"lg_{unit}_{name}")
                       for name in ("desc_init", "bank_init", "reset", "max_events", "feed", "flush")}
        self.channels = channels
        self.namers = namers  # {event kind: [(reported kind, namer), ...]}
        self.desc = ffi.new(f"lg_{unit}_desc *")
        check(self._calls["desc_init"](self.desc, _params_to_c(params, unit)), f"{unit} parameters")
        if setup is not None:
            setup(self.desc)
        self.bank = ffi.new(f"lg_{unit}_bank *")
        self.lanes = ffi.new(f"lg_{unit}_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
        self.states = ffi.new(f"lg_{unit}_state[]", channels)
        check(self._calls["bank_init"](self.bank, self.lanes, self.states, channels), f"{unit} bank")
        self.events = None
        self.capacity = 0
        self._sized_for = None
        self._unit = unit

    def _reserve(self, nsamples):
        if nsamples == self._sized_for:  # blocks are usually all the same size
            return
        needed = check(self._calls["max_events"](self.channels, nsamples), f"{self._unit} event bound")
        self._sized_for = nsamples
        if needed > self.capacity:
            self.capacity = max(needed, 64)
            self.events = ffi.new("lg_event[]", self.capacity)

    def feed(self, samples, encoding, nsamples):
        """Runs one block; returns how many events are in self.events."""
        self._reserve(nsamples)
        return check(self._calls["feed"](self.desc, self.bank, self.lanes, self.states, samples, encoding,
                                         nsamples, nsamples, self.events, self.capacity), f"{self._unit} feed")

    def flush(self):
        self._reserve(0)
        return check(self._calls["flush"](self.desc, self.bank, self.lanes, self.states, self.events,
                                          self.capacity), f"{self._unit} flush")

    def reset(self, channel):
        check(self._calls["reset"](self.bank, self.lanes, self.states, channel), f"{self._unit} reset")


def _converted(events, count, namers):
    """The first `count` lg_event records as DetectorEvents; `namers` maps an
    event kind to the functions that name it (one per detector reporting it)."""
    if count == 0:
        return []
    records = np.frombuffer(ffi.buffer(events, count * _EVENT_DTYPE.itemsize), dtype=_EVENT_DTYPE)
    out = []
    for channel, kind, value, _flags, confidence, reason, start, end in records.tolist():
        end = None if end < 0 else end
        for name, namer in namers[kind]:
            shown, why = namer(value, reason)
            out.append(_event(channel, name, shown, start, end, round(confidence, 3), why))
    return out


def _dtmf_name(value, reason):
    return chr(value), None


def _modem_name(value, reason):
    return MODEM_TONES[value], None


def _modem_as_cpt(value, reason):
    return MODEM_CPT_CLASSES[value], MODEM_TONES[value]


_CPT = _c_defaults("cpt")


@dataclass(frozen=True)
class CptParams:
    """Call-progress classifier settings; the defaults come from the C core."""

    min_level_dbm0: float = _CPT.min_level_dbm0
    min_share: float = _CPT.min_share
    hold_share: float = _CPT.hold_share
    max_step_error: float = _CPT.max_step_error
    max_mean_error: float = _CPT.max_mean_error
    max_freq_dev_pct: float = _CPT.max_freq_dev_pct
    min_segment_ms: int = _CPT.min_segment_ms
    dial_min_ms: int = _CPT.dial_min_ms


_CADENCES = None


def cadence_table():
    """Every plan's cadences, compiled once per process."""
    global _CADENCES
    if _CADENCES is None:
        from gateway.dsp.cadence_table import CadenceTable
        _CADENCES = CadenceTable()
    return _CADENCES


_AMD = _c_defaults("amd")


@dataclass(frozen=True)
class AmdParams:
    """Answering-machine detector settings (like Asterisk's amd.conf); the
    defaults and their meaning are in native/amd.h."""

    initial_silence_ms: int = _AMD.initial_silence_ms
    max_greeting_ms: int = _AMD.max_greeting_ms
    after_greeting_silence_ms: int = _AMD.after_greeting_silence_ms
    total_analysis_ms: int = _AMD.total_analysis_ms
    beep_search_ms: int = _AMD.beep_search_ms
    word_gap_ms: int = _AMD.word_gap_ms
    phrase_gap_ms: int = _AMD.phrase_gap_ms
    density_window_ms: int = _AMD.density_window_ms
    density_pct: int = _AMD.density_pct
    continuous_min_word_ms: int = _AMD.continuous_min_word_ms
    short_greeting_ms: int = _AMD.short_greeting_ms
    chatty_words: int = _AMD.chatty_words
    chatty_max_word_ms: int = _AMD.chatty_max_word_ms
    chatty_max_gap_ms: int = _AMD.chatty_max_gap_ms
    chatty_silence_ms: int = _AMD.chatty_silence_ms
    min_speech_dbm0: float = _AMD.min_speech_dbm0
    vad_threshold_db: float = _AMD.vad_threshold_db
    relative_db: float = _AMD.relative_db
    floor_rise_db_per_s: float = _AMD.floor_rise_db_per_s
    beep_min_ms: int = _AMD.beep_min_ms
    beep_min_dbm0: float = _AMD.beep_min_dbm0
    beep_min_hz: float = _AMD.beep_min_hz
    beep_max_hz: float = _AMD.beep_max_hz
    beep_onset_db: float = _AMD.beep_onset_db
    model_human_pct: float = _AMD.model_human_pct
    model_machine_pct: float = _AMD.model_machine_pct


def _amd_name(value, reason):
    return AMD_CLASSES[value], AMD_REASONS.get(reason)


def _beep_name(value, reason):
    return str(value), None


class DetectorBank:
    """Detectors for ``channels`` channels fed in lock step."""

    def __init__(self, channels: int, detect=("dtmf",), rate: int = 8000,
                 encoding: str = "linear", dtmf: DtmfParams | None = None,
                 modem: ModemToneParams | None = None, cpt: CptParams | None = None,
                 amd: AmdParams | None = None, country: str | None = None):
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
        self.detect = tuple(dict.fromkeys(detect))
        self.rate = rate
        self.encoding = encoding
        self._dtype = np.int16 if encoding == "linear" else np.uint8
        self._encoding_code = ENCODINGS[encoding]
        self.dtmf_params = dtmf or DtmfParams()
        self.modem_params = modem or ModemToneParams()
        self.cpt_params = cpt or CptParams()
        self.amd_params = amd or AmdParams()
        self._detectors = []
        self._cpt = None
        if "dtmf" in self.detect:
            self._detectors.append(_NativeDetector("dtmf_rx", self.channels, self.dtmf_params,
                                                   {lib.LG_EVENT_DTMF: [("dtmf", _dtmf_name)]}))
        # One fax/modem unit serves both the "modem" and the "cpt" reports.
        modem_namers = ([("modem", _modem_name)] if "modem" in self.detect else []) + \
                       ([("cpt", _modem_as_cpt)] if "cpt" in self.detect else [])
        if modem_namers:
            self._detectors.append(_NativeDetector("modem_tone", self.channels, self.modem_params,
                                                   {lib.LG_EVENT_MODEM_TONE: modem_namers}))
        if "cpt" in self.detect:
            table = cadence_table()
            self._table = table
            self._cpt = _NativeDetector("cpt", self.channels, self.cpt_params,
                                        {lib.LG_EVENT_CPT: [("cpt", self._cpt_name)]}, setup=table.load_into)
            self._detectors.append(self._cpt)
        if "amd" in self.detect:
            self._detectors.append(_NativeDetector("amd", self.channels, self.amd_params,
                                                   {lib.LG_EVENT_AMD: [("amd", _amd_name)],
                                                    lib.LG_EVENT_BEEP: [("beep", _beep_name)]}))
        self.countries = [None] * self.channels
        if country is not None:
            for channel in range(self.channels):
                self.set_country(channel, country)

    def _cpt_name(self, value, reason):
        cadence = self._table.describe(reason)
        shown = cadence.subtype if cadence.cls == "sit" else cadence.cls
        return shown, f"{cadence.country}.{cadence.tone}"

    def set_country(self, channel: int, country: str | None) -> None:
        """The tone plan the call-progress classifier tries first on a channel
        (None: every plan alike). An unknown country is an error listing the known ones."""
        self._check_channel(channel)
        if self._cpt is None:
            raise UsageError("set_country needs the 'cpt' detector")
        index = self._table.country_index(country)
        check(lib.lg_cpt_set_country(self._cpt.bank, self._cpt.states, int(channel), index), "cpt country")
        self.countries[int(channel)] = None if country is None else self._table.countries[index]

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
        samples = ffi.from_buffer(block)
        events = []
        for detector in self._detectors:
            count = detector.feed(samples, self._encoding_code, nsamples)  # may grow its buffer
            events += _converted(detector.events, count, detector.namers)
        return events

    def flush(self) -> list[DetectorEvent]:
        """End of stream: end every tone in progress and return those events."""
        events = []
        for detector in self._detectors:
            count = detector.flush()
            events += _converted(detector.events, count, detector.namers)
        return events

    def _check_channel(self, channel):
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise UsageError(f"channel must be an integer, not {channel!r}")
        if not 0 <= channel < self.channels:
            raise UsageError(f"channel {channel} is outside 0..{self.channels - 1}")

    def reset(self, channel: int) -> None:
        """Restart one channel: forget its state; its sample clock restarts at 0."""
        self._check_channel(channel)
        for detector in self._detectors:
            detector.reset(int(channel))
