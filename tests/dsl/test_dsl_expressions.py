"""Expressions (docs/language.md §3, §7, §8): precedence, literals, strings, durations, search."""

from __future__ import annotations

import pytest
from dsl_helpers import A, B, D, F, L, N, S, U, errors, expr
from wfkit.dsl import ast


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a or b and c", B("or", N("a"), B("and", N("b"), N("c")))),
        ("a and b or c", B("or", B("and", N("a"), N("b")), N("c"))),
        ("not a and b", B("and", U("not", N("a")), N("b"))),
        ("not a == b", U("not", B("==", N("a"), N("b")))),
        ("not not a", U("not", U("not", N("a")))),
        ("a == b + c", B("==", N("a"), B("+", N("b"), N("c")))),
        ("a + b * c", B("+", N("a"), B("*", N("b"), N("c")))),
        ("a * b + c", B("+", B("*", N("a"), N("b")), N("c"))),
        ("a - b - c", B("-", B("-", N("a"), N("b")), N("c"))),
        ("a / b % c", B("%", B("/", N("a"), N("b")), N("c"))),
        ("-a * b", B("*", U("-", N("a")), N("b"))),
        ("- -a", U("-", U("-", N("a")))),
        ("-a.b", U("-", F(N("a"), "b"))),
        ("(a + b) * c", B("*", B("+", N("a"), N("b")), N("c"))),
        ("a in b + c", B("in", N("a"), B("+", N("b"), N("c")))),
        ("a < b and c >= d", B("and", B("<", N("a"), N("b")), B(">=", N("c"), N("d")))),
        ("a != b or c <= d", B("or", B("!=", N("a"), N("b")), B("<=", N("c"), N("d")))),
        ("a > b", B(">", N("a"), N("b"))),
        ("x is empty", ast.IsEmpty(span=S, operand=N("x"), negated=False)),
        ("x.y is not empty", ast.IsEmpty(span=S, operand=F(N("x"), "y"), negated=True)),
        ("not x is empty", U("not", ast.IsEmpty(span=S, operand=N("x"), negated=False))),
        ("a + 1 is empty or b", B("or", ast.IsEmpty(span=S, operand=B("+", N("a"), L(1)), negated=False), N("b"))),
        ("a.b[c].d", F(ast.Index(span=S, obj=F(N("a"), "b"), index=N("c")), "d")),
        ("f(x).y[0]", ast.Index(span=S, obj=F(ast.Call(span=S, func="f", args=(N("x"),)), "y"), index=L(0))),
        ("now - n * 1 day", B("-", N("now"), B("*", N("n"), D(1, "day")))),
        ("today + 2 weeks", B("+", N("today"), D(2, "week"))),
    ],
)
def test_precedence(source: str, expected: ast.Expr) -> None:
    assert expr(source) == expected


@pytest.mark.parametrize("source", ["a < b < c", "a == b == c", "a in b in c", "a is empty is empty", "a < b == c"])
def test_comparisons_do_not_chain(source: str) -> None:
    (msg,) = errors(f"workflow w() {{\n  let x = {source}\n}}\n")
    assert "comparisons do not chain" in msg


def test_calls_positional_then_named() -> None:
    assert expr("count(xs)") == ast.Call(span=S, func="count", args=(N("xs"),))
    assert expr("round(x, 2)") == ast.Call(span=S, func="round", args=(N("x"), L(2)))
    assert expr("f()") == ast.Call(span=S, func="f", args=())
    assert expr("f(a, b, name: c,)") == ast.Call(span=S, func="f", args=(N("a"), N("b")), kwargs=(A("name", N("c")),))
    assert expr("f(\n  a,\n  k: 1\n)") == ast.Call(span=S, func="f", args=(N("a"),), kwargs=(A("k", L(1)),))
    assert errors("workflow w() {\n  let x = f(k: 1, a)\n}\n") == [
        "2:19: a positional argument cannot follow a named one"
    ]


def test_calls_are_by_name_only() -> None:
    assert errors("workflow w() {\n  let x = a.f(1)\n}\n")[0].startswith("2:14: unexpected '('")


@pytest.mark.parametrize(
    ("source", "value"),
    [("42", 42), ("3.5", 3.5), ("1_000", 1000), ("1_000.25", 1000.25), ("0", 0), ("007", 7)],
)
def test_numbers(source: str, value: float) -> None:
    lit = expr(source)
    assert lit == L(value) and type(lit.value) is type(value)  # type: ignore[attr-defined]


def test_booleans_and_empty() -> None:
    assert [expr(s) for s in ("true", "false", "empty")] == [L(True), L(False), L(None)]


@pytest.mark.parametrize(
    ("source", "amount", "unit"),
    [
        ("1 second", 1, "second"),
        ("10 seconds", 10, "second"),
        ("0.5 seconds", 0.5, "second"),
        ("1 minute", 1, "minute"),
        ("10 minutes", 10, "minute"),
        ("2 hours", 2, "hour"),
        ("1 day", 1, "day"),
        ("3 days", 3, "day"),
        ("1 week", 1, "week"),
        ("1_000 weeks", 1000, "week"),
    ],
)
def test_durations(source: str, amount: float, unit: str) -> None:
    assert expr(source) == D(amount, unit)


def test_unit_words_are_names_elsewhere() -> None:
    assert expr("seconds * 2") == B("*", N("seconds"), L(2))
    assert expr("n * day") == B("*", N("n"), N("day"))
    assert errors("workflow w() {\n  let x = 5 secondsx\n}\n")[0].startswith("2:13: unexpected 'secondsx'")


