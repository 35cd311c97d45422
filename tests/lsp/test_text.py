"""Positions as an editor counts them (LSP: UTF-16, lines broken by \\n \\r\\n \\r) and as wfkit does."""

from __future__ import annotations

from lsprotocol import types as T
from wfkit.dsl.ast import Span
from wfkit.server.lsp.text import Text


def test_utf16_columns_count_astral_characters_twice() -> None:
    t = Text('log "é😀 x"\n')
    x = t.text.index("x")
    assert t.position(x) == T.Position(0, 9)  # l o g space " é 😀(2) space
    assert t.offset(T.Position(0, 9)) == x
    assert Text(t.text, "utf-32").position(x) == T.Position(0, 8)
    assert Text(t.text, "utf-8").position(x) == T.Position(0, 12)


def test_a_span_becomes_a_range() -> None:
    t = Text("a\r\nb 😀 cd\n")
    assert t.range(Span("f", 2, 5, 2, 7)) == T.Range(T.Position(1, 5), T.Position(1, 7))


def test_lines_wfkit_counts_but_an_editor_does_not() -> None:
    """`str.splitlines` (so the parser) breaks at a form feed; LSP does not."""
    t = Text("a\fb\nc")
    assert t.wf_position(t.text.index("b")) == (2, 1)
    assert t.position(t.text.index("b")) == T.Position(0, 2)
    assert t.range(Span("f", 3, 1, 3, 2)) == T.Range(T.Position(1, 0), T.Position(1, 1))


def test_incremental_changes() -> None:
    t = Text("ab😀c\nd\n")
    t = t.apply(T.TextDocumentContentChangePartial(range=T.Range(T.Position(0, 4), T.Position(1, 0)), text="X"))
    assert t.text == "ab😀Xd\n"
    t = t.apply(T.TextDocumentContentChangeWholeDocument(text="new"))
    assert t.text == "new"
