"""Syntax errors: where and what, recovery at the next declaration, and `parse_or_raise`."""

from __future__ import annotations

from typing import Any

import pytest
from dsl_helpers import errors
from lark.parsers.lalr_analysis import LALR_Analyzer
from wfkit.dsl import ParseResult, ast, parse, parse_or_raise
from wfkit.dsl.errors import WfSyntaxError
from wfkit.dsl.parser import _LARK


def test_the_grammar_has_no_lalr_conflicts() -> None:
    LALR_Analyzer(_LARK.parser.parser_conf, strict=True).compute_lalr()  # raises on any conflict


def test_a_broken_declaration_is_left_out_and_the_others_kept() -> None:
    text = """
type A {
  a text
}
workflow good(x: number) {
  log x
}
workflow bad(x: number) {
  let y = (x +
}
type B {
  b: text
}
every 1 day run good(x: 1)
on create B when run good(x: 2)
@exposed
workflow also_good() {
}
"""
    result = parse(text, "t.wf")
    assert [f"{d.span.line}:{d.span.column}" for d in result.diagnostics] == ["3:5", "10:1", "15:22"]
    names = [getattr(d, "name", type(d).__name__) for d in result.module.decls]
    assert names == ["good", "B", "EveryTrigger", "also_good"]


def test_garbage_between_declarations() -> None:
    result = parse("type A {}\nwhat is this\n?!\ntype B {}\n", "t.wf")
    assert [d.message for d in result.diagnostics] == [
        "unexpected 'what', expected one of: 'every', 'on', 'privacy', 'type', 'workflow', decorator, end of file"
    ]
    assert [d.name for d in result.module.decls] == ["A", "B"]  # type: ignore[attr-defined]


def test_unexpected_end_of_line_and_of_file() -> None:
    assert errors("workflow w() {\n  let x = \n}\n") == [
        "2:11: unexpected end of line, expected one of: '(', '-', '[', 'empty', 'false', 'not', 'search', 'true', '{', "
        "name, number, string"
    ]
    assert errors("workflow w() {\n  log x") == [
        "2:8: unexpected end of file, expected one of: '(', '.', '[', 'when', end of line"
    ]
    assert errors("workflow w(") == ["1:12: unexpected end of file, expected one of: ')', name"]


def test_a_closing_brace_too_early() -> None:
    assert errors("workflow w() {\n  let x = (1 + }\n}\n")[0].startswith("2:16: unexpected '}'")
    assert errors("workflow w() {\n  let x = }\n") == [
        "2:11: unexpected '}', expected one of: '(', '-', '[', 'empty', 'false', 'not', 'search', 'true', '{', "
        "name, number, string"
    ]


def test_a_missing_closing_brace_is_named() -> None:
    text = "workflow a() {\n  log 1\n\nworkflow b() {\n  log 2\n}\n"
    result = parse(text, "t.wf")
    assert [d.message for d in result.diagnostics] == [
        "expected '}' before 'workflow': the declaration above is not finished"
    ]
    assert result.diagnostics[0].span.line == 4
    assert [d.name for d in result.module.decls] == ["b"]  # type: ignore[attr-defined]


def test_a_missing_closing_parenthesis_is_named() -> None:
    (msg,) = errors("every 1 day run f(\ntype T {}\n")
    assert msg == "2:1: expected ')' before 'type': the declaration above is not finished"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'workflow w() {\n  log "abc\n}\n',
            '2:7: unterminated string (a "…" string ends on its line; """…""" spans lines)',
        ),
        ('workflow w() {\n  log """abc\n}\n', '2:7: unterminated """ string'),
        ('workflow w() {\n  log "a\\qb"\n}\n', "2:9: unknown escape '\\q' (known: \\\" \\\\ \\n \\t \\{)"),
        ('workflow w() {\n  log "a {b"\n}\n', "2:10: no '}' closes this '{' (write \\{ for a literal brace)"),
        ('workflow w() {\n  log "a {"b}"\n}\n', "2:13: a string inside '{…}' cannot hold braces"),
        ('workflow w() {\n  log "a {b \\ c}"\n}\n', "2:13: '\\' inside '{…}' in a string"),
        ('workflow w() {\n  log "a {"{"}"\n}\n', "2:12: a string inside '{…}' cannot hold braces"),
        ('workflow w() {\n  log "{}"\n}\n', "2:8: empty '{}' in a string (write \\{ for a literal brace)"),
        ('workflow w() {\n  log "{a b}"\n}\n', "2:11: unexpected 'b', expected one of: '(', '.', '[', '}', operator"),
        (
            'workflow w() {\n  log "{1 +}"\n}\n',
            "2:12: unexpected '}', expected one of: '(', '-', '[', 'empty', 'false', 'true', '{', name, number, string",
        ),
        ("workflow w() {\n  let x = 3 $ 4\n}\n", "2:13: unexpected character '$'"),
        ("workflow w() {\n  let x = 'a'\n}\n", '2:11: unexpected character "\'"'),
        ("workflow w() {\n  let x = 1\x00\n}\n", "2:12: unexpected character '\\x00'"),
        ("@ exposed\nworkflow w() {\n}\n", "1:1: '@' must be followed by a decorator name, as in @exposed"),
    ],
)
def test_lexical_errors(text: str, expected: str) -> None:
    assert errors(text)[0] == expected


