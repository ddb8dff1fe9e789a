"""``linegate analyze``: run the native detectors over WAV recordings.

    linegate analyze tests/fixtures/dtmf/dev-dtmf-0017.wav
    linegate analyze --json recordings/ > predictions.jsonl

Each file is read block by block, brought to 8 kHz, fed to a one-channel
DetectorBank in blocks of --block-ms, and flushed at its end. With --json
every file gives one line in the prediction format of the evaluation corpus
(../shared/corpus/README.md, "Scoring"), ready for its score.py; with
--detect callerid the line also carries "callerid": one object per FSK
message or DTMF CLIP string heard (decoded fields, or "error"); with --detect
mfr2_fwd, mfr2_bwd or mfr1 (MFC/R2 forward or backward, R1 register signals)
a key of that name lists the signals heard: {"signal", "start", "end"}.

A file that cannot be read gets one line on stderr; the other files are still
analysed and the exit status is 1.

gateway.dsp is imported inside the functions, not at the top: importing it
loads the compiled core, and `linegate --version` / `--help` must work on an
install whose core is broken (that is when people run them).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from gateway.errors import AudioFormatError, InputError, UsageError

DEFAULT_BLOCK_MS = 20
MAX_BLOCK_MS = 1000
DETECTOR_RATE = 8000  # equals LG_SAMPLE_RATE of the core; DetectorBank checks it


@dataclass(frozen=True)
class DetectedDigit:
    """One DTMF key, with the times of its tone burst in seconds."""

    digit: str
    start: float
    end: float


@dataclass(frozen=True)
class DetectedSignal:
    """One MF register signal ("1".."15" for R2; "0".."9", "KP", "ST", ...
    for R1), with its times in seconds."""

    signal: str
    start: float
    end: float


@dataclass(frozen=True)
class CallProgress:
    """What the call-progress classifier named a file: its class (the corpus's:
    dial, ringback, busy, congestion, sit, fax_cng, fax_ced, modem, none),
    the finer value (a SIT subtype, a modem tone), when it decided (seconds
    of audio heard by then) and why (the cadence that fitted)."""

    cls: str
    value: str | None = None
    time: float | None = None
    reason: str | None = None
    confidence: float | None = None


NO_CALL_PROGRESS = CallProgress("none")


@dataclass(frozen=True)
class MachineDetection:
    """The answering-machine detector's decision on a file (taken as if the
    call was answered at its start): human, machine or notsure, when, why,
    and the first beep's start (None if none)."""

    cls: str
    time: float | None
    reason: str | None
    beep_time: float | None


@dataclass(frozen=True)
class CallerIdReport:
    """A caller ID heard in a file: FSK (its message) or DTMF CLIP, with its
    times in seconds. ``cid`` is None when the message failed (``error``
    says why: checksum-failed, truncated, or what was malformed)."""

    start: float
    end: float
    standard: str | None
    cid: object | None  # gateway.dsp.callerid.CallerId
    message: str | None = None  # the FSK message's bytes, hex
    error: str | None = None

    def record(self) -> dict:
        record = {"start": round(self.start, 3), "end": round(self.end, 3), "standard": self.standard}
        if self.cid is not None:
            for name in ("format", "number", "name", "time", "number_absent_reason", "name_absent_reason"):
                record[name] = getattr(self.cid, name)
        else:
            record["error"] = self.error
        if self.message is not None:
            record["message"] = self.message
        return record

    def describe(self) -> str:
        span = f"{self.start:.2f}-{self.end:.2f} s"
        if self.cid is None:
            return f"failed ({self.error}) at {span}" + (f": {self.message}" if self.message else "")
        cid = self.cid
        parts = []
        if cid.number or cid.number_absent_reason:
            parts.append(cid.number or f"number {cid.number_absent_reason}")
        if cid.name or cid.name_absent_reason:
            parts.append(cid.name or f"name {cid.name_absent_reason}")
        if cid.time:
            parts.append(f"{cid.time[0:2]}/{cid.time[2:4]} {cid.time[4:6]}:{cid.time[6:8]}")
        how = cid.standard if cid.format == cid.standard else f"{cid.standard} {cid.format}"
        return f"{', '.join(parts) or '(no number)'} ({how}) at {span}"


