"""`linegate cti events | call | send` against a CTI server with the test's call service (its own thread
and loop, as the commands run their own), and once as a real process interrupted with Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from gateway.tools.cli import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL_FAILURE, main
from gateway.tools.cti import format_event
from tests.cti.conftest import ANSWERED, BUSY, NO_ANSWER, ServerThread, sock_dir  # noqa: F401 (fixture)


@pytest.fixture
def cti(sock_dir):  # noqa: F811
    running = ServerThread(sock_dir / "cti.sock")
    yield running
    running.close()


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_send_prints_the_reply(cti, capsys):
    socket_path = str(cti.server.path)
    code, out, err = cli(capsys, "cti", "send", "test.echo", '{"text": "héllo"}', "--socket", socket_path)
    assert code == EXIT_OK and err == ""
    assert json.loads(out) == {"id": 2, "ok": True, "result": {"text": "héllo"}}
    code, out, _ = cli(capsys, "cti", "send", "channels.list", "--socket", socket_path)
    assert code == EXIT_OK and json.loads(out)["result"]["channels"][0]["channel"] == "fxo4-0/1"


def test_send_error_replies_and_bad_json_args(cti, capsys):
    socket_path = str(cti.server.path)
    code, out, err = cli(capsys, "cti", "send", "call.hangup", '{"call": "c404"}', "--socket", socket_path)
    assert code == EXIT_PARTIAL_FAILURE
    assert json.loads(out)["error"] == {"code": "not-found", "message": "no call 'c404'"}
    assert err == "linegate: not-found: no call 'c404'\n"
    code, out, err = cli(capsys, "cti", "send", "call.make", '{"to": 42}', "--socket", socket_path)
    assert code == EXIT_BAD_INPUT and json.loads(out)["error"]["code"] == "bad-args"
    assert err == "linegate: bad-args: call.make: args.to: expected a string, got 42\n"
    code, out, err = cli(capsys, "cti", "send", "call.make", "{to: 1}", "--socket", socket_path)
    assert code == EXIT_BAD_INPUT and out == "" and err.startswith("linegate: JSON_ARGS: not JSON: Expecting property")
    code, out, err = cli(capsys, "cti", "send", "call.make", "[1]", "--socket", socket_path)
    assert code == EXIT_BAD_INPUT and "JSON_ARGS: expected a JSON object" in err


def test_a_socket_that_does_not_answer(sock_dir, capsys):  # noqa: F811
    code, out, err = cli(capsys, "cti", "send", "channels.list", "--socket", str(sock_dir / "none.sock"))
    assert code == EXIT_PARTIAL_FAILURE and out == ""
    assert err == f"linegate: {sock_dir / 'none.sock'}: no CTI socket there (is `linegate serve` running? --socket PATH)\n"
    code, _, err = cli(capsys, "cti", "events", "--socket", str(sock_dir / "none.sock"))
    assert code == EXIT_PARTIAL_FAILURE and "no CTI socket there" in err


def test_call_that_connects(cti, capsys):
    code, out, err = cli(capsys, "cti", "call", ANSWERED, "--socket", str(cti.server.path), "--detect", "amd",
                         "--from", "100")
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert lines[0] == f"call c1 to {ANSWERED}"
    assert [line.split()[2] for line in lines[1:]] == ["call.dialing", "call.alerting", "call.connected",
                                                        "call.disconnected"]
    assert lines[-1].endswith("call.disconnected call=c1 channel=fxo4-0/1 cause=16 by=remote")


def test_call_that_never_connects(cti, capsys):
    code, out, _ = cli(capsys, "cti", "call", BUSY, "--socket", str(cti.server.path), "--json")
    assert code == EXIT_PARTIAL_FAILURE
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["call.dialing", "call.progress", "call.disconnected"]
    assert events[1]["tone"] == "busy" and events[2]["cause"] == 17 and [e["seq"] for e in events] == [1, 2, 3]


def test_call_that_goes_on_too_long_is_hung_up(cti, capsys):
    code, out, _ = cli(capsys, "cti", "call", NO_ANSWER, "--socket", str(cti.server.path), "--timeout", "0.3")
    assert code == EXIT_PARTIAL_FAILURE
    assert "no end after 0.3 s: hanging up" in out
    assert out.splitlines()[-1].endswith("call.disconnected call=c1 channel=fxo4-0/1 cause=16 by=local")


def test_call_arguments_are_checked(cti, capsys):
    code, _, err = cli(capsys, "cti", "call", "555 0100", "--socket", str(cti.server.path))
    assert code == EXIT_BAD_INPUT and '"555 0100" is not a phone number' in err
    code, _, err = cli(capsys, "cti", "call", ANSWERED, "--detect", "fax", "--socket", str(cti.server.path))
    assert code == EXIT_BAD_INPUT and "invalid choice: 'fax'" in err


def test_events_for_a_while(cti, capsys):
    def publish():
        for n in range(3):
            cti.server.publish({"event": "test.tick", "n": n})
        cti.server.publish({"event": "call.held", "call": "c9", "channel": 2})  # filtered out

    def publish_soon():
        time.sleep(0.3)
        cti.call(publish)

    publisher = threading.Thread(target=publish_soon)
    publisher.start()
    code, out, err = cli(capsys, "cti", "events", "--socket", str(cti.server.path), "--filter", "test.*",
                         "--json", "--for", "1")
    publisher.join()
    assert code == EXIT_OK, err
    assert [json.loads(line)["n"] for line in out.splitlines()] == [0, 1, 2]


def test_a_readable_event_line():
    line = format_event({"event": "call.offered", "seq": 7, "time": 1795455092.6499, "call": "c3", "channel": 1,
                         "ani": "5550100", "dnis": None, "name": "Jo Doe"})
    assert line.endswith(' #7 call.offered call=c3 channel=1 ani=5550100 dnis=null name="Jo Doe"')
    assert line[:12] == time.strftime("%H:%M:%S", time.localtime(1795455092)) + ".650"


def test_events_until_interrupted(sock_dir):  # noqa: F811
    """A real `linegate cti events` process: prints as events come, ends on Ctrl-C with 130."""
    running = ServerThread(sock_dir / "cti.sock")
    try:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        process = subprocess.Popen([sys.executable, "-m", "gateway.tools.cli", "cti", "events", "--socket",
                                    str(running.server.path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=env)
        try:
            deadline = time.monotonic() + 10
            while not running.call(lambda: any(s.protocol_version for s in running.server.sessions)):
                assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
                time.sleep(0.05)
            time.sleep(0.1)  # its subscribe follows hello
            running.call(running.server.publish, {"event": "channel.state", "channel": 1, "state": "idle",
                                                  "call": None})
            line = process.stdout.readline()
            assert " #1 channel.state channel=1 state=idle call=null" in line
            process.send_signal(signal.SIGINT)
            assert process.wait(10) == EXIT_INTERRUPTED
            assert process.stderr.read() == "linegate: interrupted\n"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        running.close()
