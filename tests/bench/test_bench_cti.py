"""The CTI latency benchmark runs (tiny size; nothing here looks at a time)."""

from tests.bench import bench_cti


def test_bench_cti_runs_small(capsys):
    assert bench_cti.main(["--clients", "1,3", "--rate", "100", "--seconds", "0.2", "--processes", "2"]) == 0
    out = capsys.readouterr().out
    assert "clients  events  delivered   p50 ms   p99 ms   max ms" in out
    rows = [line.split() for line in out.splitlines() if line.strip() and line.split()[0].isdigit()]
    assert [(row[0], row[1], row[2]) for row in rows] == [("1", "20", "20"), ("3", "20", "60")]


def test_percentile():
    assert bench_cti.percentile([5, 1, 4, 2, 3], 0.5) == 3 and bench_cti.percentile(list(range(100)), 0.99) == 99
