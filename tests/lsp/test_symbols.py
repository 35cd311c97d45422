"""The compiler's tables for editors (`compile_modules(..., symbols=True)`): each name's
declaration and type, and each use resolved to its declaration, from the compiler itself."""

from __future__ import annotations

from pathlib import Path

from wfkit.core.compile import compile_modules
from wfkit.core.loader import read_sources
from wfkit.core.symbols import Symbols
from wfkit.dsl import parse
from wfkit.plugins.manager import get_registry

SPEC = Path(__file__).resolve().parents[1] / "dsl" / "fixtures" / "spec_example.wf"


def symbols_of(path: Path) -> tuple[Symbols, dict[str, str]]:
    sources = read_sources(path)
    modules = [parse(text, name).module for name, text in sources.items()]
    app, diagnostics = compile_modules(modules, get_registry(), sources, symbols=True)
    assert not [d for d in diagnostics if d.severity == "error"]
    assert app.symbols is not None
    return app.symbols, sources


def test_every_declaration_has_its_name_and_type() -> None:
    symbols, sources = symbols_of(SPEC)
    lines = next(iter(sources.values())).splitlines()
    for s in symbols.declared:
        written = lines[s.span.line - 1][s.span.column - 1 : s.span.end_column - 1]
        assert written == s.name, s
    kinds = {(s.kind, s.name, str(s.type) if s.type else None, s.owner) for s in symbols.declared}
    assert ("field", "amount", "number", "Order") in kinds
    assert ("param", "notify", "boolean", "create_order") in kinds
    assert ("variable", "stale", "list of Order", "close_unpaid") in kinds
    assert ("variable", "item", "Order", "close_unpaid") in kinds  # `for each item in stale`
    assert ("workflow", "remind", None, "") in kinds


def test_every_use_of_a_declared_name_resolves_to_it() -> None:
    symbols, sources = symbols_of(SPEC)
    lines = next(iter(sources.values())).splitlines()
    resolved = 0
    for u in symbols.uses:
        assert lines[u.span.line - 1][u.span.column - 1 : u.span.end_column - 1] == u.name, u
        target = symbols.resolve(u)
        if target is not None:
            resolved += 1
            assert target.name == u.name
    assert resolved > 40
    remind = [u for u in symbols.uses if u.kind == "workflow" and u.name == "remind"]
    assert remind and symbols.resolve(remind[0]) is symbols.workflows["remind"]


def test_without_symbols_the_compiler_records_nothing() -> None:
    sources = read_sources(SPEC)
    app, _ = compile_modules([parse(t, n).module for n, t in sources.items()], get_registry(), sources)
    assert app.symbols is None