@dataclass(frozen=True)
class FileAnalysis:
    path: Path
    rate: int
    channels: int
    sample_format: str
    duration: float
    digits: tuple[DetectedDigit, ...]
    detect: tuple[str, ...] = ("dtmf",)
    call_progress: CallProgress | None = None
    machine: MachineDetection | None = None
    caller_ids: tuple[CallerIdReport, ...] | None = None
    mf_signals: dict[str, tuple[DetectedSignal, ...]] | None = None  # per MF detector asked for

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def digit_string(self) -> str:
        return "".join(d.digit for d in self.digits)

    def prediction(self) -> dict:
        """The corpus's prediction record for this file."""
        record = {"id": self.id}
        if "dtmf" in self.detect:
            record["digits"] = [{"digit": d.digit, "start": round(d.start, 3), "end": round(d.end, 3)}
                                for d in self.digits]
        if self.call_progress is not None:
            cp = self.call_progress
            record["class"] = cp.cls
            record["time"] = None if cp.time is None else round(cp.time, 3)
            if cp.value is not None and cp.value != cp.cls:
                record["subtype"] = cp.value
            if cp.reason is not None:
                record["reason"] = cp.reason
        if self.machine is not None:
            md = self.machine
            # One class per record: with cpt too, the AMD decision goes under "amd".
            fields = {"class": md.cls, "time": None if md.time is None else round(md.time, 3),
                      "beep_time": None if md.beep_time is None else round(md.beep_time, 3), "reason": md.reason}
            if self.call_progress is None:
                record.update(fields)
            else:
                record["amd"] = fields
        if self.caller_ids is not None:
            record["callerid"] = [report.record() for report in self.caller_ids]
        for kind, signals in (self.mf_signals or {}).items():
            record[kind] = [{"signal": s.signal, "start": round(s.start, 3), "end": round(s.end, 3)}
                            for s in signals]
        return record


