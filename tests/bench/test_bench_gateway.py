"""The gateway benchmark runs (tiny size; nothing here looks at a time)."""

from tests.bench import bench_gateway


def test_bench_gateway_runs_small(capsys):
    assert bench_gateway.main(["--channels", "60", "--seconds", "1", "--latency-seconds", "1", "--rate", "40"]) == 0
    out = capsys.readouterr().out
    row = [line.split() for line in out.splitlines() if line.split() and line.split()[0] == "60"][0]
    assert row[1] == "1" and int(row[7]) > 0               # one board; keys were heard back
    assert "CTI event latency" in out and "p99" in out
