"""The R2 set-up benchmark runs (one variant; nothing here looks at a time)."""

from tests.bench import bench_r2


def test_bench_r2_runs_for_one_variant(capsys):
    assert bench_r2.main(["--variants", "itu"]) == 0
    out = capsys.readouterr().out
    assert "seize to offer" in out and "\nITU " in out
