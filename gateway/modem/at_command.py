"""An AT command line split into its commands, as a modem reads it (ITU-T V.250, 5.3-5.4).

    split("AT&FE0V1Q0")          -> &F, E0, V1, Q0
    split("AT+VSM=131,8000;+VLS=1") -> +VSM=131,8000 (set), +VLS=1 (set)
    split("ATS7=30S0?")          -> S7=30 (set), S0? (read)
    split("AT+VSM=?")            -> +VSM (test)
    split("ATD5551234")          -> D with "5551234" (a dial string runs to the end of the line)

Basic commands are a letter (or ``&`` and a letter) and an optional number;
S-parameters are ``Sn=v`` / ``Sn?``; extended commands start with ``+`` (or a
vendor's ``#``), a name, then nothing (action), ``?`` (read), ``=?`` (test) or
``=values``, and are ended by ``;`` or the end of the line. Spaces outside
quotes mean nothing. Used by the simulated modem; a line it cannot split is
an InputError naming the offset, which the modem answers with ERROR.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import InputError

_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!%-./:_")


@dataclass(frozen=True)
class AtCommand:
    """``name``: "E", "&F", "S7", "+VSM", "#CID", "D"; ``form``: "action", "set", "read" or "test";
    ``value``: the number of a basic command, the value of a set, the dial string of D (else None)."""

    name: str
    form: str
    value: str | None = None


def _fail(line: str, offset: int, what: str) -> InputError:
    return InputError(f"command line {line!r}: {what}", field="command line", value=line, offset=offset)


def split(line: str) -> list[AtCommand]:
    if line[:2].upper() != "AT":
        raise _fail(line, 0, 'does not start with "AT"')
    commands = []
    index = 2
    size = len(line)

    def skip_spaces(i):
        while i < size and line[i] == " ":
            i += 1
        return i

    while True:
        index = skip_spaces(index)
        if index >= size:
            return commands
        char = line[index].upper()
        if char in "+#":
            index, command = _extended(line, index)
            commands.append(command)
            continue
        if char == "D":
            dial = line[index + 1:].strip()
            commands.append(AtCommand("D", "action", dial))
            return commands
        if char == "S":
            digits_end = index + 1
            while digits_end < size and line[digits_end].isdigit():
                digits_end += 1
            if digits_end == index + 1:
                raise _fail(line, index, "S needs a register number")
            name = "S" + str(int(line[index + 1:digits_end]))
            index = skip_spaces(digits_end)
            if index < size and line[index] == "?":
                commands.append(AtCommand(name, "read"))
                index += 1
            elif index < size and line[index] == "=":
                value_start = index = skip_spaces(index + 1)
                while index < size and line[index].isdigit():
                    index += 1
                if index == value_start:
                    raise _fail(line, index, f"{name}= needs a number")
                commands.append(AtCommand(name, "set", line[value_start:index]))
            else:
                raise _fail(line, index, f"{name} needs = or ?")
            continue
        name = char
        if char == "&":
            if index + 1 >= size or not line[index + 1].isalpha():
                raise _fail(line, index, "& needs a letter")
            name = "&" + line[index + 1].upper()
            index += 1
        elif not char.isalpha():
            raise _fail(line, index, f"{line[index]!r} starts no command")
        index += 1
        number_start = index
        while index < size and line[index].isdigit():
            index += 1
        commands.append(AtCommand(name, "action", line[number_start:index] or None))


def _extended(line: str, index: int) -> tuple[int, AtCommand]:
    size = len(line)
    start = index
    index += 1
    while index < size and line[index].upper() in _NAME_CHARS:
        index += 1
    name = line[start:index].upper()
    if len(name) < 2:
        raise _fail(line, start, f"{line[start]} needs a command name")
    form, value = "action", None
    if line.startswith("=?", index):
        form, index = "test", index + 2
    elif index < size and line[index] == "?":
        form, index = "read", index + 1
    elif index < size and line[index] == "=":
        form, index = "set", index + 1
        value_start = index
        quoted = False
        while index < size and (quoted or line[index] != ";"):
            if line[index] == '"':
                quoted = not quoted
            index += 1
        if quoted:
            raise _fail(line, value_start, f"{name}= has an unmatched quote")
        value = line[value_start:index].strip()
    while index < size and line[index] == " ":
        index += 1
    if index < size:
        if line[index] != ";":
            raise _fail(line, index, f"{name}{'' if form == 'action' else '...'} must be followed by ; "
                                     f"or the end of the line, not {line[index]!r}")
        index += 1
    return index, AtCommand(name, form, value)
