"""Board protocol codec throughput: frames encoded and decoded per second on one core.

    python tests/bench/bench_boards.py [--frames 30000] [--repeats 5] [--read-size 4096]

Two workloads, each timed as encoding (``encode_frame``) and as decoding (a
``FrameReader`` fed the encoded stream in reads of ``--read-size`` bytes, as a
transport hands them over):

- ``AUDIO``: 20 ms G.711 blocks (167-byte payloads, 179-byte frames) for 60
  channels, the bulk of an E1 board's traffic;
- ``signalling``: every other message of the protocol in turn (CAS, HDLC,
  PORT_EVENT, ALARMS, LOG, IDENTITY, STATUS_REPORT, RESULT, requests...);
- ``mix``: 60 AUDIO frames, then 2 signalling frames, over and over.

CPU time (``time.process_time``), one thread, best of ``--repeats``; then the
share of one core the codec needs for two E1 spans: 60 channels x 50 AUDIO
frames/s each way (3000 encoded + 3000 decoded a second) plus 100 signalling
frames a second each way. The issue asks for under 5 %. Nothing is asserted
about time; tests/bench/test_bench_boards.py only checks that this runs.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from gateway.boards import protocol as p  # noqa: E402
from gateway.boards.kinds import Capability  # noqa: E402

CHANNELS = 60
AUDIO_RATE = CHANNELS * 50  # frames a second, each way
SIGNALLING_RATE = 100  # frames a second, each way: a generous allowance for CAS, HDLC, events, alarms


def audio_messages(n: int) -> list[p.Message]:
    samples = [bytes((c * 7 + i) & 0xFF for i in range(160)) for c in range(CHANNELS)]
    return [p.Audio(i % CHANNELS // 30, i % 30 + 1, p.Law.ALAW, (i // CHANNELS) * 160, samples[i % CHANNELS])
            for i in range(n)]


SIGNALLING = [
    p.Cas(0, 5, 0b1001), p.Cas(1, 17, 0b0001), p.Hdlc(0, bytes([0x00, 0x01, 0x01, 0x03])),
    p.Hdlc(1, bytes([0x02, 0x01, 0x00, 0x00, 0x08, 0x01, 0x05, 0x05, 0x04, 0x03, 0x80, 0x90, 0xA3] + [0x30] * 20)),
    p.PortEvent(1, p.PortEventCode.RING_ON, 0, 123456), p.Alarms(0, p.Alarm.LOS | p.Alarm.AIS, 1, 2, 3, 99),
    p.Log(p.LogLevel.INFO, "span 1: frame alignment regained"), p.Result(p.ResultCode.OK),
    p.Identity(p.BoardCode.E1X2, "LG-E1-0001", 1, p.Version(1, 2, 3), p.Version(1, 0, 0), p.Slot.A, None,
               p.Running.FIRMWARE, Capability.E1 | Capability.CAS | Capability.CCS, 0, 2),
    p.StatusReport((), (p.SpanStatus(p.Alarm(0), 0, 0, 0), p.SpanStatus(p.Alarm.RAI, 5, 1, 0)), 1000),
    p.ConfigureSpan(0, p.Framing.CCS, True, p.LineCoding.HDB3, 1, p.Law.ALAW), p.Identify(),
    p.Tone(0, 1, 425, 0, -100, 1000, 4000, 0), p.BlRead(p.Slot.B, 4096, 1024),
]


def signalling_messages(n: int) -> list[p.Message]:
    return [SIGNALLING[i % len(SIGNALLING)] for i in range(n)]


def mix_messages(n: int) -> list[p.Message]:
    audio = audio_messages(CHANNELS)
    out, i = [], 0
    while len(out) < n:
        out.extend(audio)
        out.extend((SIGNALLING[i % len(SIGNALLING)], SIGNALLING[(i + 1) % len(SIGNALLING)]))
        i += 2
    return out[:n]


def time_encode(messages) -> tuple[float, list[bytes]]:
    encode = p.encode_frame
    start = time.process_time()
    frames = [encode(m, i & 0xFFFF) for i, m in enumerate(messages)]
    return time.process_time() - start, frames


def time_decode(stream: bytes, read_size: int, expected: int) -> float:
    chunks = [stream[i:i + read_size] for i in range(0, len(stream), read_size)]
    reader = p.FrameReader()
    start = time.process_time()
    got = 0
    for chunk in chunks:
        got += len(reader.feed(chunk))
    elapsed = time.process_time() - start
    if got != expected or reader.errors:  # a benchmark of a codec that drops frames measures nothing
        raise SystemExit(f"decoded {got} of {expected} frames, errors {dict(reader.errors)}")
    return elapsed


def measure(messages, repeats: int, read_size: int) -> tuple[float, float]:
    """Best CPU seconds per frame to encode and to decode."""
    enc = dec = float("inf")
    for _ in range(repeats):
        t, frames = time_encode(messages)
        enc = min(enc, t / len(messages))
        dec = min(dec, time_decode(b"".join(frames), read_size, len(messages)) / len(messages))
    return enc, dec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=30000, help="frames per workload (default 30000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs, the best counts (default 5)")
    parser.add_argument("--read-size", type=int, default=4096, help="bytes per feed() call (default 4096)")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.repeats < 1 or args.read_size < 1:
        parser.error("--frames, --repeats and --read-size are 1 or more")

    print(f"Board protocol codec benchmark: {args.frames} frames per workload, reads of {args.read_size} bytes, "
          f"best of {args.repeats}, one thread, CPU time")
    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(f"{'workload':<12}{'encode/s':>12}{'decode/s':>12}{'enc+dec/s':>12}{'us/frame':>10}")
    results = {}
    for name, build in (("AUDIO", audio_messages), ("signalling", signalling_messages), ("mix", mix_messages)):
        enc, dec = measure(build(args.frames), args.repeats, args.read_size)
        results[name] = (enc, dec)
        print(f"{name:<12}{1 / enc:>12,.0f}{1 / dec:>12,.0f}{1 / (enc + dec):>12,.0f}{(enc + dec) * 1e6:>10.2f}")
    audio_enc, audio_dec = results["AUDIO"]
    sig_enc, sig_dec = results["signalling"]
    share = AUDIO_RATE * (audio_enc + audio_dec) + SIGNALLING_RATE * (sig_enc + sig_dec)
    print(f"two E1 spans: {CHANNELS} channels x 50 AUDIO frames/s each way ({AUDIO_RATE} encoded + {AUDIO_RATE} "
          f"decoded a second) + {SIGNALLING_RATE} signalling frames/s each way: {share * 100:.2f} % of a core "
          f"(target < 5 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
