"""Dialled numbers and the patterns of the directory, in Asterisk's extension notation.

A number is the digits a caller dials: ``0``-``9``, ``*`` and ``#``. A
pattern starts with ``_`` and then, position by position (Asterisk's
``extensions.conf`` notation, doc/README.extensions / the wiki's "Pattern
Matching"):

    X       any digit 0-9          N    any digit 2-9
    Z       any digit 1-9          [15-7]  one of the digits listed (ranges allowed)
    0-9 * # that character
    .       one or more further characters (only at the end)
    !       zero or more further characters (only at the end)

so ``_1800NXXXXXX`` is every toll-free number, ``_555.`` every number
starting 555 with at least one more digit. The letters are accepted in
either case. Without the ``_`` the text is a plain number.

Which entry wins when several match: a plain number before any pattern;
among patterns the more specific one, compared position by position (the
position that allows fewer characters wins, ``.`` and ``!`` allow the
most), as Asterisk orders them; at equal specificity the first in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIGITS = "0123456789*#"
_CLASSES = {"X": "0123456789", "Z": "123456789", "N": "23456789"}
MAX_LENGTH = 32
# How many characters a trailing wildcard stands for when ordering patterns:
# more than any single position.
_ONE_OR_MORE, _ZERO_OR_MORE = 13, 14


class PatternSyntaxError(ValueError):
    """The text is not a number or a pattern; the message says what is wrong and where."""


@dataclass(frozen=True)
class NumberPattern:
    """A plain number or a pattern (see the module docstring)."""

    text: str
    positions: tuple[frozenset, ...]   # the characters allowed at each position
    tail: str = ""                     # "", "." (one or more) or "!" (zero or more)

    @property
    def is_pattern(self) -> bool:
        return self.text.startswith("_")

    def matches(self, number: str) -> bool:
        """The whole number is one this pattern stands for."""
        n = len(self.positions)
        if len(number) < n or (len(number) > n and not self.tail) or (self.tail == "." and len(number) == n):
            return False
        for char, allowed in zip(number, self.positions):
            if char not in allowed:
                return False
        return all(char in DIGITS for char in number[n:])

    def extends(self, prefix: str) -> bool:
        """Some number longer than ``prefix`` that begins with it matches."""
        if self.tail:
            return all(char in allowed for char, allowed in zip(prefix, self.positions))
        if len(prefix) >= len(self.positions):
            return False
        return all(char in allowed for char, allowed in zip(prefix, self.positions))

    def specificity(self) -> tuple:
        """Sort key: smaller is more specific (see the module docstring)."""
        sizes = tuple(len(allowed) for allowed in self.positions)
        if self.tail:
            sizes += (_ONE_OR_MORE if self.tail == "." else _ZERO_OR_MORE,)
        return (self.is_pattern, sizes)

    def example(self) -> str:
        """One number this pattern matches (the smallest character at each position)."""
        return "".join(min(allowed, key=DIGITS.index) for allowed in self.positions) + ("0" if self.tail == "." else "")


def parse_pattern(text: str) -> NumberPattern:
    """A NumberPattern from its text; PatternSyntaxError naming the position otherwise."""
    if not isinstance(text, str) or not text:
        raise PatternSyntaxError("empty: a number (digits, * and #) or a pattern starting with _ is expected")
    if not text.startswith("_"):
        for i, char in enumerate(text):
            if char not in DIGITS:
                raise PatternSyntaxError(f"character {i + 1} {char!r} is not a digit, * or # (a pattern starts with _)")
        if len(text) > MAX_LENGTH:
            raise PatternSyntaxError(f"{len(text)} characters; at most {MAX_LENGTH}")
        return NumberPattern(text, tuple(frozenset(c) for c in text))
    body = text[1:]
    positions = []
    tail = ""
    i = 0
    while i < len(body):
        char = body[i]
        where = f"character {i + 2} {char!r}"
        if char in ".!":
            if i != len(body) - 1:
                raise PatternSyntaxError(f"{where}: {char} (any further characters) may only end a pattern")
            tail = char
        elif char.upper() in _CLASSES:
            positions.append(frozenset(_CLASSES[char.upper()]))
        elif char in DIGITS:
            positions.append(frozenset(char))
        elif char == "[":
            end = body.find("]", i)
            if end < 0:
                raise PatternSyntaxError(f"{where}: [ without its ]")
            allowed = _char_class(body[i + 1:end], i + 2)
            positions.append(allowed)
            i = end
        else:
            raise PatternSyntaxError(f"{where} is not a digit, *, #, X, Z, N, [...], . or !")
        i += 1
    if not positions and not tail:
        raise PatternSyntaxError("_ alone: a pattern needs at least one position")
    if len(positions) > MAX_LENGTH:
        raise PatternSyntaxError(f"{len(positions)} positions; at most {MAX_LENGTH}")
    return NumberPattern(text, tuple(positions), tail)


_RANGE_RE = re.compile(r"([0-9])-([0-9])")


def _char_class(inside: str, column: int) -> frozenset:
    if not inside:
        raise PatternSyntaxError(f"character {column} '[': an empty [] allows nothing")
    allowed = set()
    rest = inside
    for low, high in _RANGE_RE.findall(inside):
        if low > high:
            raise PatternSyntaxError(f"character {column} '[': range {low}-{high} runs backwards")
        allowed.update(str(d) for d in range(int(low), int(high) + 1))
    rest = _RANGE_RE.sub("", inside)
    for char in rest:
        if char not in DIGITS:
            raise PatternSyntaxError(f"character {column} '[': {char!r} is not a digit, * or # (ranges as 1-5)")
        allowed.add(char)
    return frozenset(allowed)
