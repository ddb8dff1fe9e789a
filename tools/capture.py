"""``linegate capture``: an E1 span's D-channel (HDLC) frames as a pcap file Wireshark opens.

    linegate capture URL --hdlc FILE [--span N] [--for SECONDS] [--send HEX]...

Writes every HDLC frame of the span (PROTOCOL.md: a Q.921 frame without flags
and FCS) to FILE, as it comes, each stamped with this host's clock. --send HEX
sends a Q.921 frame on the span first (repeatable; e.g. ``--send 00017f``, a
SABME, to see a looped span or the far end answer); sent frames are captured
too, marked as sent. Without --span every span is captured.

The file is pcap with LINKTYPE_LINUX_LAPD (177), not LINKTYPE_LAPD (203): 203
is the bare Q.921 frame and has no direction, while 177 puts a 16-byte header
before each frame whose packet type tells Wireshark "sent by us" (4) from
"to us" (0), so its LAPD dissector shows both directions and reads C/R bits
the right way round. The header (tcpdump.org/linktypes/LINKTYPE_LINUX_LAPD.html;
Wireshark reads it in wiretap/pcap-common.c, pcap_read_lapd_pseudoheader):

    u16 BE packet type (0 received, 4 sent)    u16 BE ARPHRD type (0x0300: none)
    u16 BE address length (1)                  8 bytes address: byte 0 = 1 when we
    u16 BE protocol, ETH_P_LAPD (0x0030)        are the network side, else 0

Wireshark refuses a record whose protocol is not 0x0030. This host is taken
as the user side (a gateway is ISDN CPE unless told otherwise: --network).
Only spans framed CCS carry a D-channel: a CAS span's HDLC is dropped by the
board, which says so in a LOG line, printed here on stderr.

Exit status: 0, 1 when the board failed, 2 for bad usage (not an E1 board, no
such span, bad HEX, an unwritable FILE).
"""

from __future__ import annotations

import asyncio
import struct
import sys
import time
from pathlib import Path

from gateway.errors import LinkError, UsageError
from gateway.tools.probe import add_timeout

LINKTYPE_LINUX_LAPD = 177
PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps
SNAPLEN = 65535
ETH_P_LAPD = 0x0030
ARPHRD_NONE = 0x0300  # 768 in if_arp.h: no hardware address type
PKT_RECEIVED, PKT_SENT = 0, 4  # Linux packet types: PACKET_HOST, PACKET_OUTGOING
pcap_header_format = struct.Struct("<IHHiIII")
pcap_record_format = struct.Struct("<IIII")
lapd_header_format = struct.Struct(">HHH8sH")


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("capture", help="D-channel (HDLC) frames of an E1 span as a pcap for Wireshark",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("url", metavar="URL")
    p.add_argument("--hdlc", metavar="FILE", required=True, help="the pcap file to write (LINKTYPE_LINUX_LAPD)")
    p.add_argument("--span", type=int, metavar="N", help="only this span (default: every span)")
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                   help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--send", action="append", default=[], metavar="HEX",
                   help="send this Q.921 frame (hex) on the span first; repeatable")
    p.add_argument("--network", action="store_true", help="mark this host as the network side (default: user)")
    add_timeout(p)
    p.set_defaults(run=run)


class PcapWriter:
    """A pcap file of LAPD frames with the LINUX_LAPD header; flushed per record, so a capture cut
    short by Ctrl-C is still a file Wireshark opens."""

    def __init__(self, path, network: bool = False):
        try:
            self.file = open(path, "wb")
        except OSError as exc:
            raise UsageError(f"--hdlc {path}: cannot write the capture file: {exc.strerror or exc}") from None
        self.network = network
        self.count = 0
        self.file.write(pcap_header_format.pack(PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_LINUX_LAPD))
        self.file.flush()

    def write(self, frame: bytes, sent: bool, when: float | None = None) -> None:
        when = time.time() if when is None else when
        address = bytes([1 if self.network else 0]).ljust(8, b"\0")
        data = lapd_header_format.pack(PKT_SENT if sent else PKT_RECEIVED, ARPHRD_NONE, 1, address,
                                       ETH_P_LAPD) + frame
        seconds = int(when)
        self.file.write(pcap_record_format.pack(seconds, int((when - seconds) * 1e6), len(data), len(data)) + data)
        self.file.flush()
        self.count += 1

    def close(self) -> None:
        self.file.close()


