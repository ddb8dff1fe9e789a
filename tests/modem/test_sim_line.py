"""The scripted line behind the simulated modem: its script, its exchange, its far ends."""

import numpy as np
import pytest

from gateway.dsp import g711
from gateway.dsp.detector_bank import DetectorBank
from gateway.dsp.dtmf import DtmfGenerator
from gateway.errors import InputError
from gateway.modem.sim_line import BLOCK, Behaviour, LineDrive, ScriptedLine, SpeechLike, parse_script
from gateway.tools import cli


def test_script_parses_numbers_and_calls():
    script = parse_script('''
        # a comment
        country de
        number 201 busy
        number 202 answer rings=3 audio=echo dtmf=12 dtmf-at=1.5s hangup=20s
        call at=2s from=5551234 name="JOHN DOE" rings=4 cadence=1000/4000 date=0321 time=1405 audio=silence
        call at=500ms
    ''')
    assert script.country == "de"
    assert script.numbers["201"] == Behaviour("busy")
    assert script.numbers["202"] == Behaviour("answer", 3, "echo", "12", 1500, 20000)
    early, late = script.calls
    assert early.at_ms == 500 and early.caller_id.number_absent == "private"
    assert (late.caller_id.number, late.caller_id.name, late.rings, late.cadence_ms) == ("5551234", "JOHN DOE", 4,
                                                                                         (1000, 4000))


@pytest.mark.parametrize("text,complaint", [
    ("number 2x1 busy", "line 1: number '2x1'"),
    ("number 201 sings", "BEHAVIOUR one of"),
    ("number 201 answer audio=music", "audio='music'"),
    ("number 201 answer rings=many", "rings='many'"),
    ("number 201 answer hangup=10", "hangup='10' is not a duration"),
    ("number 201 answer colour=red", "unknown option 'colour'"),
    ("\ncall at=1s cadence=100/200/300", "line 2: cadence='100/200/300' needs on/off pairs"),
    ("call date=1399x", "date='1399x'"),
    ("country atlantis", "unknown country 'atlantis'"),
    ("dial 201", "'dial' is not country, number or call"),
    ('call name="unclosed', "line 1"),
])
def test_script_errors_name_the_line_and_the_field(text, complaint):
    with pytest.raises(InputError, match=complaint):
        parse_script(text, source="test.script")


def test_cli_refuses_a_bad_script(tmp_path, capsys):
    script = tmp_path / "line.script"
    script.write_text("number 201 busy\nnumber 202 sings\n")
    assert cli.main(["sim", "modem", "--listen", "pty", "--script", str(script)]) == 2
    assert f"{script}, line 2" in capsys.readouterr().err
    assert cli.main(["sim", "modem", "--listen", "pty", "--number", "201"]) == 2


def test_speech_like_signal_fools_no_detector():
    """Thirty seconds of the far end's voice: no DTMF key, no call-progress tone (talk-off)."""
    bank = DetectorBank(1, detect=("dtmf", "cpt"), encoding="ulaw", country="us")
    speech = SpeechLike(seed=3)
    events = []
    levels = []
    for _ in range(1500):
        block = speech.generate(BLOCK)
        levels.append(np.mean(block.astype(float) ** 2))
        events += bank.feed(g711.encode(block, "ulaw")[np.newaxis, :])
    assert events == []
    level = 10 * np.log10(np.mean(levels) / 32768 ** 2) + 3.14
    assert -30 < level < -18 and min(levels) == 0          # a talker's level, with pauses


class Dialler:
    """The modem's side of a ScriptedLine, by hand: hook, DTMF out, audio back."""

    def __init__(self, script):
        self.told = []
        self.line = ScriptedLine(parse_script(script), on_event=self.told.append)
        self.time = 0
        self.heard = DetectorBank(1, detect=("cpt", "dtmf"), encoding=self.line.law, country=self.line.country)
        self.events = []

    def tick(self, offhook=True, samples=None):
        samples = np.zeros(BLOCK, np.int16) if samples is None else samples
        sense = self.line.tick(LineDrive(self.time, offhook, g711.encode(samples, self.line.law).tobytes()))
        self.time += 20
        if sense.audio is not None:
            self.events += [(self.time, e.value) for e in
                            self.heard.feed(np.frombuffer(sense.audio, np.uint8)[np.newaxis, :]) if e.end is None]
        return sense

    def dial(self, keys):
        tones = DtmfGenerator(keys, 80, 80, -10).all()
        for start in range(0, len(tones), BLOCK):
            block = np.zeros(BLOCK, np.int16)
            block[:len(tones[start:start + BLOCK])] = tones[start:start + BLOCK]
            self.tick(samples=block)


def test_unknown_number_gets_congestion_and_a_far_end_hang_up_breaks_the_loop():
    dialler = Dialler("number 301 answer rings=0 audio=silence hangup=1s")
    for _ in range(50):
        dialler.tick()
    assert [value for _, value in dialler.events] == ["dial"]
    dialler.dial("99")
    for _ in range(250):
        dialler.tick()
    assert dialler.line.dialled == ["99"] and "congestion" in [value for _, value in dialler.events]
    dialler.tick(offhook=False)
    dialler.tick(offhook=False)
    dialler.events.clear()
    dialler.dial("301")
    senses = [dialler.tick() for _ in range(300)]
    breaks = [i for i, sense in enumerate(senses) if not sense.loop_current]
    assert breaks and len(breaks) == 300 // 20                # 300 ms without loop current
    assert "busy" in [value for _, value in dialler.events]  # then the busy tone


def test_ringback_then_answer_after_the_rings():
    dialler = Dialler("country uk\nnumber 5 answer rings=1 audio=speech")
    for _ in range(50):
        dialler.tick()
    dialler.dial("5")
    for _ in range(200):
        dialler.tick()
    assert "ringback" in [value for _, value in dialler.events]
    assert dialler.told == ["dialled 5: answer", "answered (speech)"]
