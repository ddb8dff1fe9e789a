"""Switch types: what one exchange's dialect of Q.931 does differently.

A primary rate interface speaks Q.931 as its network operator's standard has it: ETSI
EuroISDN (EN 300 403-1, tested for approval as TBR/CTR 4) across Europe and much of the
world, National ISDN 2 or the AT&T/Lucent/Nortel variants in North America, QSIG between
PBXs. ``SwitchType`` holds the differences call control reads; ``SWITCH_TYPES`` the ones
implemented; ``switch_type(name)`` finds one and says, for a known but unimplemented
name, what it would take.

The names follow libpri's (``PRI_SWITCH_*``) so that a configuration reads the same to
someone coming from Asterisk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.errors import UsageError
from gateway.isdn import Role

E1_B_CHANNELS = tuple(range(1, 16)) + tuple(range(17, 32))   # ETSI numbers E1 B-channels by timeslot
T1_B_CHANNELS = tuple(range(1, 24))                           # 23B+D: channel 24 is the D-channel


@dataclass(frozen=True)
class SwitchType:
    """One dialect. ``timers`` are the Q.931 defaults (seconds) by side; the rest are the
    points where variants part."""
    name: str
    title: str
    source: str
    b_channels: tuple = E1_B_CHANNELS
    call_reference_length: int = 2          # octets; a primary rate interface uses 2 (Q.931 4.3)
    setup_retransmit: bool = True           # SETUP sent again at T303's first expiry (Q.931 5.1.1, 5.2.1)
    release_retransmit: bool = True         # RELEASE sent again at T308's first expiry (5.3.4.3)
    user_acknowledges_connect: bool = True  # the user answers CONNECT with CONNECT ACK (optional in ETSI)
    interface_restart_class: int = 7        # RESTART of every channel: 7 "all interfaces" (6 "single")
    restart_attempts: int = 2               # RESTART sent this many times before giving up (5.5.1)
    timers: dict = field(default_factory=dict)

    def timer_defaults(self, role: Role) -> dict:
        return dict(self.timers[role.value])


# ITU-T Q.931 (05/98) Table 9-1 (network side) and Table 9-2 (user side); ETSI EN 300 403-1
# keeps the same values. T301 and T309 are the upper ends of their ranges.
_Q931_TIMERS = {
    "network": {"t301": 180.0, "t302": 15.0, "t303": 4.0, "t304": 20.0, "t305": 30.0, "t308": 4.0,
                "t309": 90.0, "t310": 10.0, "t313": 4.0, "t316": 120.0, "t322": 4.0},
    "user": {"t301": 180.0, "t302": 15.0, "t303": 4.0, "t304": 30.0, "t305": 30.0, "t308": 4.0,
             "t309": 90.0, "t310": 30.0, "t313": 4.0, "t316": 120.0, "t322": 4.0},
}

EUROISDN_E1 = SwitchType(
    "euroisdn-e1", "EuroISDN on E1 (30B+D)",
    "ETSI EN 300 403-1 V1.3.2 (DSS1); TBR 4 / CTR 4 for primary rate access",
    E1_B_CHANNELS, timers=_Q931_TIMERS)

EUROISDN_T1 = SwitchType(
    "euroisdn-t1", "EuroISDN on T1 (23B+D)",
    "ETSI EN 300 403-1 on a 1544 kbit/s interface (libpri's PRI_SWITCH_EUROISDN_T1)",
    T1_B_CHANNELS, timers=_Q931_TIMERS)

SWITCH_TYPES = {s.name: s for s in (EUROISDN_E1, EUROISDN_T1)}

# Known dialects not implemented yet, and where each departs from EuroISDN: the work a new
# entry in SWITCH_TYPES needs (from the standards named and from libpri's q931.c, which
# branches on them).
NOT_YET = {
    "ni2": "National ISDN 2 (Telcordia): T1 channels 1-23; a display type octet before the text of "
           "the Display element; the calling name in a Facility or Display element; SERVICE "
           "maintenance messages (protocol discriminator 0x03)",
    "dms100": "Nortel DMS-100: a North American variant of NI-2 (libpri's q931.c branches on it)",
    "lucent5e": "Lucent 5ESS: a North American variant of NI-2 (libpri's q931.c branches on it)",
    "att4ess": "AT&T 4ESS: a North American variant of NI-2 (libpri's q931.c branches on it)",
    "qsig": "QSIG (ECMA-143 / ISO/IEC 11572): ends A and B instead of user and network, with rules "
            "for call reference and channel collisions; supplementary services (names, diversion, "
            "transfer) in Facility elements (ROSE)",
}


def switch_type(name: str | SwitchType) -> SwitchType:
    if isinstance(name, SwitchType):
        return name
    key = str(name).lower()
    if key in SWITCH_TYPES:
        return SWITCH_TYPES[key]
    if key in NOT_YET:
        raise UsageError(f"switch type {name!r} is not implemented yet ({NOT_YET[key]}); "
                         f"implemented: {', '.join(SWITCH_TYPES)}")
    raise UsageError(f"unknown switch type {name!r}: one of {', '.join(SWITCH_TYPES)}")
