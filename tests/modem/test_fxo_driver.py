"""A voice modem as a one-port FXO board (gateway.modem.fxo_driver), against the simulated modem
on a real pseudo-terminal, in real time: the test plays the gateway's part (a 20 ms tick taking
and giving audio) and listens with the native detectors, as the media engine does."""

import asyncio
import time

import numpy as np
import pytest

from gateway.boards import protocol as p
from gateway.clock import RealClock
from gateway.dsp import g711
from gateway.dsp.detector_bank import DetectorBank
from gateway.dsp.dtmf import DtmfGenerator
from gateway.modem.fxo_driver import CallerIdReported, LineAlarm, ModemFxoDriver
from gateway.modem.sim_modem import SimulatedModem
from tests.modem.modem_thread import PtyRelay

Ev = p.PortEventCode


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


class LinearOnlyModem(SimulatedModem):
    """A modem whose one voice format is 16-bit linear PCM (+VSM=133): the driver converts."""

    def _list_methods(self):
        self._text('133,"LINEAR",16,0,(8000),(0),(0)')

    def _set_method(self, value):
        return super()._set_method(value) if value.split(",")[0].strip() == "133" else "ERROR"


class NoDuplexModem(SimulatedModem):
    """A modem without +VTR (many Rockwell ones): ERROR."""

    def _voice_command(self, name, form, value):
        return "ERROR" if name == "+VTR" else super()._voice_command(name, form, value)


class Gateway:
    """The gateway's part: a driver, its events, and a 20 ms tick that takes the received audio
    (heard by a DetectorBank) and sends what ``play`` queued (else silence)."""

    def __init__(self, url, law="ulaw", **options):
        self.events = []
        self.driver = ModemFxoDriver(url, "m1", lambda driver, message: self.events.append(message),
                                     clock=RealClock(), law=law, **options)
        self.law = law
        self.bank = DetectorBank(1, detect=("cpt", "dtmf"), encoding=law)
        self.heard = []                  # (seconds since open, kind, value)
        self.blocks = 0
        self.playing = None

    async def __aenter__(self):
        await self.driver.open()
        self.start = time.monotonic()
        return self

    async def __aexit__(self, *exc):
        await self.driver.close()

    async def ticks(self, seconds, until=None):
        end = time.monotonic() + seconds
        next_tick = time.monotonic()
        while time.monotonic() < end:
            block = self.driver.take_audio(0, 0)
            if block is not None:
                self.blocks += 1
                for ev in self.bank.feed(np.frombuffer(block, np.uint8)[np.newaxis, :]):
                    if ev.end is None:
                        self.heard.append((round(time.monotonic() - self.start, 2), ev.kind, ev.value))
            if self.playing is not None and not self.playing.finished:
                samples = np.zeros(160, np.int16)
                part = self.playing.generate(160)
                samples[:len(part)] = part
                self.driver.queue_audio(0, 0, self.law, g711.encode(samples, self.law).tobytes())
            await self.driver.flush_audio()
            if until is not None and until():
                return True
            next_tick += 0.02
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        return False

    def kinds(self, kind):
        return [value for _, k, value in self.heard if k == kind]

    def port_events(self):
        return [(m.event, m.value) for m in self.events if isinstance(m, p.PortEvent)]


def test_seize_hear_dial_tone_dial_and_hear_busy_through_a_modem_that_only_has_linear_audio(simulated_modem):
    sim = simulated_modem("number 201 busy", modem_class=LinearOnlyModem)

    async def main():
        async with Gateway(sim.url, law="alaw") as gw:
            done = gw.driver.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
            await gw.ticks(2, until=lambda: "dial" in gw.kinds("cpt"))
            assert await done
            gw.playing = DtmfGenerator("201", on_ms=80, off_ms=80, level_dbm0=-7.0)
            await gw.ticks(6, until=lambda: "busy" in gw.kinds("cpt"))
            assert await gw.driver.command(p.PortCommand(0, p.PortAction.ON_HOOK))
            return gw.driver.encoding, gw.kinds("cpt"), gw.driver.underruns, gw.blocks

    encoding, tones, underruns, blocks = run(main())
    assert encoding == "s16le"                  # converted to the channel's A-law and back
    assert tones[0] == "dial" and "busy" in tones
    assert sim.line.dialled == ["201"]          # the line heard our DTMF, sent through the modem
    assert not sim.modem.offhook
    assert underruns <= 2 and blocks > 100, (underruns, blocks)


