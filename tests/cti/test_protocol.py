"""The CTI wire protocol without I/O: framing, requests against the op schemas, replies and events."""

import json

import pytest

from gateway.cti import protocol as proto
from gateway.cti.protocol import (EVENTS, MAX_MESSAGE, OPS, EncodedEvent, LineFramer, Reply, Request, TooLarge,
                                  encode_error, encode_event, encode_reply, encode_request, parse_request,
                                  parse_server_line)
from gateway.errors import CtiError, CtiRequestError, UsageError


def refused(line, ops=None) -> CtiRequestError:
    with pytest.raises(CtiRequestError) as info:
        parse_request(line if isinstance(line, bytes) else line.encode(), ops)
    assert isinstance(info.value, ValueError) and isinstance(info.value, CtiError)
    return info.value


def request(op, request_id=1, **args) -> bytes:
    return json.dumps({"id": request_id, "op": op, "args": args}).encode()


# -- request lines, every refusal


@pytest.mark.parametrize("line, offset", [(b"{", 1), (b"garbage", 0), (b'{"id": 1,}', 9), (b'{"op": "hello"} x', 16),
                                          ('{"op": "hellö" x'.encode(), 16)])
def test_bad_json_names_the_byte_offset(line, offset):
    error = refused(line)
    assert error.code == "bad-json" and f"at byte offset {offset}" in error.message and error.request_id is None


def test_bad_utf8_names_the_byte_and_offset():
    error = refused(b'{"op": "hello", "args": {"client": "\xc3\x28"}}')
    assert error.code == "bad-json" and error.message == "not UTF-8: byte 0xc3 at offset 36"


