"""``linegate test``: a tone test and a loopback test of every port (or span), pass/fail each.

    linegate test URL

Per port (analog boards) or span (E1 boards, on timeslot 1):
- tone: the board plays 1004 Hz at -10 dBm0 (TONE) and the host measures that
  frequency in the AUDIO the port sends back: pass within +-2 dB;
- loopback: the host sends 2000 Hz at -10 dBm0 as AUDIO to the port, the line
  side loops it, and the host measures it in what comes back: pass within +-3 dB.

Only what was measured passes. A board whose line side cannot play a tone
(RESULT UNSUPPORTED, as the current firmware answers) gets "not testable" with
the board's reason for that port, and the exit status is 1, as for a failure.
"""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np

from gateway.errors import LinkError
from gateway.tools.probe import add_timeout

RATE = 8000
TONE_HZ, TONE_DBM0, TONE_TOLERANCE = 1004, -10.0, 2.0
LOOP_HZ, LOOP_DBM0, LOOP_TOLERANCE = 2000, -10.0, 3.0
LISTEN_SECONDS = 0.4
SETTLE_BLOCKS = 2  # blocks at the start of a measurement dropped: the tone's onset, the line's delay
# dBm0: 0 dBm0 is a sine whose peak is 3.14 dB below 16-bit full scale (G.711; gateway.dsp.tone).
ZERO_DBM0_PEAK = 32768 * 10 ** (-3.14 / 20)


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("test", help="tone and loopback tests of every port, pass/fail per port",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("url", metavar="URL")
    add_timeout(p)
    p.set_defaults(run=run)


def level_dbm0(samples: np.ndarray, freq: float) -> float:
    """The level of ``freq`` in ``samples`` (16-bit linear), in dBm0 (a single-bin DFT)."""
    if samples.size == 0:
        return -math.inf
    t = np.arange(samples.size) / RATE
    x = samples.astype(np.float64)
    amplitude = 2 * abs(np.dot(x, np.exp(-2j * np.pi * freq * t))) / samples.size
    return 20 * math.log10(amplitude / ZERO_DBM0_PEAK) if amplitude > 0 else -math.inf


async def _collect(board, unit: int, channel: int, seconds: float) -> np.ndarray:
    """The port's audio for ``seconds``, decoded to linear (other frames are passed over)."""
    from gateway.boards import protocol as p
    from gateway.dsp.g711 import decode

    blocks = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            frame = await board.link.receive(timeout=max(0.01, end - time.monotonic()))
        except LinkError as exc:
            if "nothing received" in str(exc):
                break
            raise
        m = frame.message
        if isinstance(m, p.Audio) and m.unit == unit and m.channel == channel:
            blocks.append(decode(m.samples, "alaw" if m.law == p.Law.ALAW else "ulaw"))
    blocks = blocks[SETTLE_BLOCKS:]
    return np.concatenate(blocks) if blocks else np.zeros(0, np.int16)


def _verdict(name: str, freq: int, want: float, tolerance: float, samples: np.ndarray) -> tuple[bool, str]:
    if samples.size == 0:
        return False, f"{name} fail: no audio came from the port"
    level = level_dbm0(samples, freq)
    ok = abs(level - want) <= tolerance
    return ok, f"{name} {'pass' if ok else 'FAIL'} ({freq} Hz at {level:.1f} dBm0, want {want:g} +-{tolerance:g})"


async def test_unit(board, unit: int, channel: int, law) -> tuple[str, str]:
    """("pass" | "fail" | "not testable", text) for one port or span."""
    from gateway.boards import protocol as p
    from gateway.dsp.g711 import encode
    from gateway.dsp.tone import tone

    reply = await board.result(p.Tone(unit, channel, TONE_HZ, 0, round(TONE_DBM0 * 10)))
    if reply.status == p.ResultCode.UNSUPPORTED:
        return "not testable", f"not testable: {reply.detail or 'the board does not generate tones'}"
    if reply.status != p.ResultCode.OK:
        return "fail", f"fail: TONE refused: {reply.status.name} {reply.detail}".rstrip()
    try:
        tone_ok, tone_text = _verdict("tone", TONE_HZ, TONE_DBM0, TONE_TOLERANCE,
                                      await _collect(board, unit, channel, LISTEN_SECONDS))
    finally:
        await board.result(p.Tone(unit, channel, 0))  # stop it whatever happened
    # Loopback: 2000 Hz from the host, 20 ms blocks sent at the pace of the line.
    law_name = "alaw" if law == p.Law.ALAW else "ulaw"
    codes = encode(tone(LOOP_HZ, LOOP_DBM0, int(LISTEN_SECONDS * 1000) + 200), law_name).tobytes()

    async def send():
        for i in range(0, len(codes) - p.AUDIO_SAMPLES + 1, p.AUDIO_SAMPLES):
            await board.link.send(p.Audio(unit, channel, law, i, codes[i:i + p.AUDIO_SAMPLES]))
            await asyncio.sleep(p.AUDIO_SAMPLES / RATE)

    sender = asyncio.create_task(send())
    try:
        loop_ok, loop_text = _verdict("loopback", LOOP_HZ, LOOP_DBM0, LOOP_TOLERANCE,
                                      await _collect(board, unit, channel, LISTEN_SECONDS))
    finally:
        sender.cancel()
        try:
            await sender
        except asyncio.CancelledError:
            pass
    return ("pass" if tone_ok and loop_ok else "fail"), f"{tone_text}; {loop_text}"


async def line_test(url: str, out=print, timeout: float = 2.0) -> dict[str, str]:
    from gateway.boards import protocol as p
    from gateway.boards.board import Board
    from gateway.boards.kinds import kind_by_code

    results = {}
    async with await Board.open(url, reply_timeout=timeout) as board:
        ident = await board.identify()
        units = [(f"port {i}", i, 0) for i in range(ident.ports)] + \
                [(f"span {i} timeslot 1", i, 1) for i in range(ident.spans)]
        out(f"{url}: {kind_by_code(ident.kind).name} {ident.serial}, firmware {ident.firmware_version}: "
            f"testing {len(units)} {'ports' if ident.ports else 'spans'}")
        for name, unit, channel in units:
            verdict, text = await test_unit(board, unit, channel, p.Law.ALAW)
            results[name] = verdict
            out(f"  {name}: {text}")
    return results


def run(args) -> int:
    from gateway.boards.transport import parse_url

    parse_url(args.url)
    results = asyncio.run(line_test(args.url, out=lambda line: print(line, flush=True), timeout=args.timeout))
    counts = {v: sum(1 for r in results.values() if r == v) for v in ("pass", "fail", "not testable")}
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['not testable']} not testable")
    return 0 if results and counts["pass"] == len(results) else 1
