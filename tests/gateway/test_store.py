"""The call-detail store: rows as calls start and end, WAL, what a killed
daemon leaves behind, and stores that are not ours."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from gateway.call import CallModel
from gateway.errors import UsageError
from gateway.store import CallStore


def test_calls_are_recorded_as_they_start_and_end(tmp_path):
    store = CallStore(tmp_path / "cdr.db")
    model = CallModel()
    model.add_channel("fxo1/0", "fxo", "fxo")
    listen = store.listener(model)
    call = model.originate("fxo1/0", "5551234", "200", 100.0)
    listen(model.drain())
    row = store.calls()[0]
    assert row["call"] == call.id and row["ended"] is None and row["state"] == "dialing"
    model.progress(call.id, "ringback", 101.0)
    model.connected(call.id, 105.0, "polarity")
    model.amd(call.id, "machine", 107.0)
    model.disconnected(call.id, 16, "remote", 130.0)
    listen(model.drain())
    row = store.calls()[0]
    assert (row["started"], row["answered"], row["ended"], row["cause"], row["ended_by"]) == (100.0, 105.0, 130.0, 16, "remote")
    assert row["amd"] == "machine" and row["tones"] == ["ringback"] and row["answered_by"] == "polarity"
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_killed_writer_loses_no_ended_call_and_open_calls_are_closed(tmp_path):
    path = tmp_path / "cdr.db"
    script = textwrap.dedent(f"""
        import os, sys
        from gateway.call import CallModel
        from gateway.store import CallStore
        store = CallStore({str(path)!r}); model = CallModel(); listen = store.listener(model)
        model.add_channel("a", "g", "fxo"); model.add_channel("b", "g", "fxo")
        for i in range(50):
            c = model.originate("a", str(i), "", float(i)); model.disconnected(c.id, 16, "local", i + 0.5)
            model.free("a", i + 0.6); listen(model.drain())
        model.originate("b", "999", "", 60.0); listen(model.drain())
        print("ready", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stdin.close()
    store = CallStore(path)
    assert store.close_interrupted(70.0) == 1
    rows = store.calls(limit=100)
    assert len(rows) == 51
    assert sum(r["cause"] == 16 for r in rows) == 50
    open_one = [r for r in rows if r["to_number"] == "999"][0]
    assert open_one["cause"] == 41 and open_one["ended"] == 70.0


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    bad = tmp_path / "x.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError, match="not a Linegate store"):
        CallStore(bad)
    with pytest.raises(UsageError, match="does not exist"):
        CallStore(tmp_path / "no" / "cdr.db")
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema','99');")
    db.commit()
    db.close()
    with pytest.raises(UsageError, match="schema 99"):
        CallStore(other)
