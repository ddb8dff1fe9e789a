"""The media engine: what it plays is what its own detectors hear, the voice
reading tells speech from tones, recordings and prompts."""

import wave

import numpy as np
import pytest

from gateway.dsp import g711
from gateway.dsp.tone_plan import load_plan
from gateway.dsp.wav import open_wav, write_wav
from gateway.errors import UsageError
from gateway.media import BLOCK, DigitsSource, MediaEngine, SamplesSource, load_prompt

FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures"


def loop(engine, src, dst, ticks):
    """Feed what channel src sends into channel dst for ``ticks`` ticks."""
    events, done, last = [], [], None
    for _ in range(ticks):
        result = engine.tick({dst: last} if last else {})
        last = result.tx.get(src)
        events += [(c, e) for c, e in result.events]
        done += result.done
    return events, done


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_played_digits_are_heard_by_the_engines_detectors(law):
    engine = MediaEngine([law, law], country="de")
    engine.set_detectors(1, ("dtmf",))
    engine.play(0, DigitsSource("0123456789*#ABCD"), tag="digits")
    events, done = loop(engine, 0, 1, 200)
    keys = "".join(e.value for c, e in events if c == 1 and e.kind == "dtmf" and e.end is None)
    assert keys == "0123456789*#ABCD"
    assert done == [(0, "digits", "done")]
    assert not engine.playing(0)


def test_inactive_channels_report_nothing():
    engine = MediaEngine(["alaw", "alaw"])
    engine.play(0, DigitsSource("55"))
    events, _ = loop(engine, 0, 1, 60)
    assert events == []


@pytest.mark.parametrize("country,tone", [("us", "busy"), ("de", "busy"), ("gb", "ringback"), ("fr", "congestion")])
def test_country_tones_are_classified(country, tone):
    engine = MediaEngine(["ulaw", "ulaw"], country=country)
    engine.set_detectors(1, ("cpt",))
    engine.play_tone(0, tone)
    events, _ = loop(engine, 0, 1, 400)
    assert [e.value for c, e in events if e.kind == "cpt" and e.end is None][:1] == [tone]


def blocks_of(samples, law):
    n = len(samples) // BLOCK
    return [g711.encode(samples[i * BLOCK:(i + 1) * BLOCK], law).tobytes() for i in range(n)]


def voice_count(engine, blocks):
    engine.set_listen(0, True)
    return sum(engine.tick({0: b}).voice[0] for b in blocks)


def test_voice_reading_tells_speech_from_tones():
    engine = MediaEngine(["alaw"])
    speech = np.concatenate(list(open_wav(FIXTURES / "amd" / "dev-amd-0002.wav").blocks(8000)))
    talk = blocks_of(speech[int(0.47 * 8000):int(1.1 * 8000)], "alaw")
    assert voice_count(engine, talk) >= len(talk) // 2
    for country, tone in [("us", "ringback"), ("us", "busy"), ("de", "ringback"), ("gb", "ringback")]:
        tone_audio = load_plan(country)[tone].player(-13).generate(BLOCK * 300)
        assert voice_count(engine, blocks_of(tone_audio, "alaw")) <= 3, (country, tone)
    quiet = (np.random.default_rng(1).normal(0, 20, BLOCK * 50)).astype(np.int16)   # line noise, ~-60 dBm0
    assert voice_count(engine, blocks_of(quiet, "alaw")) == 0


def test_only_listened_channels_get_readings():
    engine = MediaEngine(["alaw", "alaw"])
    engine.set_listen(1, True)
    assert set(engine.tick({}).voice) == {1}
    engine.set_listen(1, False)
    assert engine.tick({}).voice == {}


def test_recording_writes_what_the_channel_receives(tmp_path):
    engine = MediaEngine(["ulaw"])
    samples = (np.sin(np.arange(BLOCK * 10) * 2 * np.pi * 1000 / 8000) * 8000).astype(np.int16)
    path = tmp_path / "rec.wav"
    engine.record(0, path, max_seconds=0.1, tag="rec")
    done = []
    for b in blocks_of(samples, "ulaw"):
        done += engine.tick({0: b}).done
    assert done == [(0, "rec", "max")]
    with wave.open(str(path)) as w:
        assert w.getframerate() == 8000 and w.getnframes() == 800
        got = np.frombuffer(w.readframes(800), "<i2")
    assert np.max(np.abs(got - samples[:800])) < 300          # G.711 rounding only
    with pytest.raises(UsageError):
        engine.record(0, tmp_path / "no" / "such" / "dir.wav")


