"""The simulated modem without a pty: its replies read back by the real parser, its line events
heard by its own DSP, 20 ms ticks as fast as the CPU runs them."""

import select
import subprocess
import sys

import numpy as np

from gateway.dsp import g711
from gateway.dsp.tone_plan import ToneSpec, load_plan, parse_tone
from gateway.modem import compression
from gateway.modem.caller_id import CallerId
from gateway.modem.sim_line import BLOCK, LineSense, ScriptedLine, parse_script
from gateway.modem.sim_modem import METHODS, OUT_LIMIT, SimulatedModem
from gateway.modem.v253 import (NEED_DATA, CallerIdPacketReceived, CallerIdReceived, CommandEchoed,
                                DleEventReceived, DteConnection, ResultReceived, RingReceived, TextReceived,
                                VoiceEnded, VoiceReceived)


class Host:
    """Drives a SimulatedModem as a host would, reading its replies with DteConnection."""

    def __init__(self, line=None, script=None):
        self.line = line or ScriptedLine(parse_script(script) if script else None)
        self.modem = SimulatedModem(self.line)
        self.conn = DteConnection()
        self.events = []

    def _take(self):
        if self.modem.output:
            self.conn.receive_data(bytes(self.modem.output))
            self.modem.output.clear()
        while (event := self.conn.next_event()) is not NEED_DATA:
            self.events.append(event)

    def run(self, ms):
        for _ in range(ms // 20):
            self.modem.tick()
            self._take()

    def send(self, data: bytes):
        self.modem.receive(data)
        self._take()

    def command(self, line, within_ms=1000):
        self.events.clear()
        self.send(self.conn.send_command(line))
        for _ in range(within_ms // 20 + 1):
            results = [e for e in self.events if isinstance(e, ResultReceived)]
            if results:
                return results[0].code, [e.line for e in self.events if isinstance(e, TextReceived)]
            self.modem.tick()
            self._take()
        raise AssertionError(f"no result to {line} within {within_ms} ms: {self.events}")

    def dle(self, name):
        return [e for e in self.events if isinstance(e, DleEventReceived) and e.name == name]


def voice_host(script=None, line=None):
    host = Host(line, script)
    assert host.command("ATE0V1") == ("OK", [])
    assert host.command("AT+FCLASS=8") == ("OK", [])
    return host


def in_call(script, settings=""):
    """A voice host that dialled 7, which the script answers: VCON at once (+VRN=0)."""
    host = voice_host(script)
    assert host.command("AT+VRN=0" + settings)[0] == "OK"
    assert host.command("ATD7", within_ms=5000)[0] == "VCON"
    return host


def test_identity_classes_and_compressions():
    host = Host()
    host.send(host.conn.send_command("AT"))
    assert isinstance(host.events[0], CommandEchoed)      # E1 after power-up, as a real modem
    assert host.command("ATE0") == ("OK", [])
    assert host.command("ATI") == ("OK", ["56000"])
    assert host.command("ATI3")[1][0].startswith("LINEGATE SIMULATED")
    assert host.command("AT+FCLASS=?") == ("OK", ["0,1,1.0,8"])
    assert host.command("AT+VSM=?") == ("ERROR", [])       # not in voice class yet
    assert host.command("AT+FCLASS=8;+FCLASS?") == ("OK", ["8"])
    code, lines = host.command("AT+VSM=?")
    methods = compression.parse_methods(lines)
    assert [(m.number, m.encoding) for m in methods] == [(n, e) for n, _, _, e in METHODS]
    assert host.command("AT+VSM=131,8000;+VSM?") == ("OK", ["131,8000,0,0"])
    assert host.command("AT+VSM=129") == ("ERROR", [])
    assert host.command("AT+VCID=1;#CID?") == ("OK", ["1"])
    assert host.command("ATS7=30S7?") == ("OK", ["030"])
    assert host.command("AT+VSD=100,20;+VSD?") == ("OK", ["100,20"])
    assert host.command("AT+VSD=300,20") == ("ERROR", [])
    assert host.command("AT+VRX") == ("ERROR", [])           # on hook: nothing to receive
    assert host.command("AT+NOPE") == ("ERROR", [])
    host.modem.receive(b"ATV0\r")                            # numeric result codes from here on
    assert bytes(host.modem.output) == b"0\r"
    host.modem.output.clear()
    host.modem.receive(b"ATQ1\r")                            # and then none at all
    assert bytes(host.modem.output) == b""


def test_ring_with_formatted_and_unformatted_caller_id():
    script = 'call at=100ms from=5551234 name="JOHN DOE" date=0321 time=1405 cadence=400/800 rings=3'
    for mode, kind in (("1", CallerIdReceived), ("2", CallerIdPacketReceived)):
        host = voice_host(script)
        assert host.command(f"AT+VCID={mode}")[0] == "OK"
        host.events.clear()
        host.run(3000)
        kinds = [type(e) for e in host.events]
        assert kinds.count(RingReceived) == 3
        first, second = [i for i, k in enumerate(kinds) if k is RingReceived][:2]
        between = host.events[first + 1:second]
        assert between and all(isinstance(e, kind) for e in between)
        if kind is CallerIdReceived:
            assert [(e.tag, e.value) for e in between] == [("DATE", "0321"), ("TIME", "1405"), ("NMBR", "5551234"),
                                                           ("NAME", "JOHN DOE")]
        else:
            assert between[0].caller_id == CallerId(number="5551234", name="JOHN DOE", date="0321", time="1405")


def test_auto_answer_after_s0_rings():
    host = voice_host("call at=0s from=1 cadence=200/400 rings=5")
    assert host.command("ATS0=2")[0] == "OK"
    host.events.clear()
    host.run(1500)
    codes = [e.code for e in host.events if isinstance(e, ResultReceived)]
    assert sum(isinstance(e, RingReceived) for e in host.events) == 2 and codes == ["VCON"]
    assert host.modem.offhook


def test_dial_waits_for_dial_tone_then_busy_as_x4_result():
    host = voice_host("number 201 busy")
    code, _ = host.command("ATD201", within_ms=10_000)
    assert code == "BUSY" and not host.modem.offhook and host.line.dialled == ["201"]


def test_dial_with_vrn_0_gives_vcon_and_busy_comes_from_the_dsp():
    host = voice_host("number 201 busy")
    assert host.command("AT+VRN=0")[0] == "OK"
    assert host.command("ATD201", within_ms=5000)[0] == "VCON"
    host.run(4000)
    assert host.dle("busy")
    host.run(4000)
    assert len(host.dle("busy")) >= 2                    # reported again while it lasts (Rockwell: every 4 s)


def test_no_dial_tone():
    class DeadLine:
        law, country = "ulaw", "us"

        def tick(self, drive):
            return LineSense(audio=g711.encode(np.zeros(BLOCK, np.int16), "ulaw").tobytes() if drive.offhook else None)

    host = voice_host(line=DeadLine())
    assert host.command("ATD1", within_ms=7000)[0] == "NO DIALTONE"


def test_the_events_come_from_what_the_line_sounds_like():
    """A line that plays a steady 1 kHz tone where busy would be gets no busy report; the same line
    playing the plan's busy cadence does: the modem hears, the line never tells."""

    class ToneLine:
        law, country = "ulaw", "us"

        def __init__(self, player):
            self.player = player

        def tick(self, drive):
            audio = g711.encode(self.player.generate(BLOCK), "ulaw").tobytes() if drive.offhook else None
            return LineSense(audio=audio)

    plan = load_plan("us")
    for spec, expected in ((ToneSpec("x", "1000", parse_tone("1000")), False), (plan["busy"], True)):
        host = voice_host(line=ToneLine(spec.player(-13)))
        assert host.command("ATH1")[0] == "OK"
        host.run(4000)
        assert bool(host.dle("busy")) is expected


def test_receive_stream_silence_and_quiet():
    host = in_call("number 7 answer rings=0 audio=silence", ";+VSD=128,10;+VSM=131")
    assert host.command("AT+VRX")[0] == "CONNECT"
    host.run(1500)
    voice = b"".join(e.data for e in host.events if isinstance(e, VoiceReceived))
    assert len(voice) >= 1400 and set(voice) <= {0xFF, 0x7F}          # mu-law silence
    assert [e.code for e in host.events if isinstance(e, DleEventReceived)].count("s") == 1
    host.send(b"\x10!")
    host.run(100)
    assert isinstance(host.events[-2], VoiceEnded) and host.events[-1] == ResultReceived("OK", "OK")


def test_transmit_plays_samples_to_the_line_and_ends_after_playing_them():
    host = in_call("number 7 answer rings=0 audio=echo", ";+VSM=133")
    assert host.command("AT+VTX")[0] == "CONNECT"
    tone = (6000 * np.sin(2 * np.pi * 700 * np.arange(1600) / 8000)).astype(np.int16)
    host.events.clear()
    host.send(host.conn.send_voice(compression.encode(tone, "s16le")) + host.conn.end_transmit())
    assert not [e for e in host.events if isinstance(e, ResultReceived)]
    host.run(260)
    assert host.events[-1] == ResultReceived("OK", "OK")          # after 200 ms of samples, not before


def test_underrun_and_overrun_are_reported():
    host = in_call("number 7 answer rings=0 audio=speech")
    assert host.command("AT+VTX")[0] == "CONNECT"
    host.send(b"\x80" * 400)
    host.run(200)
    assert len(host.dle("underrun")) == 1
    host.send(b"\x10\x03")
    host.run(60)
    assert host.command("AT+VRX")[0] == "CONNECT"
    for _ in range(300):          # six seconds without the host reading
        host.modem.tick()
    assert len(host.modem.output) <= OUT_LIMIT and host.modem.dropped > 0
    assert bytes(host.modem.output).count(b"\x10o") == 1


def test_inactivity_timer_hangs_up():
    host = in_call("number 7 answer rings=0 audio=silence", ";+VIT=1")
    assert host.command("AT+VRX")[0] == "CONNECT"
    host.run(1200)
    assert isinstance(host.events[-1], VoiceEnded) and not host.modem.offhook


def test_vts_tones_reach_the_far_end():
    host = in_call("number 7 answer rings=0 audio=silence", ";+VTD=8")
    assert host.command("AT+VTS=4,{2,8},[1000,0,10],#", within_ms=2000)[0] == "OK"
    host.run(200)
    assert host.line.heard == ["4", "2", "#"]
    assert host.command("AT+VTS=[1000,0,0]")[0] == "ERROR"     # a tone for ever is refused
    assert host.command("AT+VTS=X")[0] == "ERROR"


def test_linegate_sim_modem_on_a_pty_answers_through_pyserial():
    proc = subprocess.Popen([sys.executable, "-m", "gateway.tools.cli", "sim", "modem", "--listen", "pty",
                             "--number", "201=busy"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert select.select([proc.stdout], [], [], 20)[0], "the simulated modem printed nothing"
        line = proc.stdout.readline()
        assert line.startswith("listening on pty:/dev/"), line
        path = line.split("pty:", 1)[1].strip()
        import asyncio
        from gateway.modem.driver import VoiceModem

        async def main():
            async with await VoiceModem.open(f"serial://{path}?baud=115200") as modem:
                capabilities = await modem.init()
                return capabilities, modem.compression, modem.caller_id_command

        capabilities, method, caller_id = asyncio.run(main())
        assert capabilities.voice and method.encoding == "ulaw" and caller_id == "AT+VCID=1"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0          # SIGTERM ends it cleanly
