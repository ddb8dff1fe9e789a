"""The store of call-detail records: SQLite in WAL mode by default.

A call gets its row when it starts and the row is completed when it ends,
each in its own committed transaction: ``kill -9`` of the daemon loses no
call that had ended, and the calls that were up when it died are found
still open at the next start and closed as ``interrupted`` (cause 41,
temporary failure), with the time the daemon started again.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gateway.errors import UsageError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    call TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    to_number TEXT NOT NULL,
    from_number TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    answered REAL,
    ended REAL,
    state TEXT NOT NULL,
    cause INTEGER,
    ended_by TEXT,
    answered_by TEXT,
    amd TEXT,
    beep INTEGER NOT NULL DEFAULT 0,
    tones TEXT NOT NULL DEFAULT '[]',
    times TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS calls_started ON calls (started);
"""
INTERRUPTED_CAUSE = 41


class CallStore:
    def __init__(self, path):
        self.path = str(path)
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.is_dir():
                raise UsageError(f"--db {self.path}: the directory {parent} does not exist")
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed call survives the process being killed
            # (it is in the OS's hands); only a power cut may take the last ones.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"--db {self.path}: not a Linegate store ({exc})") from None
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise UsageError(f"--db {self.path}: schema {row[0]}, this version reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def close_interrupted(self, now: float) -> int:
        """Close the calls left open by a daemon that died; how many there were."""
        cur = self.db.execute(
            "UPDATE calls SET state='disconnected', ended=?, cause=?, ended_by='local' WHERE ended IS NULL",
            (now, INTERRUPTED_CAUSE))
        return cur.rowcount

    def started(self, record: dict) -> None:
        times = record["times"]
        self.db.execute(
            "INSERT OR REPLACE INTO calls (call, channel, direction, to_number, from_number, name, started, state,"
            " times) VALUES (?,?,?,?,?,?,?,?,?)",
            (record["call"], record["channel"], record["direction"], record["to"], record["from"], record["name"],
             min(times.values()), record["state"], json.dumps(times)))

    def ended(self, record: dict) -> None:
        times = record["times"]
        self.db.execute(
            "INSERT OR REPLACE INTO calls (call, channel, direction, to_number, from_number, name, started, answered,"
            " ended, state, cause, ended_by, answered_by, amd, beep, tones, times)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (record["call"], record["channel"], record["direction"], record["to"], record["from"], record["name"],
             min(times.values()), times.get("connected"), times.get("disconnected"), record["state"],
             record["cause"], record["by"], record["answered_by"], record["amd"], int(record["beep"]),
             json.dumps(record["tones"]), json.dumps(times)))

    def calls(self, limit: int = 100) -> list[dict]:
        cur = self.db.execute("SELECT * FROM calls ORDER BY started DESC LIMIT ?", (limit,))
        columns = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            item = dict(zip(columns, row))
            item["tones"] = json.loads(item["tones"])
            item["times"] = json.loads(item["times"])
            out.append(item)
        return out

    def listener(self, model):
        """A gateway listener that records calls as they start and end."""
        def on_events(events):
            for event in events:
                if event.name in ("call.dialing", "call.offered", "call.disconnected"):
                    call = model.calls.get(event.fields["call"])
                    if call is None:
                        continue
                    if event.name == "call.disconnected":
                        self.ended(call.record())
                    else:
                        self.started(call.record())
        return on_events
