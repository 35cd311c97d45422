"""Diagnostics and the root of wfkit's exception hierarchy.

`WfError` lives here because `wfkit.dsl` imports nothing from the rest of wfkit; `wfkit.core.errors`
builds the rest of the hierarchy on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .ast import Span


class WfError(Exception):
    """Every error wfkit raises on purpose."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    span: Span
    message: str
    severity: Literal["error", "warning"] = "error"

    def render(self, sources: Mapping[str, str]) -> str:
        """`FILE:LINE:COL: message`, then the source line and a caret under the place."""
        head = f"{self.span.file}:{self.span.line}:{self.span.column}: "
        head += ("warning: " if self.severity == "warning" else "") + self.message
        text = sources.get(self.span.file)
        if text is None or self.span.line < 1:
            return head
        lines = text.splitlines()
        line = "" if self.span.line > len(lines) else lines[self.span.line - 1]
        col = max(self.span.column, 1)
        width = 1
        if self.span.end_line == self.span.line and self.span.end_column > col:
            width = self.span.end_column - col
        # keep tabs so the caret lines up under tab-indented code
        pad = "".join(c if c == "\t" else " " for c in line[: col - 1])
        return f"{head}\n    {line}\n    {pad}{'^' * width}"


def sort_key(d: Diagnostic) -> tuple[str, int, int]:
    return (d.span.file, d.span.line, d.span.column)


class SourceError(WfError):
    """An app that cannot be served: one or more diagnostics, all of them reported at once."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: Mapping[str, str] | None = None):
        self.diagnostics = sorted(diagnostics, key=sort_key)
        self.sources = dict(sources or {})
        super().__init__(self.render())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def render(self) -> str:
        return "\n".join(d.render(self.sources) for d in self.diagnostics)


class WfSyntaxError(SourceError):
    """The text is not valid `.wf`."""
