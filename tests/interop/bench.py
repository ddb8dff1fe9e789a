"""R2 endpoints on a virtual E1 in lock step: every 20 ms each endpoint gets
the other's ABCD changes and audio block of the previous tick (one block of
transmission delay each way, as a timeslot's buffers add) and gives its own.

Endpoints are Linegate channels (``LinegateEndpoint``: an ``R2Channel`` and
the MF audio adapter) or openr2 channels (``OpenR2Endpoint``: a channel of an
``OpenR2Peer`` process; all channels of one peer tick together).
"""

from __future__ import annotations

from gateway.line_signal import Detect, PlayMf, SetAbcd, Signal, StopMf
from gateway.r2 import R2Channel, get_variant
from tests.interop import mf_audio
from tests.interop.openr2_peer import SILENCE, OpenR2Peer

TICK_MS = 20


class LinegateEndpoint:
    def __init__(self, channel: R2Channel):
        self.ch = channel
        self.tx = mf_audio.MfTransmitter()
        self.rx: dict[bool, object] = {}        # forward? -> receiver, for the directions listened to
        self.now_ms = 0
        self.signals: list[tuple[int, str, dict]] = []
        self._abcd_out: list[int] = []
        self.first_seize_ms: int | None = None

    # ---- the host ----
    def do(self, command: str, *args, **kwargs) -> None:
        now = self.now_ms / 1000
        if command in ("make_call", "reject"):
            actions = getattr(self.ch, command)(args[0], now, *args[1:], **kwargs)
        else:
            actions = getattr(self.ch, command)(now, *args, **kwargs)
        self._apply(actions)

    # ---- a tick ----
    def step(self, now_ms: int, changes: list[int], block: bytes) -> tuple[list[int], bytes]:
        self.now_ms = now_ms
        now = now_ms / 1000
        for bits in changes:
            self._apply(self.ch.abcd(bits, now))
        samples = mf_audio.decode(block)
        for forward, receiver in list(self.rx.items()):
            for what, signal in receiver.feed(samples):
                if forward in self.rx:       # the channel may have stopped listening meanwhile
                    self._apply(self.ch.mf_began(signal, now) if what == "began" else self.ch.mf_ended(now, signal))
        while self.ch.next_deadline is not None and self.ch.next_deadline <= now:
            self._apply(self.ch.tick(now))
        out, self._abcd_out = self._abcd_out, []
        return out, mf_audio.encode(self.tx.block())

    def _apply(self, actions: list) -> None:
        for action in actions:
            if isinstance(action, SetAbcd):
                self._abcd_out.append(action.bits)
                if action.bits == self.ch.variant.line.seize and self.first_seize_ms is None:
                    self.first_seize_ms = self.now_ms
            elif isinstance(action, PlayMf):
                self.tx.play(action.signal, action.forward)
            elif isinstance(action, StopMf):
                self.tx.stop()
            elif isinstance(action, Detect):
                wanted = {name == "mfr2_fwd" for name in action.names if name in ("mfr2_fwd", "mfr2_bwd")}
                self.rx = {fwd: self.rx.get(fwd) or mf_audio.make_receiver(fwd) for fwd in wanted}
            elif isinstance(action, Signal):
                self.signals.append((self.now_ms, action.kind, action.fields))

    # ---- looking ----
    def signal(self, kind: str) -> dict | None:
        for _, k, fields in self.signals:
            if k == kind:
                return fields
        return None

    def time_of(self, kind: str) -> int | None:
        for t, k, _ in self.signals:
            if k == kind:
                return t
        return None


class OpenR2Endpoint:
    def __init__(self, peer: OpenR2Peer, chan: int):
        self.peer, self.chan = peer, chan
        self.first_seize_ms: int | None = None

    def note(self, now_ms: int, changes: list[int]) -> None:
        if get_variant(self.peer.variant).line.seize in changes and self.first_seize_ms is None:
            self.first_seize_ms = now_ms

    def event(self, prefix: str):
        return self.peer.event(self.chan, prefix)

    def offered(self):
        return self.peer.offered(self.chan)


class Bench:
    """Links pairs of endpoints and runs them tick by tick."""

    def __init__(self, *pairs):
        self.pairs = pairs
        self.other = {}
        for a, b in pairs:
            self.other[id(a)], self.other[id(b)] = b, a
        self.endpoints = [e for pair in pairs for e in pair]
        self.inbox = {id(e): ([], SILENCE) for e in self.endpoints}
        self.now_ms = 0

    def step(self) -> None:
        now = self.now_ms
        outputs = {}
        peers: dict[int, list[OpenR2Endpoint]] = {}
        for e in self.endpoints:
            if isinstance(e, OpenR2Endpoint):
                peers.setdefault(id(e.peer), []).append(e)
        for group in peers.values():
            peer = group[0].peer
            result = peer.tick(now, {e.chan: self.inbox[id(e)] for e in group})
            for e in group:
                outputs[id(e)] = result[e.chan]
                e.note(now, result[e.chan][0])
        for e in self.endpoints:
            if isinstance(e, LinegateEndpoint):
                outputs[id(e)] = e.step(now, *self.inbox[id(e)])
        for e in self.endpoints:
            self.inbox[id(self.other[id(e)])] = outputs[id(e)]
        self.now_ms += TICK_MS

    def run(self, until, script=None, limit_ms: int = 60_000) -> int:
        """Tick until ``until()``; ``script()`` runs after every tick (the hosts' reactions)."""
        end = self.now_ms + limit_ms
        while not until():
            if self.now_ms > end:
                raise AssertionError(f"not reached by {self.now_ms} ms")
            self.step()
            if script is not None:
                script()
        return self.now_ms
