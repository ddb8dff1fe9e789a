"""The PRI benchmark runs (tiny size; nothing here looks at a time). Its libpri runs need
libpri-dev and are skipped inside the benchmark without it, saying so."""

from tests.bench import bench_pri


def test_bench_pri_runs_small(capsys):
    assert bench_pri.main(["--calls", "20", "--concurrency", "4"]) == 0
    out = capsys.readouterr().out
    assert "linegate TE -> linegate NT" in out
    assert ("linegate TE -> libpri NT" in out and "libpri TE -> linegate NT" in out) or "libpri runs skipped" in out
    rows = [line for line in out.splitlines() if "->" in line]
    for row in rows:
        assert row.split()[5] == "20"           # every call placed was set up and cleared
