"""DTMF detection throughput: Linegate's DetectorBank against spandsp's dtmf_rx.

    python tests/bench/bench_dsp.py [--channels 256] [--seconds 10] [--repeats 3]

Builds ``channels`` channels of ``seconds`` of speech-like audio with DTMF
digits in it, feeds it in 20 ms blocks to ``gateway.dsp.DetectorBank(channels=N,
detect=("dtmf",))`` and to spandsp's receiver (tests/reference/spandsp.py, one C
call per block for all channels, like Linegate) in the same run, once as 16-bit
linear and once as G.711 mu-law, and prints for each:

- 8 kHz channels per core: channel-seconds of audio processed per CPU second
  (``time.process_time``, one thread), i.e. how many live channels one core
  keeps up with; the same per wall-clock second beside it;
- digits found / digits sent and false digits, as a sanity check that both
  detectors did the work (a digit counts as found when the same key is reported
  within 80 ms of its burst, the corpus scorer's rule);
- the ratio Linegate / spandsp in channels per core.

Honesty rules: both detectors get the very same samples in the same blocks; the
blocks are contiguous arrays built before timing; each detector gets a fresh
bank per run, a warm-up pass first, and the best of ``repeats`` timed runs; runs
alternate between detectors so that a busy neighbour on the machine hurts both.
spandsp gets mu-law as its users feed it: decoded to linear (a table of its own
``ulaw_to_linear``) inside the same C call; Linegate decodes inside its core.

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
        src = pool[ch % len(pool)]
        if len(src) < n:
            src = np.tile(src, n // len(src) + 1)
        at = int(rng.integers(0, len(src) - n + 1))
        x = src[at:at + n].copy()
        power = active_power(x)
        if power > 0:
            x *= np.sqrt(sig.dbm0_to_power(rng.uniform(*BACKGROUND_DBM0)) / power)
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


# --- detectors ---------------------------------------------------------------

@dataclass(frozen=True)
class Engine:
    name: str
    encoding: str  # "s16" or "ulaw"

    def make(self, channels: int):
        if self.name == "Linegate":
            from gateway.dsp import DetectorBank

            return DetectorBank(channels=channels, detect=("dtmf",),
                                encoding="linear" if self.encoding == "s16" else "ulaw")
        # exact=False: one dtmf_rx call per channel per block, as applications call it.
        return spandsp.SpandspDtmfBank(channels, encoding="linear" if self.encoding == "s16" else "ulaw",
                                       exact=False)

    def reports(self, raw) -> list[tuple[int, str, int]]:
        """(channel, key, sample) per digit reported."""
        if self.name == "Linegate":  # a key comes twice: recognised (end None), then ended
            return [(e.channel, e.value, e.start) for e in raw if e.end is None]
        return [(d.channel, d.digit, d.pos) for d in raw]


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per detector; the best counts")
    ap.add_argument("--block-ms", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--background", choices=("auto", "corpus", "fixtures", "synthetic"), default="auto")
    ap.add_argument("--corpus", type=Path, default=None, help="corpus root (default $LINEGATE_CORPUS or ../shared/corpus)")
    ap.add_argument("--no-spandsp", action="store_true", help="time Linegate alone")
    args = ap.parse_args(argv)
    if args.channels < 1 or args.seconds <= 0 or args.repeats < 1 or not 1 <= args.block_ms <= 1000:
        ap.error("channels, seconds, repeats and block-ms must be positive (block-ms at most 1000)")

    block = sig.ms(args.block_ms)
    t0 = time.perf_counter()
    work = build_workload(args.channels, args.seconds, seed=args.seed, background=args.background,
                          corpus=args.corpus)
    lin = to_blocks(work.audio, block)
    work.audio = None  # the blocks are a copy; keep memory near 3 bytes per sample
    ulaw = np.empty(lin.shape, dtype=np.uint8)
    for at in range(0, len(lin), 50):  # the encoder's int32 temporaries, a second at a time
        ulaw[at:at + 50] = sig.ulaw_encode(lin[at:at + 50])
    channel_seconds = args.channels * lin.shape[0] * block / FS
    nsent = sum(map(len, work.sent))
    setup_s = time.perf_counter() - t0

    engines = [Engine("Linegate", "s16"), Engine("Linegate", "ulaw")]
    if args.no_spandsp:
        skipped = "spandsp: skipped (--no-spandsp)"
    elif not spandsp.available():
        skipped = f"spandsp: skipped, not available: {spandsp.unavailable_reason()}"
    else:
        skipped = None
        engines[1:1] = [Engine("spandsp", "s16")]
        engines.append(Engine("spandsp", "ulaw"))
    inputs = {"s16": lin, "ulaw": ulaw}

    warm = max(1, min(lin.shape[0], int(1000 / args.block_ms)))  # about one second
    for e in engines:
        run_once(e, inputs[e.encoding], warm)
    best = {e: (float("inf"), float("inf")) for e in engines}
    events = {}
    for _ in range(args.repeats):
        for e in engines:
            cpu, wall, raw = run_once(e, inputs[e.encoding])
            best[e] = (min(best[e][0], cpu), min(best[e][1], wall))
            events.setdefault(e, raw)  # deterministic: score the first run

    print(f"DTMF receiver benchmark: {args.channels} channels x {lin.shape[0] * block / FS:g} s "
          f"= {channel_seconds:g} channel-seconds, {args.block_ms} ms blocks, best of {args.repeats} "
          f"(after a {warm * args.block_ms / 1000:g} s warm-up), one thread")
    if skipped is None:
        print(f"spandsp: libspandsp release {spandsp.version()} (the system library), dtmf_rx at its defaults")
    print(f"audio: {work.background}; {nsent} DTMF digits, {DIGIT_MS[0]:g}-{DIGIT_MS[1]:g} ms, "
          f"{DIGIT_DBM0[0]:g}..{DIGIT_DBM0[1]:g} dBm0, twist {TWIST_DB[0]:g}..{TWIST_DB[1]:+g} dB, "
          f"background {BACKGROUND_DBM0[0]:g}..{BACKGROUND_DBM0[1]:g} dBm0; {work.clipped} samples clipped")
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
          f"Python {platform.python_version()}, NumPy {np.__version__}; setup {setup_s:.1f} s")
    print()
    head = (f"{'detector':<10} {'input':<6} {'CPU s':>8} {'wall s':>8} {'ch/core CPU':>12} "
            f"{'ch/core wall':>13} {'found/sent':>12} {'false':>6}")
    print(head)
    print("-" * len(head))
    per_core = {}
    for e in engines:
        cpu, wall = best[e]
        found, false = score(e.reports(events[e]), work.sent)
        per_core[e] = channel_seconds / cpu if cpu > 0 else float("inf")
        print(f"{e.name:<10} {e.encoding:<6} {cpu:8.3f} {wall:8.3f} {per_core[e]:12.0f} "
              f"{channel_seconds / wall:13.0f} {f'{found}/{nsent}':>12} {false:6d}")
    print()
    if skipped:
        print(skipped)
    else:
        ratios = ", ".join(
            f"{enc} x{per_core[Engine('Linegate', enc)] / per_core[Engine('spandsp', enc)]:.2f}"
            for enc in ("s16", "ulaw"))
        print(f"Linegate / spandsp, channels per core (CPU time): {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
