"""ISDN primary rate access on an E1 span's D-channel, as I/O-free stacks.

- ``q921``: LAPD, the data link (ITU-T Q.921 / ETSI EN 300 125), point-to-point.
- ``ie`` and ``q931``: Q.931 information elements and messages (the codec).
- ``call_control``: the Q.931 call states and timers of one interface, user or network side.
- ``switch_type``: what differs between switch types (ETSI EuroISDN first).
- ``dchannel``: the two layers joined over one D-channel: HDLC frames in and out,
  the host's commands and call events.

Nothing here reads a clock or touches a socket: every input carries ``now`` and
every output is returned (CONVENTIONS.md, "Cores without I/O").
"""

import enum


class Role(enum.Enum):
    """Which end of the interface a stack plays. ``USER`` is the terminal equipment (TE,
    the customer's side: a gateway facing a carrier); ``NETWORK`` is the network
    termination (NT: a gateway acting as the exchange, toward a PBX or in a test)."""
    USER = "user"
    NETWORK = "network"

    @property
    def peer(self) -> "Role":
        return Role.NETWORK if self is Role.USER else Role.USER
