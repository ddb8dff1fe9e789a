"""The core built without GCC vector extensions and x86 kernels (the plain
C99 that other compilers and the Cortex-M build get) finds the same digits,
at the same times, as the SIMD build."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from gateway.dsp import DetectorBank
from tests.dsp import dtmf_signals as sig
from tests.dsp.wav_writer import read_pcm16

ROOT = Path(__file__).resolve().parents[2]
PORTABLE_FLAGS = ["-DLG_NO_VECTOR_EXTENSIONS", "-DLG_NO_X86_KERNELS"]


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("build_native", ROOT / "native" / "build_native.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(build.cdef_text())
    native = ROOT / "native"
    ffi.set_source("_lg_portable", "".join(f'#include "{h}"\n' for h in build.HEADERS),
                   sources=[str(native / s) for s in build.SOURCES], include_dirs=[str(native)],
                   extra_compile_args=["-std=c99", "-O2", *PORTABLE_FLAGS], libraries=["m"])
    out = tmp_path_factory.mktemp("portable")
    library = ffi.compile(tmpdir=str(out))
    spec = importlib.util.spec_from_file_location("_lg_portable", library)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def portable_events(module, audio, block=160):
    ffi, lib = module.ffi, module.lib
    channels = audio.shape[0]
    params = ffi.new("lg_dtmf_rx_params *")
    lib.lg_dtmf_rx_params_default(params)
    desc = ffi.new("lg_dtmf_rx_desc *")
    assert lib.lg_dtmf_rx_desc_init(desc, params) == 0
    bank = ffi.new("lg_dtmf_rx_bank *")
    lanes = ffi.new("lg_dtmf_rx_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
    states = ffi.new("lg_dtmf_rx_state[]", channels)
    assert lib.lg_dtmf_rx_bank_init(bank, lanes, states, channels) == 0
    capacity = lib.lg_dtmf_rx_max_events(channels, block)
    events = ffi.new("lg_event[]", capacity)
    found = []

    def collect(count):
        for k in range(count):
            e = events[k]
            if e.end >= 0:
                found.append((e.channel, chr(e.value), e.start, e.end))

    for at in range(0, audio.shape[1], block):
        chunk = np.ascontiguousarray(audio[:, at:at + block])
        n = chunk.shape[1]
        collect(lib.lg_dtmf_rx_feed(desc, bank, lanes, states, ffi.from_buffer(chunk), lib.LG_ENC_S16,
                                    n, n, events, capacity))
    collect(lib.lg_dtmf_rx_flush(desc, bank, lanes, states, events, capacity))
    return sorted(found)


def simd_events(audio, block=160):
    bank = DetectorBank(channels=audio.shape[0])
    found = []
    for at in range(0, audio.shape[1], block):
        found += [e for e in bank.feed(np.ascontiguousarray(audio[:, at:at + block])) if e.ended]
    found += [e for e in bank.flush() if e.ended]
    return sorted((e.channel, e.value, e.start, e.end) for e in found)


def test_portable_build_finds_the_same_digits(portable):
    rng = np.random.default_rng(5)
    speech = read_pcm16(ROOT / "tests" / "fixtures" / "talkoff" / "talkoff-speech.wav")[0][: 8000 * 3].astype(float)
    channels = 11  # a partial lane
    audio = np.zeros((channels, 8000 * 3))
    for ch in range(channels):
        audio[ch] = speech * 10 ** (rng.uniform(-12, 0) / 20)
        at = 1000
        for key in "1590*#AD"[: 3 + ch % 5]:
            burst = sig.dual_tone(key, sig.ms(60), row_dbm0=-12, col_dbm0=-10,
                                  row_phase=rng.uniform(0, 6.3), col_phase=rng.uniform(0, 6.3))
            audio[ch, at:at + len(burst)] += burst
            at += len(burst) + sig.ms(rng.uniform(60, 200))
    audio = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    simd, plain = simd_events(audio), portable_events(portable, audio)
    assert len(simd) >= 3 * channels
    assert [(c, k) for c, k, _, _ in plain] == [(c, k) for c, k, _, _ in simd]
    for (c, k, s1, e1), (_, _, s2, e2) in zip(simd, plain):
        assert abs(s1 - s2) <= 8 and abs(e1 - e2) <= 8, (c, k, s1, e1, s2, e2)


def unit_arrays(ffi, lib, unit, channels):
    """A unit at its defaults, from `ffi`/`lib` (either build): its
    descriptor, bank, lanes and states."""
    params = ffi.new(f"lg_{unit}_params *")
    getattr(lib, f"lg_{unit}_params_default")(params)
    desc = ffi.new(f"lg_{unit}_desc *")
    assert getattr(lib, f"lg_{unit}_desc_init")(desc, params) == 0
    bank = ffi.new(f"lg_{unit}_bank *")
    lanes = ffi.new(f"lg_{unit}_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
    states = ffi.new(f"lg_{unit}_state[]", channels)
    assert getattr(lib, f"lg_{unit}_bank_init")(bank, lanes, states, channels) == 0
    return desc, bank, lanes, states


def modem_tone_events(ffi, lib, audio, block=160):
    channels = audio.shape[0]
    desc, bank, lanes, states = unit_arrays(ffi, lib, "modem_tone", channels)
    capacity = lib.lg_modem_tone_max_events(channels, block)
    events = ffi.new("lg_event[]", capacity)
    found = []
    for at in range(0, audio.shape[1], block):
        chunk = np.ascontiguousarray(audio[:, at:at + block])
        n = chunk.shape[1]
        count = lib.lg_modem_tone_feed(desc, bank, lanes, states, ffi.from_buffer(chunk), lib.LG_ENC_S16,
                                       n, n, events, capacity)
        found += [(events[k].channel, events[k].value, events[k].flags, events[k].start, events[k].end)
                  for k in range(count)]
    count = lib.lg_modem_tone_flush(desc, bank, lanes, states, events, capacity)
    found += [(events[k].channel, events[k].value, events[k].flags, events[k].start, events[k].end)
              for k in range(count)]
    return found


def test_portable_build_finds_the_same_modem_tones(portable):
    from gateway.dsp.native import ffi, lib

    fixtures = ROOT / "tests" / "fixtures" / "cpt"
    signals = [read_pcm16(path)[0] for path in sorted(fixtures.glob("*.wav"))]
    n = max(len(x) for x in signals)
    audio = np.zeros((len(signals), n + -n % 160), dtype=np.int16)
    for i, x in enumerate(signals):
        audio[i, :len(x)] = x
    simd = modem_tone_events(ffi, lib, audio)
    plain = modem_tone_events(portable.ffi, portable.lib, audio)
    assert len(simd) >= 2 * len(signals)
    assert [e[:3] for e in plain] == [e[:3] for e in simd]
    for a, b in zip(simd, plain):
        assert abs(a[3] - b[3]) <= 8 and abs(a[4] - b[4]) <= 8, (a, b)


def fsk_rx_messages(ffi, lib, audio, block=160):
    """(channel, message bytes, reason, start, end) of every caller ID report."""
    channels = audio.shape[0]
    desc, bank, lanes, states = unit_arrays(ffi, lib, "fsk_rx", channels)
    capacity = lib.lg_fsk_rx_max_events(channels, block)
    events = ffi.new("lg_event[]", capacity)
    message = ffi.new("uint8_t[]", lib.LG_FSK_RX_MAX_MESSAGE)
    found = []
    for at in range(0, audio.shape[1], block):
        chunk = np.ascontiguousarray(audio[:, at:at + block])
        n = chunk.shape[1]
        count = lib.lg_fsk_rx_feed(desc, bank, lanes, states, ffi.from_buffer(chunk), lib.LG_ENC_S16,
                                   n, n, events, capacity)
        for e in events[0:count]:
            length = lib.lg_fsk_rx_message(bank, states, e.channel, e.value, message, lib.LG_FSK_RX_MAX_MESSAGE)
            found.append((e.channel, bytes(ffi.buffer(message, length)), e.reason, e.start, e.end))
    return found


def test_portable_build_reads_the_same_caller_ids(portable):
    from gateway.dsp import callerid
    from gateway.dsp.native import ffi, lib
    from tests.dsp import fsk_signals

    rng = np.random.default_rng(8)
    speech = read_pcm16(ROOT / "tests" / "fixtures" / "talkoff" / "talkoff-speech.wav")[0][: 8000 * 3].astype(float)
    message = callerid.encode(callerid.CallerId(number="6095551212", name="JOHN DOE", time="09301224"))
    channels = 11  # a partial lane
    audio = np.zeros((channels, 8000 * 3))
    for ch in range(channels):
        x = fsk_signals.message_signal(message, ("bell202", "v23")[ch % 2], rng.uniform(-35, -10), rng)
        at = int(rng.integers(0, 8000))
        audio[ch] = speech * 10 ** (rng.uniform(-30, -10) / 20) if ch % 3 == 0 else sig.white_noise(24000, -50, rng)
        audio[ch, at:at + len(x)] = x
    audio = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    simd = fsk_rx_messages(ffi, lib, audio)
    plain = fsk_rx_messages(portable.ffi, portable.lib, audio)
    assert sorted(e[:3] for e in simd) == [(ch, message, (1, 2)[ch % 2] | lib.LG_FSK_RX_SEIZED)
                                           for ch in range(channels)]
    assert [e[:3] for e in plain] == [e[:3] for e in simd]
    for a, b in zip(simd, plain):
        assert abs(a[3] - b[3]) <= 2 and abs(a[4] - b[4]) <= 2, (a, b)


def mf_rx_events(ffi, lib, audio, kind, block=160):
    """(channel, signal, flags, start, end) of the MF receiver of `kind` (LG_MF_*) on `audio`."""
    channels = audio.shape[0]
    params = ffi.new("lg_mf_rx_params *")
    assert lib.lg_mf_rx_params_default(params, kind) == 0
    desc = ffi.new("lg_mf_rx_desc *")
    assert lib.lg_mf_rx_desc_init(desc, params) == 0
    bank = ffi.new("lg_mf_rx_bank *")
    lanes = ffi.new("lg_mf_rx_lane[]", (channels + lib.LG_LANE - 1) // lib.LG_LANE)
    states = ffi.new("lg_mf_rx_state[]", channels)
    assert lib.lg_mf_rx_bank_init(bank, lanes, states, channels) == 0
    capacity = lib.lg_mf_rx_max_events(channels, block)
    events = ffi.new("lg_event[]", capacity)
    found = []
    for at in range(0, audio.shape[1], block):
        chunk = np.ascontiguousarray(audio[:, at:at + block])
        n = chunk.shape[1]
        count = lib.lg_mf_rx_feed(desc, bank, lanes, states, ffi.from_buffer(chunk), lib.LG_ENC_S16, n, n,
                                  events, capacity)
        found += [(e.channel, e.value, e.flags, e.start, e.end) for e in events[0:count]]
    count = lib.lg_mf_rx_flush(desc, bank, lanes, states, events, capacity)
    found += [(e.channel, e.value, e.flags, e.start, e.end) for e in events[0:count]]
    return found


@pytest.mark.parametrize("kind", ["mfr2_fwd", "mfr2_bwd", "mfr1"])
def test_portable_build_hears_the_same_mf_signals(portable, kind):
    from gateway.dsp import mf
    from gateway.dsp.native import ffi, lib
    from tests.dsp import mf_signals

    channels = 11  # a partial lane
    rows = []
    for ch in range(channels):
        tape = mf_signals.tape_for(kind, "portable", ch)
        for signal in mf_signals.rng_for("portable signals", kind, ch).choice(mf_signals.SIGNALS, 5):
            tape.signal(int(signal), sig.ms(110), low_dbm0=-20.0 - ch, high_dbm0=-16.0 - ch,
                        low_dev_hz=ch - 5.0).silence(sig.ms(60))
        rows.append(tape.samples())
    n = max(len(x) for x in rows)
    audio = sig.quantize(np.stack([np.pad(x, (0, n - len(x))) for x in rows]))
    simd = mf_rx_events(ffi, lib, audio, mf.KINDS[kind])
    plain = mf_rx_events(portable.ffi, portable.lib, audio, mf.KINDS[kind])
    assert len(simd) == 2 * 5 * channels
    assert [e[:3] for e in plain] == [e[:3] for e in simd]
    for a, b in zip(simd, plain):
        assert abs(a[3] - b[3]) <= 2 and abs(a[4] - b[4]) <= 2, (a, b)
