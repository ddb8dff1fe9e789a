"""``linegate monitor``: listen to one port (or E1 timeslot): levels, a WAV recording, the loudspeaker.

    linegate monitor URL PORT [--record FILE.wav] [--listen] [--for SECONDS]

PORT is a port number on an analog board (``0``) or SPAN:TIMESLOT on an E1
board (``0:1``; timeslots 1..15 and 17..31). Once a second it prints the
level of each direction in dBm0 with a bar, like dahdi_monitor's -v bars:

  rx  what the board receives from the line (its AUDIO blocks to the host);
  tx  what this host sends toward the line. The protocol carries no copy of
      what the board itself plays (a TONE), so tx shows only this host's
      blocks ("-" when it sends none).

--record writes the rx direction as 8 kHz 16-bit mono WAV (the direction a
technician listens to; tx, when sent at all, is this tool's own silence).
Blocks lost on the way are filled with silence so the file keeps the line's
time. --listen plays rx through PyAudio (``pip install ".[audio]"``).

Opening the channel. A board streams a channel only while it is in use (its
loop closed, a tone playing) or while the host sends AUDIO to it (PROTOCOL.md,
"The line side"). The monitor never changes a line's hook state: taking an
FXO port off-hook would seize the exchange line, and a technician monitoring
a port expects to observe it, not to answer. If no audio comes within half a
second, it sends silence to the channel (20 ms blocks, as long as it runs),
which opens it without touching the hook, and says so on stderr. Silence sent
to a looped line comes back as silence.

Exit status: 0 when audio came, 1 when none came (or the board failed), 2 for
bad usage (a PORT this board lacks, --listen without PyAudio).
"""

from __future__ import annotations

import asyncio
import math
import sys
from pathlib import Path

import numpy as np

from gateway.errors import LinkError, UsageError
from gateway.tools.probe import add_timeout

RATE = 8000
OPEN_WAIT = 0.5  # seconds to wait for audio before opening the channel by sending silence
BAR_FLOOR, BAR_WIDTH = -60.0, 30  # dBm0 at the empty bar; characters of a full (0 dBm0) bar
# 0 dBm0 is a sine whose peak is 3.14 dB below 16-bit full scale (G.711); its RMS is peak / sqrt(2).
ZERO_DBM0_RMS = 32768 * 10 ** (-3.14 / 20) / math.sqrt(2)
MAX_GAP = 5 * RATE  # a jump in AUDIO.time beyond this is a reopened channel, not lost blocks
ALAW_SILENCE = b"\xd5" * 160  # the board transcodes to the channel's law
EXIT_NO_AUDIO = 1


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("monitor", help="levels of a port's audio; record it (WAV) or listen to it",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("url", metavar="URL")
    p.add_argument("port", metavar="PORT", help="port number (analog boards) or SPAN:TIMESLOT (E1 boards)")
    p.add_argument("--record", metavar="FILE.wav", help="write the receive direction as 8 kHz 16-bit mono WAV")
    p.add_argument("--listen", action="store_true", help='play the receive direction (needs pip install ".[audio]")')
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS", help="stop after this long "
                   "(default: until Ctrl-C)")
    add_timeout(p)
    p.set_defaults(run=run)


def parse_port(text: str) -> tuple[int | None, int]:
    """"3" -> (None, 3): an analog port; "1:17" -> (1, 17): span 1, timeslot 17. UsageError otherwise."""
    parts = text.strip().split(":")
    if len(parts) > 2 or not all(part.isdigit() for part in parts):
        raise UsageError(f"PORT {text!r}: give a port number (e.g. 0) or SPAN:TIMESLOT (e.g. 0:1)")
    if len(parts) == 1:
        return None, int(parts[0])
    span, slot = int(parts[0]), int(parts[1])
    if not (1 <= slot <= 15 or 17 <= slot <= 31):
        raise UsageError(f"PORT {text!r}: timeslot {slot} is not a B-channel (1..15, 17..31; 16 carries "
                         "signalling)")
    return span, slot


def level_dbm0(samples: np.ndarray) -> float:
    """RMS level of 16-bit linear samples in dBm0 (-inf for digital silence)."""
    if samples.size == 0:
        return -math.inf
    rms = math.sqrt(float(np.mean(samples.astype(np.float64) ** 2)))
    return 20 * math.log10(rms / ZERO_DBM0_RMS) if rms > 0 else -math.inf


def bar(level: float) -> str:
    filled = 0 if level <= BAR_FLOOR else min(BAR_WIDTH, round((level - BAR_FLOOR) / -BAR_FLOOR * BAR_WIDTH))
    shown = "  -inf" if level == -math.inf else f"{level:6.1f}"
    return f"{shown} dBm0 |{'#' * filled}{'.' * (BAR_WIDTH - filled)}|"


def open_player():
    """A PyAudio output stream at 8 kHz mono, or UsageError naming the extra to install."""
    try:
        import pyaudio
    except ImportError:
        raise UsageError('--listen needs PyAudio, which is not installed: pip install ".[audio]" (PyAudio '
                         "builds against the PortAudio headers, e.g. Debian's portaudio19-dev)") from None
    audio = pyaudio.PyAudio()
    try:
        return audio, audio.open(format=pyaudio.paInt16, channels=1, rate=RATE, output=True)
    except OSError as exc:
        audio.terminate()
        raise UsageError(f"--listen: no audio output device: {exc}") from None


