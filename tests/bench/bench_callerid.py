"""Caller ID receiver throughput: Linegate's FSK receiver against spandsp's adsi_rx, same audio, same run.

    python tests/bench/bench_callerid.py [--channels 256] [--seconds 20] [--repeats 3] [--block-ms 20]
                                         [--seed 1] [--background auto|corpus|fixtures|synthetic] [--no-spandsp]
    python tests/bench/bench_callerid.py --tolerance 100     # messages read per level/noise/twist/offset case

Every channel is a line that carries speech or music (the DTMF benchmark's
recordings, tests/bench/bench_dsp.py, at -30..-20 dBm0) with a caller ID
message every 2.5-5 s on a quiet stretch of it (white noise at -60 dBm0, as
between two rings): random numbers and names, SDMF or MDMF, with the on-hook
preamble (300 seizure, 180 mark bits) or the call-waiting one (80 mark
bits), -28..-10 dBm0 (spandsp's adsi_rx hears nothing under about -29),
tones up to 1 % off, bit rate up to 0.5 % off, twist up to +-3 dB. Even
channels are Bell 202, odd ones V.23. The FSK comes from
tests/dsp/fsk_signals.py (NumPy), neither receiver's own generator.

- Linegate: ``DetectorBank(channels=N, detect=("callerid",))``, which hears
  both standards on every channel;
- spandsp: one ``adsi_rx`` per channel (tests/reference/spandsp.py,
  ``SpandspCallerIdBank``), told each channel's standard
  (``ADSI_STANDARD_CLASS`` / ``ADSI_STANDARD_CLIP``): one FSK demodulator per
  channel where Linegate runs one for both, the cheapest spandsp can do;
  one C call per block for all channels, as Linegate.

Printed per detector and input (16-bit linear, G.711 mu-law): channels per
core (channel-seconds per CPU second, one thread) and per wall second,
messages found / sent (the exact bytes, within the message's time), false
reports (any other). The honesty rules are bench_dsp.py's: same blocks,
contiguous and built before timing, a fresh bank per run, a warm-up, the
best of ``repeats`` runs alternating between detectors. Importing this
module runs nothing; ``main(argv)`` does.
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
from tests.dsp import dtmf_signals as sig  # noqa: E402
from tests.dsp import fsk_signals  # noqa: E402
from tests.reference import spandsp  # noqa: E402

FS = sig.FS
GAP_S = (2.5, 5.0)  # from one message to the next
MESSAGE_DBM0 = (-28.0, -10.0)
QUIET_DBM0 = -60.0
STANDARDS = ("bell202", "v23")


@dataclass(frozen=True)
class Sent:
    channel: int
    message: bytes  # type .. checksum
    standard: str
    start: int
    end: int


def random_message(rng) -> bytes:
    from gateway.dsp import callerid

    number = "".join(rng.choice(list("0123456789"), int(rng.integers(7, 12))))
    time_ = f"{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}{rng.integers(0, 24):02d}{rng.integers(0, 60):02d}"
    if rng.random() < 0.4:
        return callerid.encode(callerid.CallerId(number=number, time=time_), "sdmf")
    name = " ".join("".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), int(rng.integers(3, 9))))
                    for _ in range(2))
    return callerid.encode(callerid.CallerId(number=number, name=name, time=time_))


def build_workload(channels: int, seconds: float, *, seed: int = 1, background: str = "auto", corpus=None):
    """(int16 audio (channels, samples), [Sent], background description)."""
    rng = np.random.default_rng([seed, 0xC1D])
    n = int(round(seconds * FS))
    desc, pool = bench_dsp.background_pool(background, corpus or bench_dsp.default_corpus(), seconds, rng)
    audio = np.empty((channels, n), dtype=np.int16)
    sent = []
    for ch in range(channels):
        x = bench_dsp.background_cut(pool[ch % len(pool)], n, rng)
        standard = STANDARDS[ch % 2]
        t = rng.uniform(0.2, 2.0)
        while True:
            message = random_message(rng)
            preamble = (300, 180) if rng.random() < 0.7 else (0, 80)
            fsk = fsk_signals.message_signal(message, standard, float(rng.uniform(*MESSAGE_DBM0)), rng,
                                             seizure=preamble[0], mark=preamble[1],
                                             offset_pct=float(rng.uniform(-1, 1)),
                                             baud_pct=float(rng.uniform(-0.5, 0.5)),
                                             twist_db=float(rng.uniform(-3, 3)))
            start = int(t * FS)
            quiet = (start - sig.ms(150), start + len(fsk) + sig.ms(150))
            if quiet[1] > n:
                break
            x[quiet[0]:quiet[1]] = sig.white_noise(quiet[1] - quiet[0], QUIET_DBM0, rng)
            x[start:start + len(fsk)] += fsk
            sent.append(Sent(ch, message, standard, start, start + len(fsk)))
            t += len(fsk) / FS + rng.uniform(*GAP_S)
        audio[ch] = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    return audio, sent, desc


@dataclass(frozen=True)
class Engine:
    name: str
    encoding: str  # "s16" or "ulaw"

    def make(self, channels: int):
        enc = "linear" if self.encoding == "s16" else "ulaw"
        if self.name == "Linegate":
            from gateway.dsp import DetectorBank

            return DetectorBank(channels=channels, detect=("callerid",), encoding=enc)
        return spandsp.SpandspCallerIdBank(channels, standard=[STANDARDS[c % 2] for c in range(channels)],
                                           encoding=enc)

    def reports(self, raw) -> list[tuple[int, bytes, int]]:
        """(channel, message bytes (type .. checksum), sample) per message reported."""
        from gateway.dsp.callerid import checksum

        if self.name == "Linegate":
            return [(e.channel, bytes.fromhex(e.value), e.end) for e in raw]
        return [(m.channel, m.message + bytes([checksum(m.message)]), m.pos) for m in raw]


def score(reports, sent, block: int) -> tuple[int, int]:
    """(found, false): one-to-one, the exact bytes, reported between the
    message's start and a block after its end (spandsp reports at a block's end)."""
    pending = {}
    for s in sent:
        pending.setdefault(s.channel, []).append(s)
    found = false = 0
    for channel, message, at in reports:
        hit = next((s for s in pending.get(channel, ()) if s.message == message and s.start <= at <= s.end + block),
                   None)
        if hit is None:
            false += 1
        else:
            found += 1
            pending[channel].remove(hit)
    return found, false


# --- tolerance: how much each receiver takes -----------------------------------

# (label, keyword arguments of fsk_signals.fsk, level dBm0, SNR dB or None)
TOLERANCE_CASES = (
    [(f"level {level:g} dBm0", {}, level, None) for level in (-10.0, -30.0, -35.0, -40.0, -45.0)]
    + [(f"SNR {snr:g} dB (-25 dBm0)", {}, -25.0, snr) for snr in (20.0, 15.0, 12.0, 10.0, 8.0, 6.0)]
    + [(f"twist {twist:+g} dB (-20 dBm0, SNR 20)", {"twist_db": twist}, -20.0, 20.0)
       for twist in (-10.0, -6.0, 6.0, 10.0)]
    + [(f"tones {off:+g} %, bit rate {-off / 1.5:+.1f} % (SNR 20)",
        {"offset_pct": off, "baud_pct": -off / 1.5}, -25.0, 20.0) for off in (-1.5, 1.5, -2.5, 2.5)]
)


def tolerance_table(trials: int, seed: int, use_spandsp: bool) -> None:
    """Messages read (exact bytes) out of ``trials`` per case, per standard,
    for each receiver; an MDMF message with the on-hook preamble, white noise
    over 0-4 kHz at the SNR given."""
    from gateway.dsp import DetectorBank, callerid

    message = callerid.encode(callerid.CallerId(number="6095551212", name="JOHN DOE", time="09301224"))
    rng = np.random.default_rng([seed, 0x701])
    head = f"{'case':<44} {'standard':<8} {'Linegate':>9}" + (f" {'spandsp':>9}" if use_spandsp else "")
    print(head)
    print("-" * len(head))
    for label, kwargs, level, snr in TOLERANCE_CASES:
        for standard in STANDARDS:
            signals = []
            for _ in range(trials):
                x = fsk_signals.message_signal(message, standard, level, rng, **kwargs)
                x = np.concatenate([np.zeros(int(rng.integers(200, 1200))), x, np.zeros(800)])
                if snr is not None:
                    x = x + sig.white_noise(len(x), level - snr, rng)
                signals.append(x)
            n = max(len(x) for x in signals)
            audio = np.zeros((trials, n + -n % 160))
            for i, x in enumerate(signals):
                audio[i, :len(x)] = x
            pcm = sig.quantize(audio, clip=True)
            bank = DetectorBank(trials, detect=("callerid",))
            ours = [e for at in range(0, pcm.shape[1], 160) for e in bank.feed(pcm[:, at:at + 160])]
            ours += bank.flush()
            read = len({e.channel for e in ours if e.value == message.hex()})
            row = f"{label:<44} {standard:<8} {read:>4}/{trials:<4}"
            if use_spandsp:
                theirs = spandsp.SpandspCallerIdBank(trials, standard=standard)
                got = [m for at in range(0, pcm.shape[1], 160) for m in theirs.feed(pcm[:, at:at + 160])]
                row += f" {len({m.channel for m in got if m.message == message[:-1]}):>4}/{trials:<4}"
            print(row)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per detector; the best counts")
    ap.add_argument("--block-ms", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--background", choices=("auto", "corpus", "fixtures", "synthetic"), default="auto")
    ap.add_argument("--corpus", type=Path, default=None,
                    help="corpus root (default $LINEGATE_CORPUS or ../shared/corpus)")
    ap.add_argument("--no-spandsp", action="store_true", help="time Linegate alone")
    ap.add_argument("--tolerance", type=int, default=0, metavar="TRIALS",
                    help="instead of timing: messages read out of TRIALS per level, noise, twist and offset case")
    args = ap.parse_args(argv)
    if args.channels < 1 or args.seconds <= 0 or args.repeats < 1 or not 1 <= args.block_ms <= 1000:
        ap.error("channels, seconds, repeats and block-ms must be positive (block-ms at most 1000)")
    if args.tolerance < 0:
        ap.error("--tolerance: a positive number of trials")
    if args.tolerance:
        use_spandsp, skipped = bench_dsp.spandsp_engines(args)
        if skipped:
            print(skipped)
        tolerance_table(args.tolerance, args.seed, use_spandsp)
        return 0

    block = sig.ms(args.block_ms)
    t0 = time.perf_counter()
    audio, sent, desc = build_workload(args.channels, args.seconds, seed=args.seed, background=args.background,
                                       corpus=args.corpus)
    work = bench_dsp.Workload(audio, [], desc, 0)
    lin, ulaw = bench_dsp.encode_blocks(work, block)
    channel_seconds = args.channels * lin.shape[0] * block / FS
    setup_s = time.perf_counter() - t0

    engines = [Engine("Linegate", "s16"), Engine("Linegate", "ulaw")]
    use_spandsp, skipped = bench_dsp.spandsp_engines(args)
    if use_spandsp:
        engines[1:1] = [Engine("spandsp", "s16")]
        engines.append(Engine("spandsp", "ulaw"))
    inputs = {"s16": lin, "ulaw": ulaw}
    warm = max(1, min(lin.shape[0], int(1000 / args.block_ms)))
    best, events = bench_dsp.time_engines(engines, inputs, args.repeats, warm)

    print(f"Caller ID receiver benchmark: {args.channels} channels x {lin.shape[0] * block / FS:g} s "
          f"= {channel_seconds:g} channel-seconds, {args.block_ms} ms blocks, best of {args.repeats} "
          f"(after a {warm * args.block_ms / 1000:g} s warm-up), one thread")
    print("Linegate: DetectorBank(detect=('callerid',)), Bell 202 and V.23 on every channel")
    if skipped is None:
        print(f"spandsp: libspandsp release {spandsp.version()}: adsi_rx per channel, told its standard "
              f"(ADSI_STANDARD_CLASS on even channels, ADSI_STANDARD_CLIP on odd ones)")
    print(f"audio: {desc} at {bench_dsp.BACKGROUND_DBM0[0]:g}..{bench_dsp.BACKGROUND_DBM0[1]:g} dBm0; "
          f"{len(sent)} caller ID messages ({GAP_S[0]:g}-{GAP_S[1]:g} s apart, {MESSAGE_DBM0[0]:g}..{MESSAGE_DBM0[1]:g}"
          f" dBm0, over {QUIET_DBM0:g} dBm0 noise; SDMF and MDMF)")
    print(bench_dsp.machine_line(setup_s))
    print()

    def counts(engine):
        found, false = score(engine.reports(events[engine]), sent, block)
        return found, len(sent), false

    per_core = bench_dsp.print_results(engines, best, channel_seconds, counts)
    bench_dsp.print_ratios(per_core, skipped, "caller ID")
    return 0


if __name__ == "__main__":
    sys.exit(main())
