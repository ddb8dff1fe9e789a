"""The board codec benchmark runs (tiny size; nothing here looks at a time)."""

from tests.bench import bench_boards


def test_bench_boards_runs_small(capsys):
    assert bench_boards.main(["--frames", "300", "--repeats", "1", "--read-size", "100"]) == 0
    out = capsys.readouterr().out
    for name in ("AUDIO", "signalling", "mix"):
        assert f"\n{name} " in out
    assert "two E1 spans: 60 channels x 50 AUDIO frames/s each way" in out and "% of a core (target < 5 %)" in out


def test_mix_is_mostly_audio_with_every_signalling_message():
    mix = bench_boards.mix_messages(620)
    assert sum(type(m).__name__ == "Audio" for m in mix) == 600
    assert {type(m) for m in bench_boards.signalling_messages(100)} == {type(m) for m in bench_boards.SIGNALLING}


def test_bench_flash_runs_small(capsys):
    from tests.bench import bench_flash

    assert bench_flash.main(["--size", "5000"]) == 0
    out = capsys.readouterr().out
    assert "flashed 5192 bytes to slot B: written in" in out and "s in all" in out
