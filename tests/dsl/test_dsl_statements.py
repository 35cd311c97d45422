"""Statements (docs/language.md §3, §6, §7, §11): actions and their targets, bindings, `when`, blocks, schedules."""

from __future__ import annotations

import pytest
from dsl_helpers import A, B, D, F, L, N, S, body, errors, stmt
from wfkit.dsl import ast


def action(verb: str, target: ast.Expr | None = None, *args: ast.Arg, parens: bool = False, **kw: object) -> ast.Action:
    return ast.Action(span=S, verb=verb, target=target, args=args, has_parens=parens or bool(args), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("terminate_all", action("terminate_all")),
        ("notify()", action("notify", parens=True)),
        ("log order", action("log", N("order"))),
        ('log "n = {n}"', action("log", ast.Interpolated(span=S, parts=("n = ", N("n"))))),
        ("log 42", action("log", L(42))),
        ("wait 5 minutes", action("wait", D(5, "minute"))),
        ("log true", action("log", L(True))),
        ("log empty", action("log", L(None))),
        ("log [1, 2]", action("log", ast.ListLit(span=S, items=(L(1), L(2))))),
        ("log {k: 1}", action("log", ast.ObjectLit(span=S, entries=(ast.ObjectEntry(span=S, key="k", value=L(1)),)))),
        ("log order.owner.email", action("log", F(F(N("order"), "owner"), "email"))),
        ("log items[0].name", action("log", F(ast.Index(span=S, obj=N("items"), index=L(0)), "name"))),
        ('log ("a" + b)', action("log", B("+", L("a"), N("b")))),
        ("delete (first(stale))", action("delete", ast.Call(span=S, func="first", args=(N("stale"),)))),
        ("create Order(title: t)", action("create", N("Order"), A("title", N("t")))),
        ("create Order()", action("create", N("Order"), parens=True)),
        (
            'change order(tags: order.tags + ["closed"])',
            action(
                "change",
                N("order"),
                A("tags", B("+", F(N("order"), "tags"), ast.ListLit(span=S, items=(L("closed"),)))),
            ),
        ),
        ("stripe.refund(charge: c)", action("stripe.refund", None, A("charge", N("c")))),
        ("a.b.c x", action("a.b.c", N("x"))),
        ("delete (x)(soft: true)", action("delete", N("x"), A("soft", L(True)))),
        ("send(to: a, subject: b,)", action("send", None, A("to", N("a")), A("subject", N("b")))),
    ],
)
def test_action_forms(source: str, expected: ast.Action) -> None:
    assert stmt(source) == expected


def test_action_arguments_may_span_lines() -> None:
    s = stmt('send_email(\n    to: x,\n    subject: "hi",\n  )')
    assert s == action("send_email", None, A("to", N("x")), A("subject", L("hi")))


def test_action_arguments_are_named() -> None:
    assert errors("workflow w() {\n  log (a, b)\n}\n") == ["2:9: unexpected ',', expected ')'"]


def test_when_suffix_on_simple_statements() -> None:
    send, sched, ret, term, fail, cancel, call = body(
        """  send_email(to: x, subject: y) when notify
  r = schedule f() in 1 second when n > 0
  return { a: 1 } when done
  terminate when order.paid
  fail "no" when n < 0
  cancel h when h is not empty
  x = call g() when y"""
    )
    assert send == action("send_email", None, A("to", N("x")), A("subject", N("y")), when=N("notify"))
    assert isinstance(sched, ast.Schedule) and sched.bind == "r" and sched.when == B(">", N("n"), L(0))
    assert isinstance(ret, ast.Return) and ret.when == N("done")
    assert term == ast.Terminate(span=S, when=F(N("order"), "paid"))
    assert fail == ast.Fail(span=S, message=L("no"), when=B("<", N("n"), L(0)))
    assert cancel == ast.Cancel(span=S, target=N("h"), when=ast.IsEmpty(span=S, operand=N("h"), negated=True))
    assert call == ast.CallWorkflow(span=S, workflow="g", bind="x", when=N("y"))