def analyze_file(path, *, channel: int | None = None, block_ms: int = DEFAULT_BLOCK_MS,
                 detect: tuple[str, ...] = ("dtmf",), country: str | None = None) -> FileAnalysis:
    """Detect in one WAV file. Raises AudioFormatError (or OSError) for a file it cannot read."""
    from gateway.dsp.detector_bank import DetectorBank
    from gateway.dsp.resample import Resampler
    from gateway.dsp.wav import open_wav

    path = Path(path)
    wav = open_wav(path, channel=channel)
    try:
        resampler = Resampler(wav.rate, DETECTOR_RATE)
    except UsageError as exc:
        # The rate came from the file, so it is the file that we cannot serve.
        raise AudioFormatError(str(exc), source=path, field="rate", value=wav.rate,
                               offset=wav.fmt_offset + 4) from exc

    def samples_at_detector_rate() -> Iterator[np.ndarray]:
        for block in wav.blocks(max(1, wav.rate * block_ms // 1000)):
            yield resampler.feed(block)
        yield resampler.flush()

    # DTMF CLIP comes as DTMF digits: caller ID listens for those too.
    run = tuple(detect) + (("dtmf",) if "callerid" in detect and "dtmf" not in detect else ())
    bank = DetectorBank(channels=1, detect=run, rate=DETECTOR_RATE,
                        country=country if "cpt" in detect else None)
    events = []
    heard = 0  # samples fed when each event came out: when it was decided
    for block in fixed_blocks(samples_at_detector_rate(), DETECTOR_RATE * block_ms // 1000):
        heard += len(block)
        events.extend((heard, ev) for ev in bank.feed(block))
    events.extend((heard, ev) for ev in bank.flush())
    call_progress = first_call_progress(events) if "cpt" in detect else None
    events = [ev for _, ev in events]
    machine = machine_detection(events) if "amd" in detect else None
    caller_ids = caller_id_reports(events) if "callerid" in detect else None
    mf_signals = {kind: tuple(DetectedSignal(ev.value, ev.start / DETECTOR_RATE, ev.end / DETECTOR_RATE)
                              for ev in sorted((ev for ev in events if ev.kind == kind and ev.ended),
                                               key=lambda ev: ev.start))
                  for kind in MF_DETECTORS if kind in detect} or None

    digits = tuple(
        DetectedDigit(ev.value, ev.start / DETECTOR_RATE, ev.end / DETECTOR_RATE)
        for ev in sorted((ev for ev in events if ev.kind == "dtmf" and ev.ended), key=lambda ev: ev.start)
    ) if "dtmf" in detect else ()
    return FileAnalysis(path, wav.rate, wav.channels, wav.sample_format, wav.duration, digits, tuple(detect),
                        call_progress, machine, caller_ids, mf_signals)


def caller_id_reports(events) -> tuple[CallerIdReport, ...]:
    """The FSK caller ID messages and DTMF CLIP strings among a file's
    events, in time order."""
    from gateway.dsp.callerid import DtmfClipAssembler, from_event
    from gateway.errors import CallerIdError

    reports = []
    for ev in events:
        if ev.kind != "callerid":
            continue
        try:
            cid, error = from_event(ev), None
        except CallerIdError as exc:
            cid, error = None, ev.reason if ev.reason in ("checksum-failed", "truncated") else str(exc)
        reports.append(CallerIdReport(ev.start / DETECTOR_RATE, ev.end / DETECTOR_RATE,
                                      cid.standard if cid else None, cid, ev.value, error))
    clip = DtmfClipAssembler()
    first = last = None  # the keys (events) that began and last extended the string under way
    for ev in sorted((ev for ev in events if ev.kind == "dtmf" and ev.ended), key=lambda ev: ev.start):
        before = (first, last) if clip.pending else None
        try:
            cid = clip.feed(ev)
        except CallerIdError as exc:
            # The key either ended a malformed string or revealed that the
            # string before it had stopped (and may have begun a new one).
            stale = before is not None and clip.pending == ev.value
            begun, ended = before if stale else (before[0] if before else ev, ev)
            reports.append(CallerIdReport(begun.start / DETECTOR_RATE, ended.end / DETECTOR_RATE, "dtmf", None,
                                          error=str(exc)))
            first = last = ev if clip.pending else None
            continue
        if cid is not None:
            reports.append(CallerIdReport((first or ev).start / DETECTOR_RATE, ev.end / DETECTOR_RATE, "dtmf", cid))
        elif clip.pending:
            first = first if before else ev
            last = ev
    if clip.pending:
        reports.append(CallerIdReport(first.start / DETECTOR_RATE, last.end / DETECTOR_RATE, "dtmf", None,
                                      error=f"DTMF caller ID {clip.pending!r} incomplete at the end of the file"))
    return tuple(sorted(reports, key=lambda report: report.start))


def machine_detection(events) -> MachineDetection:
    decision = next((ev for ev in events if ev.kind == "amd"), None)
    beep = next((ev for ev in events if ev.kind == "beep"), None)
    return MachineDetection(decision.value if decision else "notsure",
                            decision.start / DETECTOR_RATE if decision else None,
                            decision.reason if decision else None,
                            beep.start / DETECTOR_RATE if beep else None)


def first_call_progress(timed_events) -> CallProgress:
    """The first call-progress class reported, decided when it came out. A
    2100 Hz tone refined later (CED, then its reversals or modulation: the
    same start) takes the refined class and keeps the first time."""
    first = None
    for heard, ev in timed_events:
        if ev.kind != "cpt" or ev.ended:
            continue
        if first is None:
            first = (heard, ev)
        elif ev.start == first[1].start and first[1].value == "fax_ced" and ev.value == "modem":
            first = (first[0], ev)
    if first is None:
        return NO_CALL_PROGRESS
    heard, ev = first
    cls = "sit" if ev.value.startswith("sit") else ev.value
    return CallProgress(cls, ev.value, heard / DETECTOR_RATE, ev.reason, ev.confidence)


def fixed_blocks(chunks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Re-cut a stream of arrays of any lengths into blocks of ``size`` (the last may be shorter)."""
    pending = np.zeros(0, np.int16)
    for chunk in chunks:
        pending = np.concatenate([pending, chunk]) if len(pending) else chunk
        whole = len(pending) - len(pending) % size
        for start in range(0, whole, size):
            yield pending[start:start + size]
        pending = pending[whole:]
    if len(pending):
        yield pending


def find_wav_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """The files to analyse, in order, and a problem line for each path that is neither
    a file nor a folder. A folder gives its *.wav files (any case), recursively, sorted."""
    files: list[Path] = []
    problems: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".wav" and p.is_file()))
        elif path.is_file():
            files.append(path)  # named explicitly: analysed whatever its extension
        else:
            problems.append(f"{path}: no such file or folder")
    return files, problems


def _int_in_range(text: str, *, highest: int | None = None, lowest: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < lowest or (highest is not None and value > highest):
        bounds = f"{lowest}..{highest}" if highest is not None else f"{lowest} or more"
        raise argparse.ArgumentTypeError(f"{value} is outside {bounds}")
    return value


# The detectors whose results this command prints (fax and modem tones are
# call-progress classes of `--detect cpt`); the MF register signals are
# gateway.dsp.detector_bank.MF_DETECTORS (not imported: see the docstring).
MF_DETECTORS = ("mfr2_fwd", "mfr2_bwd", "mfr1")
REPORTED_DETECTORS = ("dtmf", "cpt", "amd", "callerid") + MF_DETECTORS


def _detector_list(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in REPORTED_DETECTORS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(
            f"unknown detector {', '.join(map(repr, unknown)) or repr(text)}; known: {', '.join(REPORTED_DETECTORS)}")
    return kinds


def _country(text: str) -> str:
    from gateway.dsp.tone_plan import load_plan

    try:
        return load_plan(text.strip().lower()).country
    except InputError as exc:  # names the known countries
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "analyze", help="detect DTMF, call progress, answering machines, caller ID and MF signals in WAV recordings",
        description="Run the native detectors over WAV files (any rate: resampled to 8 kHz) and report "
                    "what they find. PATH is a WAV file or a folder, searched recursively for *.wav.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="WAV file or folder")
    parser.add_argument("--detect", type=_detector_list, default=("dtmf",), metavar="KIND[,KIND]",
                        help="detectors to run (default: dtmf)")
    parser.add_argument("--country", type=_country, metavar="CC",
                        help="the network's tone plan, tried first by --detect cpt (e.g. de, us, uk)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per file and line, the evaluation corpus's prediction format")
    parser.add_argument("--channel", type=lambda t: _int_in_range(t, lowest=0), metavar="N",
                        help="which channel of a stereo/multi-channel file to analyse (0-based)")
    parser.add_argument("--block-ms", type=lambda t: _int_in_range(t, highest=MAX_BLOCK_MS),
                        default=DEFAULT_BLOCK_MS, metavar="MS",
                        help=f"milliseconds of audio per call into the detectors (default: {DEFAULT_BLOCK_MS})")
    parser.set_defaults(run=run)


def run(args) -> int:
    files, problems = find_wav_files(args.paths)
    if not files:
        raise InputError("no WAV files found" + (": " + "; ".join(problems) if problems else
                                                   f" in {', '.join(map(str, args.paths))}"))
    for problem in problems:
        _report_failure(problem)
    failures = len(problems)
    for path in files:
        try:
            result = analyze_file(path, channel=args.channel, block_ms=args.block_ms, detect=args.detect,
                                  country=args.country)
        except InputError as exc:  # AudioFormatError names the file itself
            _report_failure(str(exc))
            failures += 1
            continue
        except OSError as exc:  # unreadable: permissions, vanished, a device
            _report_failure(f"{path}: {exc.strerror or exc}")
            failures += 1
            continue
        print(json.dumps(result.prediction()) if args.json else format_table(result), flush=True)
    return 1 if failures else 0


def _report_failure(message: str) -> None:
    print(f"linegate analyze: {message}", file=sys.stderr, flush=True)


def format_table(result: FileAnalysis) -> str:
    """The human-readable report of one file."""
    lines = [f"{result.path}  ({result.rate} Hz {result.sample_format}, {result.duration:.2f} s)"]
    if "dtmf" in result.detect:
        lines.append(f"  digits: {result.digit_string or '(none)'}")
    cp = result.call_progress
    if cp is not None:
        shown = cp.cls if cp.value in (None, cp.cls) else f"{cp.cls} ({cp.value})"
        when = "" if cp.time is None else f" at {cp.time:.2f} s"
        why = "" if cp.reason is None else f", fits {cp.reason}"
        lines.append(f"  call progress: {shown}{when}{why}")
    md = result.machine
    if md is not None:
        when = "" if md.time is None else f" at {md.time:.2f} s"
        why = "" if md.reason is None else f" ({md.reason})"
        beep = "" if md.beep_time is None else f", beep at {md.beep_time:.2f} s"
        lines.append(f"  answered by: {md.cls}{when}{why}{beep}")
    if result.caller_ids is not None:
        lines.extend(f"  caller ID: {report.describe()}" for report in result.caller_ids)
        if not result.caller_ids:
            lines.append("  caller ID: (none)")
    for kind, signals in (result.mf_signals or {}).items():
        lines.append(f"  {kind}: {' '.join(s.signal for s in signals) or '(none)'}")
    if result.digits:
        lines.append("  digit   start s     end s")
        lines.extend(f"  {d.digit:<5} {d.start:>9.3f} {d.end:>9.3f}" for d in result.digits)
    for kind, signals in (result.mf_signals or {}).items():
        if signals:
            lines.append(f"  {kind:<8} start s     end s")
            lines.extend(f"  {s.signal:<8} {s.start:>7.3f} {s.end:>9.3f}" for s in signals)
    return "\n".join(lines)
