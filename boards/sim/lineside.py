"""What passes between a simulated board and the simulated telephone network
once per 20 ms audio tick: the board's drive of each line and the audio it
sends, and back the line's sense and the audio it carries.

The board simulator (the native firmware's line model, ``--network URL``)
is the client; the network answers every tick (boards/sim/LINESIDE.md gives
the wire form). These types are the network's whole view of a board: it
never learns what the gateway meant, only what the line did.

Audio is 160 bytes of G.711 (20 ms at 8 kHz) in the law of the unit, or
None when the channel carries nothing that tick (a closed channel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

BLOCK_BYTES = 160
TICK_MS = 20


@dataclass(frozen=True)
class BoardAttached:
    """A board simulator that connected to the network."""
    kind: str            # "fxo4", "fxs4" or "e1x2"
    serial: str
    ports: int
    spans: int


@dataclass(frozen=True)
class PortDrive:
    """How the board drives one analog port during the tick that ends at the
    tick's time. FXO: ``offhook`` is our hook toward the exchange, and
    ``hook_changes`` its changes within the tick as (ms before the tick's
    time, offhook) at the 5 ms line resolution, oldest first (pulse dialling
    and hook flashes show there). FXS: ``ringing``, ``battery`` and
    ``reversed`` are what we apply to the phone."""
    port: int
    law: str                                   # "alaw" or "ulaw"
    offhook: bool = False
    hook_changes: tuple = ()
    ringing: bool = False
    battery: bool = True
    reversed: bool = False
    audio: bytes | None = None                 # toward the line


@dataclass(frozen=True)
class PortSense:
    """What the line does to one analog port for the next tick. FXO: the
    exchange's ``ring`` (ringing voltage present), ``battery`` and
    ``reversed`` polarity; FXS: the phone's ``offhook`` (changes at 20 ms
    steps are enough for a phone's pulse dialling: 60/40 ms)."""
    port: int
    ring: bool = False
    battery: bool = True
    reversed: bool = False
    offhook: bool = False
    audio: bytes | None = None                 # from the line


@dataclass(frozen=True)
class SpanDrive:
    """One E1 span during the tick: audio per timeslot (1..31), the ABCD bits
    we send per timeslot (CAS framing), HDLC frames sent on the D-channel."""
    span: int
    law: str
    audio: dict = field(default_factory=dict)  # timeslot -> bytes
    cas: dict = field(default_factory=dict)    # timeslot -> abcd (0..15)
    hdlc: tuple = ()                           # frames, oldest first


@dataclass(frozen=True)
class SpanSense:
    """What the far end sends on one E1 span for the next tick, and its state."""
    span: int
    signal: bool = True                        # False: loss of signal
    audio: dict = field(default_factory=dict)
    cas: dict = field(default_factory=dict)
    hdlc: tuple = ()


@dataclass(frozen=True)
class Tick:
    board: str                                 # the board's serial
    time_ms: int                               # the board's clock at the end of the tick
    ports: Sequence[PortDrive] = ()
    spans: Sequence[SpanDrive] = ()


@dataclass(frozen=True)
class Tock:
    ports: Sequence[PortSense] = ()
    spans: Sequence[SpanSense] = ()


class Network(Protocol):
    """The far side of every simulated line. I/O-free: the line server calls
    it with what the boards did and sends back what it returns."""

    def attach(self, board: BoardAttached) -> None: ...

    def detach(self, serial: str) -> None: ...

    def tick(self, tick: Tick) -> Tock: ...
