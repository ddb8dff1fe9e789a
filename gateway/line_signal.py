"""What a line's signalling stack asks of the rest of the gateway, and what
it tells the call model. The stacks (loop start, V.253, later PRI and R2)
are I/O-free: they return these, and the channel driver carries them out.

Actions go to the line and the media engine; ``Signal`` goes to the call
model (its ``kind`` names the CallModel method, its fields the arguments).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Hook:
    """FXO: take the line off-hook (seize, answer) or put it back on-hook."""
    offhook: bool


@dataclass(frozen=True)
class Flash:
    """FXO: a hook flash (or one break of pulse dialling) of ``ms`` milliseconds."""
    ms: int


@dataclass(frozen=True)
class SendDigits:
    """Dial ``digits`` by ``method`` ("dtmf" in the audio, "pulse" by breaks);
    the driver says ``digits_sent`` when the last one is out."""
    digits: str
    method: str = "dtmf"


@dataclass(frozen=True)
class Detect:
    """The detectors to run on the channel from now on (a DetectorBank's names)."""
    names: frozenset


@dataclass(frozen=True)
class Listen:
    """Whether the stack wants each tick's voice/level reading (answer supervision)."""
    on: bool


@dataclass(frozen=True)
class PlayTone:
    """Play a tone of the country's plan toward the line (``dial``, ``busy``,
    ``ringback``, ``congestion``...); ``None`` stops it."""
    tone: str | None


@dataclass(frozen=True)
class Ring:
    """FXS: ring the phone (the board rings with the port's cadence) or stop."""
    on: bool


@dataclass(frozen=True)
class SendCallerId:
    """FXS: send the caller ID to the phone now (between the first and second ring)."""
    number: str
    name: str = ""


@dataclass(frozen=True)
class Battery:
    """FXS: battery on or off (off for ``ms`` then on again: disconnect supervision)."""
    on: bool
    ms: int = 0


@dataclass(frozen=True)
class StopMedia:
    """Stop whatever the engine plays or records on the channel."""


@dataclass(frozen=True)
class SetAbcd:
    """E1 CAS: send ``bits`` (A = 8, B = 4, C = 2, D = 1) on the timeslot from now on
    (the board's CAS message, boards/PROTOCOL.md 0x13)."""
    bits: int


@dataclass(frozen=True)
class PlayMf:
    """MFC/R2: play inter-register ``signal`` (1..15) continuously until ``StopMf``.
    ``group`` is the Q.441 group it belongs to: I, II, III are forward signals (the
    caller's frequencies, 1380..1980 Hz), A, B, C backward ones (1140..540 Hz)."""
    group: str
    signal: int

    @property
    def forward(self) -> bool:
        return self.group in ("I", "II", "III")


@dataclass(frozen=True)
class StopMf:
    """MFC/R2: end the inter-register signal being played."""


@dataclass(frozen=True)
class Signal:
    """To the call model: ``kind`` is one of offered, proceeding, progress,
    alerting, connected, disconnected, amd, digits, callerid, free, alarm, flash."""
    kind: str
    fields: dict = field(default_factory=dict)


def signal(kind: str, **fields) -> Signal:
    return Signal(kind, fields)
