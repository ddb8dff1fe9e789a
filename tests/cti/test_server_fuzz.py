"""Hypothesis against a live CTI server over its socket: any lines in, exactly one reply per line that
is not blank, and the connection still answers hello after them."""

import json
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cti import protocol as proto
from tests.cti.conftest import ServerThread

lines = st.one_of(
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b"")),
    st.builds(lambda op, args, request_id: json.dumps({"id": request_id, "op": op, "args": args}).encode(),
              st.sampled_from(proto.OPS.names() + ["test.echo", "test.fail", "nope"]),
              st.dictionaries(st.sampled_from(["call", "to", "text", "version", "events", "x"]),
                              st.one_of(st.text(max_size=5), st.integers(), st.none(), st.lists(st.integers(), max_size=2)),
                              max_size=3),
              st.one_of(st.integers(min_value=-3, max_value=10**6), st.text(max_size=4), st.none())),
    st.integers(min_value=65_000, max_value=70_000).map(lambda n: b'{"id": 5, "x": "' + b"a" * n + b'"}'),
)


@pytest.fixture(scope="module")
def server():
    directory = Path(tempfile.mkdtemp(prefix="lgcti-"))
    running = ServerThread(directory / "cti.sock")
    yield running
    running.close()
    shutil.rmtree(directory, ignore_errors=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(lines, max_size=8))
def test_any_lines_over_the_socket(server, sent):
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(str(server.server.path))
        conn.sendall(b"".join(line + b"\n" for line in sent)
                     + b'{"id": "the-end", "op": "hello", "args": {"version": 1, "subscribe": false}}\n')
        expected = sum(1 for line in sent if line.strip()) + 1
        replies, stream = [], conn.makefile("rb")
        while len(replies) < expected:  # replies of ops the service runs may come after hello's
            raw = stream.readline()
            assert raw.endswith(b"\n"), f"the server closed the connection after {len(replies)} replies"
            message = json.loads(raw)
            if "event" not in message:  # a fuzzed subscribe or call.make can bring events
                replies.append(message)
        conn.sendall(b'{"id": "more", "op": "test.echo", "args": {"text": "x"}}\n')
        while "event" in (last := json.loads(stream.readline())):
            pass
    assert last == {"id": "more", "ok": True, "result": {"text": "x"}}  # nothing more than one reply a line
    assert [r["result"]["protocol"] for r in replies if r["id"] == "the-end"] == [1]
    for reply in replies:
        assert reply["ok"] or proto.is_error_code(reply["error"]["code"])
