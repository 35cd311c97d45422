"""Whatever the text, `parse` returns a ParseResult whose diagnostics point into the file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wfkit.dsl import ParseResult, ast, parse

EXAMPLE_APP = (Path(__file__).parent / "fixtures" / "spec_example.wf").read_text(encoding="utf-8")

# pieces of the language, so that random text gets past the lexer and deep into the grammar
_WORDS = (
    "workflow type privacy rule everyone view all search change delete every on create run at if else for each in "
    "let schedule call cancel return terminate fail when where order by desc limit and or not is empty true false "
    "day days month per @exposed @retry x y order list of"
)
PIECES = [
    *_WORDS.split(),
    *'{}()[],.:=+-*/%<>?"#\n \t\\',
    *['"a {x} b"', '"""\n  t\n"""', "1", "2.5", "1_0", "==", "!="],
]

SETTINGS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str) -> ParseResult:
    result = parse(text, "p.wf")
    assert isinstance(result, ParseResult)
    assert all(isinstance(d, ast.Decl) for d in result.module.decls)
    lines = text.splitlines() or [""]
    for d in result.diagnostics:
        assert d.span.file == "p.wf"
        assert 1 <= d.span.line <= len(lines), d
        assert 1 <= d.span.column <= len(lines[d.span.line - 1]) + 1, d
        assert (d.span.end_line, d.span.end_column) >= (d.span.line, d.span.column), d
        assert d.message and "internal" not in d.message
        d.render({"p.wf": text})
    return result


@SETTINGS
@given(st.text())
def test_any_text(text: str) -> None:
    check(text)


@SETTINGS
@given(st.lists(st.sampled_from(PIECES), max_size=60).map(" ".join))
def test_any_sequence_of_language_pieces(text: str) -> None:
    check(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = EXAMPLE_APP
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        else:
            end = min(len(text), at + draw(st.integers(1, 80)))
            text = text[:end] + text[at:end] + text[end:]
    return text


@SETTINGS
@given(mutated())
def test_mutated_spec_example(text: str) -> None:
    result = check(text)
    if not result.diagnostics:
        assert result.module.decls


def test_the_spec_example_parses_cleanly() -> None:
    result = check(EXAMPLE_APP)
    assert result.diagnostics == []
