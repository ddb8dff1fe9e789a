"""The line-side benchmark runs (one board, a fifth of a simulated second; no time is looked at).
It starts the simulator built into the package (gateway/boards/bin, by `pip install -e .`)."""

from tests.bench import bench_lineside


def test_bench_lineside_runs_small(capsys):
    assert bench_lineside.main(["--boards", "1", "--seconds", "0.2", "--network", "unix"]) == 0
    out = capsys.readouterr().out
    assert "AUDIO blocks to the host: 40 (expected 40)" in out
    for name in ("board processes", "line server", "host (this process)"):
        assert f"\n{name} " in out
