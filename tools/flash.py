"""``linegate flash``: write a firmware image to a board's inactive slot, boot it on trial, confirm it.

    linegate flash URL IMAGE [--allow-downgrade] [--no-confirm] [--trust KEY.pub]

Before anything is written the image is checked against the board (IMAGE.md's
checks 1-6): board kind, hardware revision, downgrade, size, and the signature
against the keys the board trusts (the board tells them, BL_KEYS; --trust names
them instead, e.g. for a board whose firmware predates BL_KEYS). Then, as mcuboot does
it: erase the inactive slot, write the image (a progress bar with bytes and
speed on stderr), read the whole slot back and compare its SHA-256, ask the
board's bootloader whether it accepts the image (SLOT_INFO), mark it pending,
restart, wait for the board to come back, check that it runs the new version
on trial, and confirm it (unless --no-confirm: then the board goes back to the
old image at its next restart unless something confirms it).

Exit 0 only when the new image is written, verified and running (and confirmed
unless --no-confirm). Refused with the board untouched: 2 a malformed image,
4 a bad signature or a key the board does not trust, 5 an image that does not fit the
board; 1 when the board or the link fails, or the board does not boot the image.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time

from gateway.errors import BoardError, SignatureError
from gateway.tools.probe import add_timeout

CHUNK = 1024  # PROTOCOL.md: BL_WRITE / BL_READ carry at most 1024 bytes


def add_parser(subcommands) -> None:
    p = subcommands.add_parser("flash", help="flash a firmware image (A/B slots, verify, trial boot, confirm)",
                               description=__doc__.split("\n\n")[1])
    p.add_argument("url", metavar="URL")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--allow-downgrade", action="store_true", help="allow a version older than the running one")
    p.add_argument("--no-confirm", action="store_true",
                   help="leave the new image on trial: the board reverts at its next restart unless confirmed")
    add_timeout(p)
    p.add_argument("--trust", action="append", default=[], metavar="KEY.pub",
                   help="check the signature on this host first, against these keys (repeatable)")
    p.set_defaults(run=run)


class Progress:
    """Bytes done and speed on stderr: a bar redrawn in place on a terminal; on anything else
    (a log, a pipe) a plain line at each quarter, so logs stay readable."""

    def __init__(self, what: str, total: int, stream=None):
        self.what, self.total = what, total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self._quarter = 0
        self._drawn = 0.0

    def _speed(self, done: int) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        return f"{done / elapsed / 1024:.0f} KiB/s"

    def update(self, done: int) -> None:
        if self.tty:
            now = time.monotonic()
            if now - self._drawn < 0.1 and done < self.total:
                return
            self._drawn = now
            filled = 30 * done // self.total
            print(f"\r{self.what} [{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} bytes "
                  f"{self._speed(done)}", end="", file=self.stream, flush=True)
            return
        quarter = 4 * done // self.total
        if quarter > self._quarter:
            self._quarter = quarter
            print(f"{self.what}: {done}/{self.total} bytes ({25 * quarter}%), {self._speed(done)}",
                  file=self.stream, flush=True)

    def finish(self) -> float:
        elapsed = time.monotonic() - self.start
        if self.tty:
            print(file=self.stream, flush=True)
        return elapsed


def say(text: str) -> None:
    print(text, flush=True)


async def flash(url: str, data: bytes, image, *, trusted: list[bytes], allow_downgrade: bool, confirm: bool,
                source: str, timeout: float = 2.0) -> dict:
    """Flash ``data`` (the image file, already through checks 1-3) to the board at ``url``; a summary."""
    from gateway.boards import protocol as p
    from gateway.boards.board import ERASE_TIMEOUT, Board
    from gateway.boards.image import check_fit, verify_image
    from gateway.boards.kinds import kind_by_code

    header = image.header
    async with await Board.open(url, reply_timeout=timeout) as board:
        ident = await board.identify()
        kind = kind_by_code(ident.kind)
        # Every check against the board before the first byte is written: a refusal leaves it untouched.
        # Without --trust, the keys are the board's own (BL_KEYS: public keys, it may tell them).
        keys = trusted or await board.trusted_keys()
        if keys:
            verify_image(data, keys, board=kind, hw_revision=ident.hw_revision, running=ident.firmware_version,
                         allow_downgrade=allow_downgrade, source=source)
        else:
            # A board that cannot tell its keys: its bootloader checks the signature once the image is written.
            check_fit(header, board=kind, hw_revision=ident.hw_revision, running=ident.firmware_version,
                      allow_downgrade=allow_downgrade, source=source)
        if ident.pending_slot is not None and ident.pending_slot == ident.active_slot:
            raise BoardError(f"{url}: slot {ident.active_slot.name} runs on trial; confirm it or restart the board "
                             "(it then goes back to the other slot) before flashing again")
        target = p.Slot(1 - ident.active_slot)
        say(f"{url}: {kind.name} {ident.serial}, firmware {ident.firmware_version} in slot {ident.active_slot.name}; "
            f"writing {header.version} ({len(data)} bytes) to slot {target.name}")

        started = time.monotonic()
        await board.command(p.BlErase(target), timeout=ERASE_TIMEOUT)
        progress = Progress(f"write slot {target.name}", len(data))
        for at in range(0, len(data), CHUNK):
            await board.command(p.BlWrite(target, at, data[at:at + CHUNK]))
            progress.update(min(at + CHUNK, len(data)))
        write_seconds = progress.finish()

        # Read back what the board holds and compare digests, not trust its write replies alone.
        readback = hashlib.sha256()
        progress = Progress(f"verify slot {target.name}", len(data))
        for at in range(0, len(data), CHUNK):
            want = min(CHUNK, len(data) - at)
            reply = await board.ask(p.BlRead(target, at, want), p.BlData)
            if reply.offset != at or len(reply.data) != want:
                raise BoardError(f"{url}: BL_READ at {at} answered {len(reply.data)} bytes at {reply.offset}")
            readback.update(reply.data)
            progress.update(at + want)
        progress.finish()
        if readback.digest() != hashlib.sha256(data).digest():
            raise BoardError(f"{url}: slot {target.name} does not hold the image written (SHA-256 "
                             f"{readback.hexdigest()[:16]}, the image's {hashlib.sha256(data).hexdigest()[:16]})")
        info = await board.slot_info(target)
        if info.state not in (p.SlotState.VALID, p.SlotState.PENDING) or info.sha256 != header.payload_sha256:
            raise SignatureError(f"{url}: the board's bootloader does not accept the image in slot {target.name} "
                                 f"(state {info.state.name}): it checked every byte, so the signature or key is "
                                 "not one the board trusts", source=source)
        say(f"verified: slot {target.name} holds {info.version}, payload sha256 {info.sha256.hex()[:16]}")

        result = await board.result(p.BlSetPending(target))
        if result.status == p.ResultCode.BAD_IMAGE:
            raise SignatureError(f"{url}: the board refused to boot slot {target.name}: {result.detail}", source=source)
        if result.status != p.ResultCode.OK:
            raise BoardError(f"{url}: BL_SET_PENDING refused: {result.status.name}: {result.detail}")
        say(f"slot {target.name} pending; restarting the board")
        after = await board.restart()
        if after.active_slot != target or after.firmware_version != header.version:
            raise BoardError(f"{url}: the board did not boot the new image: it runs {after.firmware_version} from "
                             f"slot {after.active_slot.name} (running {after.running.name.lower()})")
        say(f"running {after.firmware_version} from slot {target.name} on trial")
        if confirm:
            await board.command(p.BlConfirm())
            after = await board.identify()
            if after.pending_slot is not None:
                raise BoardError(f"{url}: BL_CONFIRM answered OK but slot {after.pending_slot.name} is still pending")
            say(f"confirmed: slot {target.name} ({header.version}) is the active firmware")
        else:
            say(f"not confirmed (--no-confirm): the board goes back to slot {ident.active_slot.name} at its next "
                "restart unless the new image is confirmed")
        total = time.monotonic() - started
    return {"bytes": len(data), "write_seconds": write_seconds, "total_seconds": total, "slot": target.name}


def run(args) -> int:
    from gateway.boards.image import read_image
    from gateway.boards.transport import parse_url
    from gateway.tools.image import _read, _trusted

    parse_url(args.url)
    data = _read(args.image, "image file")
    image = read_image(data, source=args.image)  # malformed, truncated, corrupted: exit 2, nothing opened
    trusted = _trusted(args.trust)
    summary = asyncio.run(flash(args.url, data, image, trusted=trusted, allow_downgrade=args.allow_downgrade,
                                confirm=not args.no_confirm, source=args.image, timeout=args.timeout))
    print(f"flashed {summary['bytes']} bytes to slot {summary['slot']}: written in {summary['write_seconds']:.2f} s "
          f"({summary['bytes'] / max(summary['write_seconds'], 1e-6) / 1024:.0f} KiB/s), "
          f"{summary['total_seconds']:.2f} s in all (erase, write, verify, restart"
          f"{', confirm' if not args.no_confirm else ''})")
    return 0

