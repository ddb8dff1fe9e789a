"""MF receiver throughput and conformance: Linegate's MFC/R2 and R1 receivers
against spandsp's r2_mf_rx and bell_mf_rx, same audio, same run.

    python tests/bench/bench_mf.py [--kinds mfr2_fwd,mfr1] [--channels 256] [--seconds 10] [--repeats 3]
                                   [--block-ms 20] [--seed 1] [--background auto|corpus|fixtures|synthetic]
                                   [--no-spandsp]
    python tests/bench/bench_mf.py --conformance 30     # what each accepts: offset, twist, level, ...

Throughput, per kind: every channel is a trunk that alternates between
register signalling (1-3 s of MF signals over line noise at -60 dBm0: 60-200
ms each with 40-120 ms pauses for R2, as a compelled exchange leaves them;
R1 strings of 68 ms tones, KP 100 ms, 68 ms pauses) and a call (2-5 s of
the speech and music bench_dsp.py uses, at -30..-20 dBm0). Signals are
random, at -30..-8 dBm0 (R1 -22..-6) per tone, within half the accepted
frequency offset and twist, synthesised with NumPy (tests/dsp/mf_signals.py),
neither side's own sender.

- Linegate: ``DetectorBank(channels=N, detect=(kind,))``;
- spandsp: ``r2_mf_rx`` (forward or backward) or ``bell_mf_rx`` per channel
  at its defaults (tests/reference/spandsp.py ``SpandspMfBank``), one C call
  per block for all channels, one receiver call per channel per block.

Printed per kind and input (16-bit linear, G.711 mu-law): channels per core
(channel-seconds per CPU second, one thread) and per wall second, signals
found / sent (the same signal reported between its start and 80 ms after its
end) and false reports (any other), then the ratio. The honesty rules are
bench_dsp.py's: the same contiguous blocks built before timing, a fresh bank
per run, a warm-up, the best of ``repeats`` runs alternating between
receivers.

``--conformance TRIALS``: instead of timing, per kind and case, how many of
TRIALS signals (random signal and phases, 150 ms, R1 68 ms and KP 100 ms,
alone on a quiet line) each receiver hears: reported, and nothing else.
Importing this module runs nothing; ``main(argv)`` does.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make `tests` importable
    sys.path.insert(0, str(ROOT))

from tests.bench import bench_dsp  # noqa: E402
from tests.dsp import dtmf_signals as dsig  # noqa: E402
from tests.dsp import mf_signals as sig  # noqa: E402
from tests.reference import spandsp  # noqa: E402

FS = sig.FS
MATCH_S = 0.080
LINE_NOISE_DBM0 = -60.0
REGISTER_S = (1.0, 3.0)
CALL_S = (2.0, 5.0)
SIGNAL_DBM0 = {"mfr2_fwd": (-30.0, -8.0), "mfr2_bwd": (-30.0, -8.0), "mfr1": (-22.0, -6.0)}
KIND_NAMES = {"mfr2_fwd": "R2 forward", "mfr2_bwd": "R2 backward", "mfr1": "R1"}
SPANDSP_RECEIVER = {"mfr2_fwd": "r2_mf_rx (forward)", "mfr2_bwd": "r2_mf_rx (backward)", "mfr1": "bell_mf_rx"}


def half_tolerance(kind: str, hz: float) -> float:
    """Half what the receivers must accept (Q.455 +-10 Hz, Q.323 +-(1.5 % + 5 Hz))."""
    return 5.0 if kind != "mfr1" else (0.015 * hz + 5.0) / 2


def signalling(kind: str, n: int, rng) -> tuple[np.ndarray, list[sig.Burst]]:
    """``n`` samples of register signalling over line noise, and its signals."""
    tape = sig.Tape(kind, rng)
    lo, hi = SIGNAL_DBM0[kind]
    while True:
        signal = int(rng.integers(1, 16))
        if kind == "mfr1":
            on, off = (sig.ms(100) if signal == sig.KP else sig.ms(68)), sig.ms(68)
        else:
            on, off = sig.ms(rng.uniform(60, 200)), sig.ms(rng.uniform(40, 120))
        if tape.n + on + off > n:
            break
        low_hz, high_hz = sig.pair_hz(kind, signal)
        level = rng.uniform(lo, hi)
        twist = rng.uniform(-2.5, 2.5)
        tape.signal(signal, on, low_dbm0=level, high_dbm0=level + twist,
                    low_dev_hz=rng.uniform(-1, 1) * half_tolerance(kind, low_hz),
                    high_dev_hz=rng.uniform(-1, 1) * half_tolerance(kind, high_hz)).silence(off)
    tape.silence(n - tape.n)
    return tape.samples() + dsig.white_noise(n, LINE_NOISE_DBM0, rng), tape.bursts


def build_workload(kind: str, channels: int, seconds: float, *, seed: int = 1, background: str = "auto",
                   corpus=None):
    """(int16 audio (channels, samples), per channel [Burst], background description)."""
    rng = np.random.default_rng([seed, 0x3F, sig.KINDS.index(kind)])
    n = int(round(seconds * FS))
    desc, pool = bench_dsp.background_pool(background, corpus or bench_dsp.default_corpus(), seconds, rng)
    audio = np.empty((channels, n), dtype=np.int16)
    sent = []
    for ch in range(channels):
        speech = bench_dsp.background_cut(pool[ch % len(pool)], n, rng)
        x = np.empty(n)
        bursts = []
        at = 0
        register = rng.random() < 0.5
        while at < n:
            length = min(n - at, int(rng.uniform(*(REGISTER_S if register else CALL_S)) * FS))
            if register:
                part, found = signalling(kind, length, rng)
                x[at:at + length] = part
                bursts += [sig.Burst(b.signal, at + b.start, at + b.end) for b in found]
            else:
                x[at:at + length] = speech[at:at + length]
            at += length
            register = not register
        audio[ch] = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        sent.append(bursts)
    return audio, sent, desc


@dataclass(frozen=True)
class Engine:
    name: str
    encoding: str  # "s16" or "ulaw"
    kind: str

    def make(self, channels: int):
        enc = "linear" if self.encoding == "s16" else "ulaw"
        if self.name == "Linegate":
            from gateway.dsp import DetectorBank

            return DetectorBank(channels=channels, detect=(self.kind,), encoding=enc)
        return spandsp.SpandspMfBank(channels, self.kind, encoding=enc)

    def reports(self, raw) -> list[tuple[int, int, int]]:
        """(channel, signal 1..15, sample) per signal reported as it began."""
        if self.name == "Linegate":
            from gateway.dsp import mf

            return [(e.channel, mf.signal_number(self.kind, e.value), e.start) for e in raw if e.end is None]
        return [(e.channel, e.signal, e.pos) for e in raw if e.signal is not None]


def score(reports, sent) -> tuple[int, int]:
    """(found, false): one-to-one, the same signal, reported between its start
    and MATCH_S after its end (spandsp reports at a block's end)."""
    tol = int(MATCH_S * FS)
    pending = [list(b) for b in sent]
    found = false = 0
    for channel, signal, at in sorted(reports, key=lambda r: (r[0], r[2])):
        hit = next((i for i, b in enumerate(pending[channel])
                    if b.signal == signal and b.start - tol <= at <= b.end + tol), None)
        if hit is None:
            false += 1
        else:
            found += 1
            del pending[channel][hit]
    return found, false


def run_kind(kind: str, args) -> None:
    block = sig.ms(args.block_ms)
    t0 = time.perf_counter()
    audio, sent, desc = build_workload(kind, args.channels, args.seconds, seed=args.seed,
                                       background=args.background, corpus=args.corpus)
    work = bench_dsp.Workload(audio, [], desc, 0)
    lin, ulaw = bench_dsp.encode_blocks(work, block)
    channel_seconds = args.channels * lin.shape[0] * block / FS
    nsent = sum(map(len, sent))
    setup_s = time.perf_counter() - t0

    engines = [Engine("Linegate", "s16", kind), Engine("Linegate", "ulaw", kind)]
    use_spandsp, skipped = bench_dsp.spandsp_engines(args)
    if use_spandsp:
        engines[1:1] = [Engine("spandsp", "s16", kind)]
        engines.append(Engine("spandsp", "ulaw", kind))
    inputs = {"s16": lin, "ulaw": ulaw}
    warm = max(1, min(lin.shape[0], int(1000 / args.block_ms)))
    best, events = bench_dsp.time_engines(engines, inputs, args.repeats, warm)

    print(f"MF receiver benchmark, {KIND_NAMES[kind]} ({kind}): {args.channels} channels x "
          f"{lin.shape[0] * block / FS:g} s = {channel_seconds:g} channel-seconds, {args.block_ms} ms blocks, "
          f"best of {args.repeats} (after a {warm * args.block_ms / 1000:g} s warm-up), one thread")
    print(f"Linegate: DetectorBank(detect=({kind!r},))")
    if skipped is None:
        print(f"spandsp: libspandsp release {spandsp.version()}: {SPANDSP_RECEIVER[kind]} per channel, defaults")
    print(f"audio: register signalling ({nsent} signals, {SIGNAL_DBM0[kind][0]:g}..{SIGNAL_DBM0[kind][1]:g} dBm0 "
          f"per tone, over {LINE_NOISE_DBM0:g} dBm0 noise) alternating with calls: {desc} at "
          f"{bench_dsp.BACKGROUND_DBM0[0]:g}..{bench_dsp.BACKGROUND_DBM0[1]:g} dBm0")
    print(bench_dsp.machine_line(setup_s))
    print()

    def counts(engine):
        found, false = score(engine.reports(events[engine]), sent)
        return found, nsent, false

    per_core = bench_dsp.print_results(engines, best, channel_seconds, counts)
    bench_dsp.print_ratios(per_core, skipped, kind)


# --- conformance: what each receiver accepts ------------------------------------

@dataclass(frozen=True)
class Case:
    label: str
    tone: dict  # Tape.signal's options, with callables of (signal, rng) for values drawn per trial
    n_ms: float | None = None  # the signal's length (None: the kind's usual)
    snr_db: float | None = None


def _signs(rng):
    return rng.choice((-1.0, 1.0))


def _offset(hz_of_signal):
    """Both tones off by hz_of_signal(f) Hz, each up or down at random."""
    return {"low_dev_hz": lambda kind, s, rng: _signs(rng) * hz_of_signal(sig.pair_hz(kind, s)[0]),
            "high_dev_hz": lambda kind, s, rng: _signs(rng) * hz_of_signal(sig.pair_hz(kind, s)[1])}


def _twist(db, weaker=-20.0):
    """One tone ``db`` louder than the other (which one drawn per trial), the
    weaker at ``weaker`` dBm0."""
    return {"twist_db": db, "weaker": weaker}


def conformance_cases(kind: str) -> list[Case]:
    r2 = kind != "mfr1"
    cases = []
    if r2:
        for hz in (0, 5, 10, 12, 15, 20, 30, 40):
            cases.append(Case(f"offset +-{hz} Hz, both tones", _offset(lambda f, hz=hz: hz)))
    else:
        for pct, hz, note in ((0, 0, ""), (1.5, 5, " (Q.323 accept)"), (2.0, 10, ""), (2.5, 15, ""),
                              (3.5, 20, "")):
            cases.append(Case(f"offset +-({pct:g} % + {hz} Hz), both{note}",
                              _offset(lambda f, pct=pct, hz=hz: f * pct / 100 + hz)))
    for db in ((0, 5, 7, 9, 10, 12, 20) if r2 else (0, 6, 8, 9, 10, 12)):
        cases.append(Case(f"twist {db} dB (weaker tone -20 dBm0)", _twist(float(db))))
    for level in ((-5, -20, -30, -35, -36, -37, -38.5, -40, -45) if r2 else (-3, -15, -25, -28, -31, -33, -35,
                                                                            -40)):
        cases.append(Case(f"level {level:g} dBm0 per tone", {"dbm0": float(level)}))
    for snr in (18.0, 12.0, 6.0):
        cases.append(Case(f"white noise, SNR {snr:g} dB ({-35 if r2 else -25} dBm0)",
                          {"dbm0": -35.0 if r2 else -25.0}, snr_db=snr))
    for on in ((8, 15, 20, 25, 30, 40) if r2 else (10, 15, 20, 25, 30)):
        cases.append(Case(f"duration {on} ms" + ("" if r2 else " (not KP)"), {}, n_ms=float(on)))
    if r2:
        cases.append(Case("-35 dBm0, 7 dB (5 adjacent) twist, +-10 Hz", {"corner": True}))
    else:
        cases.append(Case("KP 55 ms", {"kp": True}, n_ms=55.0))
        cases.append(Case("KP 30 ms", {"kp": True}, n_ms=30.0))
    return cases


def _trial(kind: str, case: Case, rng) -> tuple[np.ndarray, int]:
    """One trial's audio (float) and its signal."""
    options = dict(case.tone)
    signal = sig.KP if options.pop("kp", False) else int(rng.integers(1, 16))
    if kind == "mfr1" and case.n_ms is not None and signal == sig.KP and not case.tone.get("kp"):
        signal = int(rng.choice([s for s in sig.SIGNALS if s != sig.KP]))
    tone = {}
    if options.pop("corner", False):
        twist = 5.0 if sig.adjacent(kind, signal) else 7.0
        louder = rng.random() < 0.5
        tone = {"low_dbm0": -35.0 + (twist if louder else 0.0), "high_dbm0": -35.0 + (0.0 if louder else twist),
                "low_dev_hz": _signs(rng) * 10.0, "high_dev_hz": _signs(rng) * 10.0}
    if "twist_db" in options:
        db, weaker = options.pop("twist_db"), options.pop("weaker")
        louder = rng.random() < 0.5
        tone.update(low_dbm0=weaker + (db if louder else 0.0), high_dbm0=weaker + (0.0 if louder else db))
    for key, value in options.items():
        tone[key] = value(kind, signal, rng) if callable(value) else value
    if case.n_ms is not None:
        n = sig.ms(case.n_ms)
    else:
        n = sig.ms(100) if kind == "mfr1" and signal == sig.KP else sig.ms(68 if kind == "mfr1" else 150)
    tape = sig.Tape(kind, rng).silence(sig.ms(30) + int(rng.integers(0, 160)))
    tape.signal(signal, n, **tone).silence(sig.ms(150))
    x = tape.samples()
    if case.snr_db is not None:
        power = dsig.dbm0_to_power(tone.get("dbm0", case.tone["dbm0"])) * 2
        x = x + rng.standard_normal(len(x)) * np.sqrt(power / 10 ** (case.snr_db / 10))
    return x, signal


def conformance_table(kinds, trials: int, seed: int, use_spandsp: bool) -> None:
    """Per kind and case: of ``trials`` signals, how many each receiver heard
    (the signal reported, nothing else), fed in 20 ms blocks."""
    from gateway.dsp import DetectorBank, mf

    for kind in kinds:
        print(f"{KIND_NAMES[kind]} ({kind}): signals heard of {trials}, Linegate"
              + (f" / spandsp {SPANDSP_RECEIVER[kind]}" if use_spandsp else ""))
        head = f"{'case':<48} {'Linegate':>9}" + (f" {'spandsp':>9}" if use_spandsp else "")
        print(head)
        print("-" * len(head))
        rng = np.random.default_rng([seed, 0xC0F, sig.KINDS.index(kind)])
        for case in conformance_cases(kind):
            rows, signals = [], []
            for _ in range(trials):
                x, signal = _trial(kind, case, rng)
                rows.append(x)
                signals.append(signal)
            n = max(len(x) for x in rows)
            n += -n % 160
            audio = np.zeros((trials, n))
            for i, x in enumerate(rows):
                audio[i, :len(x)] = x
            pcm = dsig.quantize(audio, clip=True)
            bank = DetectorBank(trials, detect=(kind,))
            ours = [e for at in range(0, n, 160) for e in bank.feed(pcm[:, at:at + 160])] + bank.flush()
            heard = [[mf.signal_number(kind, e.value) for e in ours if e.channel == ch and e.end is not None]
                     for ch in range(trials)]
            row = f"{case.label:<48} {sum(h == [s] for h, s in zip(heard, signals)):>4}/{trials:<4}"
            if use_spandsp:
                theirs = spandsp.SpandspMfBank(trials, kind)
                got = [e for at in range(0, n, 160) for e in theirs.feed(pcm[:, at:at + 160])]
                heard = [[e.signal for e in got if e.channel == ch and e.signal is not None] for ch in range(trials)]
                row += f" {sum(h == [s] for h, s in zip(heard, signals)):>4}/{trials:<4}"
            print(row)
        print()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kinds", default="mfr2_fwd,mfr1", help="comma-separated, of mfr2_fwd, mfr2_bwd, mfr1")
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per receiver; the best counts")
    ap.add_argument("--block-ms", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--background", choices=("auto", "corpus", "fixtures", "synthetic"), default="auto")
    ap.add_argument("--corpus", type=Path, default=None,
                    help="corpus root (default $LINEGATE_CORPUS or ../shared/corpus)")
    ap.add_argument("--no-spandsp", action="store_true", help="Linegate alone")
    ap.add_argument("--conformance", type=int, default=0, metavar="TRIALS",
                    help="instead of timing: signals heard of TRIALS per offset, twist, level, noise and "
                         "duration case")
    args = ap.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or any(k not in sig.KINDS for k in kinds):
        ap.error(f"--kinds: a list of {', '.join(sig.KINDS)}")
    if args.channels < 1 or args.seconds <= 0 or args.repeats < 1 or not 1 <= args.block_ms <= 1000:
        ap.error("channels, seconds, repeats and block-ms must be positive (block-ms at most 1000)")
    if args.conformance < 0:
        ap.error("--conformance: a positive number of trials")
    if args.conformance:
        use_spandsp, skipped = bench_dsp.spandsp_engines(args)
        if skipped:
            print(skipped)
        conformance_table(kinds, args.conformance, args.seed, use_spandsp)
        return 0
    for i, kind in enumerate(kinds):
        if i:
            print()
        run_kind(kind, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
