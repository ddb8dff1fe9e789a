"""A board as technicians' tools see it: requests with their replies checked, over one link.

    async with await Board.open("sim://fxo4?seed=1") as board:
        identity = await board.identify()
        slots = [await board.slot_info(s) for s in Slot]

Replies of the wrong kind are the link's ``LinkError``; a RESULT other than OK
is ``BoardError`` naming the request, the board's status and its detail text
(exit 1 at the command line). Nothing here prints.
"""

from __future__ import annotations

import asyncio

from gateway.boards import protocol as p
from gateway.boards.link import DEFAULT_TIMEOUT, Link
from gateway.errors import BoardError, LinkError

# A full slot erase is 1536 page erases on the board: far longer than a plain request.
ERASE_TIMEOUT = 30.0
RESTART_TIMEOUT = 15.0


class Board:
    def __init__(self, link: Link, reply_timeout: float = DEFAULT_TIMEOUT):
        self.link = link
        self.reply_timeout = reply_timeout  # how long a request waits for its reply unless told otherwise

    @classmethod
    async def open(cls, url: str, *, timeout: float | None = None,
                   reply_timeout: float = DEFAULT_TIMEOUT) -> "Board":
        kwargs = {} if timeout is None else {"timeout": timeout}
        return cls(await Link.open(url, **kwargs), reply_timeout)

    @property
    def url(self) -> str:
        return self.link.url

    async def close(self) -> None:
        await self.link.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def ask(self, message: p.Message, expected: type, timeout: float | None = None):
        """``message``'s reply of type ``expected``; BoardError when the board answers RESULT instead."""
        reply = await self.link.request(message, timeout or self.reply_timeout)
        if isinstance(reply, expected):
            return reply
        raise BoardError(f"{self.url}: {message.NAME} refused: {reply.status.name}"
                         + (f": {reply.detail}" if reply.detail else ""), status=reply.status, detail=reply.detail)

    async def result(self, message: p.Message, timeout: float | None = None) -> p.Result:
        """The RESULT of ``message``, whatever its status (callers that tell statuses apart)."""
        return await self.link.request(message, timeout or self.reply_timeout)

    async def command(self, message: p.Message, timeout: float | None = None) -> None:
        """Send a request whose answer is RESULT; BoardError unless it is OK."""
        reply = await self.link.request(message, timeout or self.reply_timeout)
        if reply.status != p.ResultCode.OK:
            raise BoardError(f"{self.url}: {message.NAME} refused: {reply.status.name}"
                             + (f": {reply.detail}" if reply.detail else ""), status=reply.status,
                             detail=reply.detail)

    async def identify(self, timeout: float | None = None) -> p.Identity:
        return await self.ask(p.Identify(), p.Identity, timeout)

    async def slot_info(self, slot: p.Slot) -> p.SlotInfo:
        return await self.ask(p.BlSlotInfo(p.Slot(slot)), p.SlotInfo)

    async def trusted_keys(self) -> list[bytes] | None:
        """The public keys the board's bootloader trusts (BL_KEYS), or None from firmware that
        cannot tell (older than BL_KEYS: BAD_REQUEST naming ``type``; no key block: WRONG_STATE)."""
        try:
            return list((await self.ask(p.BlKeys(), p.TrustedKeys)).keys)
        except BoardError as exc:
            if exc.status in (p.ResultCode.BAD_REQUEST, p.ResultCode.WRONG_STATE):
                return None
            raise

    async def status(self) -> p.StatusReport:
        return await self.ask(p.Status(), p.StatusReport)

    async def config_get(self, what: p.ConfigWhat, index: int) -> p.SpanConfig | p.PortConfig:
        """The span's or port's configuration the board holds (CONFIG_GET); BoardError when refused
        (UNSUPPORTED, or BAD_REQUEST naming ``type`` from firmware older than CONFIG_GET)."""
        expected = p.SpanConfig if what == p.ConfigWhat.SPAN else p.PortConfig
        return await self.ask(p.ConfigGet(p.ConfigWhat(what), index), expected)

    async def advance(self, until_ms: int, timeout: float | None = None) -> int:
        """Run a simulated board's virtual clock up to ``until_ms`` (SIM_ADVANCE, PROTOCOL.md
        "Host-granted time") and return its clock then (SIM_CLOCK). All the board sent for times up
        to there has arrived when this returns: its events and AUDIO wait in the link's queue
        (``link.receive``). BoardError when the board has no virtual time: UNSUPPORTED (real time)
        or BAD_REQUEST naming ``type`` (firmware that predates SIM_ADVANCE)."""
        return (await self.ask(p.SimAdvance(until_ms), p.SimClock, timeout)).now_ms

    async def restart(self, timeout: float = RESTART_TIMEOUT) -> p.Identity:
        """RESET, then wait until the board answers IDENTIFY again (reconnecting when the restart
        dropped the link); its new identity. LinkError if it does not come back within ``timeout``."""
        await self.command(p.Reset(p.ResetMode.RESTART))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = "no answer"
        while loop.time() < deadline:
            try:
                return await self.identify(timeout=min(0.5, max(0.05, deadline - loop.time())))
            except BoardError:
                raise
            except LinkError as exc:
                last = str(exc)
            # The board may have closed the link while restarting: open it again (the same URL).
            try:
                await self.link.transport.reconnect(timeout=max(0.1, min(1.0, deadline - loop.time())))
                self.link.reader = p.FrameReader()
            except LinkError as exc:
                last = str(exc)
                await asyncio.sleep(0.1)
        raise LinkError(f"{self.url}: the board did not come back within {timeout:g} s of its restart ({last})")
