"""Detector throughput: Linegate's DetectorBank against spandsp, same audio, same run.

    python tests/bench/bench_dsp.py [--suite dtmf|combined|all] [--channels 256] [--seconds 10] [--repeats 3]

Two comparisons (``--suite``, both by default):

- ``dtmf``: ``channels`` channels of ``seconds`` of speech-like audio with DTMF
  digits in it, fed in 20 ms blocks to ``gateway.dsp.DetectorBank(channels=N,
  detect=("dtmf",))`` and to spandsp's ``dtmf_rx`` (tests/reference/spandsp.py,
  one C call per block for all channels, like Linegate);
- ``combined``: every detector on every channel: Linegate's
  ``DetectorBank(detect=("dtmf", "cpt", "amd"))`` ("amd" when the core has it;
  "cpt" runs the call-progress unit and the fax/modem tone unit) against spandsp
  running ``dtmf_rx`` + ``super_tone_rx`` (a German call-progress tone set) +
  ``modem_connect_tones_rx`` twice (FAX_CNG and ANSAM_PR) on every channel, on
  the same audio: the DTMF workload where half the channels begin with a tone
  instead (dial, ringback, busy, congestion, SIT, fax CNG, ANSam/PR).

Each is run once as 16-bit linear and once as G.711 mu-law, and prints for each:

- 8 kHz channels per core: channel-seconds of audio processed per CPU second
  (``time.process_time``, one thread), i.e. how many live channels one core
  keeps up with; the same per wall-clock second beside it;
- digits found / digits sent and false digits (and for ``combined``, tones
  recognised / sent and wrong tone reports), as a sanity check that both
  detectors did the work (a digit counts as found when the same key is reported
  within 80 ms of its burst, the corpus scorer's rule);
- the ratio Linegate / spandsp in channels per core.

Honesty rules: both detectors get the very same samples in the same blocks; the
blocks are contiguous arrays built before timing; each detector gets a fresh
bank per run, a warm-up pass first, and the best of ``repeats`` timed runs; runs
alternate between detectors so that a busy neighbour on the machine hurts both.
spandsp gets mu-law as its users feed it: decoded to linear (a table of its own
``ulaw_to_linear``) inside the same C call, once per channel for all its
receivers; Linegate decodes inside its core.

Background audio, first found: recorded speech and music from the evaluation
corpus (``$LINEGATE_CORPUS`` or ../shared/corpus, dev/talkoff), then the
two-minute talk-off fixtures (tests/fixtures/talkoff), then synthetic babble.
Importing this module runs nothing; ``main(argv)`` does.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make `tests` importable
    sys.path.insert(0, str(ROOT))

from tests.dsp import dtmf_signals as sig  # noqa: E402
from tests.reference import spandsp  # noqa: E402

FS = sig.FS
MATCH_S = 0.080  # the corpus scorer's tolerance around a burst
DIGIT_MS = (60.0, 100.0)
GAP_S = (0.3, 1.0)
DIGIT_DBM0 = (-14.0, -6.0)  # low-group tone
TWIST_DB = (-4.0, 2.0)  # high minus low: inside both detectors' limits
BACKGROUND_DBM0 = (-30.0, -20.0)  # active level of the speech/music under the digits


def default_corpus() -> Path:
    return Path(os.environ.get("LINEGATE_CORPUS", ROOT.parent / "shared" / "corpus"))


# --- audio -------------------------------------------------------------------

def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        if shape != (1, 2, FS):
            raise ValueError(f"{path}: expected 8 kHz mono 16-bit PCM, got {shape}")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


def synthetic_babble(seconds: float, rng: np.random.Generator, talkers: int = 3) -> np.ndarray:
    """Voiced, speech-like sound: harmonic series with moving pitch and formants,
    cut into syllables; ``talkers`` voices mixed. For machines without recordings."""
    n = int(seconds * FS)
    out = np.zeros(n)
    seg = sig.ms(120)
    for _ in range(talkers):
        nseg = n // seg + 2
        f0 = np.interp(np.arange(n), np.arange(nseg) * seg, rng.uniform(90, 260, nseg))
        phase = np.cumsum(2 * np.pi * f0 / FS)
        formants = [rng.uniform(lo, hi, nseg) for lo, hi in ((300, 900), (900, 2400), (2400, 3300))]
        x = np.zeros(n)
        for k in range(1, int(3800 / 90) + 1):
            fk = k * f0
            gain = np.zeros(n)
            for fmt in formants:
                fc = np.interp(np.arange(n), np.arange(nseg) * seg, fmt)
                gain += 1.0 / (1.0 + ((fk - fc) / 90.0) ** 2)
            gain[fk > 3800] = 0.0
            x += gain * np.sin(k * phase)
        syllables = np.repeat(rng.random(nseg) < 0.7, seg)[:n].astype(float)
        envelope = np.convolve(syllables, np.hanning(sig.ms(40)) / sig.ms(20), mode="same")
        out += x * envelope
    return out


def background_pool(kind: str, corpus: Path, seconds: float, rng: np.random.Generator):
    """(description, [float arrays]) of the background recordings to cut from."""
    if kind in ("auto", "corpus"):
        files = sorted((corpus / "dev" / "talkoff").glob("*.wav"))
        if files:
            return (f"recorded speech/music, {len(files)} files of {corpus / 'dev' / 'talkoff'}",
                    [read_wav(p).astype(np.float64) for p in files])
        if kind == "corpus":
            raise SystemExit(f"no WAV files in {corpus / 'dev' / 'talkoff'}")
    if kind in ("auto", "fixtures"):
        files = sorted((ROOT / "tests" / "fixtures" / "talkoff").glob("*.wav"))
        if files:
            return (f"recorded speech/music, {len(files)} files of tests/fixtures/talkoff",
                    [read_wav(p).astype(np.float64) for p in files])
        if kind == "fixtures":
            raise SystemExit("no WAV files in tests/fixtures/talkoff")
    return "synthetic babble (no recordings found)", [synthetic_babble(max(seconds, 30.0), rng) for _ in range(4)]


def active_power(x: np.ndarray) -> float:
    """Mean power of the 20 ms frames within 40 dB of the loudest (speech level, roughly)."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    p = np.mean(frames ** 2, axis=1)
    active = p[p > p.max() * 1e-4]
    return float(np.mean(active)) if active.size else 0.0


