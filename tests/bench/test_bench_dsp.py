"""Quick checks of the benchmark (tests/bench/bench_dsp.py) and of spandsp's
combined bank it compares with (tests/reference/spandsp.py).

Tiny sizes only; nothing here looks at a time. The spandsp parts skip, saying
why, when libspandsp-dev is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.bench import bench_dsp
from tests.dsp import dtmf_signals as sig
from tests.reference import spandsp

needs_spandsp = pytest.mark.skipif(not spandsp.available(),
                                   reason=f"spandsp reference not available: {spandsp.unavailable_reason()}")
FS = sig.FS


def _tone_tape(seconds: float = 9.0) -> np.ndarray:
    """Four channels: German busy, fax CNG, ANSam/PR, and a DTMF key then silence."""
    n = int(seconds * FS)
    busy = np.zeros(n)
    t = np.arange(n)
    busy += sig.dbm0_to_peak(-15.0) * np.sin(2 * np.pi * 425.0 * t / FS) * ((t % sig.ms(960)) < sig.ms(480))
    cng = bench_dsp.fax_cng(n, -12.0, 0.3)
    ans = bench_dsp.ansam_pr(n, -12.0, 1.0)
    key = np.zeros(n)
    key[sig.ms(200):sig.ms(280)] = sig.dual_tone("5", sig.ms(80), row_dbm0=-10.0, col_dbm0=-10.0)
    return sig.quantize(np.stack([busy, cng, ans, key]))


@needs_spandsp
def test_spandsp_combined_bank_runs_every_receiver_on_every_channel():
    x = _tone_tape()
    bank = spandsp.SpandspToneBank(4)
    assert bank.monitored_frequencies == 5  # 425, 950, 1400, 1800, 2100 Hz
    events = []
    for at in range(0, x.shape[1], 160):
        events += bank.feed(x[:, at:at + 160])
    heard = {(e.channel, e.kind, e.value) for e in events if e.value is not None}
    assert (0, "super_tone", "busy") in heard
    assert (1, "cng", "CNG") in heard
    assert (2, "ansam_pr", "ANSAM_PR") in heard
    assert {(e.channel, e.value) for e in events if e.kind == "dtmf"} == {(3, "5")}
    # A tone that stops is reported as stopping (value None), after it began.
    cng = [e for e in events if e.kind == "cng"]
    assert [e.value for e in cng[:2]] == ["CNG", None] and cng[0].pos < cng[1].pos
    assert all(e.pos % 160 == 0 for e in events)  # exact=False: the end of the fed block


@needs_spandsp
def test_spandsp_combined_bank_ulaw_and_subsets():
    x = _tone_tape(4.0)
    codes = sig.ulaw_encode(x)

    def run(bank, y):
        return [e for at in range(0, y.shape[1], 160) for e in bank.feed(y[:, at:at + 160])]

    linear = run(spandsp.SpandspToneBank(4), sig.ulaw_decode(codes))
    ulaw = run(spandsp.SpandspToneBank(4, encoding="ulaw"), codes)
    assert ulaw == linear and linear
    linear = spandsp.SpandspToneBank(4).feed(x)  # one feed: positions at its end
    only_cng = spandsp.SpandspToneBank(4, receivers=("cng",)).feed(x)
    assert only_cng and {e.kind for e in only_cng} == {"cng"}
    assert [e for e in linear if e.kind == "cng"] == only_cng
    with pytest.raises(ValueError):
        spandsp.SpandspToneBank(4, receivers=("dtmf", "nope"))
    # The DTMF-only bank is unchanged by the combined one.
    assert [(d.channel, d.digit) for d in spandsp.SpandspDtmfBank(4, exact=False).feed(x)] == [(3, "5")]


def test_tone_channels_replace_the_digits_under_them():
    work = bench_dsp.build_workload(32, 3.0, seed=3, background="fixtures")
    before = [list(b) for b in work.sent]
    tones = bench_dsp.add_tones(work, 3)
    assert [t.channel for t in tones] == [c for c in range(32) if bench_dsp.COMBINED_PATTERN[c % 16] != "speech"]
    for t in tones:
        assert 0 <= t.start < t.end <= work.audio.shape[1]
        assert all(b.start >= t.end for b in work.sent[t.channel])
    for c in range(32):
        if bench_dsp.COMBINED_PATTERN[c % 16] == "speech":
            assert work.sent[c] == before[c]
    # Right class found once, a wrong one anywhere, nothing on speech channels.
    t = tones[0]
    reports = [(t.channel, t.cls, t.start), (t.channel, t.cls, t.start + 100), (t.channel, "dial", t.start),
               (0, "busy", 100)]
    assert bench_dsp.score_tones(reports, tones) == (1, 2)


def test_main_runs_both_suites_small(capsys):
    assert bench_dsp.main(["--channels", "16", "--seconds", "2", "--repeats", "1",
                           "--background", "fixtures"]) == 0
    out = capsys.readouterr().out
    assert "DTMF receiver benchmark: 16 channels" in out
    assert "Combined benchmark (every detector on every channel): 16 channels" in out
    detect, note = bench_dsp.combined_detect()
    assert f"DetectorBank(detect={detect!r})" in out
    assert (note is None) == ("amd" in detect)
    if spandsp.available():
        assert "Linegate / spandsp, channels per core (CPU time): s16 x" in out
        assert "Linegate / spandsp (combined), channels per core (CPU time): s16 x" in out
    else:
        assert "spandsp: skipped, not available" in out


def test_main_combined_only_with_chosen_detectors(capsys):
    assert bench_dsp.main(["--suite", "combined", "--channels", "8", "--seconds", "1", "--repeats", "1",
                           "--background", "fixtures", "--linegate-detect", "cpt",
                           "--spandsp-receivers", "super_tone"]) == 0
    out = capsys.readouterr().out
    assert "DTMF receiver benchmark" not in out
    assert "DetectorBank(detect=('cpt',))" in out
    if spandsp.available():
        assert "super_tone_rx (6 German tones" in out and "dtmf_rx" not in out
