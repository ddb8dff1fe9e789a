"""The driver against the simulated modem on a real pseudo-terminal (pty: and serial:// through
pyserial), and against a pty whose far end is silent or garbled."""

import asyncio
import os
import threading
import time

import numpy as np
import pytest

from gateway.clock import VirtualClock
from gateway.errors import ModemError, ModemTimeoutError, UsageError
from gateway.modem.caller_id import CallerId
from gateway.modem.driver import VoiceModem


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * 8000 / len(samples))


@pytest.mark.parametrize("scheme", ["pty", "serial"])
def test_init_and_probe(simulated_modem, scheme):
    sim = simulated_modem()
    url = sim.url if scheme == "pty" else f"serial://{sim.path}?baud=115200"

    async def main():
        async with await VoiceModem.open(url) as modem:
            capabilities = await modem.init()
            return capabilities, modem

    capabilities, modem = run(main())
    assert capabilities.identity == ("56000",) and "SIMULATED" in capabilities.description[0]
    assert capabilities.voice and capabilities.classes == ("0", "1", "1.0", "8")
    assert {m.encoding for m in capabilities.compressions} == {"u8", "s8", "ulaw", "alaw", "s16le"}
    assert modem.compression.number == 131 and modem.caller_id_command == "AT+VCID=1"
    settings = sim.modem.settings
    assert (settings.fclass, settings.method, settings.vcid, settings.vrn, settings.echo) == ("8", 131, 1, 0, False)


def test_ring_with_caller_id_then_answer_and_hear_the_callers_keys(simulated_modem):
    sim = simulated_modem('call at=300ms from=5551234 name="JOHN DOE" cadence=400/800 rings=6 '
                          'audio=silence dtmf=46 dtmf-at=300ms')

    async def main():
        async with await VoiceModem.open(sim.url) as modem:
            await modem.init()
            first = await modem.wait_ring(timeout=3)
            second = await modem.wait_ring(timeout=3)
            await modem.answer()
            await modem.start_receive()
            keys = [(await modem.wait_event("dtmf", timeout=3)).digit for _ in range(2)]
            block = await modem.receive_audio()
            await modem.hangup()
            return first, second, keys, block, modem.state

    first, second, keys, block, state = run(main())
    assert (first.count, first.caller_id) == (1, None)
    assert second.count == 2
    assert (second.caller_id.number, second.caller_id.name) == ("5551234", "JOHN DOE")
    assert len(second.caller_id.date) == 4 and len(second.caller_id.time) == 4
    assert keys == ["4", "6"]
    assert block.law == "ulaw" and len(block.linear()) == len(block.payload)
    assert state == "idle" and not sim.modem.offhook


def test_dial_a_busy_number_and_hear_busy(simulated_modem):
    sim = simulated_modem("number 201 busy")

    async def main():
        async with await VoiceModem.open(sim.url) as modem:
            await modem.init()
            started = time.monotonic()
            result = await modem.dial("201")
            await modem.start_receive()
            busy = await modem.wait_event("busy", timeout=8)
            return result, busy, time.monotonic() - started

    result, busy, elapsed = run(main())
    assert result == "VCON" and busy.code == "b"
    assert sim.line.dialled == ["201"] and not sim.modem.offhook     # close() hung up
    print(f"dial to busy reported: {elapsed:.2f} s")


