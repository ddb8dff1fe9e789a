"""Several units fed in one call (native/detector_set.c), through the cffi lib.

The set must behave exactly as the units fed one by one, write their events
one unit after another, and refuse bad arguments or too little room before
any unit has consumed anything.
"""

from __future__ import annotations

import numpy as np
import pytest

from gateway.dsp.native import check, ffi, lib
from tests.dsp import dtmf_signals as sig

BLOCK = 160


class Unit:
    """A unit's descriptor, bank, lanes and states at its defaults."""

    def __init__(self, name: str, channels: int):
        self.name = name
        params = ffi.new(f"lg_{name}_params *")
        getattr(lib, f"lg_{name}_params_default")(params)
        self.desc = ffi.new(f"lg_{name}_desc *")
        check(getattr(lib, f"lg_{name}_desc_init")(self.desc, params), name)
        self.bank = ffi.new(f"lg_{name}_bank *")
        self.lanes = ffi.new(f"lg_{name}_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
        self.states = ffi.new(f"lg_{name}_state[]", channels)
        check(getattr(lib, f"lg_{name}_bank_init")(self.bank, self.lanes, self.states, channels), name)
        self.channels = channels

    def feed(self, block):
        room = getattr(lib, f"lg_{self.name}_max_events")(self.channels, block.shape[1])
        events = ffi.new("lg_event[]", room)
        n = check(getattr(lib, f"lg_{self.name}_feed")(self.desc, self.bank, self.lanes, self.states,
                                                      ffi.from_buffer(block), lib.LG_ENC_S16, block.shape[1],
                                                      block.shape[1], events, room), "feed")
        return [_tuple(e) for e in events[0:n]]

    def flush(self):
        room = getattr(lib, f"lg_{self.name}_max_events")(self.channels, 0)
        events = ffi.new("lg_event[]", room)
        n = check(getattr(lib, f"lg_{self.name}_flush")(self.desc, self.bank, self.lanes, self.states,
                                                       events, room), "flush")
        return [_tuple(e) for e in events[0:n]]


UNIT_CODES = {"dtmf_rx": lib.LG_UNIT_DTMF_RX, "modem_tone": lib.LG_UNIT_MODEM_TONE, "cpt": lib.LG_UNIT_CPT,
              "amd": lib.LG_UNIT_AMD, "fsk_rx": lib.LG_UNIT_FSK_RX}


def _tuple(e):
    return (e.channel, e.kind, e.value, e.flags, e.start, e.end, e.reason, round(e.confidence, 5))


def make_set(names, channels):
    units = [Unit(name, channels) for name in names]
    s = ffi.new("lg_detector_set *")
    check(lib.lg_detector_set_init(s, channels), "init")
    for k, u in enumerate(units):
        assert lib.lg_detector_set_add(s, UNIT_CODES[u.name], u.desc, u.bank, u.lanes, u.states) == k
    return s, units


def audio(channels, seconds=1.5):
    """Digits, a CED tone and speech-like noise bursts on different channels."""
    rng = sig.rng_for("detector-set")
    n = int(seconds * sig.FS)
    rows = []
    for ch in range(channels):
        tape = sig.Tape(rng).silence(int(rng.integers(100, 900)))
        if ch % 3 == 0:
            tape.digit(sig.KEYS[ch % 16], sig.ms(80)).silence(sig.ms(120)).digit("9", sig.ms(70))
            x = tape.signal()
        elif ch % 3 == 1:
            t = np.arange(n) / sig.FS
            x = sig.dbm0_to_peak(-15) * np.sin(2 * np.pi * 2100 * t) * (t > 0.2)
        else:
            x = sig.white_noise(n, -30, rng) * (np.arange(n) % 4000 < 1600)
        rows.append(sig.quantize(np.pad(x, (0, max(0, n - len(x))))[:n]))
    return np.stack(rows)


def feed_set(s, data, block=BLOCK):
    out = []
    for at in range(0, data.shape[1], block):
        chunk = np.ascontiguousarray(data[:, at:at + block])
        room = lib.lg_detector_set_max_events(s, chunk.shape[1])
        events = ffi.new("lg_event[]", room)
        n = check(lib.lg_detector_set_feed(s, ffi.from_buffer(chunk), lib.LG_ENC_S16, chunk.shape[1],
                                           chunk.shape[1], events, room), "feed")
        out.append([_tuple(e) for e in events[0:n]])
    room = lib.lg_detector_set_max_events(s, 0)
    events = ffi.new("lg_event[]", room)
    n = check(lib.lg_detector_set_flush(s, events, room), "flush")
    out.append([_tuple(e) for e in events[0:n]])
    return out


def test_a_set_gives_each_units_events_one_unit_after_another():
    """dtmf_rx, modem_tone, cpt, amd and fsk_rx in one set over 11 channels: every feed and
    the flush give exactly the units' own events, unit after unit, and each unit's count."""
    from gateway.dsp.callerid import CallerId, fsk_audio

    channels = 11
    data = audio(channels)
    caller_id = fsk_audio(CallerId(number="5551212", time="01020304"), "v23", level_dbm0=-20.0)
    data[channels - 1, 800:800 + len(caller_id)] = caller_id
    names = ("dtmf_rx", "modem_tone", "cpt", "amd", "fsk_rx")
    s, units = make_set(names, channels)
    alone = [Unit(name, channels) for name in names]
    got = feed_set(s, data)
    for k, at in enumerate(range(0, data.shape[1] + 1, BLOCK)):
        if at < data.shape[1]:
            chunk = np.ascontiguousarray(data[:, at:at + BLOCK])
            parts = [u.feed(chunk) for u in alone]
        else:
            parts = [u.flush() for u in alone]
        assert got[k] == [e for part in parts for e in part], at
    # The counts of the last call (the flush).
    assert [lib.lg_detector_set_count(s, k) for k in range(5)] == [len(p) for p in parts]
    kinds = {e[1] for block in got for e in block}
    assert {lib.LG_EVENT_DTMF, lib.LG_EVENT_MODEM_TONE, lib.LG_EVENT_AMD, lib.LG_EVENT_CALLERID} <= kinds


def test_room_is_the_sum_of_the_units_bounds():
    s, units = make_set(("dtmf_rx", "amd"), 5)
    for n in (0, 1, 160, 1000):
        assert lib.lg_detector_set_max_events(s, n) == lib.lg_dtmf_rx_max_events(5, n) + lib.lg_amd_max_events(5, n)
    assert lib.lg_detector_set_max_events(s, -1) == lib.LG_E_ARG
    assert lib.lg_detector_set_max_events(ffi.NULL, 0) == lib.LG_E_ARG


def test_refusals_come_before_any_unit_consumes_anything():
    """Too little room, a bad encoding or stride: refused, and the set then goes on exactly as
    one that never saw the refused call."""
    channels = 6
    data = audio(channels, 1.0)
    # The set keeps pointers to the units' arrays: the units must stay alive with it.
    s, s_units = make_set(("dtmf_rx", "modem_tone"), channels)
    t, t_units = make_set(("dtmf_rx", "modem_tone"), channels)
    chunk = np.ascontiguousarray(data[:, :BLOCK])
    room = lib.lg_detector_set_max_events(s, BLOCK)
    events = ffi.new("lg_event[]", room)
    buf = ffi.from_buffer(chunk)
    assert lib.lg_detector_set_feed(s, buf, lib.LG_ENC_S16, BLOCK, BLOCK, events, room - 1) == lib.LG_E_SPACE
    assert lib.lg_detector_set_feed(s, buf, 9, BLOCK, BLOCK, events, room) == lib.LG_E_ARG
    assert lib.lg_detector_set_feed(s, buf, lib.LG_ENC_S16, BLOCK - 1, BLOCK, events, room) == lib.LG_E_ARG
    assert lib.lg_detector_set_feed(s, ffi.NULL, lib.LG_ENC_S16, BLOCK, BLOCK, events, room) == lib.LG_E_ARG
    assert lib.lg_detector_set_feed(s, buf, lib.LG_ENC_S16, BLOCK, BLOCK, ffi.NULL, room) == lib.LG_E_ARG
    flush_room = lib.lg_detector_set_max_events(s, 0)
    assert lib.lg_detector_set_flush(s, events, flush_room - 1) == lib.LG_E_SPACE
    assert feed_set(s, data) == feed_set(t, data)


def test_adding_units_is_checked():
    unit = Unit("dtmf_rx", 4)
    s = ffi.new("lg_detector_set *")
    assert lib.lg_detector_set_init(s, 0) == lib.LG_E_ARG
    assert lib.lg_detector_set_init(ffi.NULL, 4) == lib.LG_E_ARG
    check(lib.lg_detector_set_init(s, 4), "init")
    assert lib.lg_detector_set_add(s, 99, unit.desc, unit.bank, unit.lanes, unit.states) == lib.LG_E_ARG
    assert lib.lg_detector_set_add(s, lib.LG_UNIT_DTMF_RX, ffi.NULL, unit.bank, unit.lanes,
                                   unit.states) == lib.LG_E_ARG
    other = Unit("dtmf_rx", 5)  # a bank for another channel count
    assert lib.lg_detector_set_add(s, lib.LG_UNIT_DTMF_RX, other.desc, other.bank, other.lanes,
                                   other.states) == lib.LG_E_ARG
    for k in range(lib.LG_DETECTOR_SET_UNITS):
        assert lib.lg_detector_set_add(s, lib.LG_UNIT_DTMF_RX, unit.desc, unit.bank, unit.lanes, unit.states) == k
    assert lib.lg_detector_set_add(s, lib.LG_UNIT_DTMF_RX, unit.desc, unit.bank, unit.lanes,
                                   unit.states) == lib.LG_E_SPACE
    assert lib.lg_detector_set_count(s, lib.LG_DETECTOR_SET_UNITS) == lib.LG_E_RANGE
    assert lib.lg_detector_set_count(s, -1) == lib.LG_E_RANGE


@pytest.mark.parametrize("names", [("dtmf_rx",), ("cpt", "amd"), ("modem_tone", "dtmf_rx", "amd")])
def test_an_empty_feed_or_an_empty_set_gives_nothing(names):
    s, units = make_set(names, 3)
    room = lib.lg_detector_set_max_events(s, 0)
    events = ffi.new("lg_event[]", room)
    assert lib.lg_detector_set_feed(s, ffi.from_buffer(np.zeros((3, 1), np.int16)), lib.LG_ENC_S16, 0, 0,
                                    events, room) == 0
    empty = ffi.new("lg_detector_set *")
    check(lib.lg_detector_set_init(empty, 3), "init")
    assert lib.lg_detector_set_max_events(empty, 160) == 0
    assert lib.lg_detector_set_flush(empty, events, 0) == 0


def test_one_mf_unit_per_kind_in_a_set_each_with_its_own_events():
    """The MF unit is added once per kind (its descriptor says which): R2
    forward, R2 backward and R1 in one set give what each gives alone, each
    under its event kind."""
    from gateway.dsp import mf
    from tests.dsp import mf_signals

    channels = 5
    rows = []
    for ch in range(channels):
        kind = mf_signals.KINDS[ch % 3]
        tape = mf_signals.tape_for(kind, "set", ch).signal(ch + 3, sig.ms(120)).silence(sig.ms(80))
        rows.append(tape.samples())
    n = max(len(x) for x in rows)
    data = sig.quantize(np.stack([np.pad(x, (0, n - len(x))) for x in rows]))

    def mf_unit(kind):
        params = ffi.new("lg_mf_rx_params *")
        check(lib.lg_mf_rx_params_default(params, mf.KINDS[kind]), kind)
        unit = Unit.__new__(Unit)
        unit.name, unit.channels = "mf_rx", channels
        unit.desc = ffi.new("lg_mf_rx_desc *")
        check(lib.lg_mf_rx_desc_init(unit.desc, params), kind)
        unit.bank = ffi.new("lg_mf_rx_bank *")
        unit.lanes = ffi.new("lg_mf_rx_lane[]", 1)
        unit.states = ffi.new("lg_mf_rx_state[]", channels)
        check(lib.lg_mf_rx_bank_init(unit.bank, unit.lanes, unit.states, channels), kind)
        return unit

    in_set = [mf_unit(kind) for kind in mf_signals.KINDS]
    alone = [mf_unit(kind) for kind in mf_signals.KINDS]
    s = ffi.new("lg_detector_set *")
    check(lib.lg_detector_set_init(s, channels), "init")
    for k, u in enumerate(in_set):
        assert lib.lg_detector_set_add(s, lib.LG_UNIT_MF_RX, u.desc, u.bank, u.lanes, u.states) == k
    got = feed_set(s, data)
    for k, at in enumerate(range(0, data.shape[1] + 1, BLOCK)):
        if at < data.shape[1]:
            chunk = np.ascontiguousarray(data[:, at:at + BLOCK])
            parts = [u.feed(chunk) for u in alone]
        else:
            parts = [u.flush() for u in alone]
        assert got[k] == [e for part in parts for e in part], at
    heard = sorted((e[0], e[1], e[2]) for block in got for e in block if e[3] == lib.LG_EVENT_END)
    kinds = (lib.LG_EVENT_MFR2_FWD, lib.LG_EVENT_MFR2_BWD, lib.LG_EVENT_MFR1)
    assert heard == [(ch, kinds[ch % 3], ch + 3) for ch in range(channels)]