def test_when_is_not_for_let_if_or_for() -> None:
    assert errors("workflow w() {\n  let x = 1 when y\n}\n") == ["2:13: unexpected 'when', expected end of line"]
    assert errors("workflow w() {\n  if a { } when b\n}\n") == [
        "2:12: unexpected 'when', expected one of: 'else', end of line"
    ]


def test_bindings() -> None:
    act, sched, call = body("  order = create Order(title: t)\n  h = schedule f(a: 1)\n  r = call g()")
    assert act == action("create", N("Order"), A("title", N("t")), bind="order")
    assert sched == ast.Schedule(span=S, workflow="f", args=(A("a", L(1)),), bind="h")
    assert call == ast.CallWorkflow(span=S, workflow="g", bind="r")


def test_a_binding_takes_an_action_and_let_an_expression() -> None:
    assert errors("workflow w() {\n  x = 1 + 2\n}\n") == [
        "2:7: unexpected '1': 'x =' takes an action, 'schedule' or 'call'; to bind a value write 'let x = 1 + 2'"
    ]
    assert errors("workflow w() {\n  x = y * 2\n}\n") == [
        "2:9: unexpected '*': 'x =' takes an action, 'schedule' or 'call'; to bind a value write 'let x = y * 2'"
    ]
    assert errors('workflow w() {\n  x = "a"\n}\n')[0].endswith("to bind a value write 'let x = \"a\"'")
    assert errors("workflow w() {\n  let x = create T()\n}\n")[0].startswith("2:18: unexpected 'T'")


def test_let() -> None:
    assert stmt("let total = a + 1") == ast.Let(span=S, name="total", value=B("+", N("a"), L(1)))


def test_if_else_if_else() -> None:
    s = stmt(
        """  if n > 10 {
    log "big"
  } else if n > 0 {
    log "small"
  } else if n == 0 {
  } else {
    fail "negative"
  }"""
    )
    assert isinstance(s, ast.If)
    assert [b.cond for b in s.branches] == [B(">", N("n"), L(10)), B(">", N("n"), L(0)), B("==", N("n"), L(0))]
    assert [len(b.body) for b in s.branches] == [1, 1, 0]
    assert s.else_body == (ast.Fail(span=S, message=L("negative")),)


def test_if_without_else_and_on_one_line() -> None:
    s = stmt("if a { terminate }")
    assert s == ast.If(span=S, branches=(ast.Branch(span=S, cond=N("a"), body=(ast.Terminate(span=S),)),))
    s = stmt('if a { log "x" } else { log "y" }')
    assert isinstance(s, ast.If) and s.else_body == (action("log", L("y")),)


def test_conditions_may_compare_with_objects_and_lists() -> None:
    s = stmt("if x == {a: 1} { log x }")
    assert isinstance(s, ast.If) and isinstance(s.branches[0].cond, ast.Binary)
    assert isinstance(s.branches[0].cond.right, ast.ObjectLit)


def test_else_stands_on_the_line_of_the_closing_brace() -> None:
    (msg,) = errors("workflow w() {\n  if a {\n  }\n  else {\n  }\n}\n")
    assert msg.startswith("4:3: unexpected 'else'") and "same line" in msg


def test_for_each() -> None:
    s = stmt("for each item in order.items {\n    log item.name\n  }")
    assert s == ast.ForEach(
        span=S, var="item", iterable=F(N("order"), "items"), body=(action("log", F(N("item"), "name")),)
    )
    s = stmt("for each x in search Order where paid {\n  }")
    assert isinstance(s, ast.ForEach) and isinstance(s.iterable, ast.Search)


def test_nested_blocks() -> None:
    s = stmt("for each a in xs {\n    if a {\n      for each b in a.children { log b }\n    }\n  }")
    assert isinstance(s, ast.ForEach)
    inner = s.body[0]
    assert isinstance(inner, ast.If) and isinstance(inner.branches[0].body[0], ast.ForEach)


