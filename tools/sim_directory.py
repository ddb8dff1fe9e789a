"""``linegate sim directory``: the simulated network's directory, checked and shown.

    linegate sim directory                       # the default directory, as a table
    linegate sim directory --file my.toml --json # a JSON list of the entries, printed once

Each entry is a number or pattern (Asterisk notation: ``_1800NXXXXXX``) and
the behaviour that answers it: human, machine, busy, congestion, no-answer,
sit, fax, modem or reject. ``--json`` prints one JSON list of objects with
``number``, ``behaviour``, ``pattern`` (true for a pattern) and the entry's
settings (those its behaviour uses, defaults filled in), so that a script
can pick numbers by behaviour. A file with an error is refused (exit 2)
naming the file, the line and the key.
"""

from __future__ import annotations

import json

from gateway.boards.sim.directory import load_directory


def add_arguments(parser) -> None:
    group = parser.add_argument_group("linegate sim directory [--file F] [--json]")
    group.add_argument("--file", metavar="F", help="the directory file to check and show (default: the packaged one)")
    group.add_argument("--json", action="store_true",
                       help="print the entries as one JSON list of objects (number, behaviour, pattern, settings)")


def run(args) -> int:
    directory = load_directory(args.file)
    if args.json:
        print(json.dumps([entry.as_json() for entry in directory.entries]))
        return 0
    rows = [(e.number, e.behaviour, _summary(e), e.name) for e in directory.entries]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(("number", "behaviour", "how"))]
    print(f"directory {directory.source} (country {directory.country}, {len(rows)} entries)")
    print(f"{'number':<{widths[0]}}  {'behaviour':<{widths[1]}}  {'how':<{widths[2]}}  name")
    for number, behaviour, how, name in rows:
        print(f"{number:<{widths[0]}}  {behaviour:<{widths[1]}}  {how:<{widths[2]}}  {name}".rstrip())
    return 0


def _summary(entry) -> str:
    """The few settings that tell entries of one behaviour apart."""
    b = entry.behaviour
    parts = []
    if b in ("human", "machine", "fax", "modem"):
        parts.append(f"answers after {entry.answer_after_s:g} s" if entry.answer_after_s is not None
                     else f"answers after {entry.answer_after_rings} ring" + "s" * (entry.answer_after_rings != 1))
        if entry.reversal:
            parts.append("reversal")
    if b == "machine":
        parts.append(f"greeting {entry.greeting or 'any'}" + (f" {entry.greeting_s:g} s" if entry.greeting_s else ""))
        parts.append("no beep" if entry.beep == "none" else
                     "beep " + "/".join(f"{f:g}" for f in entry.beep_hz) + f" Hz {entry.beep_ms} ms")
    if b in ("human", "fax", "modem") and entry.hangup_after_s is not None:
        parts.append(f"hangs up after {entry.hangup_after_s:g} s")
    if b == "no-answer":
        parts.append(f"{entry.rings} rings" if entry.rings else "rings for ever")
    if b == "sit":
        parts.append(f"SIT {entry.sit}, {entry.announcement}")
    if b == "reject":
        parts.append(f"cause {entry.cause}")
    return ", ".join(parts)
