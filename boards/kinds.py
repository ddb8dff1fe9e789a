"""Board kinds: what each kind of board has (ports, spans, capabilities) and its flash layout.

The codes, capability bits and flash layout are the ones of boards/PROTOCOL.md
(IDENTITY) and boards/IMAGE.md ("Flash layout per board kind"); the firmware
in C has the same tables, and tests check these against the documents' values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.errors import UsageError

KIB = 1024


class Capability(enum.IntFlag):
    """IDENTITY.capabilities bits (PROTOCOL.md, "Capability bits")."""

    FXO = 1
    FXS = 2
    E1 = 4
    CAS = 8
    CCS = 16
    CRC4 = 32
    CALLER_ID = 64
    TONE = 128
    AB_SLOTS = 256
    SIGNED_IMAGES = 512


ALL_CAPABILITIES = Capability(1023)


@dataclass(frozen=True)
class Region:
    """A range of flash: where it starts and how many bytes it holds."""

    name: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class FlashLayout:
    """IMAGE.md's layout: pages, the bootloader, two image slots and two config copies."""

    page_size: int
    total: int
    bootloader: Region
    slot_a: Region
    slot_b: Region
    config: tuple[Region, Region]

    def slot(self, index: int) -> Region:
        """Slot 0 (A) or 1 (B), the numbering of the protocol's `slot` fields."""
        if index == 0:
            return self.slot_a
        if index == 1:
            return self.slot_b
        raise UsageError(f"slot {index!r} does not exist: slots are 0 (A) and 1 (B)")

    @property
    def slot_size(self) -> int:
        return self.slot_a.size

    @property
    def max_payload(self) -> int:
        """The largest image payload a slot takes: the slot less the 128-byte header and 64-byte signature."""
        return self.slot_size - IMAGE_OVERHEAD

    def regions(self) -> tuple[Region, ...]:
        return (self.bootloader, self.slot_a, self.slot_b, *self.config)


IMAGE_OVERHEAD = 128 + 64  # IMAGE.md: header and signature around the payload

# IMAGE.md: the same layout for every kind of version 1 (3200 KiB of flash; the
# 56 KiB after the config copies are not used).
STANDARD_LAYOUT = FlashLayout(
    page_size=1024,
    total=3200 * KIB,
    bootloader=Region("bootloader", 0x00000, 64 * KIB),
    slot_a=Region("slot A", 0x10000, 1536 * KIB),
    slot_b=Region("slot B", 0x190000, 1536 * KIB),
    config=(Region("config 0", 0x310000, 4 * KIB), Region("config 1", 0x311000, 4 * KIB)),
)


@dataclass(frozen=True)
class BoardKind:
    """One kind of board. `code` is IDENTITY.kind and the image header's board kind."""

    name: str
    code: int
    description: str
    ports: int
    spans: int
    channels_per_span: int  # B-channels (voice timeslots) per span
    capabilities: Capability
    hw_revision: int  # the revision boards of this kind are built at now
    flash: FlashLayout

    def __str__(self) -> str:
        return self.name


E1X2 = BoardKind(
    name="e1x2", code=1, description="two E1 spans, 30 B-channels each (CAS or CCS, CRC-4, HDB3)",
    ports=0, spans=2, channels_per_span=30,
    capabilities=(Capability.E1 | Capability.CAS | Capability.CCS | Capability.CRC4 | Capability.TONE
                  | Capability.AB_SLOTS | Capability.SIGNED_IMAGES),
    hw_revision=1, flash=STANDARD_LAYOUT)

FXO4 = BoardKind(
    name="fxo4", code=2, description="four FXO ports for lines to an exchange",
    ports=4, spans=0, channels_per_span=0,
    capabilities=Capability.FXO | Capability.TONE | Capability.AB_SLOTS | Capability.SIGNED_IMAGES,
    hw_revision=1, flash=STANDARD_LAYOUT)

FXS4 = BoardKind(
    name="fxs4", code=3, description="four FXS ports for telephones",
    ports=4, spans=0, channels_per_span=0,
    # No CALLER_ID yet: the firmware does not generate caller ID, and a board says only what it does.
    capabilities=(Capability.FXS | Capability.TONE | Capability.AB_SLOTS | Capability.SIGNED_IMAGES),
    hw_revision=1, flash=STANDARD_LAYOUT)

KINDS: tuple[BoardKind, ...] = (E1X2, FXO4, FXS4)
_BY_NAME = {k.name: k for k in KINDS}
_BY_CODE = {k.code: k for k in KINDS}


def kind_by_name(name: str) -> BoardKind:
    """The kind called `name` (e.g. "fxo4"); UsageError naming the known kinds otherwise."""
    try:
        return _BY_NAME[name.strip().lower()]
    except (KeyError, AttributeError):
        raise UsageError(f"unknown board kind {name!r}; known: {', '.join(_BY_NAME)}") from None


def kind_by_code(code: int) -> BoardKind | None:
    """The kind with this IDENTITY.kind code, or None (callers name the field in their own error)."""
    return _BY_CODE.get(code)
