"""Structured logs: one line per event, with a level, as key=value pairs or JSON.

    log = logging.getLogger("gateway.cti")
    log_event(log, logging.WARNING, "session.refused", pid=812, uid=1001, reason="not in the allowed users")

    time=2026-11-23T16:00:00.123Z level=warning logger=gateway.cti event=session.refused pid=812 uid=1001 reason="not in the allowed users"

``setup_logging`` puts the formatter on the root logger (``linegate serve``
and the tools use it); records from other libraries come out the same way,
their text as ``msg``. Values are bare when they hold no space, quote, ``=``
or control character, else quoted as JSON strings, so a line always parses
back (``parse_line``) and a newline in a value cannot start a fake line.
The key=value form is logfmt's (Heroku, brandur.org/logfmt).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time as _time

_FIELDS = "fields"  # the LogRecord attribute log_event fills
_BARE = re.compile(r'[^\s"=\\\x00-\x1f\x7f]+')


def log_event(logger: logging.Logger, level: int, event: str, *, exc_info=None, **fields) -> None:
    """Log one event: a dotted name (``session.opened``) and its fields
    (``exc_info=True`` adds the exception being handled as ``exc``)."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={_FIELDS: fields}, exc_info=exc_info)


def _timestamp(seconds: float) -> str:
    whole, millis = divmod(round(seconds * 1000), 1000)
    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(whole)) + f".{millis:03d}Z"


def _items(record: logging.LogRecord, wall: float) -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = [("time", _timestamp(wall)), ("level", record.levelname.lower()),
                                       ("logger", record.name)]
    fields = getattr(record, _FIELDS, None)
    if fields is None:
        items.append(("msg", record.getMessage()))
    else:
        items.append(("event", record.getMessage()))
        items.extend(fields.items())
    if record.exc_info:
        items.append(("exc", logging.Formatter().formatException(record.exc_info)))
    return items


class _Formatter(logging.Formatter):
    def __init__(self, clock=None):
        super().__init__()
        self.clock = clock  # gateway.clock: a virtual clock's lines carry simulated time

    def _wall(self, record) -> float:
        return self.clock.wall() if self.clock is not None else record.created


class KeyValueFormatter(_Formatter):
    """``time=... level=info logger=... event=... key=value ...``, one line."""

    def format(self, record: logging.LogRecord) -> str:
        return format_pairs(_items(record, self._wall(record)))


class JsonLineFormatter(_Formatter):
    """The same items as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(dict(_items(record, self._wall(record))), ensure_ascii=False, default=str)


def format_pairs(pairs) -> str:
    """``key=value key2="a b"``: the key=value form of these pairs (also for tools that print events)."""
    return " ".join(f"{key}={_value(value)}" for key, value in pairs)


def _value(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = value if isinstance(value, str) else str(value)
    if _BARE.fullmatch(text) and text not in ("null", "true", "false"):
        return text
    return json.dumps(text, ensure_ascii=False)


_PAIR = re.compile(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_line(line: str) -> dict[str, str | None | bool]:
    """A key=value line back into a dict (for tests and log readers)."""
    result: dict = {}
    for key, raw in _PAIR.findall(line):
        if raw.startswith('"'):
            result[key] = json.loads(raw)
        else:
            result[key] = {"null": None, "true": True, "false": False}.get(raw, raw)
    return result


def setup_logging(level: str | int = "info", *, json_lines: bool = False, stream=None, clock=None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) in the structured form; returns the handler."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonLineFormatter(clock) if json_lines else KeyValueFormatter(clock))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_linegate", False)]:
        root.removeHandler(old)
    handler._linegate = True
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
