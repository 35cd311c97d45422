"""String literals: escapes, `{expr}` holes, `\"\"\"` dedent, and what is wrong with a bad one.

The lexer's STRING regex already checked the shape (holes hold no braces and stay on one line),
so `decode` only has to unescape, dedent and cut out the holes, keeping their positions.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

UNTERMINATED_LONG = 'unterminated """ string'  # a """ with none after it: what follows may be meant to close it
ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "{": "{"}
_INDENT = re.compile(r"[ \t]*")


@dataclass(frozen=True, slots=True)
class Hole:
    """The source of one `{expr}`, and where its first character stands in the file."""

    source: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    line: int
    column: int
    width: int = 1


def position(raw: str, index: int, line: int, column: int) -> tuple[int, int]:
    """File position of `raw[index]`, for a token `raw` that starts at (line, column)."""
    newlines = raw.count("\n", 0, index)
    if not newlines:
        return line, column + index
    return line + newlines, index - raw.rfind("\n", 0, index)


def decode(raw: str, line: int, column: int) -> tuple[list[str | Hole], list[Problem]]:
    """Split a STRING or LONG_STRING token into texts (unescaped) and holes."""
    triple = raw.startswith('"""')
    quote = 3 if triple else 1
    start, end = quote, len(raw) - quote
    margin = ""
    if triple:
        if raw.startswith("\n", start):
            start += 1
        indents = [_INDENT.match(s).group() for s in raw[start:end].split("\n") if s.strip()]  # type: ignore[union-attr]
        margin = os.path.commonprefix(indents) if indents else ""  # noqa: RUF071 (text, not paths)
    parts: list[str | Hole] = []
    problems: list[Problem] = []
    text: list[str] = []
    i = start
    line_start = triple
    while i < end:
        if line_start:
            line_start = False
            eol = raw.find("\n", i, end)
            eol = end if eol < 0 else eol
            # whitespace-only lines become empty, as textwrap.dedent makes them
            i = eol if not raw[i:eol].strip() else i + len(margin)
            continue
        c = raw[i]
        if c == "\\":
            nxt = raw[i + 1] if i + 1 < end else ""
            if nxt in ESCAPES and nxt:
                text.append(ESCAPES[nxt])
            else:
                ln, col = position(raw, i, line, column)
                shown = "\\" + nxt if nxt not in ("", "\n") else "\\"
                problems.append(
                    Problem(f"unknown escape '{shown}' (known: \\\" \\\\ \\n \\t \\{{)", ln, col, len(shown))
                )
            i += 2
        elif c == "{":
            close = _hole_end(raw, i + 1)
            if text:
                parts.append("".join(text))
                text = []
            ln, col = position(raw, i + 1, line, column)
            parts.append(Hole(raw[i + 1 : close], ln, col))
            i = close + 1
        else:
            text.append(c)
            line_start = c == "\n"
            i += 1
    if text:
        parts.append("".join(text))
    return parts, problems


def _hole_end(raw: str, i: int) -> int:
    """Index of the `}` that closes a hole whose text starts at `i` (nested strings skipped)."""
    while raw[i] != "}":
        if raw[i] == '"':
            i += 1
            while raw[i] != '"':
                i += 2 if raw[i] == "\\" else 1
        i += 1
    return i


def diagnose(text: str, pos: int) -> tuple[str, int, int]:
    """Why no string token matches at `text[pos]` (a `"`): message, index of the fault, width."""
    triple = text.startswith('"""', pos)
    unterminated = (UNTERMINATED_LONG, pos, 3) if triple else ("unterminated string", pos, 1)
    n = len(text)
    i = pos + (3 if triple else 1)
    while i < n:
        c = text[i]
        if triple and text.startswith('"""', i):
            break
        if c == '"' and not triple:
            break
        if c == "\n" and not triple:
            return unterminated[0] + ' (a "…" string ends on its line; """…""" spans lines)', pos, 1
        if c == "\\":
            i += 2
            continue
        if c == "{":
            fault = _diagnose_hole(text, i)
            if fault:
                return fault
            i = text.index("}", i)
        i += 1
    else:
        return unterminated
    return "malformed string", pos, 1


def _diagnose_hole(text: str, start: int) -> tuple[str, int, int] | None:
    unclosed = ("no '}' closes this '{' (write \\{ for a literal brace)", start, 1)
    i, n = start + 1, len(text)
    while i < n and text[i] != "}":
        c = text[i]
        if c == "\n":
            return unclosed
        if c == "{":
            return "'{' inside '{…}' in a string (write \\{ for a literal brace)", i, 1
        if c == "\\":
            return "'\\' inside '{…}' in a string", i, 1
        if c == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                if text[j] in "{}":
                    return "a string inside '{…}' cannot hold braces", j, 1
                j += 2 if text[j] == "\\" else 1
            if j >= n or text[j] != '"':
                return unclosed
            i = j
        i += 1
    return None if i < n else unclosed
