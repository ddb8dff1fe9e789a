"""The voice modem benchmark runs (tiny size; nothing here looks at a time)."""

from tests.bench import bench_modem


def test_bench_modem_runs_small(capsys):
    assert bench_modem.main(["--seconds", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "ATD201 -> VCON" in out and "<DLE>b" in out and "ATD202 -> VCON" in out and "us per 20 ms tick" in out
