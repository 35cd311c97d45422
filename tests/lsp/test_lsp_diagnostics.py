"""`wf lsp` diagnostics: on open and on every incremental change, where `wf check` puts them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from lsp_editor import Editor, uri
from lsprotocol import types as T

BROKEN = """\
workflow greet(name: text) {
  log "hello {nam}"
  let n = count(name)
  schedule nobody(x: 1)
}

workflow after_end() {
  return { a: 1 }
  log "never"
}
"""


def wf_check(app: Path) -> list[tuple[str, int, int, str]]:
    """`wf check APP`'s diagnostics: (file, line, column, message), as it prints them."""
    out = subprocess.run(
        [sys.executable, "-m", "wfkit.server.cli", "check", str(app)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    found = []
    for line in out.splitlines():
        m = re.match(r"(.+?\.wf):(\d+):(\d+): (.*)$", line)
        if m:
            found.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    return found


def as_check(path: Path, diagnostics: list[T.Diagnostic]) -> list[tuple[str, int, int, str]]:
    """LSP diagnostics written as `wf check` writes them (ASCII lines: a column is a character)."""
    out = []
    for d in diagnostics:
        warn = "warning: " if d.severity == T.DiagnosticSeverity.Warning else ""
        out.append((str(path), d.range.start.line + 1, d.range.start.character + 1, warn + d.message))
    return sorted(out)


async def test_open_reports_the_errors_of_wf_check_at_its_places(editor: Editor, shop: Path) -> None:
    bad = shop / "broken.wf"
    bad.write_text(BROKEN, encoding="utf-8")
    editor.open(bad)
    got = as_check(bad, await editor.diagnostics(bad, 1))
    want = sorted(d for d in wf_check(shop) if d[0] == str(bad))
    assert len(want) == 4, want  # unknown name and workflow, a bad argument, a statement that never runs
    assert got == want


async def test_ranges_cover_the_name(editor: Editor, shop: Path) -> None:
    bad = shop / "broken.wf"
    bad.write_text(BROKEN, encoding="utf-8")
    editor.open(bad)
    diagnostics = await editor.diagnostics(bad, 1)
    unknown = next(d for d in diagnostics if "unknown name 'nam'" in d.message)
    assert unknown.range == T.Range(T.Position(1, 14), T.Position(1, 17))  # {nam}
    assert unknown.severity == T.DiagnosticSeverity.Error
    never = next(d for d in diagnostics if "never runs" in d.message)
    assert never.severity == T.DiagnosticSeverity.Warning


async def test_an_incremental_change_breaks_and_fixes(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    assert await editor.diagnostics(orders, 1) == []
    # line 12 (0-based 11) is `  terminate when order.paid`: misspell the field
    v = editor.change(orders, (11, 23), (11, 27), "payed")
    diagnostics = await editor.diagnostics(orders, v)
    assert [d.message for d in diagnostics] == ["Order has no field 'payed' (did you mean 'paid'?)"]
    assert diagnostics[0].range == T.Range(T.Position(11, 17), T.Position(11, 28))  # order.payed
    # a syntax error, then its fix, one keystroke each
    v = editor.change(orders, (11, 28), (11, 28), " +")
    messages = [d.message for d in await editor.diagnostics(orders, v)]
    assert messages[0] == "unknown workflow 'remind'"  # the broken declaration is left out, as by wf check
    assert messages[1].startswith("unexpected end of line")
    v = editor.change(orders, (11, 28), (11, 30), "")
    v = editor.change(orders, (11, 23), (11, 28), "paid")
    assert await editor.diagnostics(orders, v) == []


async def test_an_error_in_another_file_is_reported_there(editor: Editor, shop: Path) -> None:
    """A folder is one app: a type declared twice is an error of the second file, even unopened."""
    extra = shop / "zz_more.wf"
    extra.write_text("type Order {\n  note: text\n}\n", encoding="utf-8")
    orders = shop / "orders.wf"
    editor.open(orders)
    assert await editor.diagnostics(orders, 1) == []
    diagnostics = await editor.diagnostics(extra)
    assert len(diagnostics) == 1
    assert diagnostics[0].message.startswith("the type 'Order' is declared twice (first at ")
    assert str(shop / "types.wf") + ":2:1" in diagnostics[0].message
    assert diagnostics[0].range.start == T.Position(0, 0)


async def test_a_change_in_one_file_reaches_the_others(editor: Editor, shop: Path) -> None:
    types, orders = shop / "types.wf", shop / "orders.wf"
    editor.open(types)
    editor.open(orders)
    assert await editor.diagnostics(orders, 1) == []
    # rename the field `paid` in types.wf: orders.wf's use of it is now an error
    v = editor.change(types, (4, 2), (4, 6), "settled")
    await editor.diagnostics(types, v)
    diagnostics = editor.published[uri(orders)][-1].diagnostics  # published with types.wf's
    assert [d.message for d in diagnostics] == ["Order has no field 'paid' (did you mean 'id'?)"]
    assert diagnostics[0].range.start == T.Position(11, 17)


async def test_non_ascii_columns_are_utf16(editor: Editor, shop: Path) -> None:
    text = 'workflow w() {\n  log "é😀 {nope}"\n}\n'
    f = shop / "unicode.wf"
    f.write_text(text, encoding="utf-8")
    editor.open(f)
    (d,) = await editor.diagnostics(f, 1)
    # characters: `  log "é😀 {` is 11 characters before `nope`; the emoji takes 2 UTF-16 units
    assert d.range == T.Range(T.Position(1, 12), T.Position(1, 16))
    # an edit sent in UTF-16 units lands right: replace `nope` by `x` (still unknown)
    v = editor.change(f, (1, 12), (1, 16), "x")
    (d,) = await editor.diagnostics(f, v)
    assert d.message.startswith("unknown name 'x'")
    assert d.range == T.Range(T.Position(1, 12), T.Position(1, 13))


async def test_utf32_when_the_editor_asks_for_it(shop: Path) -> None:
    ed = Editor(shop)
    result = await ed.start(encodings=["utf-32"])
    try:
        assert result.capabilities.position_encoding == "utf-32"
        f = shop / "unicode.wf"
        f.write_text('workflow w() {\n  log "é😀 {nope}"\n}\n', encoding="utf-8")
        ed.open(f)
        (d,) = await ed.diagnostics(f, 1)
        assert d.range == T.Range(T.Position(1, 11), T.Position(1, 15))  # characters
    finally:
        await ed.stop()
