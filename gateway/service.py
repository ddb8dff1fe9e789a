"""The CTI service: the operations of gateway/cti/PROTOCOL.md carried out
on the running gateway. The CTI server has already checked each request
against its op's schema; this module only maps it to the gateway and turns
refusals into CTI errors. It knows no socket (the server's business) and no
line (the gateway's).
"""

from __future__ import annotations

import logging

from gateway.errors import CtiError
from gateway.runtime import Gateway, OperationError

log = logging.getLogger("linegate.cti")


class GatewayService:
    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self._ops = {
            "channels.list": self._channels_list,
            "channel.status": self._channel_status,
            "call.make": self._call_make,
            "call.answer": self._call_answer,
            "call.hangup": self._call_hangup,
            "call.hold": self._call_hold,
            "call.retrieve": self._call_retrieve,
            "call.transfer": self._call_transfer,
            "call.send_dtmf": self._call_send_dtmf,
            "call.play": self._call_play,
            "call.record": self._call_record,
            "call.collect": self._call_collect,
        }

    async def handle(self, session, op: str, args: dict) -> dict:
        handler = self._ops.get(op)
        if handler is None:
            raise CtiError("unknown-op", f"{op}: not served by this gateway")
        try:
            return await handler(session, args)
        except OperationError as exc:
            raise CtiError(exc.code, str(exc)) from None

    def session_closed(self, session) -> None:
        """A host application went away: its calls go on (the issue's rule); say so in the log."""
        mine = [c for c in self.gateway.model.calls.values()
                if c.meta.get("session") == getattr(session, "id", None) and not c.ended]
        if mine:
            log.info("session=%s closed; its calls go on: %s", getattr(session, "id", "?"),
                     ",".join(c.id for c in mine))

    # ---- operations ----
    async def _channels_list(self, session, args):
        return {"channels": self.gateway.channels_list(args.get("group"))}

    async def _channel_status(self, session, args):
        return self.gateway.channel_status(args["channel"])

    async def _call_make(self, session, args):
        call = self.gateway.make_call(args["to"], frm=args.get("from") or "", group=args.get("group"),
                                      channel_id=args.get("channel"), detect=tuple(args.get("detect") or ()),
                                      meta={"session": getattr(session, "id", None)},
                                      timeout=args.get("timeout"))
        return {"call": call}

    async def _call_answer(self, session, args):
        self.gateway.answer(args["call"])
        return {}

    async def _call_hangup(self, session, args):
        self.gateway.hangup(args["call"], args.get("cause", 16))
        return {}

    async def _call_hold(self, session, args):
        self.gateway.hold(args["call"])
        return {}

    async def _call_retrieve(self, session, args):
        self.gateway.retrieve(args["call"])
        return {}

    async def _call_transfer(self, session, args):
        return await self.gateway.transfer(args["call"], to=args.get("to"), consult=args.get("consult"))

    async def _call_send_dtmf(self, session, args):
        return await self.gateway.send_dtmf(args["call"], args["digits"], args.get("duration_ms", 100),
                                            args.get("gap_ms", 100))

    async def _call_play(self, session, args):
        return await self.gateway.play(args["call"], file=args.get("file"), tone=args.get("tone"),
                                       repeat=args.get("repeat", 1), barge_in=args.get("barge_in", False))

    async def _call_record(self, session, args):
        return await self.gateway.record(args["call"], args["file"], args.get("max_seconds", 60.0),
                                         silence_seconds=args.get("silence_seconds"),
                                         terminator=args.get("terminator"), beep=args.get("beep", False))

    async def _call_collect(self, session, args):
        return await self.gateway.collect(args["call"], args["max_digits"], terminator=args.get("terminator"),
                                          first_timeout=args.get("first_timeout", 5.0),
                                          inter_timeout=args.get("inter_timeout", 3.0),
                                          flush=args.get("flush", False))
