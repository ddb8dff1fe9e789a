"""Quick checks of the caller ID benchmark (tests/bench/bench_callerid.py) and
of spandsp's ADSI bank it compares with. Tiny sizes, nothing about time; the
spandsp parts skip, saying why, when libspandsp-dev is not installed."""

from __future__ import annotations

from tests.bench import bench_callerid
from tests.reference import spandsp


def test_workload_puts_messages_on_quiet_stretches():
    audio, sent, _ = bench_callerid.build_workload(6, 12.0, seed=2, background="fixtures")
    assert audio.shape == (6, 96000) and len(sent) >= 12
    for s in sent:
        assert s.standard == bench_callerid.STANDARDS[s.channel % 2]
        assert 0 < s.start < s.end <= audio.shape[1] and sum(s.message) % 256 == 0
    for a, b in zip(sent, sent[1:]):
        assert a.channel != b.channel or b.start - a.end >= 2.5 * 8000


def test_score_is_one_to_one_on_exact_bytes():
    sent = [bench_callerid.Sent(0, b"\x04\x01\x31\xca", "bell202", 100, 500)]
    reports = [(0, b"\x04\x01\x31\xca", 480), (0, b"\x04\x01\x31\xca", 490), (1, b"\x04\x01\x31\xca", 480),
               (0, b"\x04\x01\x32\xc9", 300)]
    assert bench_callerid.score(reports, sent, 160) == (1, 3)


def test_main_runs_small(capsys):
    assert bench_callerid.main(["--channels", "8", "--seconds", "6", "--repeats", "1",
                                "--background", "fixtures"]) == 0
    out = capsys.readouterr().out
    assert "Caller ID receiver benchmark: 8 channels x 6 s" in out
    lines = [line.split() for line in out.splitlines() if line.startswith(("Linegate   s16", "Linegate   ulaw"))]
    assert len(lines) == 2 and all(found.split("/")[0] == found.split("/")[1] for *_, found, false in lines)
    assert all(false == "0" for *_, false in lines)
    if spandsp.available():
        assert "Linegate / spandsp (caller ID), channels per core (CPU time): s16 x" in out
    else:
        assert "spandsp: skipped, not available" in out