def test_prompts_at_other_rates_play_at_8k(tmp_path):
    rate = 44100
    t = np.arange(rate) / rate
    write_wav(tmp_path / "p.wav", (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16), rate=rate)
    samples = load_prompt(tmp_path / "p.wav")
    assert abs(len(samples) - 8000) <= 2
    engine = MediaEngine(["alaw"])
    engine.play(0, SamplesSource(samples), tag="p")
    sent = [engine.tick({}).tx.get(0) for _ in range(52)]
    assert sum(s is not None for s in sent) == -(-len(samples) // BLOCK)


def test_recording_stops_after_silence(tmp_path):
    engine = MediaEngine(["alaw"])
    tone = (np.sin(np.arange(BLOCK * 25) * 2 * np.pi * 700 / 8000) * 6000).astype(np.int16)
    engine.record(0, tmp_path / "s.wav", max_seconds=30, silence_seconds=1.0, tag="r")
    done = []
    for b in blocks_of(np.zeros(BLOCK * 100, np.int16), "alaw"):     # quiet before anything: not an end
        done += engine.tick({0: b}).done
    for b in blocks_of(tone, "alaw") + blocks_of(np.zeros(BLOCK * 60, np.int16), "alaw"):
        done += engine.tick({0: b}).done
    assert done == [(0, "r", "silence")]


def test_cancel_one_source_keeps_the_others():
    engine = MediaEngine(["alaw"])
    engine.play(0, DigitsSource("1"), tag="a")
    engine.play(0, DigitsSource("2"), tag="b")
    assert engine.cancel(0, "a") and not engine.cancel(0, "zz")
    assert engine.stop(0) == ["b"]


def test_stop_returns_what_was_cut_short():
    engine = MediaEngine(["alaw"])
    engine.play(0, DigitsSource("123"), tag="a")
    engine.play(0, DigitsSource("4"), tag="b")
    engine.tick({})
    assert engine.stop(0) == ["a", "b"] and not engine.playing(0)


def test_bad_law_is_refused():
    with pytest.raises(UsageError, match="law"):
        MediaEngine(["slinear"])


def test_bridged_channels_carry_each_others_audio_across_laws():
    engine = MediaEngine(["alaw", "ulaw", "alaw"])
    engine.bridge(0, 1)
    engine.set_detectors(2, ("dtmf",))
    tone = (np.sin(np.arange(BLOCK) * 2 * np.pi * 1000 / 8000) * 8000).astype(np.int16)
    a = g711.encode(tone, "alaw").tobytes()
    result = engine.tick({0: a})
    assert set(result.tx) == {1}
    back = g711.decode(np.frombuffer(result.tx[1], np.uint8), "ulaw")
    assert np.max(np.abs(back.astype(int) - tone)) < 400
    engine.play(1, DigitsSource("1"))
    assert set(engine.tick({0: a}).tx) == {1}                         # its own playback wins
    assert engine.unbridge(1) == 0 and engine.tick({0: a}).tx.keys() <= {1}


def answered_by_voice(engine, audio, law="ulaw"):
    """Play ringback-then-answer audio into channel 0 as a call does: listen for voice while it
    rings, turn AMD on when 3 of the last 5 blocks are voice (as gateway.loopstart does)."""
    engine.set_listen(0, True)
    recent, decided = [], []
    for b in blocks_of(audio, law):
        result = engine.tick({0: b})
        if 0 in result.voice:
            recent = (recent + [result.voice[0]])[-5:]
            if sum(recent) >= 3:
                engine.set_listen(0, False)
                engine.set_detectors(0, ("amd",))
        decided += [e for c, e in result.events if e.kind == "amd"]
    return decided


@pytest.mark.parametrize("voice,expect", [("greeting-extension-en", "machine"), ("greeting-it", "machine"),
                                          ("greeting-leave-message-en", "machine"), ("person-hello-en", "human"),
                                          ("person-sorry-en", "human")])
def test_amd_starts_where_a_voice_answered_call_began(voice, expect):
    """Answer known from the voice is known some blocks into it, often right after a ringback
    burst: the AMD hears the line's quiet and then the voice from its onset (AMD_DELAY)."""
    from pathlib import Path
    voices = Path(__file__).resolve().parents[2] / "boards" / "sim" / "voices"
    speech = np.concatenate(list(open_wav(voices / f"{voice}.wav").blocks(8000)))
    ring = load_plan("us")["ringback"].player(-13).generate(BLOCK * 150)     # 2 s on, 1 s off
    rng = np.random.default_rng(5)
    audio = np.concatenate([ring[:int(2.1 * 8000)], speech, np.zeros(8000 * 6, np.int16)])
    audio = (audio + rng.normal(0, 12, len(audio))).astype(np.int16)
    decided = answered_by_voice(MediaEngine(["ulaw"], country="us"), audio)
    assert [e.value for e in decided][:1] == [expect]
