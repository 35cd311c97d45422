"""Where parsing resumes after a syntax error, and positions in the text (docs/language.md §3, §7).

After an error the parser skips to the next line that starts a top-level declaration
(`type`, `privacy`, `@…`, `workflow`, `every`, `on`). One case gets a better message: a
declaration at column 1 that a block or a list left open has swallowed, such as the
`workflow b() {` that followed a workflow without its closing `}`.
"""

from __future__ import annotations

import itertools
import re
import sys
from bisect import bisect_right
from collections.abc import Iterator

# A line that starts a top-level declaration.
_DECL_LINE = re.compile(
    r"^[ \t]*(?:(?:type|privacy|workflow)[ \t]+[A-Za-z_]|@"
    r"|every[ \t]+[0-9]|on[ \t]+(?:create|change|delete)\b)",
    re.M,
)
_BRACKETS = re.compile(r'"""(?:\\.|[^\\])*?"""|"(?:\\.|[^"\\\n])*"|#[^\n]*|[()\[\]{}]', re.S)
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_WORD = re.compile(r"@?\w+")


class Recovery:
    def __init__(self, text: str, lines: list[str]):
        self.text = text
        self.lines = lines
        self.floor = 0  # parsing never resumes at or before this line
        self._line_starts: list[int] | None = None
        self._decls: list[tuple[int, int, int]] | None = None

    def resume_after(self, error_line: int) -> int:
        """Index of the next declaration line after the floor: past the error, or before it
        at column 1 (a declaration swallowed by the broken one), or the end of the text."""
        for line, col, index in self._after_floor():
            if line > error_line or col == 1:
                return index
        return len(self.text)

    def missing_closer(self, error_line: int) -> tuple[tuple[int, int, int, str], int] | None:
        """A declaration at column 1 after the floor and at or before the error, with a bracket
        left open above it: the diagnostic (line, column, width, message) and where to resume."""
        for line, col, index in self._after_floor():
            if line > error_line:
                break
            if col != 1:
                continue
            opened = _unclosed(self.text[self.line_index(self.floor) : index])
            if opened is None:
                return None
            word = _WORD.match(self.text, index).group()  # type: ignore[union-attr]
            message = f"expected '{_CLOSERS[opened]}' before '{word}': the declaration above is not finished"
            return (line, col, len(word), message), index
        return None

    def _after_floor(self) -> Iterator[tuple[int, int, int]]:
        decls = self._decl_lines()
        first = bisect_right(decls, (self.floor, sys.maxsize, sys.maxsize))
        return itertools.islice(decls, first, None)

    def _decl_lines(self) -> list[tuple[int, int, int]]:
        """(line, column, index) of each line that looks like the start of a declaration."""
        if self._decls is None:
            self._decls = []
            for m in _DECL_LINE.finditer(self.text):
                indent = len(m.group()) - len(m.group().lstrip(" \t"))
                line, _ = self.position(m.start())
                self._decls.append((line, indent + 1, m.start() + indent))
        return self._decls

    def position(self, index: int) -> tuple[int, int]:
        """1-based line and column of `text[index]`."""
        starts = self._starts()
        i = bisect_right(starts, index) - 1
        return i + 1, index - starts[i] + 1

    def line_index(self, line: int) -> int:
        starts = self._starts()
        return starts[max(0, min(line, len(starts)) - 1)]

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return self._line_starts

    def end(self) -> tuple[int, int]:
        """Where "end of file" is reported: just after the last character of the last line."""
        if not self.lines:
            return 1, 1
        return len(self.lines), len(self.lines[-1]) + 1


def _unclosed(segment: str) -> str | None:
    """The innermost bracket left open in `segment` (strings and comments skipped)."""
    stack: list[str] = []
    for m in _BRACKETS.finditer(segment):
        t = m.group()
        if t in _CLOSERS:
            stack.append(t)
        elif t in ")]}" and stack:
            stack.pop()
    return stack[-1] if stack else None
