"""`linegate serve` and `linegate demo` as a user runs them: processes, the
socket, signals, a daemon killed in the middle of a call."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

LINEGATE = [sys.executable, "-m", "gateway.tools.cli"]


def wait_for_socket(path, proc, seconds=30):
    """Until the daemon accepts connections (a killed one leaves its socket file behind)."""
    import socket
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(path)
                return
            except OSError:
                pass
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("no socket")


def cti(sock, *args, timeout=60):
    return subprocess.run([*LINEGATE, "cti", *args, "--socket", sock], capture_output=True, text=True,
                          timeout=timeout)


def serve(tmp_path, *extra):
    sock, db = str(tmp_path / "cti.sock"), str(tmp_path / "cdr.db")
    proc = subprocess.Popen([*LINEGATE, "serve", "--socket", sock, "--db", db, "--no-inbound", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_socket(sock, proc)
    return proc, sock, db


def test_serve_answers_on_its_socket_and_stops_on_sigterm(tmp_path):
    proc, sock, db = serve(tmp_path, "--virtual-clock")
    try:
        listed = cti(sock, "send", "channels.list")
        assert listed.returncode == 0, listed.stderr
        channels = json.loads(listed.stdout)["result"]["channels"]
        assert len(channels) == 8 and {c["kind"] for c in channels} == {"fxo", "fxs"}
        busy = cti(sock, "call", "2125550120", "--json", "--timeout", "60")
        assert busy.returncode == 1                              # never connected
        lines = [json.loads(line) for line in busy.stdout.splitlines() if line.startswith("{")]
        assert [e["cause"] for e in lines if e["event"] == "call.disconnected"] == [17]
        assert (oct(os.stat(sock).st_mode & 0o777)) == "0o660"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "event=serve.started" in err and "event=call.disconnected" in err
    assert not os.path.exists(sock)


def test_a_killed_daemon_loses_no_ended_call_and_comes_back_idle(tmp_path):
    proc, sock, db = serve(tmp_path, "--virtual-clock")
    try:
        assert cti(sock, "call", "2125550120", "--timeout", "60").returncode == 1
        started = cti(sock, "send", "call.make", json.dumps({"to": "2125550122"}))     # rings for ever
        assert started.returncode == 0, started.stderr
    finally:
        proc.kill()
        proc.communicate()
    proc, sock, db = serve(tmp_path, "--virtual-clock")
    try:
        channels = json.loads(cti(sock, "send", "channels.list").stdout)["result"]["channels"]
        assert {c["state"] for c in channels} == {"idle"}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "store.interrupted-calls-closed" in err
    import sqlite3
    rows = sqlite3.connect(db).execute("SELECT to_number, cause FROM calls ORDER BY started").fetchall()
    assert rows == [("2125550120", 17), ("2125550122", 41)]


def test_demo_runs_the_scenario_and_every_call_ends_as_the_directory_says(tmp_path):
    done = subprocess.run([*LINEGATE, "demo", "--virtual-clock"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = [line for line in done.stdout.splitlines() if line.startswith(("ok ", "BAD"))]
    assert len(summary) == 5 and all(line.startswith("ok ") for line in summary), done.stdout
    assert "call.offered" in done.stdout and "ani=2125559001" in done.stdout


def test_simulated_boards_end_with_a_daemon_killed_with_sigkill(tmp_path):
    proc, sock, db = serve(tmp_path, "--virtual-clock")
    import glob
    # The simulators are started from worker threads: each thread's children are its own.
    children = [int(pid) for path in glob.glob(f"/proc/{proc.pid}/task/*/children")
                for pid in open(path).read().split()]
    assert len(children) == 2                                  # the fxo4 and fxs4 simulators
    proc.kill()
    proc.communicate()
    end = time.monotonic() + 10
    while time.monotonic() < end and any(os.path.exists(f"/proc/{pid}") for pid in children):
        time.sleep(0.05)
    assert not [pid for pid in children if os.path.exists(f"/proc/{pid}")
                and open(f"/proc/{pid}/stat").read().split()[2] != "Z"]
