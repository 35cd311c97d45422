"""The product contract's complete example app (fixtures/spec_example.wf) parses cleanly, into the
AST the compiler expects."""

from __future__ import annotations

from pathlib import Path

from dsl_helpers import B, D, F, L, N, S, module
from wfkit.dsl import ast

EXAMPLE = (Path(__file__).parent / "fixtures" / "spec_example.wf").read_text(encoding="utf-8")


def test_spec_example() -> None:
    decls = module(EXAMPLE).decls
    kinds = [(type(d).__name__, getattr(d, "name", None)) for d in decls]
    assert kinds == [
        ("TypeDecl", "Order"),
        ("TypeDecl", "User"),
        ("PrivacyDecl", None),
        ("WorkflowDecl", "create_order"),
        ("WorkflowDecl", "remind"),
        ("WorkflowDecl", "countdown"),
        ("WorkflowDecl", "close_unpaid"),
        ("WorkflowDecl", "close_one"),
        ("EveryTrigger", None),
        ("DbTrigger", None),
        ("WorkflowDecl", "thank"),
    ]
    wf = {d.name: d for d in decls if isinstance(d, ast.WorkflowDecl)}

    create = wf["create_order"]
    assert [d.name for d in create.decorators] == ["exposed"]
    assert [(p.name, p.default) for p in create.params] == [("title", None), ("amount", None), ("notify", L(False))]
    check, bind, send, sched, ret = create.body
    assert isinstance(check, ast.If) and isinstance(check.branches[0].body[0], ast.Fail)
    assert isinstance(bind, ast.Action) and (bind.bind, bind.verb, bind.target) == ("order", "create", N("Order"))
    assert isinstance(send, ast.Action) and send.when == N("notify") and send.target is None
    assert isinstance(send.args[1].value, ast.Interpolated)
    assert isinstance(sched, ast.Schedule) and (sched.bind, sched.workflow, sched.in_) == (
        "reminder",
        "remind",
        D(2, "day"),
    )
    assert isinstance(ret, ast.Return) and isinstance(ret.value, ast.ObjectLit)
    assert [e.key for e in ret.value.entries] == ["id", "title", "reminder"]

    countdown = wf["countdown"]
    assert [d.name for d in countdown.decorators] == ["exposed", "ignore_privacy"]
    sched = countdown.body[1]
    assert isinstance(sched, ast.Schedule) and sched.when == B(">", N("n"), L(0))

    let, each, _ = wf["close_unpaid"].body
    assert isinstance(let, ast.Let) and isinstance(let.value, ast.Search)
    assert let.value.where == B(
        "and",
        B("==", N("paid"), L(False)),
        B("<", N("created_at"), B("-", N("now"), B("*", N("older_than_days"), D(1, "day")))),
    )
    assert isinstance(each, ast.Schedule)
    assert (each.each_var, each.each_list, each.every) == ("item", N("stale"), D(0.5, "second"))

    every, on = decls[8], decls[9]
    assert isinstance(every, ast.EveryTrigger) and (every.amount, every.unit, every.at) == (1, "day", "03:00")
    assert isinstance(on, ast.DbTrigger) and (on.event, on.type_name) == ("change", "Order")
    assert on.run.args == (ast.Arg(span=S, name="order", value=N("this")),)
    assert isinstance(decls[2], ast.PrivacyDecl)
    assert decls[2].rules[0].cond == B("==", F(N("this"), "owner"), N("current_user"))