@pytest.mark.parametrize("line, words", [
    (b"NaN", "NaN is not JSON"),
    (b'{"id": 1, "op": "hello", "args": {"version": Infinity}}', "Infinity is not JSON"),
    (b'{"id": 1, "op": "hello", "op": "hello"}', 'field "op" appears twice'),
    (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
    (b'{"id": ' + b"9" * 5000 + b"}", "digits"),
], ids=["nan", "infinity", "twice", "deep", "huge-int"])
def test_json_we_do_not_take(line, words):
    error = refused(line)
    assert error.code == "bad-json" and words in error.message


def test_an_oversized_line_is_refused_with_its_leading_id():
    error = refused(b'{"id": 42, "op": "call.make", "args": {"to": "' + b"1" * MAX_MESSAGE + b'"}}')
    assert error.code == "too-large" and error.request_id == 42 and f"at most {MAX_MESSAGE}" in error.message


@pytest.mark.parametrize("line, request_id, words", [
    (b"[1, 2]", None, "a request is a JSON object, got an array"),
    (b'"hello"', None, "got a string"),
    (b"7", None, "got a number"),
    (b"null", None, "got null"),
    (b'{"id": true, "op": "hello"}', None, "id: expected an integer 0..2**53 or a string of 1-64 characters, got true"),
    (b'{"id": 1.5, "op": "hello"}', None, "got 1.5"),
    (b'{"id": -1, "op": "hello"}', None, "got -1"),
    (b'{"id": "", "op": "hello"}', None, 'got ""'),
    (b'{"id": [1], "op": "hello"}', None, "got an array"),
    (b'{"id": 9007199254740993, "op": "hello"}', None, "got 9007199254740993"),
    (b'{"id": 3, "op": "hello", "extra": 1}', 3, 'unknown field "extra": a request has id, op and args'),
    (b'{"id": 3}', 3, "op is missing"),
    (b'{"id": "r-1", "op": 7}', "r-1", "op: expected a string, got 7"),
])
def test_lines_that_are_not_requests(line, request_id, words):
    error = refused(line)
    assert error.code == "bad-request" and error.request_id == request_id and words in error.message


def test_an_unknown_op_suggests_a_close_name():
    error = refused(b'{"id": 5, "op": "call.mak"}')
    assert error.code == "unknown-op" and error.request_id == 5
    assert error.message == 'unknown op "call.mak"; did you mean "call.make"?'
    assert refused(b'{"op": "zzz"}').message == 'unknown op "zzz"'


@pytest.mark.parametrize("args, words", [
    ([1], 'call.make: args: expected an object, got an array'),
    ({}, "call.make: args.to is missing (the number to call)"),
    ({"to": 5550100}, "call.make: args.to: expected a string, got 5550100"),
    ({"to": "555 0100"}, 'args.to: "555 0100" is not a phone number: digits, * # A-D, a leading +'),
    ({"to": "1" * 65}, "args.to: 65 characters; at most 64"),
    ({"to": "1", "tto": "2"}, "args.tto: unknown argument; call.make takes to, from, group, channel, detect, timeout"),
    ({"to": "1", "detect": "amd"}, 'args.detect: expected a list, got "amd"'),
    ({"to": "1", "detect": ["amd", "fax"]}, 'args.detect[1]: "fax" is not one of "dtmf", "modem", "cpt", "amd"'),
    ({"to": "1", "detect": ["amd", "amd"]}, 'args.detect[1]: "amd" is there already'),
    ({"to": "1", "detect": ["amd", "cpt", "dtmf", "modem", "callerid", "amd"]}, "args.detect: 6 items; at most 5"),
    ({"to": "1", "timeout": 0.5}, "args.timeout: 0.5 is below the minimum 1"),
    ({"to": "1", "timeout": 601}, "args.timeout: 601 is above the maximum 600"),
    ({"to": "1", "timeout": "10"}, 'args.timeout: expected a number, got "10"'),
    ({"to": "1", "timeout": True}, "args.timeout: expected a number, got true"),
    ({"to": "1", "group": "a b"}, 'args.group: "a b" is not a name'),
])
def test_call_make_arguments(args, words):
    error = refused(json.dumps({"id": 8, "op": "call.make", "args": args}))
    assert error.code == "bad-args" and error.request_id == 8 and words in error.message, error.message


@pytest.mark.parametrize("op, args, words", [
    ("call.hangup", {"call": "c1", "cause": 16.0}, "args.cause: expected an integer, got 16.0"),
    ("call.hangup", {"call": "c1", "cause": 0}, "below the minimum 1"),
    ("call.hangup", {"call": True}, "args.call: expected an id"),
    ("call.hangup", {"call": "x" * 65}, "args.call: expected an id"),
    ("call.hangup", {"call": "a\nb"}, "args.call: expected an id"),
    ("call.transfer", {"call": "c1"}, "give exactly one of args.to or args.consult"),
    ("call.transfer", {"call": "c1", "to": "1", "consult": "c2"}, "give exactly one of args.to or args.consult (got 2)"),
    ("call.play", {"call": "c1", "barge_in": 1}, "args.barge_in: expected true or false, got 1"),
    ("call.send_dtmf", {"call": "c1", "digits": "12x"}, 'args.digits: "12x" is not DTMF keys: 0-9 * # A-D'),
    ("subscribe", {"events": ["call.[a]"]}, 'args.events[0]: "call.[a]" is not an event name, or a pattern'),
    ("hello", {}, "args.version is missing"),
])
def test_other_schemas_refuse(op, args, words):
    error = refused(request(op, **args))
    assert error.code == "bad-args" and words in error.message, error.message


# Good arguments for every op of the table. A newly registered op fails
# test_every_op_has_an_example until it has a line here.
GOOD = {
    "hello": {"version": 1, "client": "crm 2.1", "subscribe": False},
    "subscribe": {"events": ["call.*", "channel.state"], "channels": ["fxo4-0/1", 3], "calls": []},
    "channels.list": {"group": "pstn"},
    "channel.status": {"channel": 3},
    "call.make": {"to": "+4930123,w45#", "from": "5550000", "group": "pstn", "detect": ["cpt", "amd"], "timeout": 30},
    "call.answer": {"call": "c1"},
    "call.hangup": {"call": 17, "cause": 17},
    "call.hold": {"call": "c1"},
    "call.retrieve": {"call": "c1"},
    "call.transfer": {"call": "c1", "consult": "c2"},
    "call.send_dtmf": {"call": "c1", "digits": "0123456789*#ABCD", "duration_ms": 80},
    "call.play": {"call": "c1", "tone": "busy", "repeat": 3},
    "call.record": {"call": "c1", "file": "/var/lib/rec/1.wav", "silence_seconds": 3, "terminator": "#"},
    "call.collect": {"call": "c1", "max_digits": 4, "terminator": "#", "first_timeout": 10},
}


def test_every_op_has_an_example():
    assert sorted(GOOD) == OPS.names()


@pytest.mark.parametrize("op", sorted(GOOD))
def test_good_arguments_pass_and_a_wrong_one_does_not(op):
    parsed = parse_request(request(op, 11, **GOOD[op]))
    assert parsed.id == 11 and parsed.op == op
    for name, value in GOOD[op].items():
        assert parsed.args[name] == value
    # Each argument of a wrong kind is refused by name.
    for name, value in GOOD[op].items():
        wrong = {**GOOD[op], name: {"x": 1}}
        assert f"args.{name}" in refused(request(op, **wrong)).message


def test_defaults_are_filled_and_null_means_not_given():
    args = parse_request(request("call.collect", call="c1", max_digits=3, terminator=None)).args
    assert args == {"call": "c1", "max_digits": 3, "first_timeout": 5, "inter_timeout": 3, "flush": False}
    assert parse_request(request("call.hangup", call="c1")).args == {"call": "c1", "cause": 16}
    assert parse_request(request("call.transfer", call="c1", to="200", consult=None)).args == {"call": "c1", "to": "200"}
    assert parse_request(b'{"op": "channels.list", "args": null, "id": null}') == Request(None, "channels.list", {})
    assert parse_request(b'{"op":"hello","args":{"version":1}}').args == {"version": 1, "subscribe": True}


def test_register_op_extends_a_table():
    ops = OPS.copy()
    ops.register("dialer.start", {"campaign": proto.ident(required=True),
                                  "pacing": proto.string(choices=("preview", "progressive", "predictive"))},
                 doc="Starts a campaign.")
    assert "dialer.start" in ops and "dialer.start" not in OPS
    assert parse_request(request("dialer.start", campaign="c"), ops).args == {"campaign": "c"}
    assert refused(request("dialer.start", campaign="c", pacing="fast"), ops).code == "bad-args"
    assert refused(request("dialer.start", campaign="c")).code == "unknown-op"  # the module's table is untouched
    with pytest.raises(UsageError, match="already registered"):
        ops.register("dialer.start")
    with pytest.raises(UsageError, match="dotted lowercase"):
        ops.register("Dialer.Start")
    with pytest.raises(UsageError, match="not an optional argument"):
        ops.register("x.y", {"a": proto.string(required=True)}, one_of=(("a", "b"),))
    with pytest.raises(UsageError, match="must be an Arg"):
        ops.register("x.z", {"a": str})
    with pytest.raises(UsageError, match="list Arg needs items"):
        proto.Arg("list")
    events = EVENTS.copy()
    events.register("dialer.paced", {"rate": "calls a minute"})
    with pytest.raises(UsageError, match="common to every event"):
        events.register("dialer.bad", {"seq": "no"})


def test_detector_names_are_the_detector_banks():
    from gateway.dsp.detector_bank import DETECTORS

    assert proto.DETECTORS == DETECTORS


def test_error_codes_are_kebab_case_and_documented():
    import pathlib

    doc = (pathlib.Path(proto.__file__).parent / "PROTOCOL.md").read_text()
    for code in proto.ERROR_CODES:
        assert proto.is_error_code(code) and f"`{code}`" in doc
    for name in OPS.names() + EVENTS.names():
        assert f"`{name}`" in doc, name
    assert not proto.is_error_code("Not_Found") and not proto.is_error_code("x" * 33)
    with pytest.raises(UsageError):
        encode_error(1, "NotFound", "no")


# -- replies, events, round trips


def test_replies_round_trip():
    line = encode_reply(7, {"call": "c1", "name": "José"})
    assert line == '{"id":7,"ok":true,"result":{"call":"c1","name":"José"}}\n'.encode()
    assert parse_server_line(line[:-1]) == Reply(7, True, result={"call": "c1", "name": "José"})
    line = encode_error("r1", "not-found", "no call 'c9'")
    assert parse_server_line(line) == Reply("r1", False, code="not-found", message="no call 'c9'")
    assert parse_server_line(encode_error(None, "bad-json", "x")).id is None
    with pytest.raises(UsageError):
        encode_reply(1, [1])
    with pytest.raises(UsageError, match="not sendable as JSON"):
        encode_reply(1, {"x": object()})


def test_a_lone_surrogate_a_client_sent_is_escaped_back():
    text = parse_request(b'{"op": "hello", "args": {"version": 1, "client": "a\\ud800"}}').args["client"]
    line = encode_reply(1, {"client": text})
    assert line == b'{"id":1,"ok":true,"result":{"client":"a\\ud800"}}\n'
    assert json.loads(line)["result"]["client"] == text


def test_requests_round_trip():
    line = encode_request(3, "call.make", {"to": "5550100", "from": "100"})
    assert line.endswith(b"\n") and b" " not in line
    assert parse_request(line[:-1]) == Request(3, "call.make", {"to": "5550100", "from": "100"})


def test_an_event_is_encoded_once_and_stamped_per_connection():
    event = {"event": "call.disconnected", "call": "c1", "channel": 3, "cause": 16, "by": "remote", "seq": 99}
    encoded = EncodedEvent(event, 1700000000.25)
    first, second = encoded.line(1), encoded.line(2)
    assert first == b'{"event":"call.disconnected","seq":1,"time":1700000000.25,"call":"c1","channel":3,"cause":16,' \
                    b'"by":"remote"}\n'
    assert second == first.replace(b'"seq":1,', b'"seq":2,')
    assert parse_server_line(second) == {"event": "call.disconnected", "seq": 2, "time": 1700000000.25, "call": "c1",
                                         "channel": 3, "cause": 16, "by": "remote"}
    assert encode_event({"event": "call.held"}, 5, 1.0) == b'{"event":"call.held","seq":5,"time":1.0}\n'


@pytest.mark.parametrize("line, words", [
    (b"[]", "expected a reply or an event object"),
    (b'{"event": 1, "seq": 1}', "event: expected a name"),
    (b'{"event": "call.held", "seq": 0}', "seq: expected an integer >= 1, got 0"),
    (b'{"event": "call.held"}', "seq: expected an integer >= 1, got null"),
    (b'{"id": 1}', "neither an event"),
    (b'{"id": 1, "ok": true, "result": 3}', "result: expected an object"),
    (b'{"id": 1, "ok": false, "error": {"code": 1}}', "error: expected"),
])
def test_server_lines_that_are_neither_reply_nor_event(line, words):
    with pytest.raises(CtiRequestError, match=words.replace("(", r"\(").replace("[", r"\[")):
        parse_server_line(line)


# -- framing


def test_framer_splits_lines_across_chunks():
    framer = LineFramer(limit=10)
    assert framer.feed(b"ab") == []
    assert framer.feed(b"c\nde\n\nf") == [b"abc", b"de", b""]
    assert framer.pending == 1
    assert framer.feed(b"g\n") == [b"fg"]
    assert framer.close() == []
    assert framer.feed(b"tail") == [] and framer.close() == [b"tail"]


def test_framer_skips_a_long_line_without_holding_it():
    framer = LineFramer(limit=16)
    head = b'{"id": 12, "op": "x", "args": {"text": "'
    out = framer.feed(head)
    assert out == [] and framer.pending == len(head) and len(framer._buffer) == 0
    for _ in range(1000):
        assert framer.feed(b"y" * 1000) == []
        assert len(framer._buffer) == 0
    out = framer.feed(b'"}}\n{"id": 13}\n')
    assert out[0] == TooLarge(len(head) + 1_000_000 + 3, (head + b"y" * 1000)[:proto.HEAD_KEPT])
    assert out[1] == b'{"id": 13}'
    assert proto.leading_id(out[0].head) == 12
    assert framer.feed(b"z" * 20) == [] and framer.close() == [TooLarge(20, b"z" * 20)]


def test_a_line_of_exactly_the_limit_passes():
    framer = LineFramer()
    assert framer.feed(b"x" * MAX_MESSAGE + b"\n") == [b"x" * MAX_MESSAGE]
    assert isinstance(framer.feed(b"x" * (MAX_MESSAGE + 1) + b"\n")[0], TooLarge)


@pytest.mark.parametrize("head, found", [
    (b'{"id": 7, "op"', 7), (b' { "id" : "abc", ', "abc"), (b'{"id": 7.5}', None), (b'{"id": -3,', None),
    (b'{"op": "x", "id": 7', None), (b'{"id": "\xff",', None), (b'{"id": 12345678901234567,', None),
])
def test_leading_id(head, found):
    assert proto.leading_id(head) == found