def background_cut(src: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of a recording from a random place (repeated when short),
    brought to an active level drawn from BACKGROUND_DBM0."""
    if len(src) < n:
        src = np.tile(src, n // len(src) + 1)
    at = int(rng.integers(0, len(src) - n + 1))
    x = src[at:at + n].copy()
    power = active_power(x)
    if power > 0:
        x *= np.sqrt(sig.dbm0_to_power(rng.uniform(*BACKGROUND_DBM0)) / power)
    return x


@dataclass
class Workload:
    audio: np.ndarray | None  # int16 (channels, samples)
    sent: list  # per channel: list of sig.Burst
    background: str
    clipped: int


def build_workload(channels: int, seconds: float, *, seed: int = 1, background: str = "auto",
                   corpus: Path | None = None) -> Workload:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * FS))
    desc, pool = background_pool(background, corpus or default_corpus(), seconds, rng)
    audio = np.empty((channels, n), dtype=np.int16)
    sent = []
    clipped = 0
    for ch in range(channels):
        x = background_cut(pool[ch % len(pool)], n, rng)
        bursts = []
        t = rng.uniform(0.1, 0.6)
        while True:
            dur = sig.ms(rng.uniform(*DIGIT_MS))
            start = int(t * FS)
            if start + dur > n - sig.ms(100):
                break
            key = sig.KEYS[int(rng.integers(16))]
            low = rng.uniform(*DIGIT_DBM0)
            x[start:start + dur] += sig.dual_tone(
                key, dur, row_dbm0=low, col_dbm0=low + rng.uniform(*TWIST_DB),
                row_phase=rng.uniform(0, 2 * np.pi), col_phase=rng.uniform(0, 2 * np.pi))
            bursts.append(sig.Burst(key, start, start + dur))
            t += dur / FS + rng.uniform(*GAP_S)
        y = np.round(x)
        clipped += int(np.count_nonzero((y > 32767) | (y < -32768)))
        audio[ch] = np.clip(y, -32768, 32767).astype(np.int16)
        sent.append(bursts)
    return Workload(audio, sent, desc, clipped)


def to_blocks(audio: np.ndarray, block: int) -> np.ndarray:
    """(channels, samples) -> contiguous (blocks, channels, block); drops a partial tail."""
    channels, n = audio.shape
    nb = n // block
    return np.ascontiguousarray(audio[:, : nb * block].reshape(channels, nb, block).transpose(1, 0, 2))


# --- combined workload: call-progress and fax/modem tones --------------------

# Channel c carries COMBINED_PATTERN[c % 16]: half speech with digits, half a
# call that begins with a tone (then speech with digits after it).
COMBINED_PATTERN = ("speech",) * 8 + ("ringback", "ringback", "busy", "congestion",
                                      "dial", "sit", "cng", "ansam_pr")
TONE_S = (6.0, 9.0)  # how long a channel's tone part lasts (at most the run's length)
TONE_DBM0 = (-22.0, -10.0)  # per frequency
LINE_NOISE_DBM0 = -60.0  # white noise under the tones
# The German plan's tones (Asterisk's [de] indications, the same spandsp's
# super_tone_rx is configured with); "info" is its special information tone.
PLAN_TONES = {"dial": "dial", "ringback": "ringback", "busy": "busy", "congestion": "congestion", "sit": "info"}
# What each detector reports for a tone class (begin reports only).
LINEGATE_CLASSES = {"dial": "dial", "ringback": "ringback", "busy": "busy", "congestion": "congestion",
                    "fax_cng": "cng", "modem": "ansam_pr", "fax_ced": "ced"}
SPANDSP_CLASSES = {("super_tone", t): t for t in ("dial", "ringback", "busy", "congestion", "sit", "ced")}
SPANDSP_CLASSES.update({("cng", "CNG"): "cng", ("ansam_pr", "ANSAM_PR"): "ansam_pr",
                        ("ansam_pr", "ANSAM"): "ced", ("ansam_pr", "ANS_PR"): "ced", ("ansam_pr", "ANS"): "ced"})
# A 2100 Hz report ("ced": spandsp's CED tone, Linegate's first reading of a
# 2100 Hz tone, an ANSam/PR receiver's report of a plainer variant) on an
# ANSam/PR channel is not wrong, only not the full answer.
ALSO_RIGHT = {"ansam_pr": {"ced"}}


@dataclass
class ToneSent:
    channel: int
    cls: str  # a COMBINED_PATTERN class
    start: int  # first sample of the tone
    end: int  # first sample after the tone part (speech follows)


def fax_cng(n: int, dbm0: float, phase: float) -> np.ndarray:
    """T.30 calling tone: 1100 Hz, 0.5 s on, 3 s off."""
    t = np.arange(n)
    on = (t % sig.ms(3500)) < sig.ms(500)
    return sig.dbm0_to_peak(dbm0) * np.sin(2 * np.pi * 1100.0 * t / FS + phase) * on


def ansam_pr(n: int, dbm0: float, phase: float) -> np.ndarray:
    """V.8 ANSam with phase reversals: 2100 Hz, 15 Hz AM at 20 %, a 180 degree
    phase reversal every 450 ms, for 3.3 s (then silence)."""
    t = np.arange(n)
    reversals = np.pi * ((t // sig.ms(450)) % 2)
    am = 1.0 + 0.2 * np.sin(2 * np.pi * 15.0 * t / FS)
    x = sig.dbm0_to_peak(dbm0) / 1.2 * am * np.sin(2 * np.pi * 2100.0 * t / FS + phase + reversals)
    x[sig.ms(3300):] = 0.0
    return x


def add_tones(work: Workload, seed: int) -> list[ToneSent]:
    """Replace the start of the tone channels (COMBINED_PATTERN) with their tone over
    line noise, dropping the digits that were there; returns what was sent."""
    from gateway.dsp import tone_plan

    plan = tone_plan.load_plan("de")
    rng = np.random.default_rng([seed, 0xC0DE])
    channels, n = work.audio.shape
    sent = []
    for ch in range(channels):
        cls = COMBINED_PATTERN[ch % len(COMBINED_PATTERN)]
        if cls == "speech":
            continue
        lead = sig.ms(rng.uniform(0.0, 500.0))
        end = min(n, int(rng.uniform(*TONE_S) * FS))
        for b in work.sent[ch]:  # do not cut a digit in two
            if b.start < end < b.end + sig.ms(20):
                end = min(n, b.end + sig.ms(20))
        level = rng.uniform(*TONE_DBM0)
        length = end - lead
        if cls in PLAN_TONES:
            tone = plan[PLAN_TONES[cls]].player(level_dbm0=level).generate(length).astype(np.float64)
        elif cls == "cng":
            tone = fax_cng(length, level, rng.uniform(0, 2 * np.pi))
        else:
            tone = ansam_pr(length, level, rng.uniform(0, 2 * np.pi))
        x = rng.normal(0.0, np.sqrt(sig.dbm0_to_power(LINE_NOISE_DBM0)), end)
        x[lead:lead + len(tone)] += tone
        work.audio[ch, :end] = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        work.sent[ch] = [b for b in work.sent[ch] if b.start >= end]
        sent.append(ToneSent(ch, cls, lead, end))
    return sent


def score_tones(reports, sent: list[ToneSent], seconds_after: float = 1.0) -> tuple[int, int]:
    """(tones recognised, wrong tone reports). A tone channel's tone is recognised
    when its class is reported (with a position) before ``seconds_after`` past the
    end of its tone part (a start placed a little before the tone's first sample
    counts); any other tone class reported anywhere is wrong (ALSO_RIGHT aside)."""
    expected = {t.channel: t for t in sent}
    slack = int(seconds_after * FS)
    hit = set()
    wrong = 0
    for channel, cls, at in reports:
        t = expected.get(channel)
        if t is not None and at <= t.end + slack:
            if cls == t.cls:
                hit.add(channel)
                continue
            if cls in ALSO_RIGHT.get(t.cls, ()):
                continue
        wrong += 1
    return len(hit), wrong


# --- detectors ---------------------------------------------------------------

def combined_detect() -> tuple[tuple[str, ...], str | None]:
    """Linegate's detectors for the combined suite, and a note when "amd" is missing."""
    from gateway.dsp import detector_bank

    if "amd" in detector_bank.DETECTORS:
        return ("dtmf", "cpt", "amd"), None
    return ("dtmf", "cpt"), ('"amd" is not in gateway.dsp.detector_bank.DETECTORS yet: '
                             'Linegate runs detect=("dtmf", "cpt") (no answering-machine detection)')


@dataclass(frozen=True)
class Engine:
    name: str
    encoding: str  # "s16" or "ulaw"
    suite: str = "dtmf"  # or "combined"
    detect: tuple = ("dtmf",)  # Linegate's detectors, spandsp's receivers

    def make(self, channels: int):
        enc = "linear" if self.encoding == "s16" else "ulaw"
        if self.name == "Linegate":
            from gateway.dsp import DetectorBank

            return DetectorBank(channels=channels, detect=self.detect, encoding=enc)
        if self.suite == "combined":
            return spandsp.SpandspToneBank(channels, encoding=enc, exact=False, receivers=self.detect)
        # exact=False: one dtmf_rx call per channel per block, as applications call it.
        return spandsp.SpandspDtmfBank(channels, encoding=enc, exact=False)

    def reports(self, raw) -> list[tuple[int, str, int]]:
        """(channel, key, sample) per digit reported."""
        if self.name == "Linegate":  # a key comes twice: recognised (end None), then ended
            return [(e.channel, e.value, e.start) for e in raw if e.kind == "dtmf" and e.end is None]
        if self.suite == "combined":
            return [(e.channel, e.value, e.pos) for e in raw if e.kind == "dtmf"]
        return [(d.channel, d.digit, d.pos) for d in raw]

    def tone_reports(self, raw) -> list[tuple[int, str, int]]:
        """(channel, tone class, sample) per tone recognised (combined suite)."""
        if self.name == "Linegate":
            out = []
            for e in raw:
                if e.kind == "cpt" and e.end is None:
                    cls = "sit" if e.value.startswith("sit") else LINEGATE_CLASSES.get(e.value, e.value)
                    out.append((e.channel, cls, e.start))
            return out
        return [(e.channel, SPANDSP_CLASSES.get((e.kind, e.value), f"{e.kind}:{e.value}"), e.pos)
                for e in raw if e.kind != "dtmf" and e.value is not None]

    def other_reports(self, raw) -> dict[str, int]:
        """Counts of Linegate's other events (e.g. AMD decisions, beeps), by kind."""
        if self.name != "Linegate":
            return {}
        counts = {}
        for e in raw:
            if e.kind not in ("dtmf", "cpt", "modem"):
                counts[e.kind] = counts.get(e.kind, 0) + 1
        return counts


def run_once(engine: Engine, blocks: np.ndarray, count: int | None = None):
    """Feed ``count`` blocks (all by default) to a fresh bank: (cpu s, wall s, raw events)."""
    bank = engine.make(blocks.shape[1])
    feed = bank.feed
    events = []
    todo = blocks if count is None else blocks[:count]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for block in todo:
        events += feed(block)
    if hasattr(bank, "flush"):
        events += bank.flush()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu, wall, events


def score(reports, sent) -> tuple[int, int]:
    """(digits found, false digits): one-to-one, same key, within MATCH_S of the burst."""
    tol = int(MATCH_S * FS)
    found = false = 0
    pending = [list(b) for b in sent]
    for channel, key, at in sorted(reports, key=lambda r: (r[0], r[2])):
        bursts = pending[channel]
        hit = next((i for i, b in enumerate(bursts)
                    if b.key == key and b.start - tol <= at <= b.end + tol), None)
        if hit is None:
            false += 1
        else:
            found += 1
            del bursts[hit]
    return found, false


# --- report ------------------------------------------------------------------

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def time_engines(engines, inputs, repeats: int, warm: int):
    """Warm every engine up on ``warm`` blocks, then ``repeats`` rounds of timed runs,
    alternating: ({engine: (best cpu s, best wall s)}, {engine: events of its first run})."""
    for e in engines:
        run_once(e, inputs[e.encoding], warm)
    best = {e: (float("inf"), float("inf")) for e in engines}
    events = {}
    for _ in range(repeats):
        for e in engines:
            cpu, wall, raw = run_once(e, inputs[e.encoding])
            best[e] = (min(best[e][0], cpu), min(best[e][1], wall))
            events.setdefault(e, raw)  # deterministic: score the first run
    return best, events


def encode_blocks(work: Workload, block: int) -> tuple[np.ndarray, np.ndarray]:
    """The workload as contiguous s16 and mu-law blocks; frees ``work.audio``."""
    lin = to_blocks(work.audio, block)
    work.audio = None  # the blocks are a copy; keep memory near 3 bytes per sample
    ulaw = np.empty(lin.shape, dtype=np.uint8)
    for at in range(0, len(lin), 50):  # the encoder's int32 temporaries, a second at a time
        ulaw[at:at + 50] = sig.ulaw_encode(lin[at:at + 50])
    return lin, ulaw


def spandsp_engines(args) -> tuple[bool, str | None]:
    if args.no_spandsp:
        return False, "spandsp: skipped (--no-spandsp)"
    if not spandsp.available():
        return False, f"spandsp: skipped, not available: {spandsp.unavailable_reason()}"
    return True, None


def print_ratios(per_core, skipped, suite: str):
    if skipped:
        print(skipped)
        return
    ratios = ", ".join(
        f"{enc} x{per_core[('Linegate', enc)] / per_core[('spandsp', enc)]:.2f}" for enc in ("s16", "ulaw"))
    label = "" if suite == "dtmf" else f" ({suite})"
    print(f"Linegate / spandsp{label}, channels per core (CPU time): {ratios}")


def machine_line(setup_s: float) -> str:
    return (f"machine: {cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
            f"Python {platform.python_version()}, NumPy {np.__version__}; setup {setup_s:.1f} s")


def print_results(engines, best, channel_seconds: float, counts) -> dict:
    """The table of CPU and wall time, channels per core and ``counts(engine)``
    = (found, sent, false) per engine; returns channels per core by
    (name, encoding)."""
    head = (f"{'detector':<10} {'input':<6} {'CPU s':>8} {'wall s':>8} {'ch/core CPU':>12} "
            f"{'ch/core wall':>13} {'found/sent':>12} {'false':>6}")
    print(head)
    print("-" * len(head))
    per_core = {}
    for e in engines:
        cpu, wall = best[e]
        found, sent, false = counts(e)
        per_core[e.name, e.encoding] = channel_seconds / cpu if cpu > 0 else float("inf")
        print(f"{e.name:<10} {e.encoding:<6} {cpu:8.3f} {wall:8.3f} {per_core[e.name, e.encoding]:12.0f} "
              f"{channel_seconds / wall:13.0f} {f'{found}/{sent}':>12} {false:6d}")
    print()
    return per_core


def run_dtmf_suite(args) -> None:
    block = sig.ms(args.block_ms)
    t0 = time.perf_counter()
    work = build_workload(args.channels, args.seconds, seed=args.seed, background=args.background,
                          corpus=args.corpus)
    lin, ulaw = encode_blocks(work, block)
    channel_seconds = args.channels * lin.shape[0] * block / FS
    nsent = sum(map(len, work.sent))
    setup_s = time.perf_counter() - t0

    engines = [Engine("Linegate", "s16"), Engine("Linegate", "ulaw")]
    use_spandsp, skipped = spandsp_engines(args)
    if use_spandsp:
        engines[1:1] = [Engine("spandsp", "s16")]
        engines.append(Engine("spandsp", "ulaw"))
    inputs = {"s16": lin, "ulaw": ulaw}
    warm = max(1, min(lin.shape[0], int(1000 / args.block_ms)))  # about one second
    best, events = time_engines(engines, inputs, args.repeats, warm)

    print(f"DTMF receiver benchmark: {args.channels} channels x {lin.shape[0] * block / FS:g} s "
          f"= {channel_seconds:g} channel-seconds, {args.block_ms} ms blocks, best of {args.repeats} "
          f"(after a {warm * args.block_ms / 1000:g} s warm-up), one thread")
    if skipped is None:
        print(f"spandsp: libspandsp release {spandsp.version()} (the system library), dtmf_rx at its defaults")
    print(f"audio: {work.background}; {nsent} DTMF digits, {DIGIT_MS[0]:g}-{DIGIT_MS[1]:g} ms, "
          f"{DIGIT_DBM0[0]:g}..{DIGIT_DBM0[1]:g} dBm0, twist {TWIST_DB[0]:g}..{TWIST_DB[1]:+g} dB, "
          f"background {BACKGROUND_DBM0[0]:g}..{BACKGROUND_DBM0[1]:g} dBm0; {work.clipped} samples clipped")
    print(machine_line(setup_s))
    print()
    def counts(engine):
        found, false = score(engine.reports(events[engine]), work.sent)
        return found, nsent, false

    per_core = print_results(engines, best, channel_seconds, counts)
    print_ratios(per_core, skipped, "dtmf")


def run_combined_suite(args) -> None:
    block = sig.ms(args.block_ms)
    if args.linegate_detect:
        detect, note = tuple(d.strip() for d in args.linegate_detect.split(",") if d.strip()), None
    else:
        detect, note = combined_detect()
    receivers = tuple(r.strip() for r in args.spandsp_receivers.split(",") if r.strip())
    t0 = time.perf_counter()
    work = build_workload(args.channels, args.seconds, seed=args.seed, background=args.background,
                          corpus=args.corpus)
    tones = add_tones(work, args.seed)
    lin, ulaw = encode_blocks(work, block)
    channel_seconds = args.channels * lin.shape[0] * block / FS
    nsent = sum(map(len, work.sent))
    setup_s = time.perf_counter() - t0

    engines = [Engine("Linegate", "s16", "combined", detect), Engine("Linegate", "ulaw", "combined", detect)]
    use_spandsp, skipped = spandsp_engines(args)
    if use_spandsp:
        engines[1:1] = [Engine("spandsp", "s16", "combined", receivers)]
        engines.append(Engine("spandsp", "ulaw", "combined", receivers))
    inputs = {"s16": lin, "ulaw": ulaw}
    warm = max(1, min(lin.shape[0], int(1000 / args.block_ms)))
    best, events = time_engines(engines, inputs, args.repeats, warm)

    by_class = {}
    for t in tones:
        by_class[t.cls] = by_class.get(t.cls, 0) + 1
    print(f"Combined benchmark (every detector on every channel): {args.channels} channels x "
          f"{lin.shape[0] * block / FS:g} s = {channel_seconds:g} channel-seconds, {args.block_ms} ms blocks, "
          f"best of {args.repeats} (after a {warm * args.block_ms / 1000:g} s warm-up), one thread")
    print(f"Linegate: DetectorBank(detect={detect!r})")
    if note:
        print(f"  note: {note}")
    if skipped is None:
        bank = spandsp.SpandspToneBank(1, receivers=receivers)
        parts = {"dtmf": "dtmf_rx", "super_tone": f"super_tone_rx ({len(bank.tones)} German tones: "
                 f"{', '.join(t.name for t in bank.tones)}; {bank.monitored_frequencies} Goertzel filters)",
                 "cng": "modem_connect_tones_rx FAX_CNG", "ansam_pr": "modem_connect_tones_rx ANSAM_PR"}
        print(f"spandsp: libspandsp release {spandsp.version()}: "
              + " + ".join(parts[r] for r in receivers) + " on every channel, at their defaults")
    print(f"audio: the DTMF workload ({work.background}; {nsent} digits left); "
          f"{len(tones)} channels begin with a tone ({', '.join(f'{v} {k}' for k, v in by_class.items())}; "
          f"{TONE_DBM0[0]:g}..{TONE_DBM0[1]:g} dBm0, {TONE_S[0]:g}-{TONE_S[1]:g} s, German plan, "
          f"over {LINE_NOISE_DBM0:g} dBm0 noise), speech with digits after it; {work.clipped} samples clipped")
    print(machine_line(setup_s))
    print()
    head = (f"{'detector':<10} {'input':<6} {'CPU s':>8} {'wall s':>8} {'ch/core CPU':>12} "
            f"{'ch/core wall':>13} {'digits':>12} {'false':>6} {'tones':>8} {'wrong':>6}")
    print(head)
    print("-" * len(head))
    per_core = {}
    others = {}
    for e in engines:
        cpu, wall = best[e]
        found, false = score(e.reports(events[e]), work.sent)
        heard, wrong = score_tones(e.tone_reports(events[e]), tones)
        per_core[e.name, e.encoding] = channel_seconds / cpu if cpu > 0 else float("inf")
        print(f"{e.name:<10} {e.encoding:<6} {cpu:8.3f} {wall:8.3f} {per_core[e.name, e.encoding]:12.0f} "
              f"{channel_seconds / wall:13.0f} {f'{found}/{nsent}':>12} {false:6d} "
              f"{f'{heard}/{len(tones)}':>8} {wrong:6d}")
        if e.other_reports(events[e]):
            others[e.encoding] = e.other_reports(events[e])
    for enc, counts in others.items():
        print(f"Linegate {enc}: other events: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print()
    print_ratios(per_core, skipped, "combined")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", choices=("dtmf", "combined", "all"), default="all",
                    help="dtmf: DTMF alone; combined: every detector on every channel; all: both (default)")
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per detector; the best counts")
    ap.add_argument("--block-ms", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--background", choices=("auto", "corpus", "fixtures", "synthetic"), default="auto")
    ap.add_argument("--corpus", type=Path, default=None, help="corpus root (default $LINEGATE_CORPUS or ../shared/corpus)")
    ap.add_argument("--no-spandsp", action="store_true", help="time Linegate alone")
    ap.add_argument("--linegate-detect", default=None, metavar="LIST",
                    help='combined suite: Linegate\'s detectors, comma-separated (default dtmf,cpt,amd, '
                         'or dtmf,cpt without "amd"); e.g. "cpt" to time one part')
    ap.add_argument("--spandsp-receivers", default=",".join(spandsp.RECEIVERS), metavar="LIST",
                    help=f"combined suite: spandsp's receivers, comma-separated, of {','.join(spandsp.RECEIVERS)} "
                         "(default all)")
    args = ap.parse_args(argv)
    if args.channels < 1 or args.seconds <= 0 or args.repeats < 1 or not 1 <= args.block_ms <= 1000:
        ap.error("channels, seconds, repeats and block-ms must be positive (block-ms at most 1000)")
    receivers = [r.strip() for r in args.spandsp_receivers.split(",") if r.strip()]
    if not receivers or any(r not in spandsp.RECEIVERS for r in receivers):
        ap.error(f"--spandsp-receivers: a non-empty list of {', '.join(spandsp.RECEIVERS)}")
    if args.linegate_detect is not None and not args.linegate_detect.strip(","):
        ap.error("--linegate-detect: a non-empty list of detectors")

    suites = ("dtmf", "combined") if args.suite == "all" else (args.suite,)
    for i, suite in enumerate(suites):
        if i:
            print()
        (run_dtmf_suite if suite == "dtmf" else run_combined_suite)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
