"""PROTOCOL.md against the code: its op, event and error tables are the
protocol module's tables rendered (regenerate them with
``python -m tests.cti.test_protocol_doc``), and its example lines parse."""

import json
import re
import sys
from pathlib import Path

from gateway.cti import protocol as proto
from gateway.errors import CtiRequestError

DOC = Path(proto.__file__).parent / "PROTOCOL.md"


def render_ops(ops: proto.OpTable) -> str:
    parts = []
    for schema in ops:  # in the order they were registered
        parts.append(f"### `{schema.name}`\n\n{schema.doc}" + (" (The server's own op.)" if schema.server else ""))
        if schema.args:
            rows = ["| argument | type | given | meaning |", "|---|---|---|---|"]
            for name, arg in schema.args.items():
                given = "required" if arg.required else ("optional" if arg.default is None
                                                         else f"default `{json.dumps(arg.default)}`")
                rows.append(f"| `{name}` | {arg.describe()} | {given} | {arg.doc} |")
            parts.append("\n".join(rows))
        else:
            parts.append("No arguments.")
        for group in schema.one_of:
            parts.append("Exactly one of " + " and ".join(f"`{name}`" for name in group) + ".")
        parts.append(f"Result: `{schema.result}`")
    return "\n\n".join(parts)


def render_events(events: proto.EventTable) -> str:
    rows = ["| event | fields besides event, seq, time | when |", "|---|---|---|"]
    for schema in events:
        fields = "; ".join(f"`{name}`: {what}" for name, what in schema.fields.items())
        rows.append(f"| `{schema.name}` | {fields} | {schema.doc} |")
    return "\n".join(rows)


def render_codes() -> str:
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| `{code}` | {meaning} |" for code, meaning in proto.ERROR_CODES.items()]
    return "\n".join(rows)


RENDERERS = {"ops": lambda: render_ops(proto.OPS), "events": lambda: render_events(proto.EVENTS),
             "error codes": render_codes}


def generated_block(text: str, name: str) -> str:
    match = re.search(rf"<!-- generated: {name} -->\n(.*?)\n<!-- end: {name} -->", text, re.S)
    assert match, f"PROTOCOL.md has no generated block {name!r}"
    return match.group(1)


def test_the_tables_are_the_code():
    text = DOC.read_text()
    for name, render in RENDERERS.items():
        assert generated_block(text, name) == render(), (
            f"PROTOCOL.md's {name} differ from the code: python -m tests.cti.test_protocol_doc --write")


def test_the_example_session_parses():
    text = DOC.read_text()
    example = re.search(r"## An example session\n.*?```\n(.*?)```", text, re.S).group(1)
    sent, refused, received, errors = 0, [], 0, []
    for line in example.splitlines():
        if line.startswith("> "):
            try:
                proto.parse_request(line[2:].encode())
            except CtiRequestError as exc:  # the example shows a refusal too
                refused.append(exc.code)
            sent += 1
        elif line.startswith("< ") and "..." not in line:
            message = proto.parse_server_line(line[2:].encode())
            if isinstance(message, proto.Reply) and not message.ok:
                errors.append(message.code)
            received += 1
    assert sent >= 5 and received >= 8 and refused == errors == ["unknown-op"]


def write() -> None:
    text = DOC.read_text()
    for name, render in RENDERERS.items():
        old = generated_block(text, name)
        text = text.replace(f"<!-- generated: {name} -->\n{old}\n", f"<!-- generated: {name} -->\n{render()}\n")
    DOC.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        for name, render in RENDERERS.items():
            print(f"<!-- generated: {name} -->\n{render()}\n<!-- end: {name} -->\n")
