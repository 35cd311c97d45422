"""Words and lines (docs/language.md §3, §7): reserved and contextual words, word boundaries, newlines."""

from __future__ import annotations

import pytest
from dsl_helpers import B, F, L, N, S, body, errors, expr, module, stmt
from wfkit.dsl import ast
from wfkit.dsl.lexer import RESERVED

DOCUMENTED_RESERVED = (
    "and or not in is empty true false if else for each let schedule call cancel return terminate fail search when"
)


def test_the_reserved_words_are_the_specs() -> None:
    assert set(DOCUMENTED_RESERVED.split()) == RESERVED


@pytest.mark.parametrize("word", DOCUMENTED_RESERVED.split())
def test_reserved_words_are_never_names(word: str) -> None:
    for text in (
        f"workflow w() {{\n  let {word} = 1\n}}\n",
        f"workflow {word}() {{\n}}\n",
        f"type {word} {{\n}}\n",
        f"type T {{\n  {word}: text\n}}\n",
        f"workflow w({word}: text) {{\n}}\n",
    ):
        msgs = errors(text)
        assert msgs, text
        assert f"unexpected '{word}'" in msgs[0], (text, msgs)


def test_reserved_word_message() -> None:
    assert errors("workflow w() {\n  let if = 3\n}\n") == [
        "2:7: unexpected 'if', expected name ('if' is a reserved word and cannot be a name)"
    ]
    assert errors("workflow w() {\n  let x = a.empty\n}\n")[0].startswith("2:13: unexpected 'empty', expected name")


CONTEXTUAL = [
    "order", "limit", "type", "by", "desc", "where", "second", "seconds", "minute", "minutes", "hour", "hours",
    "day", "days", "week", "weeks", "month", "months", "run", "every", "at", "on", "privacy", "rule", "everyone",
    "view", "all", "change", "delete", "create", "workflow", "list", "of", "per", "now", "today", "this", "before",
    "current_user", "request",
]  # fmt: skip


@pytest.mark.parametrize("word", CONTEXTUAL)
def test_contextual_words_are_names(word: str) -> None:
    a_type = "text" if word == "list" else word  # a type named `list` would be `list of …`
    decls = module(
        f"""
type {word} {{
  {word}: text
}}
workflow {word}({word}: {a_type}) {{
  let {word} = {word}.{word}
  {word} = {word} {word}({word}: {word})
  {word}
  for each {word} in {word} {{
    log {word}
  }}
  return {{ {word}: {word} }}
}}
every 1 day run {word}({word}: {word})
"""
    ).decls
    assert [type(d).__name__ for d in decls] == ["TypeDecl", "WorkflowDecl", "EveryTrigger"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x or acle", B("or", N("x"), N("acle"))),
        ("oracle", N("oracle")),
        ("iffy and android", B("and", N("iffy"), N("android"))),
        ("notice", N("notice")),
        ("index in inbox", B("in", N("index"), N("inbox"))),
        ("emptyish", N("emptyish")),
        ("true_value or falsehood", B("or", N("true_value"), N("falsehood"))),
        ("searching.wherever", F(N("searching"), "wherever")),
        ("_if", N("_if")),
        ("if2", N("if2")),
    ],
)
def test_words_are_whole(source: str, expected: ast.Expr) -> None:
    assert expr(source) == expected


def test_x_oracle_is_the_name_oracle() -> None:
    assert errors("workflow w() {\n  let y = x oracle\n}\n")[0].startswith("2:13: unexpected 'oracle'")


def test_names_are_case_sensitive_and_keywords_lower_case() -> None:
    assert expr("If or IF") == B("or", N("If"), N("IF"))
    assert expr("True") == N("True")


def test_newline_ends_a_statement_in_a_block() -> None:
    assert len(body("  log a\n  log b\n\n\n  log c")) == 3
    (msg,) = errors("workflow w() {\n  let x = a +\n    b\n}\n")
    assert msg.startswith("2:14: unexpected end of line")


def test_lines_continue_inside_parentheses_brackets_and_objects() -> None:
    assert expr("(a +\n    b)") == B("+", N("a"), N("b"))
    assert expr("[a,\n  b\n  ]") == ast.ListLit(span=S, items=(N("a"), N("b")))
    assert expr("f(\n  a\n)") == ast.Call(span=S, func="f", args=(N("a"),))
    assert expr("{\n  k:\n    1\n}") == ast.ObjectLit(span=S, entries=(ast.ObjectEntry(span=S, key="k", value=L(1)),))
    assert expr("[\n  {\n    a: (1\n      + 2)\n  }\n]") == ast.ListLit(
        span=S, items=(ast.ObjectLit(span=S, entries=(ast.ObjectEntry(span=S, key="a", value=B("+", L(1), L(2))),)),)
    )


def test_a_block_inside_a_block_keeps_its_newlines() -> None:
    s = stmt("if a {\n    log x\n    log y\n  }")
    assert isinstance(s, ast.If) and len(s.branches[0].body) == 2


def test_blocks_may_stand_on_one_line() -> None:
    s = stmt('if a { log "x" }')
    assert isinstance(s, ast.If) and len(s.branches[0].body) == 1
    (decl,) = module('workflow w() { log "x" }\n').decls
    assert isinstance(decl, ast.WorkflowDecl) and len(decl.body) == 1
    (decl,) = module("type T { a: text }\n").decls
    assert isinstance(decl, ast.TypeDecl) and len(decl.fields) == 1


def test_two_statements_on_one_line_are_an_error() -> None:
    assert errors("workflow w() {\n  log a log b\n}\n") == [
        "2:9: unexpected 'log', expected one of: '(', '.', '[', 'when', end of line"
    ]


def test_windows_and_old_mac_line_endings() -> None:
    text = "workflow w() {\r\n  log a\r\n  log b\r}\r\n"
    (decl,) = module(text).decls
    assert isinstance(decl, ast.WorkflowDecl) and len(decl.body) == 2
    assert decl.body[1].span.line == 3


def test_tabs_and_form_feeds_are_blanks() -> None:
    (decl,) = module("workflow\tw() {\n\tlog a\t# c\n}\n").decls
    assert isinstance(decl, ast.WorkflowDecl) and decl.body[0].span.column == 2


def test_empty_and_comment_only_files() -> None:
    for text in ("", "\n\n", "# only a comment", "# a\n\n# b\n"):
        assert module(text).decls == ()
