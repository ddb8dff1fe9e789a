"""The simulated network's benchmark runs (tiny size; nothing here looks at a time)."""

from tests.bench import bench_network


def test_bench_network_runs_small(capsys):
    assert bench_network.main(["--lines", "24", "--seconds", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "calls dialled: 24/24" in out and "us per line per tick" in out
    assert "\ndialling " in out and "\nin call " in out