async def monitor(url: str, span: int | None, number: int, *, duration: float | None, record=None, player=None,
                  out=print, err=None, timeout: float = 2.0) -> int:
    """Monitors one channel; returns the samples received (and writes ``record``)."""
    from gateway.boards import protocol as p
    from gateway.boards.board import Board
    from gateway.boards.kinds import kind_by_code
    from gateway.dsp.g711 import decode

    err = err or (lambda line: print(f"linegate monitor: {line}", file=sys.stderr, flush=True))
    async with await Board.open(url, reply_timeout=timeout) as board:
        ident = await board.identify()
        kind = kind_by_code(ident.kind).name
        if span is None:
            if not ident.ports:
                raise UsageError(f"PORT {number}: this board ({kind}) has no analog ports; give SPAN:TIMESLOT "
                                 f"(spans 0..{ident.spans - 1})")
            if number >= ident.ports:
                raise UsageError(f"PORT {number}: this board ({kind}) has ports 0..{ident.ports - 1}")
            unit, channel, name = number, 0, f"port {number}"
        else:
            if not ident.spans:
                raise UsageError(f"PORT {span}:{number}: this board ({kind}) has no E1 spans; give a port number "
                                 f"(0..{ident.ports - 1})")
            if span >= ident.spans:
                raise UsageError(f"PORT {span}:{number}: this board ({kind}) has spans 0..{ident.spans - 1}")
            unit, channel, name = span, number, f"span {span} timeslot {number}"
        out(f"{url}: {kind} {ident.serial}: monitoring {name}" +
            (f" for {duration:g} s" if duration else " (Ctrl-C to stop)"))

        loop = asyncio.get_running_loop()
        start = loop.time()
        end = None if duration is None else start + duration
        chunks: list[np.ndarray] = []
        second: list[np.ndarray] = []
        sent_second: list[np.ndarray] = []
        expected_time = None
        received = 0
        sender = None
        sending = False

        async def send_silence():
            nonlocal sent_second
            at = 0
            silence = decode(ALAW_SILENCE, "alaw")
            next_at = loop.time()
            while True:
                await board.link.send(p.Audio(unit, channel, p.Law.ALAW, at, ALAW_SILENCE))
                sent_second.append(silence)
                at += p.AUDIO_SAMPLES
                next_at += p.AUDIO_SAMPLES / RATE
                await asyncio.sleep(max(0.0, next_at - loop.time()))

        def report():
            nonlocal second, sent_second
            rx = np.concatenate(second) if second else np.zeros(0, np.int16)
            sent = np.concatenate(sent_second) if sent_second else np.zeros(0, np.int16)
            tx = f"tx {bar(level_dbm0(sent))}" if sending else "tx      -"
            out(f"{received / RATE:7.1f} s  rx {bar(level_dbm0(rx))}  {tx}")
            second, sent_second = [], []

        last_audio = loop.time()
        try:
            while end is None or loop.time() < end:
                if sender is None and loop.time() - start >= OPEN_WAIT and not received:
                    err(f"no audio from {name} (on-hook, nothing playing): sending silence to it to open its "
                        "channel; its hook state is left as it is")
                    sending = True
                    sender = asyncio.create_task(send_silence())
                wait = 0.1 if end is None else max(0.01, min(0.1, end - loop.time()))
                try:
                    frame = await board.link.receive(timeout=wait)
                except LinkError as exc:
                    if "nothing received" not in str(exc):
                        raise
                    frame = None
                if frame is None:
                    if received and loop.time() - last_audio > 1.5:
                        out(f"{received / RATE:7.1f} s  no audio from the board for "
                            f"{loop.time() - last_audio:.1f} s")
                        last_audio = loop.time()
                    continue
                m = frame.message
                if isinstance(m, p.Log):
                    err(f"board {m.level.name.lower()}: {m.text}")
                    continue
                if not (isinstance(m, p.Audio) and m.unit == unit and m.channel == channel):
                    continue
                last_audio = loop.time()
                block = decode(m.samples, "alaw" if m.law == p.Law.ALAW else "ulaw")
                if expected_time is not None and 0 < m.time - expected_time <= MAX_GAP:
                    gap = np.zeros(m.time - expected_time, np.int16)  # lost blocks: keep the line's time
                    chunks.append(gap)
                    received += gap.size
                expected_time = m.time + p.AUDIO_SAMPLES
                chunks.append(block)
                second.append(block)
                if player is not None:
                    player.write(block.tobytes())
                before = received
                received += block.size
                if received // RATE != before // RATE:
                    report()
        finally:
            if sender is not None:
                sender.cancel()
                try:
                    await sender
                except (asyncio.CancelledError, LinkError):
                    pass
        if second:
            report()
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    if record is not None:
        from gateway.dsp.wav import write_wav

        write_wav(record, samples, RATE)
        out(f"recorded {samples.size / RATE:.2f} s of {name}'s receive direction to {record} "
            "(8 kHz, 16-bit mono)")
    if not received:
        err(f"no audio came from {name}")
    return received


def run(args) -> int:
    from gateway.boards.transport import parse_url

    parse_url(args.url)
    span, number = parse_port(args.port)
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--for SECONDS is more than 0")
    if args.record is not None and not Path(args.record).resolve().parent.is_dir():
        raise UsageError(f"--record {args.record}: its folder does not exist")
    audio = player = None
    if args.listen:
        audio, player = open_player()  # before the board is touched: a missing PyAudio is a usage error
    try:
        received = asyncio.run(monitor(args.url, span, number, duration=args.duration, record=args.record,
                                       player=player, out=lambda line: print(line, flush=True),
                                       timeout=args.timeout))
    finally:
        if player is not None:
            player.stop_stream()
            player.close()
            audio.terminate()
    return 0 if received else EXIT_NO_AUDIO
