"""The compiler behind `wf lsp`: it compiles again only what an edit touched, and says exactly
what `wf check` says (the whole app parsed and compiled at once), also after random edits."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from wfkit.core.compile.incremental import IncrementalCompiler
from wfkit.core.loader import compile_sources, read_sources
from wfkit.dsl.chunks import declaration_pieces
from wfkit.plugins.manager import get_registry

ROOT = Path(__file__).resolve().parents[2]
APPS = [
    ROOT / "examples" / "orders",
    ROOT / "examples" / "hello.wf",
    ROOT / "tests" / "dsl" / "fixtures" / "spec_example.wf",
    ROOT / "tests" / "server" / "fixtures" / "api.wf",
    Path(__file__).parent / "fixtures" / "shop",
]
# What an edit may insert: brackets and strings left open, new declarations, blank lines, non-ASCII.
INSERTS = ["{", "}", "(", ")", '"', '"""', "\n", "x", ".", "workflow z() {\n", " ", "@exposed\n", "type T {\n"]
INSERTS += [",", ":", "=", "let ", "#", "\n}\n", "é", "😀", "@", "\f"]

Key = tuple[str, int, int, int, int, str, str]


def whole(sources: dict[str, str]) -> Counter[Key]:
    _, syntax, meaning = compile_sources(sources, get_registry())
    return Counter(_key(d) for d in syntax + meaning)


def incremental(ic: IncrementalCompiler, sources: dict[str, str]) -> Counter[Key]:
    return Counter(_key(d) for d in ic.compile(sources).diagnostics)


def _key(d: object) -> Key:
    s = d.span  # type: ignore[attr-defined]
    return (s.file, s.line, s.column, s.end_line, s.end_column, d.message, d.severity)  # type: ignore[attr-defined]


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.name)
def test_random_edits_give_what_wf_check_gives(app: Path) -> None:
    rnd = random.Random(f"{app.name}-14")
    sources = dict(read_sources(app))
    ic = IncrementalCompiler(get_registry())
    assert incremental(ic, sources) == whole(sources)
    for _ in range(60):  # bounded: 60 edits, each checked against a whole compile
        name = rnd.choice(list(sources))
        text = sources[name]
        at = rnd.randrange(len(text) + 1)
        if text and rnd.random() < 0.5:
            text = text[:at] + text[at + rnd.randint(1, 4) :]
        else:
            text = text[:at] + rnd.choice(INSERTS) + text[at:]
        sources[name] = text
        assert incremental(ic, sources) == whole(sources), (name, at)


SHOP = Path(__file__).parent / "fixtures" / "shop"


def test_a_keystroke_compiles_one_workflow_again() -> None:
    sources = dict(read_sources(SHOP))
    orders = str(SHOP / "orders.wf")
    ic = IncrementalCompiler(get_registry())
    assert ic.compile(sources).recompiled == 2
    typed = sources[orders].replace("terminate when order.paid", "terminate when order.pai")
    result = ic.compile({**sources, orders: typed})
    assert result.recompiled == 1
    assert [d.message for d in result.diagnostics] == ["Order has no field 'pai' (did you mean 'paid'?)"]
    # lines added above: nothing compiled again, positions follow
    moved = ic.compile({**sources, orders: "\n\n" + typed})
    assert moved.recompiled == 0
    assert moved.diagnostics[0].span.line == result.diagnostics[0].span.line + 2


def test_a_changed_signature_checks_its_callers_again() -> None:
    sources = dict(read_sources(SHOP))
    orders = str(SHOP / "orders.wf")
    ic = IncrementalCompiler(get_registry())
    ic.compile(sources)
    renamed = sources[orders].replace("workflow remind(order: Order)", "workflow remind(o: Order)")
    result = ic.compile({**sources, orders: renamed})
    assert result.recompiled == 2  # remind itself and create_order, which schedules it
    assert any("it has no parameter 'order'" in d.message for d in result.diagnostics)


def test_a_file_is_cut_before_each_declaration() -> None:
    text = "# app\n\ntype A {\n  x: text\n}\n@exposed\n@ignore_privacy\nworkflow w() {\n  log 1\n}\n"
    text += "every 1 day run w()\n"
    pieces = declaration_pieces(text)
    assert [(p.line, p.text.splitlines()[0]) for p in pieces] == [
        (1, "# app"),
        (3, "type A {"),
        (6, "@exposed"),
        (11, "every 1 day run w()"),
    ]
    assert "".join(p.text for p in pieces) == text