def test_schedule_forms() -> None:
    now, at, inn, each, each_at, each_every, bare = body(
        """  schedule remind(order: order)
  schedule remind(order: order) at order.due - 1 day
  schedule countdown(n: n - 1) in 1 second
  schedule close_one(order: item) for each item in stale
  schedule close_one(order: item) for each item in stale at tomorrow every 0.5 seconds
  schedule close_one(order: item) for each item in stale in 2 days every 1 hour
  schedule tick"""
    )
    assert now == ast.Schedule(span=S, workflow="remind", args=(A("order", N("order")),))
    assert at == ast.Schedule(
        span=S, workflow="remind", args=(A("order", N("order")),), at=B("-", F(N("order"), "due"), D(1, "day"))
    )
    assert inn == ast.Schedule(span=S, workflow="countdown", args=(A("n", B("-", N("n"), L(1))),), in_=D(1, "second"))
    args = (A("order", N("item")),)
    assert each == ast.Schedule(span=S, workflow="close_one", args=args, each_var="item", each_list=N("stale"))
    assert each_at == ast.Schedule(
        span=S,
        workflow="close_one",
        args=args,
        each_var="item",
        each_list=N("stale"),
        at=N("tomorrow"),
        every=D(0.5, "second"),
    )
    assert each_every == ast.Schedule(
        span=S,
        workflow="close_one",
        args=args,
        each_var="item",
        each_list=N("stale"),
        in_=D(2, "day"),
        every=D(1, "hour"),
    )
    assert bare == ast.Schedule(span=S, workflow="tick")


def test_schedule_list_form_lists_stop_before_comparisons() -> None:
    s = stmt("schedule f() for each x in a + b in 1 day")
    assert isinstance(s, ast.Schedule) and s.each_list == B("+", N("a"), N("b")) and s.in_ == D(1, "day")
    s = stmt("schedule f() for each x in (search T where a in b) in 1 day")
    assert isinstance(s, ast.Schedule) and isinstance(s.each_list, ast.Search)


def test_every_is_only_for_the_list_form() -> None:
    assert errors("workflow w() {\n  schedule f() every 1 day\n}\n")[0].startswith("2:16: unexpected 'every'")


def test_call_cancel_return_terminate_fail() -> None:
    call, cancel, ret, bare, term, fail = body(
        """  call check(order: o)
  cancel reminder
  return { id: order.id, "display name": n }
  return
  terminate
  fail "amount must be positive, got {amount}\""""
    )
    assert call == ast.CallWorkflow(span=S, workflow="check", args=(A("order", N("o")),))
    assert cancel == ast.Cancel(span=S, target=N("reminder"))
    assert ret == ast.Return(
        span=S,
        value=ast.ObjectLit(
            span=S,
            entries=(
                ast.ObjectEntry(span=S, key="id", value=F(N("order"), "id")),
                ast.ObjectEntry(span=S, key="display name", value=N("n")),
            ),
        ),
    )
    assert bare == ast.Return(span=S)
    assert term == ast.Terminate(span=S)
    assert fail == ast.Fail(
        span=S, message=ast.Interpolated(span=S, parts=("amount must be positive, got ", N("amount")))
    )


def test_return_takes_an_object() -> None:
    assert errors("workflow w() {\n  return 5\n}\n") == [
        "2:10: unexpected '5', expected one of: 'when', '{', end of line"
    ]


def test_return_object_may_span_lines() -> None:
    s = stmt("return {\n    a: 1,\n    b: [\n      2,\n    ],\n  }")
    assert isinstance(s, ast.Return) and isinstance(s.value, ast.ObjectLit) and len(s.value.entries) == 2


def test_binding_a_bare_name_is_an_action_for_the_compiler_to_judge() -> None:
    # `x = y` is syntactically the action `y`; the compiler, which knows the actions,
    # says "no action y" and suggests `let x = y` (docs/language.md §3, §7)
    assert stmt("x = y") == action("y", bind="x")
