"""A document's text and its positions as both sides count them.

The editor (LSP) counts lines broken by `\\n`, `\\r\\n` or `\\r`, from 0, and columns in UTF-16
code units (or UTF-8 / UTF-32, as negotiated); wfkit's spans count lines as `str.splitlines`
does (which also breaks at `\\f`, `\\x85`, `\\u2028`, …), from 1, and columns in characters. A
`Text` turns one into the other through offsets into the string, and applies the editor's
incremental changes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Literal

from lsprotocol import types as T
from wfkit.dsl.ast import Span

Encoding = Literal["utf-8", "utf-16", "utf-32"]

_LSP_BREAK = re.compile(r"\r\n|\r|\n")
_WF_ONLY_BREAK = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # splitlines breaks here, LSP does not


def _units(s: str, encoding: Encoding) -> int:
    """How many code units of `encoding` the string takes."""
    if encoding == "utf-32" or s.isascii():
        return len(s)
    if encoding == "utf-16":
        return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)
    return len(s.encode("utf-8", "surrogatepass"))


def _chars(line: str, units: int, encoding: Encoding) -> int:
    """How many characters of `line` take `units` code units (a position inside a character
    counts as that character's start)."""
    if encoding == "utf-32" or line.isascii():
        return min(units, len(line))
    n = 0
    for i, c in enumerate(line):
        n += _units(c, encoding)
        if n > units:
            return i
    return len(line)


class Text:
    """A document's text; lines tables are built when first needed."""

    def __init__(self, text: str, encoding: Encoding = "utf-16"):
        self.text = text
        self.encoding = encoding
        self._lsp: list[int] | None = None
        self._wf: list[int] | None = None

    # ---- line tables

    def lsp_starts(self) -> list[int]:
        if self._lsp is None:
            self._lsp = [0, *(m.end() for m in _LSP_BREAK.finditer(self.text))]
        return self._lsp

    def wf_starts(self) -> list[int]:
        if self._wf is None:
            if _WF_ONLY_BREAK.search(self.text) is None:
                self._wf = self.lsp_starts()
            else:
                starts, at = [0], 0
                for line in self.text.splitlines(keepends=True):
                    at += len(line)
                    starts.append(at)
                self._wf = starts
        return self._wf

    def _line_text(self, starts: list[int], i: int) -> str:
        end = starts[i + 1] if i + 1 < len(starts) else len(self.text)
        return self.text[starts[i] : end]

    # ---- offsets

    def offset(self, pos: T.Position) -> int:
        """The index of an editor position (past the end: the end)."""
        starts = self.lsp_starts()
        if pos.line >= len(starts):
            return len(self.text)
        line = self._line_text(starts, pos.line).rstrip("\r\n")
        return starts[pos.line] + _chars(line, pos.character, self.encoding)

    def position(self, offset: int) -> T.Position:
        starts = self.lsp_starts()
        offset = max(0, min(offset, len(self.text)))
        i = bisect_right(starts, offset) - 1
        return T.Position(i, _units(self.text[starts[i] : offset], self.encoding))

    def wf_offset(self, line: int, column: int) -> int:
        """The index of a wfkit position (1-based line and column, in characters)."""
        starts = self.wf_starts()
        if line < 1:
            return 0
        if line > len(starts):
            return len(self.text)
        return min(starts[line - 1] + column - 1, len(self.text))

    def wf_position(self, offset: int) -> tuple[int, int]:
        starts = self.wf_starts()
        i = bisect_right(starts, offset) - 1
        return i + 1, offset - starts[i] + 1

    # ---- conversions

    def range(self, span: Span) -> T.Range:
        """A span as the editor's range."""
        start = self.wf_offset(span.line, span.column)
        end = max(start, self.wf_offset(span.end_line, span.end_column))
        return T.Range(self.position(start), self.position(end))

    def apply(self, change: T.TextDocumentContentChangeEvent) -> Text:
        """The text after one change from the editor (a range replaced, or the whole text)."""
        if isinstance(change, T.TextDocumentContentChangePartial):
            start, end = self.offset(change.range.start), self.offset(change.range.end)
            return Text(self.text[:start] + change.text + self.text[end:], self.encoding)
        return Text(change.text, self.encoding)
