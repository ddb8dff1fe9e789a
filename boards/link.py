"""A link to one board: a transport, the frame reader, sequence numbers and request/reply matching.

    async with await Link.open("tcp://127.0.0.1:7001") as link:
        identity = await link.request(Identify())
        frame = await link.receive(timeout=1.0)      # events: PORT_EVENT, ALARMS, AUDIO, LOG...

PROTOCOL.md, "Sequence numbers and replies": the host numbers what it sends;
a reply carries its request's seq and a reply type (0x80 and up). Frames that
arrive while a request waits (events, audio) are queued for ``receive``, up to
``queue_limit``; past it the oldest go and ``dropped`` counts them, so a caller
that never reads events cannot make the link grow without bound. A partial
frame held when the line has been quiet for ``IDLE_GAP`` is given up
(``FrameReader.abandon``), so a false sync in line noise cannot hold a reply.
"""

from __future__ import annotations

import asyncio
from collections import deque

from gateway.boards.protocol import REPLY_TO, Frame, FrameReader, Message, Result, encode_frame
from gateway.boards.transport import Transport, open_transport
from gateway.errors import LinkError, UsageError

DEFAULT_TIMEOUT = 2.0
IDLE_GAP = 0.2  # PROTOCOL.md: a partial frame is given up after this long without a byte


class Link:
    def __init__(self, transport: Transport, *, queue_limit: int = 1024):
        self.transport = transport
        self.reader = FrameReader()
        self._next_seq = 0
        self._queue: deque[Frame] = deque()
        self.queue_limit = queue_limit
        self.dropped = 0  # queued frames dropped because nobody read them
        self.stray_replies = 0  # replies to no request we are waiting for

    @classmethod
    async def open(cls, url: str, **kwargs) -> "Link":
        return cls(await open_transport(url, **kwargs))

    @property
    def url(self) -> str:
        return self.transport.url

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def close(self) -> None:
        await self.transport.close()

    async def send(self, message: Message) -> int:
        """Send one frame; its seq."""
        seq = self._next_seq
        frame = encode_frame(message, seq)
        self._next_seq = (seq + 1) & 0xFFFF
        await self.transport.write(frame)
        return seq

    async def _more(self, deadline: float, what: str) -> list[Frame]:
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LinkError(f"{self.url}: {what}")
            # With part of a frame held, wait only the idle gap: then give the partial frame up.
            wait = min(remaining, IDLE_GAP) if self.reader.pending > 1 else remaining
            try:
                data = await self.transport.read(wait)
            except asyncio.TimeoutError:
                if wait < remaining:
                    frames = self.reader.abandon()
                    if frames:
                        return frames
                    continue
                raise LinkError(f"{self.url}: {what}") from None
            return self.reader.feed(data)

    def _enqueue(self, frame: Frame) -> None:
        if len(self._queue) >= self.queue_limit:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(frame)

    async def receive(self, timeout: float = DEFAULT_TIMEOUT) -> Frame:
        """The next frame that is not a reply to a request; LinkError if none comes in time."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._queue:
            for frame in await self._more(deadline, f"nothing received within {timeout:g} s"):
                self._enqueue(frame)
        return self._queue.popleft()

    def drain(self) -> list[Frame]:
        """Every frame queued for ``receive`` (in order), taken at once without reading the link:
        after ``Board.advance`` these are all the board sent up to the time granted."""
        frames = list(self._queue)
        self._queue.clear()
        return frames

    async def request(self, message: Message, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """Send a request and return its reply (the expected type, or RESULT). LinkError when
        no reply comes within ``timeout`` or the board answers with a type that does not fit."""
        expected = REPLY_TO.get(type(message))
        if expected is None:
            raise UsageError(f"{message.NAME} is not a request: use send()")
        seq = await self.send(message)
        deadline = asyncio.get_running_loop().time() + timeout
        answer = None
        while answer is None:
            for frame in await self._more(deadline, f"no reply to {message.NAME} (seq {seq}) within {timeout:g} s"):
                reply = frame.message
                if not reply.is_reply:
                    self._enqueue(frame)  # events that came with or before the reply stay in order
                elif frame.seq != seq or answer is not None:
                    self.stray_replies += 1
                elif isinstance(reply, (expected, Result)):
                    answer = reply
                else:
                    names = " or ".join(c.NAME for c in (expected if isinstance(expected, tuple) else (expected,)))
                    raise LinkError(f"{self.url}: the board answered {message.NAME} (seq {seq}) "
                                    f"with {reply.NAME}; expected {names} or RESULT")
        return answer
