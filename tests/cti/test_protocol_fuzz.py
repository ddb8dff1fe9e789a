"""Hypothesis against the CTI line parser and framer: whatever comes in, a
Request or a CtiRequestError comes out (nothing else, no hang), and a
Request's args always fit their op's schema again."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cti import protocol as proto
from gateway.cti.protocol import OPS, LineFramer, Reply, Request, TooLarge, parse_request, parse_server_line
from gateway.errors import CtiRequestError

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**60, max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)

# Values near what the schemas expect: right kinds, wrong kinds, edges.
arg_values = (st.sampled_from(["5550100", "c1", "", "#", "call.*", "amd", "cpt", "busy", "1" * 70, "a b", "\x00"])
              | st.integers(min_value=-5, max_value=2**54) | st.floats(allow_nan=False, allow_infinity=False)
              | st.booleans() | st.none()
              | st.lists(st.sampled_from(["amd", "cpt", "dtmf", "modem", "call.*", 3, None]), max_size=6))


def outcome(line: bytes):
    try:
        request = parse_request(line)
    except CtiRequestError as exc:
        assert proto.is_error_code(exc.code) and exc.code in proto.ERROR_CODES and exc.message
        return exc
    assert isinstance(request, Request) and request.op in OPS
    # What passed fits its schema again, unchanged (defaults included).
    assert proto.check_args(OPS[request.op], request.args) == request.args
    return request


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes(line):
    outcome(line)


@FUZZ
@given(json_values)
def test_any_json(value):
    outcome(json.dumps(value).encode())


@FUZZ
@given(st.sampled_from(OPS.names()), st.one_of(st.integers(min_value=-1, max_value=2**54), st.text(max_size=70),
                                                st.none(), st.booleans()),
       st.dictionaries(st.sampled_from(sorted({name for op in OPS for name in op.args} | {"bogus"})), arg_values,
                       max_size=6))
def test_requests_of_known_ops(op, request_id, args):
    result = outcome(json.dumps({"id": request_id, "op": op, "args": args}).encode())
    if isinstance(result, Request):
        assert result.id == request_id and result.op == op
    elif result.code == "bad-args":
        assert result.request_id == request_id and result.message.startswith(f"{op}: ")


@FUZZ
@given(st.builds(lambda op, args: {"op": op, "args": args}, st.sampled_from(OPS.names()),
                 st.fixed_dictionaries({}, optional={"call": st.just("c1"), "to": st.just("5550100"),
                                                     "version": st.just(1), "max_digits": st.just(2),
                                                     "channel": st.just(1), "file": st.just("a.wav"),
                                                     "digits": st.just("12#"), "tone": st.just("busy")})),
       st.binary(max_size=3), st.integers(min_value=0, max_value=40))
def test_damaged_good_requests(message, noise, position):
    line = json.dumps(message).encode()
    outcome(line[:position] + noise + line[position:])
    outcome(line[:position])


@FUZZ
@given(st.lists(st.binary(max_size=40), max_size=12), st.integers(min_value=1, max_value=64),
       st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=20))
def test_framer_gives_the_same_lines_however_the_stream_is_cut(pieces, limit, cuts):
    stream = b"".join(pieces)
    whole = LineFramer(limit)
    expected = whole.feed(stream) + whole.close()
    framer, got, start, i = LineFramer(limit), [], 0, 0
    while start < len(stream):
        size = cuts[i % len(cuts)]
        got += framer.feed(stream[start:start + size])
        assert framer.pending <= max(limit, len(stream)) and len(framer._buffer) <= limit
        start += size
        i += 1
    got += framer.close()
    assert got == expected
    # Lines are what is between newlines; a long one is reported with its length.
    parts = stream.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    assert len(expected) == len(parts)
    for item, part in zip(expected, parts):
        if isinstance(item, TooLarge):
            assert len(part) > limit and item.length == len(part) and part.startswith(item.head)
        else:
            assert item == part and len(part) <= limit


@FUZZ
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_server_lines(line):
    try:
        message = parse_server_line(line)
    except CtiRequestError as exc:
        assert exc.code in ("bad-json", "bad-request")
        return
    assert isinstance(message, Reply) or (isinstance(message, dict) and message["seq"] >= 1)


@FUZZ
@given(st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in ("event", "seq", "time")),
                       json_values, max_size=5), st.integers(min_value=1, max_value=2**40),
       st.floats(min_value=0, max_value=4e9))
def test_events_round_trip(fields, seq, time):
    line = proto.encode_event({"event": "call.connected", **fields}, seq, time)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_server_line(line[:-1]) == {"event": "call.connected", "seq": seq, "time": time, **fields}
