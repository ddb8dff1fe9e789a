"""Many-channel detection: one call into the C core per block for N channels and every detector.

    bank = DetectorBank(channels=256, detect=("dtmf", "cpt", "amd"), country="de")
    bank.set_active(3, ("dtmf", "cpt"))  # channel 3 dialling: no AMD there yet
    for event in bank.feed(block):      # block: int16, shape (256, samples)
        ...
    bank.flush()                         # end of stream: close tones in progress

Each channel runs the detectors active on it (all of ``detect`` at first);
``set_active(channel, names)`` changes that from the next block on, and an
inactive detector costs next to nothing on that channel. Turned off, a
detector drops a tone under way without its end event; turned on again it
starts afresh, its times still on the channel's clock.

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
- ``callerid``: an on-hook caller ID data message, Bell 202 or V.23 FSK
  (both at once, nothing to set per channel; native/fsk_rx.h), reported
  once when its checksum has come: ``value`` the message's bytes in hex
  (type, length, payload, checksum), ``reason`` "bell202" or "v23", or
  "checksum-failed" / "truncated" (the bytes that came, when the signal
  stopped after the type and length). ``start`` where the signal began,
  ``end`` after the last stop bit. ``gateway.dsp.callerid.from_event(event)``
  decodes it into a ``CallerId`` (a failed one raises ``CallerIdError``).
  DTMF CLIP comes as "dtmf" events: ``callerid.DtmfClipAssembler``.
- ``mfr2_fwd``, ``mfr2_bwd``: MFC/R2 register signals, forward (1380-1980
  Hz) or backward (540-1140 Hz), ``value`` "1".."15"; ``mfr1``: R1 (Bell MF)
  signals, ``value`` "0".."9", "KP", "ST", "ST'", "ST''", "ST'''"
  (gateway.dsp.mf). Reported when recognised (``end is None``) and again
  when it ends: compelled R2 acts on both edges. These are for the E1
  signalling stacks (``MF_DETECTORS``), not offered to host applications
  over CTI.
Times are sample indices since the channel's last ``reset``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gateway.dsp import mf
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
DETECTORS = ("dtmf", "modem", "cpt", "amd", "callerid")
# Register signalling for the E1 stacks (the R2 stack runs them); CTI's
# call.make offers DETECTORS only.
MF_DETECTORS = ("mfr2_fwd", "mfr2_bwd", "mfr1")
MF_EVENT_KINDS = {"mfr2_fwd": lib.LG_EVENT_MFR2_FWD, "mfr2_bwd": lib.LG_EVENT_MFR2_BWD, "mfr1": lib.LG_EVENT_MFR1}
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


# A block can carry dozens of events, and building them is most of what a
# feed costs in Python. A frozen dataclass's __init__ sets each field through
# object.__setattr__; even filling a new instance's slots through their
# descriptors costs ~500 ns. An instance of a twin class with the same slots
# and no frozen __setattr__ is filled by plain attribute stores (~10 ns each)
# and then given its real class: the same DetectorEvent, as immutable for
# users as one built by __init__ (Python allows the switch between classes of
# identical layout, and refuses it otherwise: checked at import below).
class _EventDraft:
    __slots__ = DetectorEvent.__slots__


_new_object = object.__new__


def _event(channel, kind, value, start, end, confidence, reason):
    event = _new_object(_EventDraft)
    event.channel = channel
    event.kind = kind
    event.value = value
    event.start = start
    event.end = end
    event.confidence = confidence
    event.reason = reason
    event.__class__ = DetectorEvent
    return event


# Raises TypeError here, not at the first event, should the layouts ever differ.
_event(0, "dtmf", "1", 0, None, 1.0, None)


def _c_defaults(unit):
    params = ffi.new(f"lg_{unit}_params *")
    getattr(lib, f"lg_{unit}_params_default")(params)
    return params


def _params_to_c(params, unit, fixed=None):
    """A frozen params dataclass as the C struct of `unit`, checked by C (whose
    limits these are): the error names the field and the value. `fixed`: C
    fields the dataclass does not carry (an MF receiver's kind)."""
    label = type(params).__name__
    struct = ffi.new(f"lg_{unit}_params *")
    for name, value in (fixed or {}).items():
        setattr(struct, name, value)
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


class _NativeUnit:
    """One unit of the core for all the bank's channels: its descriptor, lane
    and channel states, and which of the bank's detectors it serves. Every
    unit has the same entry points (lg_<unit>_desc_init, _bank_init, _reset,
    _set_active, _max_events, _feed, _flush); the bank feeds them all through
    one lg_detector_set."""

    def __init__(self, unit, channels, params, names, namers, setup=None, fixed=None):
        self.unit = unit
        self.names = frozenset(names)  # the bank's detectors this unit runs for
        self.namers = namers  # {event kind: [(reported kind, namer), ...]}
        self.desc = ffi.new(f"lg_{unit}_desc *")
        check(getattr(lib, f"lg_{unit}_desc_init")(self.desc, _params_to_c(params, unit, fixed)),
              f"{unit} parameters")
        if setup is not None:
            setup(self.desc)
        self.bank = ffi.new(f"lg_{unit}_bank *")
        self.lanes = ffi.new(f"lg_{unit}_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
        self.states = ffi.new(f"lg_{unit}_state[]", channels)
        check(getattr(lib, f"lg_{unit}_bank_init")(self.bank, self.lanes, self.states, channels), f"{unit} bank")
        self._reset = getattr(lib, f"lg_{unit}_reset")
        self._set_active = getattr(lib, f"lg_{unit}_set_active")
        self.active = [True] * channels  # as the core has it: channels start on

    def set_active(self, channel, active):
        check(self._set_active(self.bank, self.lanes, self.states, channel, int(active)),
              f"{self.unit} set_active")
        self.active[channel] = active

    def reset(self, channel):
        check(self._reset(self.bank, self.lanes, self.states, channel), f"{self.unit} reset")


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
    model_human_later_pct: float = _AMD.model_human_later_pct


_FSK = _c_defaults("fsk_rx")


@dataclass(frozen=True)
class FskParams:
    """Caller ID FSK receiver settings; the defaults and their meaning are in
    native/fsk_rx.h."""

    min_level_dbm0: float = _FSK.min_level_dbm0
    min_share: float = _FSK.min_share
    max_freq_dev_pct: float = _FSK.max_freq_dev_pct
    min_mark_bits: int = _FSK.min_mark_bits
    max_gap_bits: int = _FSK.max_gap_bits


# A caller ID report's reason: the standard, or why the message failed.
CALLERID_STANDARDS = {lib.LG_FSK_RX_BELL202: "bell202", lib.LG_FSK_RX_V23: "v23"}


def _callerid_reason(reason):
    if reason & lib.LG_FSK_RX_CHECKSUM_FAILED:
        return "checksum-failed"
    if reason & lib.LG_FSK_RX_TRUNCATED:
        return "truncated"
    return CALLERID_STANDARDS[reason & lib.LG_FSK_RX_STANDARD_MASK]


@dataclass(frozen=True)
class MfParams:
    """One MF receiver's settings (native/mf_rx.h); ``MfParams.defaults(kind)``
    are the C core's for "mfr2_fwd", "mfr2_bwd" or "mfr1", and
    ``dataclasses.replace`` changes some of them."""

    min_level_dbm0: float
    max_twist_db: float
    max_freq_dev_hz: float
    max_freq_dev_pct: float
    min_tone_fraction: float
    min_peak_ratio_db: float
    min_on_ms: int
    kp_min_on_ms: int
    min_off_ms: int

    @classmethod
    def defaults(cls, kind: str) -> "MfParams":
        if kind not in MF_DETECTORS:
            raise UsageError(f"kind={kind!r}: one of {', '.join(MF_DETECTORS)}")
        struct = ffi.new("lg_mf_rx_params *")
        check(lib.lg_mf_rx_params_default(struct, mf.KINDS[kind]), "MF receiver defaults")
        return cls(**{field.name: getattr(struct, field.name) for field in dataclasses.fields(cls)})


def _mf_namer(kind):
    names = mf.NAMES[kind]

    def name(value, reason):
        return names[value - 1], None
    return name


def _amd_name(value, reason):
    return AMD_CLASSES[value], AMD_REASONS.get(reason)


def _beep_name(value, reason):
    return str(value), None


class DetectorBank:
    """Detectors for ``channels`` channels fed in lock step: one call into the
    core per block for all channels and detectors. Each channel runs the
    detectors of ``detect`` that are active on it (all, at first; see
    ``set_active``)."""

    def __init__(self, channels: int, detect=("dtmf",), rate: int = 8000,
                 encoding: str = "linear", dtmf: DtmfParams | None = None,
                 modem: ModemToneParams | None = None, cpt: CptParams | None = None,
                 amd: AmdParams | None = None, callerid: FskParams | None = None, country: str | None = None,
                 mfr2_fwd: MfParams | None = None, mfr2_bwd: MfParams | None = None, mfr1: MfParams | None = None):
        if not isinstance(channels, (int, np.integer)) or channels < 1:
            raise UsageError(f"channels must be a positive integer, not {channels!r}")
        if isinstance(detect, str):
            detect = (detect,)
        unknown = [d for d in detect if d not in DETECTORS + MF_DETECTORS]
        if unknown or not detect:
            raise UsageError(f"detect={tuple(detect)!r}: known detectors are "
                             f"{', '.join(DETECTORS + MF_DETECTORS)}")
        if rate != lib.LG_SAMPLE_RATE:
            raise UsageError(f"rate={rate}: the detectors run at {lib.LG_SAMPLE_RATE} Hz; resample first")
        if encoding not in ENCODINGS:
            raise UsageError(f"encoding={encoding!r}: one of {', '.join(ENCODINGS)}")
        self.channels = int(channels)
        self.detect = tuple(dict.fromkeys(detect))
        self.rate = rate
        self.encoding = encoding
        self._dtype = np.dtype(np.int16 if encoding == "linear" else np.uint8)
        self._encoding_code = ENCODINGS[encoding]
        self.dtmf_params = dtmf or DtmfParams()
        self.modem_params = modem or ModemToneParams()
        self.cpt_params = cpt or CptParams()
        self.amd_params = amd or AmdParams()
        self.callerid_params = callerid or FskParams()
        given_mf = {"mfr2_fwd": mfr2_fwd, "mfr2_bwd": mfr2_bwd, "mfr1": mfr1}
        self.mf_params = {kind: given_mf[kind] or MfParams.defaults(kind) for kind in MF_DETECTORS}
        units = []
        self._cpt = None
        if "dtmf" in self.detect:
            units.append(_NativeUnit("dtmf_rx", self.channels, self.dtmf_params, ("dtmf",),
                                     {lib.LG_EVENT_DTMF: [("dtmf", _dtmf_name)]}))
        # One fax/modem unit serves both the "modem" and the "cpt" reports.
        modem_namers = ([("modem", _modem_name)] if "modem" in self.detect else []) + \
                       ([("cpt", _modem_as_cpt)] if "cpt" in self.detect else [])
        if modem_namers:
            units.append(_NativeUnit("modem_tone", self.channels, self.modem_params,
                                     [name for name, _ in modem_namers], {lib.LG_EVENT_MODEM_TONE: modem_namers}))
        if "cpt" in self.detect:
            table = cadence_table()
            self._table = table
            self._cpt = _NativeUnit("cpt", self.channels, self.cpt_params, ("cpt",),
                                    {lib.LG_EVENT_CPT: [("cpt", self._cpt_name)]}, setup=table.load_into)
            units.append(self._cpt)
        if "amd" in self.detect:
            units.append(_NativeUnit("amd", self.channels, self.amd_params, ("amd",),
                                     {lib.LG_EVENT_AMD: [("amd", _amd_name)],
                                      lib.LG_EVENT_BEEP: [("beep", _beep_name)]}))
        # One MF unit per kind listened for: the descriptor says which.
        for kind in MF_DETECTORS:
            if kind in self.detect:
                units.append(_NativeUnit("mf_rx", self.channels, self.mf_params[kind], (kind,),
                                         {MF_EVENT_KINDS[kind]: [(kind, _mf_namer(kind))]},
                                         fixed={"kind": mf.KINDS[kind]}))
        # Caller ID events carry their message's bytes, read from the unit's
        # per-channel store: named per event, never cached.
        self._uncached = {}
        if "callerid" in self.detect:
            fsk = _NativeUnit("fsk_rx", self.channels, self.callerid_params, ("callerid",), {})
            self._fsk = fsk
            self._message = ffi.new("uint8_t[]", lib.LG_FSK_RX_MAX_MESSAGE)
            self._uncached[lib.LG_EVENT_CALLERID] = self._callerid_labels
            units.append(fsk)
        self._units = tuple(units)
        # Every event kind comes from one unit only, so one table names them all.
        self._namers = {kind: namers for unit in units for kind, namers in unit.namers.items()}
        # (kind, value, reason) -> ((reported kind, value, reason), ...): naming is
        # a pure function of these, and their combinations are few (keys,
        # tones, cadences, AMD reasons, beep frequencies in Hz).
        self._labels = {}
        self._rounded = {1.0: 1.0}  # confidence as C has it (thousandths in float32) -> as shown
        self._set = ffi.new("lg_detector_set *")
        check(lib.lg_detector_set_init(self._set, self.channels), "detector set")
        for unit in units:
            check(lib.lg_detector_set_add(self._set, getattr(lib, f"LG_UNIT_{unit.unit.upper()}"), unit.desc,
                                          unit.bank, unit.lanes, unit.states), f"detector set: {unit.unit}")
        self._set_feed = lib.lg_detector_set_feed
        self._set_flush = lib.lg_detector_set_flush
        self._set_max_events = lib.lg_detector_set_max_events
        self._max_feed = check(lib.lg_detector_set_max_feed(self._set), "detector set")  # 0: no limit
        self._events = None
        self._event_bytes = None
        self._capacity = 0
        self._sized_for = None
        self._all = frozenset(self.detect)
        self._active = [self._all] * self.channels  # per channel: the names active on it
        self.countries = [None] * self.channels
        if country is not None:
            for channel in range(self.channels):
                self.set_country(channel, country)

    def _callerid_labels(self, channel, value, reason):
        n = check(lib.lg_fsk_rx_message(self._fsk.bank, self._fsk.states, channel, value, self._message,
                                        lib.LG_FSK_RX_MAX_MESSAGE), "caller ID message")
        return (("callerid", ffi.buffer(self._message, n)[:].hex(), _callerid_reason(reason)),)

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

    def set_active(self, channel: int, detectors) -> None:
        """Runs only ``detectors`` (names among the bank's ``detect``) on one
        channel from the next block on; an empty tuple turns the channel's
        detectors all off. An inactive detector costs next to nothing, reports
        nothing, and drops a tone under way without its end event; turned on
        again it starts afresh on the channel's clock (times stay samples since
        the channel's last ``reset``). The fax/modem unit runs while "modem"
        or "cpt" is active; its tones come under the active names only (a
        switch between the two keeps a tone under way: its end comes under
        the names active then)."""
        self._check_channel(channel)
        channel = int(channel)
        if isinstance(detectors, str):
            detectors = (detectors,)
        try:
            names = list(detectors)
        except TypeError:
            raise UsageError(f"set_active: detectors must be an iterable of names, not {detectors!r}") from None
        bad = [name for name in names if not isinstance(name, str) or name not in self.detect]
        if bad:
            raise UsageError(f"set_active({channel}, ...): {', '.join(map(repr, bad))} not among this bank's "
                             f"detectors ({', '.join(self.detect)})")
        wanted = frozenset(names)
        changes = [(unit, bool(unit.names & wanted)) for unit in self._units
                   if bool(unit.names & wanted) != unit.active[channel]]
        for unit, on in changes:
            unit.set_active(channel, on)
        self._active[channel] = self._all if wanted == self._all else wanted

    def active(self, channel: int) -> tuple:
        """The detectors active on a channel, in the order of ``detect``."""
        self._check_channel(channel)
        active = self._active[int(channel)]
        return tuple(name for name in self.detect if name in active)

    def _reserve(self, needed):
        if needed > self._capacity:
            self._capacity = max(needed, 64)
            self._events = ffi.new("lg_event[]", self._capacity)
            self._event_bytes = ffi.buffer(self._events)

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
                f"block dtype must be {self._dtype.name} for encoding={self.encoding!r}, not {block.dtype}")
        if not block.flags.c_contiguous:
            block = np.ascontiguousarray(block)
        nsamples = block.shape[1]
        if nsamples == 0:
            return []
        if self._max_feed and nsamples > self._max_feed:
            # A unit keeps a few reports' data per channel (caller ID): a long
            # block goes in pieces, each read out before the next.
            events = []
            base = ffi.cast("char *", ffi.from_buffer(block))
            for at in range(0, nsamples, self._max_feed):
                events += self._feed_span(base + at * block.itemsize, nsamples,
                                          min(self._max_feed, nsamples - at))
            return events
        return self._feed_span(ffi.from_buffer(block), nsamples, nsamples)

    def _feed_span(self, samples, stride, nsamples):
        if nsamples != self._sized_for:  # blocks are usually all the same size
            self._reserve(check(self._set_max_events(self._set, nsamples), "event bound"))
            self._sized_for = nsamples
        count = self._set_feed(self._set, samples, self._encoding_code, stride, nsamples,
                               self._events, self._capacity)
        if count <= 0:
            return [] if count == 0 else check(count, "feed")
        return self._converted(count)

    def flush(self) -> list[DetectorEvent]:
        """End of stream: end every tone in progress and return those events."""
        self._reserve(check(self._set_max_events(self._set, 0), "event bound"))
        count = check(self._set_flush(self._set, self._events, self._capacity), "flush")
        return self._converted(count) if count else []

    def _converted(self, count):
        """The first `count` lg_event records of the buffer as DetectorEvents
        (_event inlined, to save a call per event)."""
        labels_of = self._labels.get
        active = self._active
        out = []
        append = out.append
        for channel, kind, value, _flags, confidence, reason, start, end in \
                np.frombuffer(self._event_bytes, _EVENT_DTYPE, count).tolist():
            labels = labels_of((kind, value, reason)) or self._label(kind, value, reason, channel)
            if len(labels) > 1:
                # A unit serving several detectors (fax/modem: "modem" and
                # "cpt") runs while any of them is active on the channel; a
                # unit serving one runs only while that one is.
                labels = [label for label in labels if label[0] in active[channel]]
            shown_confidence = self._rounded.get(confidence)
            if shown_confidence is None:
                shown_confidence = self._rounded[confidence] = round(confidence, 3)
            confidence = shown_confidence
            if end < 0:
                end = None
            for name, shown, why in labels:
                event = _new_object(_EventDraft)
                event.channel = channel
                event.kind = name
                event.value = shown
                event.start = start
                event.end = end
                event.confidence = confidence
                event.reason = why
                event.__class__ = DetectorEvent
                append(event)
        return out

    def _label(self, kind, value, reason, channel):
        uncached = self._uncached.get(kind)
        if uncached is not None:
            return uncached(channel, value, reason)
        labels = tuple((name,) + namer(value, reason) for name, namer in self._namers[kind])
        self._labels[kind, value, reason] = labels
        return labels

    def _check_channel(self, channel):
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise UsageError(f"channel must be an integer, not {channel!r}")
        if not 0 <= channel < self.channels:
            raise UsageError(f"channel {channel} is outside 0..{self.channels - 1}")

    def reset(self, channel: int) -> None:
        """Restart one channel: forget its state; its sample clock restarts at 0.
        The detectors active on it stay so."""
        self._check_channel(channel)
        channel = int(channel)
        for unit in self._units:
            unit.reset(channel)  # a unit's reset keeps the channel on or off
