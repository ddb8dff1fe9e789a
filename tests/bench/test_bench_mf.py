"""Quick checks of the MF benchmark (tests/bench/bench_mf.py) and of the
spandsp MF bank it compares with. Tiny sizes, nothing about time; the spandsp
parts skip, saying why, when libspandsp-dev is not installed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.bench import bench_mf
from tests.dsp import dtmf_signals, mf_signals
from tests.reference import spandsp


@pytest.mark.parametrize("kind", mf_signals.KINDS)
def test_workload_alternates_signalling_and_calls(kind):
    audio, sent, _ = bench_mf.build_workload(kind, 4, 8.0, seed=3, background="fixtures")
    assert audio.shape == (4, 64000) and audio.dtype == np.int16
    assert sum(map(len, sent)) >= 8
    for bursts in sent:
        for a, b in zip(bursts, bursts[1:]):
            assert a.end < b.start  # a pause between any two signals
        for burst in bursts:
            assert 1 <= burst.signal <= 15 and 0 <= burst.start < burst.end <= audio.shape[1]


def test_score_is_one_to_one_and_same_signal():
    sent = [[mf_signals.Burst(5, 1000, 2000)], []]
    reports = [(0, 5, 1200), (0, 5, 1300), (0, 6, 1200), (1, 5, 1000)]
    assert bench_mf.score(reports, sent) == (1, 3)


def test_conformance_cases_cover_the_limits():
    labels = [case.label for case in bench_mf.conformance_cases("mfr2_fwd")]
    assert "offset +-10 Hz, both tones" in labels and "twist 7 dB (weaker tone -20 dBm0)" in labels
    assert "level -38.5 dBm0 per tone" in labels
    assert any(label.startswith("KP") for label in (c.label for c in bench_mf.conformance_cases("mfr1")))


def test_main_runs_small(capsys):
    assert bench_mf.main(["--channels", "8", "--seconds", "4", "--repeats", "1", "--background", "fixtures"]) == 0
    out = capsys.readouterr().out
    assert "MF receiver benchmark, R2 forward (mfr2_fwd): 8 channels x 4 s" in out
    assert "MF receiver benchmark, R1 (mfr1): 8 channels x 4 s" in out
    lines = [line.split() for line in out.splitlines() if line.startswith(("Linegate   s16", "Linegate   ulaw"))]
    assert len(lines) == 4
    assert all(found.split("/")[0] == found.split("/")[1] and false == "0" for *_, found, false in lines)
    if spandsp.available():
        assert "Linegate / spandsp (mfr2_fwd), channels per core (CPU time): s16 x" in out
    else:
        assert "spandsp: skipped, not available" in out


def test_conformance_table_runs_small(capsys):
    assert bench_mf.main(["--conformance", "3", "--kinds", "mfr2_bwd"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("offset +-0 Hz, both tones"))
    assert row.split()[5] == "3/3"


@pytest.mark.skipif(not spandsp.available(), reason=f"spandsp not available: {spandsp.unavailable_reason()}")
def test_spandsp_mf_bank_channels_are_independent_and_mu_law_is_decoded():
    x = np.concatenate([np.zeros(400, np.int16), spandsp.r2_mf_tx("mfr2_fwd", 7, 1200), np.zeros(800, np.int16)])
    audio = np.stack([x, np.zeros_like(x), x])
    bank, ulaw = spandsp.SpandspMfBank(3, "mfr2_fwd"), spandsp.SpandspMfBank(3, "mfr2_fwd", encoding="ulaw")
    codes = dtmf_signals.ulaw_encode(audio)
    got, got_ulaw = [], []
    for at in range(0, x.size, 160):
        got += bank.feed(audio[:, at:at + 160])
        got_ulaw += ulaw.feed(codes[:, at:at + 160])
    assert sorted(((e.channel, e.signal) for e in got), key=lambda r: r[0]) == [(0, 7), (0, None), (2, 7),
                                                                               (2, None)]
    assert [(e.channel, e.signal) for e in got_ulaw] == [(e.channel, e.signal) for e in got]