def test_several_string_problems_in_one_declaration_are_all_reported() -> None:
    assert errors('workflow w() {\n  log "\\q"\n  log "{}"\n}\n') == [
        "2:8: unknown escape '\\q' (known: \\\" \\\\ \\n \\t \\{)",
        "3:8: empty '{}' in a string (write \\{ for a literal brace)",
    ]


def test_parse_never_raises_on_odd_input() -> None:
    for text in ("}", "{", ")))", '"', '"""', "@", "\x00", "workflow", "((((" * 200, "-" * 5000, "if", "\t\r\n\f\v"):
        result = parse(text, "t.wf")
        assert isinstance(result, ParseResult)
        assert all(d.span.line >= 1 and d.span.column >= 1 for d in result.diagnostics)


DEEP = "nested too deeply: split it up (`let` a part, or `call` another workflow)"


@pytest.mark.parametrize(
    ("line", "opener"),
    [
        ("  let x = " + "(" * 3000 + "1" + ")" * 3000, "("),
        ("  let x = " + "-" * 3000 + "1", "-"),
        ("  let x = " + "[" * 3000 + "1" + "]" * 3000, "["),
        ('  log "n = {' + "[" * 3000 + "1" + "]" * 3000 + '}"', "["),  # inside a string's hole
    ],
)
def test_deep_nesting_is_an_error_not_a_crash(line: str, opener: str) -> None:
    """The compiler and the evaluator recurse: a tree deeper than they can walk is refused by the
    parser, at the bracket where it gets too deep, and the rest of the file is still parsed."""
    text = "workflow w() {\n" + line + "\n}\nworkflow after() {\n  log 1\n}\n"
    result = parse(text, "t.wf")
    assert [(d.span.line, d.message) for d in result.diagnostics] == [(2, DEEP)]
    column = result.diagnostics[0].span.column
    assert line[column - 1] == opener and 150 < line[:column].count(opener) <= 200
    assert [d.name for d in result.module.decls] == ["after"]  # type: ignore[attr-defined]


def test_nesting_deeper_than_real_code_parses() -> None:
    """20 `if` blocks around 40 parentheses around 40 unary minus signs: deeper than code is
    written (examples/ reaches 32 parser states), and under the limit."""
    blocks, brackets = 20, 40
    text = (
        "workflow w(a: boolean) {\n"
        + "  if a {\n" * blocks
        + "  let x = "
        + "(" * brackets
        + "-" * brackets
        + "1"
        + ")" * brackets
        + "\n"
        + "  }\n" * blocks
        + "}\n"
    )
    result = parse(text, "t.wf")
    assert result.diagnostics == []
    step: Any = result.module.decls[0].body[0]  # type: ignore[attr-defined]
    for _ in range(blocks - 1):
        step = step.branches[0].body[0]
    value = step.branches[0].body[0].value
    depth = 0
    while isinstance(value, ast.Unary):
        value, depth = value.operand, depth + 1
    assert depth == brackets and value.value == 1


def test_parse_or_raise() -> None:
    module = parse_or_raise("type A {}\n", "a.wf")
    assert isinstance(module, ast.Module) and len(module.decls) == 1
    text = "workflow w() {\n  let if = 1\n}\n"
    with pytest.raises(WfSyntaxError) as info:
        parse_or_raise(text, "a.wf")
    assert str(info.value) == (
        "a.wf:2:7: unexpected 'if', expected name ('if' is a reserved word and cannot be a name)\n"
        "      let if = 1\n"
        "          ^^"
    )
    assert info.value.sources == {"a.wf": text}