def test_rings_and_the_caller_id_become_port_events_then_off_hook_answers(simulated_modem):
    said = []
    sim = simulated_modem('call at=300ms from=5551234 name="JOHN DOE" cadence=400/800 rings=6 audio=speech',
                          on_event=said.append)

    async def main():
        async with Gateway(sim.url) as gw:
            await gw.ticks(5, until=lambda: gw.port_events().count((Ev.RING_ON, 0)) >= 3)
            events = list(gw.events)
            assert await gw.driver.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
            await gw.ticks(1)
            return events, gw.driver.modem.state, gw.blocks

    events, state, blocks = run(main())
    kinds = [type(m).__name__ if not isinstance(m, p.PortEvent) else m.event.name for m in events]
    assert kinds.count("RING_ON") == 3 and kinds.count("CallerIdReported") == 1
    assert kinds.index("CallerIdReported") < [i for i, k in enumerate(kinds) if k == "RING_ON"][1]
    assert [k for k in kinds if k.startswith("RING")][:4] == ["RING_ON", "RING_OFF", "RING_ON", "RING_OFF"]
    report = next(m for m in events if isinstance(m, CallerIdReported))
    assert (report.number, report.name, report.port) == ("5551234", "JOHN DOE", 0)
    assert state == "duplex" and blocks > 20 and "answered (speech)" in said   # ATA while it rang


def test_a_modem_without_duplex_still_hears_the_line(simulated_modem):
    sim = simulated_modem("number 201 busy", modem_class=NoDuplexModem)

    async def main():
        async with Gateway(sim.url) as gw:
            assert await gw.driver.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
            await gw.ticks(2, until=lambda: "dial" in gw.kinds("cpt"))
            return gw.driver.half_duplex, gw.driver.modem.state, gw.kinds("cpt"), len(gw.driver._tx)

    half, state, tones, waiting = run(main())
    assert half and state == "receiving" and tones == ["dial"] and waiting == 0


def test_commands_a_modem_cannot_carry_out_are_refused_and_counted(simulated_modem):
    sim = simulated_modem()

    async def main():
        async with Gateway(sim.url) as gw:
            results = [await gw.driver.command(p.PortCommand(0, p.PortAction.FLASH, 250)),   # on hook
                       await gw.driver.command(p.PortCommand(0, p.PortAction.RING_START)),
                       await gw.driver.command(p.PortCommand(1, p.PortAction.OFF_HOOK))]
            return results, gw.driver.command_failures, sim.modem.offhook

    results, failures, offhook = run(main())
    assert results == [False, False, False] and failures == 3 and not offhook


def test_a_modem_that_stops_answering_is_an_alarm_until_it_answers_again(simulated_modem):
    sim = simulated_modem()

    async def main():
        with PtyRelay(sim.path) as relay:
            async with Gateway(f"pty:{relay.path}", keepalive=0.3, timeout=1.0, retry=0.5) as gw:
                def alarms():
                    return [m.alarm for m in gw.events if isinstance(m, LineAlarm)]
                relay.passing.clear()
                raised = await gw.ticks(4, until=lambda: alarms() == ["modem-not-answering"])
                refused = await gw.driver.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
                relay.passing.set()
                cleared = await gw.ticks(6, until=lambda: alarms() == ["modem-not-answering", None])
                seized = await gw.driver.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
                return raised, refused, cleared, seized and sim.modem.offhook, gw.driver.failures

    raised, refused, cleared, seized, failures = run(main())
    assert raised and not refused and cleared and seized and failures == 1


@pytest.mark.parametrize("option", ["timeout", "keepalive", "retry", "audio_timeout"])
def test_the_drivers_times_must_be_positive(option):
    from gateway.errors import UsageError
    with pytest.raises(UsageError, match=option):
        ModemFxoDriver("pty:/dev/null", "m", None, clock=RealClock(), **{option: 0})



def test_a_caller_id_left_unclaimed_does_not_name_the_next_caller(simulated_modem):
    """Answered before its second ring, a call's caller ID is never carried by a RING; the next
    call (from a withheld number) must be reported with its own, not with that one."""
    sim = simulated_modem('call at=300ms from=5551234 name="JOHN DOE" cadence=400/2000 rings=6 audio=silence\n'
                          'call at=2500ms cadence=400/800 rings=6 audio=silence')

    async def main():
        async with Gateway(sim.url) as gw:
            def reports():
                return [(m.number, m.name) for m in gw.events if isinstance(m, CallerIdReported)]
            await gw.ticks(3, until=lambda: reports())
            assert await gw.driver.command(p.PortCommand(0, p.PortAction.OFF_HOOK))
            assert await gw.driver.command(p.PortCommand(0, p.PortAction.ON_HOOK))
            await gw.ticks(5, until=lambda: len(reports()) == 2)
            return reports()

    assert run(main()) == [("5551234", "JOHN DOE"), ("", "")]
