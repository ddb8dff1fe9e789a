"""Structured log lines: one line per event, key=value (logfmt) or JSON, that parse back."""

import io
import json
import logging

from gateway.clock import VirtualClock
from gateway.logs import JsonLineFormatter, KeyValueFormatter, format_pairs, log_event, parse_line, setup_logging


def capture(formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_key_value_lines_quote_what_needs_it_and_parse_back():
    logger, stream = capture(KeyValueFormatter(VirtualClock(epoch=1795455092.649)))
    log_event(logger, logging.WARNING, "session.refused", pid=812, uid=1001, reason='not "allowed"\nat all',
              empty="", none=None, flag=True, word="true", calls=["c1", "c2"])
    line = stream.getvalue()
    assert line.count("\n") == 1
    assert line == ('time=2026-11-23T17:31:32.649Z level=warning logger=' + logger.name + ' event=session.refused '
                    'pid=812 uid=1001 reason="not \\"allowed\\"\\nat all" empty="" none=null flag=true word="true" '
                    'calls="[\\"c1\\",\\"c2\\"]"\n')
    parsed = parse_line(line)
    assert parsed["reason"] == 'not "allowed"\nat all' and parsed["none"] is None and parsed["flag"] is True
    assert parsed["word"] == "true" and parsed["pid"] == "812" and parsed["event"] == "session.refused"


def test_plain_records_and_exceptions_stay_on_one_line():
    logger, stream = capture(KeyValueFormatter())
    logger.info("plain %s text", "old-style")
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        log_event(logger, logging.ERROR, "request.failed", exc_info=True, op="call.make")
    plain, failed = stream.getvalue().splitlines()
    assert parse_line(plain)["msg"] == "plain old-style text" and "event" not in parse_line(plain)
    fields = parse_line(failed)
    assert fields["op"] == "call.make" and fields["exc"].startswith("Traceback") and "ValueError: bad" in fields["exc"]


def test_json_lines():
    logger, stream = capture(JsonLineFormatter())
    log_event(logger, logging.INFO, "session.opened", session=3, name="José")
    record = json.loads(stream.getvalue())
    assert record["event"] == "session.opened" and record["session"] == 3 and record["name"] == "José"
    assert record["level"] == "info" and record["time"].endswith("Z")


def test_levels_below_the_logger_cost_nothing():
    logger, stream = capture(KeyValueFormatter())
    logger.setLevel(logging.INFO)
    log_event(logger, logging.DEBUG, "request.refused", code="bad-json")
    assert stream.getvalue() == ""


def test_setup_logging_replaces_its_own_handler_only():
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        first = setup_logging("debug", stream=io.StringIO())
        second_stream = io.StringIO()
        second = setup_logging("warning", json_lines=True, stream=second_stream)
        assert first not in root.handlers and second in root.handlers and root.level == logging.WARNING
        assert all(h in root.handlers for h in before)
        logging.getLogger("some.library").warning("disk %d%% full", 91)
        assert json.loads(second_stream.getvalue())["msg"] == "disk 91% full"
    finally:
        root.handlers = before
        root.setLevel(level)


def test_format_pairs():
    assert format_pairs([("a", 1), ("b", "x y"), ("c", None)]) == 'a=1 b="x y" c=null'