def parse_hex(text: str) -> bytes:
    from gateway.boards.protocol import MAX_HDLC

    try:
        frame = bytes.fromhex(text.replace(":", "").replace(" ", ""))
    except ValueError:
        raise UsageError(f"--send {text!r}: not hex bytes (e.g. 00017f)") from None
    if not 1 <= len(frame) <= MAX_HDLC:
        raise UsageError(f"--send {text!r}: a frame is 1..{MAX_HDLC} bytes, this is {len(frame)}")
    return frame


async def capture(url: str, path, *, span: int | None, duration: float | None, send=(), network=False,
                  out=print, err=None, timeout: float = 2.0) -> int:
    """Captures HDLC frames into ``path``; the number of frames written."""
    from gateway.boards import protocol as p
    from gateway.boards.board import Board
    from gateway.boards.kinds import kind_by_code

    err = err or (lambda line: print(f"linegate capture: {line}", file=sys.stderr, flush=True))
    async with await Board.open(url, reply_timeout=timeout) as board:
        ident = await board.identify()
        kind = kind_by_code(ident.kind).name
        if not ident.spans:
            raise UsageError(f"{url}: this board ({kind}) has no E1 spans, so no D-channel to capture")
        if span is not None and not 0 <= span < ident.spans:
            raise UsageError(f"--span {span}: this board ({kind}) has spans 0..{ident.spans - 1}")
        if send and span is None:
            raise UsageError("--send needs --span N: the span to send the frame on")
        pcap = PcapWriter(path, network)
        try:
            out(f"{url}: {kind} {ident.serial}: capturing the D-channel of "
                f"{'span ' + str(span) if span is not None else 'every span'} to {path}" +
                (f" for {duration:g} s" if duration else " (Ctrl-C to stop)"))
            for frame in send:
                await board.link.send(p.Hdlc(span, frame))
                pcap.write(frame, sent=True)
                out(f"  sent     span {span}: {frame.hex(' ')}")
            loop = asyncio.get_running_loop()
            end = None if duration is None else loop.time() + duration
            while end is None or loop.time() < end:
                wait = 0.5 if end is None else max(0.01, min(0.5, end - loop.time()))
                try:
                    m = (await board.link.receive(timeout=wait)).message
                except LinkError as exc:
                    if "nothing received" in str(exc):
                        continue
                    raise
                if isinstance(m, p.Log):
                    err(f"board {m.level.name.lower()}: {m.text}")
                elif isinstance(m, p.Hdlc) and (span is None or m.span == span):
                    pcap.write(m.frame, sent=False)
                    out(f"  received span {m.span}: {m.frame.hex(' ')}")
        finally:
            pcap.close()
    out(f"{pcap.count} frame(s) written to {path} (pcap, LINKTYPE_LINUX_LAPD)")
    return pcap.count


def run(args) -> int:
    from gateway.boards.transport import parse_url

    parse_url(args.url)
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--for SECONDS is more than 0")
    if args.span is not None and args.span < 0:
        raise UsageError(f"--span {args.span}: spans are numbered from 0")
    if not Path(args.hdlc).resolve().parent.is_dir():
        raise UsageError(f"--hdlc {args.hdlc}: its folder does not exist")
    frames = [parse_hex(text) for text in args.send]
    asyncio.run(capture(args.url, args.hdlc, span=args.span, duration=args.duration, send=frames,
                        network=args.network, out=lambda line: print(line, flush=True), timeout=args.timeout))
    return 0