def test_lists_and_objects() -> None:
    assert expr("[]") == ast.ListLit(span=S, items=())
    assert expr("[1, 2, 3,]") == ast.ListLit(span=S, items=(L(1), L(2), L(3)))
    assert expr("[\n  1,\n  [2],\n]") == ast.ListLit(span=S, items=(L(1), ast.ListLit(span=S, items=(L(2),))))
    assert expr("{}") == ast.ObjectLit(span=S, entries=())
    assert expr('{ a: 1, "b c": {d: [x]}, }') == ast.ObjectLit(
        span=S,
        entries=(
            ast.ObjectEntry(span=S, key="a", value=L(1)),
            ast.ObjectEntry(
                span=S,
                key="b c",
                value=ast.ObjectLit(
                    span=S, entries=(ast.ObjectEntry(span=S, key="d", value=ast.ListLit(span=S, items=(N("x"),))),)
                ),
            ),
        ),
    )


def test_object_keys_are_names_or_plain_strings() -> None:
    assert expr("{ order: 1, limit: 2 }") == ast.ObjectLit(
        span=S,
        entries=(ast.ObjectEntry(span=S, key="order", value=L(1)), ast.ObjectEntry(span=S, key="limit", value=L(2))),
    )
    assert errors('workflow w() {\n  let x = { "{k}": 1 }\n}\n') == [
        "2:13: an object key cannot hold '{…}' (write \\{ for a literal brace)"
    ]
    assert errors("workflow w() {\n  let x = { if: 1 }\n}\n")[0].startswith("2:13: unexpected 'if'")


def test_objects_may_span_lines() -> None:
    e = expr("{\n    a: 1,\n\n    # a comment\n    b: 2\n  }")
    assert isinstance(e, ast.ObjectLit) and [x.key for x in e.entries] == ["a", "b"]


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('""', ""),
        ('"plain"', "plain"),
        (r'"q\"uote"', 'q"uote'),
        (r'"back\\slash"', "back\\slash"),
        (r'"a\nb\tc"', "a\nb\tc"),
        (r'"\{not a hole}"', "{not a hole}"),
        ('"closing } alone"', "closing } alone"),
        ('"# not a comment"', "# not a comment"),
    ],
)
def test_plain_strings(source: str, value: str) -> None:
    assert expr(source) == L(value)


def test_interpolation() -> None:
    assert expr('"n = {n}"') == ast.Interpolated(span=S, parts=("n = ", N("n")))
    assert expr('"{a}{b}"') == ast.Interpolated(span=S, parts=(N("a"), N("b")))
    assert expr('"x {a + f(b, "s")} y \\{z}"') == ast.Interpolated(
        span=S, parts=("x ", B("+", N("a"), ast.Call(span=S, func="f", args=(N("b"), L("s")))), " y {z}")
    )
    assert expr('"{ order.title }"') == ast.Interpolated(span=S, parts=(F(N("order"), "title"),))
    assert expr('"{x is empty}"') == ast.Interpolated(
        span=S, parts=(ast.IsEmpty(span=S, operand=N("x"), negated=False),)
    )
    assert expr('"{count(search Order)}"') == ast.Interpolated(
        span=S, parts=(ast.Call(span=S, func="count", args=(ast.Search(span=S, type_name="Order"),)),)
    )


def test_interpolation_holds_no_braces() -> None:
    (msg,) = errors('workflow w() {\n  let x = "{ {a: 1} }"\n}\n')
    assert msg.startswith("2:14: '{' inside '{…}' in a string")


def test_long_strings_drop_first_newline_and_common_indentation() -> None:
    e = expr('"""\n    Hello {name},\n\n      indented\n    bye\n    """')
    assert e == ast.Interpolated(span=S, parts=("Hello ", N("name"), ",\n\n  indented\nbye\n"))
    assert expr('"""one line"""') == L("one line")
    assert expr('"""\n  a "quoted" word\n  """') == L('a "quoted" word\n')
    assert expr('"""\n\ttab\n\t  more"""') == L("tab\n  more")
    assert expr('"""\\"\\"\\""""') == L('"""')


def test_search() -> None:
    assert expr("search Order") == ast.Search(span=S, type_name="Order")
    assert expr("search Order where paid == false and amount > 3 order by created_at desc limit 10") == ast.Search(
        span=S,
        type_name="Order",
        where=B("and", B("==", N("paid"), L(False)), B(">", N("amount"), L(3))),
        order_by="created_at",
        descending=True,
        limit=L(10),
    )
    assert expr("search Order order by title") == ast.Search(span=S, type_name="Order", order_by="title")
    assert expr("search Order limit n + 1") == ast.Search(span=S, type_name="Order", limit=B("+", N("n"), L(1)))
    assert expr("search Order where tag in tags") == ast.Search(
        span=S, type_name="Order", where=B("in", N("tag"), N("tags"))
    )


def test_search_words_are_names_elsewhere() -> None:
    e = expr("search Order where order > limit order by desc")
    assert e == ast.Search(span=S, type_name="Order", where=B(">", N("order"), N("limit")), order_by="desc")


def test_search_is_the_loosest_expression() -> None:
    assert expr("count(search Order) + 1") == B(
        "+", ast.Call(span=S, func="count", args=(ast.Search(span=S, type_name="Order"),)), L(1)
    )
    assert expr("(search A) + (search B)") == B(
        "+", ast.Search(span=S, type_name="A"), ast.Search(span=S, type_name="B")
    )
    (msg,) = errors("workflow w() {\n  let x = search A where b == search C\n}\n")
    assert msg.startswith("2:31: unexpected 'search'") and "parentheses" in msg
    (msg,) = errors("workflow w() {\n  let x = 1 + search C\n}\n")
    assert msg.startswith("2:15: unexpected 'search'")