def test_answered_call_voice_both_ways_and_dtmf(simulated_modem):
    sim = simulated_modem("number 203 answer rings=0 audio=echo dtmf=9 dtmf-at=1500ms")

    async def main():
        async with await VoiceModem.open(sim.url) as modem:
            await modem.init()
            assert await modem.dial("203") == "VCON"
            await modem.duplex()
            # 1.2 s of a 1 kHz tone out; the far end sends it back 100 ms later.
            t = np.arange(8000 * 12 // 10)
            await modem.send_audio((8000 * np.sin(2 * np.pi * 1000 * t / 8000)).astype(np.int16))
            heard = []
            async for block in modem.audio(timeout=2):
                heard.append(block.linear())
                if sum(map(len, heard)) >= 8000 * 14 // 10:
                    break
            key = await modem.wait_event("dtmf", timeout=3)
            await modem.send_dtmf("15")          # stops the duplex stream, +VTS, starts it again
            state = modem.state
            await modem.stop()
            return np.concatenate(heard), key, state

    heard, key, state = run(main())
    loud = heard[np.abs(heard) > 2000]
    assert len(loud) > 2000, "the far end's echo of our tone did not come back"
    middle = heard[4000:12000]
    assert abs(dominant_hz(middle) - 1000) < 20
    assert key.digit == "9" and state == "duplex"
    assert sim.line.heard == ["1", "5"]


def test_speech_from_the_far_end_reaches_us_as_audio(simulated_modem):
    sim = simulated_modem("number 202 answer rings=0 audio=speech")

    async def main():
        async with await VoiceModem.open(sim.url) as modem:
            await modem.init(prefer=("s16le",))
            await modem.dial("202")
            await modem.start_receive()
            blocks = []
            while sum(len(b.payload) for b in blocks) < 2 * 8000 * 2:
                blocks.append(await modem.receive_audio(timeout=2))
            await modem.stop()
            after = await modem.receive_audio()
            return blocks, after, modem.compression

    blocks, after, method = run(main())
    assert method.number == 133 and all(len(b.payload) % 2 == 0 for b in blocks)
    samples = np.concatenate([b.linear() for b in blocks])
    level = 10 * np.log10(np.mean(samples.astype(float) ** 2) / 32768 ** 2) + 3.14
    assert -35 < level < -15, level                 # a talker's level, with pauses
    assert after is None or isinstance(after.payload, bytes)


def test_hangup_in_the_middle_of_receiving(simulated_modem):
    sim = simulated_modem("number 202 answer rings=0 audio=speech")

    async def main():
        async with await VoiceModem.open(sim.url) as modem:
            await modem.init()
            await modem.dial("202")
            await modem.start_receive()
            await modem.receive_audio()
            await modem.hangup()
            with pytest.raises(UsageError, match="needs a call"):
                await modem.start_receive()
            return modem.state

    assert run(main()) == "idle" and not sim.modem.offhook


# ---- a modem that says nothing, or nonsense ----

def _bare_pty():
    master, slave = os.openpty()
    return master, slave, os.ttyname(slave)


def test_a_silent_modem_times_out_within_the_timeout():
    master, slave, path = _bare_pty()

    async def main():
        modem = await VoiceModem.open(f"pty:{path}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ModemTimeoutError, match="no final result to ATI within 0.3 s; the modem sent nothing"):
            await modem.command("ATI")
        elapsed = time.monotonic() - started
        await modem.transport.close()
        return elapsed

    try:
        elapsed = run(main())
    finally:
        os.close(master)
        os.close(slave)
    assert 0.3 <= elapsed < 0.6


def test_timeouts_follow_the_clock_object():
    """With a virtual clock, the deadline passes when the clock says so, not after real seconds."""
    master, slave, path = _bare_pty()
    clock = VirtualClock()

    async def main():
        modem = await VoiceModem.open(f"pty:{path}", clock=clock, timeout=30)
        task = asyncio.create_task(modem.command("AT+FCLASS=?"))
        await asyncio.sleep(0.05)
        assert not task.done()
        started = time.monotonic()
        clock.advance(31)
        with pytest.raises(ModemTimeoutError, match="within 30 s"):
            await task
        await modem.transport.close()
        return time.monotonic() - started

    try:
        assert run(main()) < 0.5
    finally:
        os.close(master)
        os.close(slave)


class _ScriptedPeer(threading.Thread):
    """The far end of a pty answering each command line with canned bytes."""

    def __init__(self, master, replies):
        super().__init__(daemon=True)
        self.master, self.replies, self.stop = master, list(replies), threading.Event()
        self.lines = []

    def run(self):
        import select

        buffer = b""
        while not self.stop.is_set() and self.replies:
            if select.select([self.master], [], [], 0.05)[0]:
                try:
                    buffer += os.read(self.master, 4096)
                except OSError:
                    return
                while b"\r" in buffer:
                    line, buffer = buffer.split(b"\r", 1)
                    if line.startswith(b"AT") and self.replies:
                        self.lines.append(line.decode())
                        os.write(self.master, self.replies.pop(0))


@pytest.mark.parametrize("reply,quoted,error", [
    (b"\r\nOK\x00\xff\r\n", "b'OK\\x00\\xff'", ModemError),
    (b"\r\n" + b"9" * 300 + b"\r\n", "longer than 256 bytes", ModemError),
    # An answer without a final result code: the wait ends at its deadline, quoting the last line.
    (b"\r\nCX93001\r\n\r\nWHAT?\r\n", "last sent b'WHAT?'", ModemTimeoutError),
    # A line nobody asked for, that no modem sends unasked, while waiting for a call.
    (b"\r\nOK\r\n\r\nWHAT?\r\n", "modem sent b'WHAT?'", ModemError),
])
def test_garbled_or_unknown_replies_are_errors_quoting_them(reply, quoted, error):
    master, slave, path = _bare_pty()
    peer = _ScriptedPeer(master, [reply])
    peer.start()

    async def main():
        modem = await VoiceModem.open(f"pty:{path}", timeout=1)
        try:
            await modem.command("ATI3")
            await modem.wait_ring(timeout=1)
        finally:
            await modem.transport.close()

    try:
        with pytest.raises(ModemError) as info:
            run(main())
        assert quoted in str(info.value) and type(info.value) is error
    finally:
        peer.stop.set()
        peer.join(2)
        os.close(master)
        os.close(slave)


def test_a_modem_without_voice_is_refused_by_init():
    master, slave, path = _bare_pty()
    ok = b"\r\nOK\r\n"
    peer = _ScriptedPeer(master, [ok, b"\r\n56000\r\n" + ok, b"\r\nDATA ONLY\r\n" + ok, b"\r\n0,1,2\r\n" + ok])
    peer.start()

    async def main():
        modem = await VoiceModem.open(f"pty:{path}", timeout=1)
        try:
            await modem.init()
        finally:
            await modem.transport.close()

    try:
        with pytest.raises(ModemError, match="no voice class among 0, 1, 2"):
            run(main())
    finally:
        peer.stop.set()
        peer.join(2)
        os.close(master)
        os.close(slave)


def test_caller_id_of_a_withheld_number(simulated_modem):
    sim = simulated_modem("call at=200ms cadence=300/700 rings=3")

    async def main():
        async with await VoiceModem.open(sim.url) as modem:
            await modem.init()
            await modem.wait_ring(timeout=3)
            return (await modem.wait_ring(timeout=3)).caller_id

    caller = run(main())
    assert caller.number is None and caller.number_absent == "private"
    assert caller == CallerId(number_absent="private", date=caller.date, time=caller.time)


def test_init_on_a_modem_of_another_family():
    """V.253 numbering for +VSM, no +VRA/+VRN, #CID instead of +VCID: init adapts and says what it chose."""
    master, slave, path = _bare_pty()
    ok, error = b"\r\nOK\r\n", b"\r\nERROR\r\n"
    vsm = b'\r\n0,"SIGNED PCM",8,0,8000,0,0\r\n1,"UNSIGNED PCM",8,0,8000,0,0\r\n4,"G711U",8,0,8000,0,0\r\n'
    peer = _ScriptedPeer(master, [ok, b"\r\n5601\r\n" + ok, b"\r\nU.S. Robotics 56K Voice\r\n" + ok,
                                  b"\r\n(0,1,2,8)\r\n" + ok, ok, vsm + ok, ok, ok, ok, error, error, error, ok])
    peer.start()

    async def main():
        modem = await VoiceModem.open(f"pty:{path}", timeout=1)
        try:
            capabilities = await modem.init()
            return capabilities, modem.compression, modem.caller_id_command
        finally:
            await modem.transport.close()

    try:
        capabilities, method, caller_id = run(main())
    finally:
        peer.stop.set()
        peer.join(2)
        os.close(master)
        os.close(slave)
    assert capabilities.classes == ("0", "1", "2", "8") and capabilities.description == ("U.S. Robotics 56K Voice",)
    assert (method.number, method.encoding) == (4, "ulaw") and caller_id == "AT#CID=1"
    assert peer.lines[6] == "AT+VSM=4,8000" and peer.lines[-2:] == ["AT+VCID=1", "AT#CID=1"]
