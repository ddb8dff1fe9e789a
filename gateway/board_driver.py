"""The gateway's driver of one board: one reader task owns the link, replies
are matched to the requests waiting for them, line events go to the
gateway's queue, and audio waits per channel for the media tick.

Unlike ``gateway.boards.link.Link`` (a tool's request/reply link), requests
here run concurrently with a steady stream of audio and events, so a single
reader feeds everyone. Commands toward the line (hook, ring, tone) are sent
at once and their replies checked when they come, without holding the tick.

Audio: the board sends a 20 ms block per open channel per tick. Each channel
keeps at most ``JITTER_BLOCKS`` waiting; the tick takes the oldest. Blocks to
send are gathered per tick and written in one go.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from gateway.boards import protocol as p
from gateway.boards.kinds import KINDS
from gateway.boards.transport import open_transport
from gateway.errors import BoardError, InputError, LinkError

log = logging.getLogger("linegate.board")

JITTER_BLOCKS = 4                # 80 ms: more than this waiting means we fell behind; the oldest go
REPLY_TIMEOUT = 2.0
LAW_CODES = {"alaw": p.Law.ALAW, "ulaw": p.Law.ULAW}


class BoardDriver:
    """``on_event(driver, message)`` is called (in the reader task) for
    PORT_EVENT, ALARMS and LOG; it must not block."""

    def __init__(self, url: str, name: str, on_event, reply_timeout: float = REPLY_TIMEOUT):
        self.url = url
        self.name = name
        self.on_event = on_event
        self.reply_timeout = reply_timeout
        self.transport = None
        self.identity: p.Identity | None = None
        self.kind = None
        self._reader = p.FrameReader()
        self._seq = 0
        self._pending: dict[int, asyncio.Future] = {}
        self._audio: dict[tuple, deque] = {}
        self._out = bytearray()
        self._task: asyncio.Task | None = None
        self.closed = asyncio.Event()
        self.failed: str | None = None
        self.late_blocks = 0             # audio blocks dropped because the tick fell behind
        self.command_failures = 0

    async def open(self) -> "BoardDriver":
        self.transport = await open_transport(self.url)
        self._task = asyncio.get_running_loop().create_task(self._read_loop(), name=f"board {self.name}")
        self.identity = await self.request(p.Identify())
        if not isinstance(self.identity, p.Identity):
            raise LinkError(f"{self.url}: IDENTIFY answered with {self.identity.NAME}")
        codes = {kind.code: kind for kind in KINDS}
        self.kind = codes.get(int(self.identity.kind))
        if self.kind is None:
            raise LinkError(f"{self.url}: unknown board kind {int(self.identity.kind)}")
        if self.identity.running != 0:
            raise BoardError(f"{self.url}: the board runs its bootloader, not firmware (flash it first)")
        return self

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self.transport is not None:
            await self.transport.close()
        self._fail_pending(LinkError(f"{self.url}: closed"))

    # ---- sending ----
    def _frame(self, message: p.Message) -> tuple[int, bytes]:
        seq = self._seq
        self._seq = (seq + 1) & 0xFFFF
        return seq, p.encode_frame(message, seq)

    async def request(self, message: p.Message, timeout: float | None = None) -> p.Message:
        """Send a request and wait for its reply (any reply type; RESULT other than OK raises)."""
        if self.failed:
            raise LinkError(f"{self.url}: {self.failed}")
        seq, frame = self._frame(message)
        future = asyncio.get_running_loop().create_future()
        self._pending[seq] = future
        try:
            await self.transport.write(frame)
            reply = await asyncio.wait_for(future, timeout or self.reply_timeout)
        except asyncio.TimeoutError:
            raise LinkError(f"{self.url}: no reply to {message.NAME} (seq {seq})") from None
        finally:
            self._pending.pop(seq, None)
        if isinstance(reply, p.Result) and reply.status != p.ResultCode.OK:
            raise BoardError(f"{self.url}: {message.NAME} refused: {reply.status.name} {reply.detail}".rstrip(),
                             status=reply.status, detail=reply.detail)
        return reply

    def command(self, message: p.Message) -> asyncio.Task:
        """Send a request without holding the caller; a refusal is logged and counted."""
        async def run():
            try:
                await self.request(message)
            except (BoardError, LinkError) as exc:
                self.command_failures += 1
                log.warning("board=%s command=%s failed: %s", self.name, message.NAME, exc)
        return asyncio.get_running_loop().create_task(run())

    def queue_audio(self, unit: int, channel: int, law: str, block: bytes) -> None:
        seq, frame = self._frame(p.Audio(unit, channel, LAW_CODES[law], 0, block))
        self._out += frame

    async def flush_audio(self) -> None:
        if self._out and not self.failed:
            data, self._out = bytes(self._out), bytearray()
            await self.transport.write(data)
        else:
            self._out.clear()

    def take_audio(self, unit: int, channel: int) -> bytes | None:
        queue = self._audio.get((unit, channel))
        return queue.popleft() if queue else None

    # ---- receiving ----
    async def _read_loop(self) -> None:
        try:
            while True:
                try:
                    data = await self.transport.read(3600.0)
                except asyncio.TimeoutError:
                    continue
                for frame in self._reader.feed(data):
                    self._dispatch(frame)
        except LinkError as exc:
            self.failed = str(exc)
            log.error("board=%s link lost: %s", self.name, exc)
        except InputError as exc:
            self.failed = f"bad data from the board: {exc}"
            log.error("board=%s %s", self.name, self.failed)
        finally:
            self._fail_pending(LinkError(f"{self.url}: {self.failed or 'closed'}"))
            self.closed.set()

    def _dispatch(self, frame: p.Frame) -> None:
        message = frame.message
        if message.is_reply:
            future = self._pending.get(frame.seq)
            if future is not None and not future.done():
                future.set_result(message)
            return
        if isinstance(message, p.Audio):
            key = (message.unit, message.channel)
            queue = self._audio.get(key)
            if queue is None:
                queue = self._audio[key] = deque()
            if len(queue) >= JITTER_BLOCKS:
                queue.popleft()
                self.late_blocks += 1
            queue.append(message.samples)
            return
        self.on_event(self, message)

    def _fail_pending(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()
