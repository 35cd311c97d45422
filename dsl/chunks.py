"""A file cut into its top-level declarations, so an editor can parse again only the one that changed.

A chunk runs from a line that starts a declaration at column 1 (`type`, `privacy`, `workflow`,
`every`, `on`, or the first of its `@decorator` lines) to the next one. Parsed alone, a chunk
gives what parsing the whole file gives for those lines, as long as it does not run past its own
end: an error at its end (a `{`, `(` or `\"\"\"` left open swallows what follows when the whole
file is parsed), which `runs_past_end` tells, so the caller parses it together with the next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .parser import ParseResult
from .strings import UNTERMINATED_LONG

# The same declaration starts as recovery.py resumes at, but only at column 1.
_DECL_START = re.compile(
    r"(?:(?:type|privacy|workflow)[ \t]+[A-Za-z_]|@|every[ \t]+[0-9]|on[ \t]+(?:create|change|delete)\b)"
)


@dataclass(frozen=True, slots=True)
class Piece:
    """`text`: whole lines of a file, from line `line` (1-based) on."""

    line: int
    text: str


def declaration_pieces(text: str) -> list[Piece]:
    """The file cut before each line that starts a declaration at column 1 (a `@decorator` line
    and the declaration it decorates stay together). Lines are counted as the parser counts them
    (`str.splitlines`), so a piece's line L is line `piece.line + L - 1` of the file."""
    lines = text.splitlines(keepends=True)
    pieces: list[Piece] = []
    start = 0
    decorated = False  # the last line that starts something is a decorator
    for i, line in enumerate(lines):
        if _DECL_START.match(line) is None:
            continue
        if i > start and not decorated:
            pieces.append(Piece(start + 1, "".join(lines[start:i])))
            start = i
        decorated = line.startswith("@")
    if start < len(lines) or not pieces:
        pieces.append(Piece(start + 1, "".join(lines[start:])))
    return pieces


def runs_past_end(piece_text: str, result: ParseResult) -> bool:
    """Whether a piece parsed alone hit its end in the middle of something (an error at its
    end, or a `\"\"\"` string that may close further down): parse it with the next piece then."""
    if not result.diagnostics:
        return False
    lines = piece_text.splitlines()
    end = (len(lines), len(lines[-1]) + 1) if lines else (1, 1)
    return any((d.span.line, d.span.column) >= end or d.message == UNTERMINATED_LONG for d in result.diagnostics)
