"""``linegate sim directory``: the directory checked and shown, in-process and as a command."""

import json
import subprocess
import sys

from gateway.boards.sim.directory import BEHAVIOURS
from gateway.tools.cli import main


def test_json_lists_every_entry_with_number_and_behaviour(capsys):
    assert main(["sim", "directory", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert isinstance(entries, list) and {e["behaviour"] for e in entries} == set(BEHAVIOURS)
    assert all(isinstance(e["number"], str) and isinstance(e["pattern"], bool) for e in entries)
    machine = next(e for e in entries if e["number"] == "2125550110")
    assert machine["beep_hz"] == [1000.0] and machine["greeting"] == "greeting-nobody-en"


def test_table_and_file(tmp_path, capsys):
    f = tmp_path / "d.toml"
    f.write_text('country = "de"\n[numbers."_0800X."]\nbehaviour = "reject"\ncause = 34\n')
    assert main(["sim", "directory", "--file", str(f)]) == 0
    out = capsys.readouterr().out
    assert "country de, 1 entries" in out and "_0800X." in out and "cause 34" in out
    assert main(["sim", "directory", "--file", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["cause"] == 34


def test_a_bad_file_is_exit_2_naming_the_line(tmp_path, capsys):
    f = tmp_path / "d.toml"
    f.write_text('[numbers."1"]\nbehaviour = "machine"\nbeep = "loud"\n')
    assert main(["sim", "directory", "--file", str(f)]) == 2
    assert f"{f}:3: numbers.1.beep = 'loud': not one of sine, multi, none" in capsys.readouterr().err


def test_board_options_and_tool_options_do_not_mix(capsys):
    assert main(["sim", "directory", "--listen", "pty"]) == 2
    assert "--listen: a board's or a modem's options" in capsys.readouterr().err
    assert main(["sim", "fxo4", "--json"]) == 2
    assert "--file and --json are options of linegate sim directory" in capsys.readouterr().err
    assert main(["sim", "fxo4"]) == 2
    assert "--listen URL is required" in capsys.readouterr().err


def test_as_a_command():
    out = subprocess.run([sys.executable, "-m", "gateway.tools.cli", "sim", "directory", "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert len(json.loads(out)) >= len(BEHAVIOURS)
