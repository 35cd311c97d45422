"""Top-level declarations: types, privacy rules, workflows and their decorators, triggers."""

from __future__ import annotations

from dsl_helpers import A, D, L, N, S, T, errors, module
from wfkit.dsl import ast


def test_type_fields_defaults_lists_and_optional_types() -> None:
    (decl,) = module(
        """
type Order {
  title: text
  amount: number = 0
  tags: list of text
  notes: list of text?
  owner: User?
  type: text            # contextual words are names
  order: number = 1 + 2
  meta: object = {}
}
"""
    ).decls
    assert isinstance(decl, ast.TypeDecl)
    assert decl.name == "Order"
    assert [(f.name, f.type, f.default) for f in decl.fields] == [
        ("title", T("text"), None),
        ("amount", T("number"), L(0)),
        ("tags", T("list", T("text")), None),
        ("notes", T("list", T("text"), optional=True), None),
        ("owner", T("User", optional=True), None),
        ("type", T("text"), None),
        ("order", T("number"), ast.Binary(span=S, op="+", left=L(1), right=L(2))),
        ("meta", T("object"), ast.ObjectLit(span=S, entries=())),
    ]


def test_nested_list_types_and_empty_type() -> None:
    a, b = module("type A {\n  grid: list of list of number\n}\ntype B {}\n").decls
    assert isinstance(a, ast.TypeDecl) and isinstance(b, ast.TypeDecl)
    assert a.fields[0].type == T("list", T("list", T("number")))
    assert b.fields == ()


def test_one_field_per_line() -> None:
    assert errors("type A {\n  a: text b: text\n}\n") == [
        "2:11: unexpected 'b', expected one of: '=', '?', end of line"
    ]


def test_privacy_rules_grants_and_everyone() -> None:
    (decl,) = module(
        """
privacy Order {
  rule mine when this.owner == current_user {
    view all
    search
    change
    delete
  }
  rule team when current_user in this.team {
    view title, amount
  }
  everyone {
    view title
  }
}
"""
    ).decls
    assert isinstance(decl, ast.PrivacyDecl)
    assert decl.type_name == "Order"
    mine, team, everyone = decl.rules
    assert (mine.name, [g.kind for g in mine.grants]) == ("mine", ["view_all", "search", "change", "delete"])
    assert mine.cond == ast.Binary(
        span=S, op="==", left=ast.FieldAccess(span=S, obj=N("this"), name="owner"), right=N("current_user")
    )
    assert team.grants == (ast.Grant(span=S, kind="view", fields=("title", "amount")),)
    assert (everyone.name, everyone.cond) == ("everyone", None)
    assert everyone.grants == (ast.Grant(span=S, kind="view", fields=("title",)),)


def test_everyone_comes_last_and_grants_stand_one_per_line() -> None:
    assert errors("privacy T {\n  everyone {\n  }\n  rule r when true {\n  }\n}\n") == [
        "4:3: unexpected 'rule', expected '}'"
    ]
    assert errors("privacy T {\n  everyone { view all search }\n}\n") == [
        "2:23: unexpected 'search', expected end of line"
    ]


def test_privacy_with_one_line_blocks() -> None:
    (decl,) = module("privacy T {\n  everyone { view all }\n}\n").decls
    assert isinstance(decl, ast.PrivacyDecl)
    assert decl.rules[0].grants == (ast.Grant(span=S, kind="view_all"),)


def test_workflow_params_defaults_optional_and_trailing_comma() -> None:
    (decl,) = module(
        """
workflow create_order(
  title: text,
  amount: number = 0,
  note: text?,
  tags: list of text = [],
) {
  log title
}
"""
    ).decls
    assert isinstance(decl, ast.WorkflowDecl)
    assert decl.name == "create_order"
    assert [(p.name, p.type, p.default) for p in decl.params] == [
        ("title", T("text"), None),
        ("amount", T("number"), L(0)),
        ("note", T("text", optional=True), None),
        ("tags", T("list", T("text")), ast.ListLit(span=S, items=())),
    ]


def test_workflow_without_params() -> None:
    a, b = module("workflow a() {\n}\nworkflow b {\n  terminate\n}\n").decls
    assert isinstance(a, ast.WorkflowDecl) and isinstance(b, ast.WorkflowDecl)
    assert a.params == b.params == () and a.body == ()


def test_decorators() -> None:
    (decl,) = module(
        """
@exposed
@exposed()
@exposed(auth: none)
@ignore_privacy
@webhook(secret: env("STRIPE_SECRET"), scheme: "stripe", header: "X-Sig")
@retry(attempts: 3, backoff: 2 seconds)
@concurrency(limit: 5, key: request.body.customer)
@rate_limit(100 per minute, key: current_user.id)
@debounce(5 seconds, key: order.id,)
@timeout(30 seconds)
workflow w(order: Order) {
}
"""
    ).decls
    assert isinstance(decl, ast.WorkflowDecl)
    d = {x.name: x for x in decl.decorators[3:]}
    assert [x.name for x in decl.decorators] == [
        "exposed", "exposed", "exposed", "ignore_privacy", "webhook", "retry",
        "concurrency", "rate_limit", "debounce", "timeout",
    ]  # fmt: skip
    assert [(x.has_parens, x.args) for x in decl.decorators[:2]] == [(False, ()), (True, ())]
    assert decl.decorators[2].args == (ast.DecoratorArg(span=S, name="auth", value=N("none")),)
    assert d["ignore_privacy"].has_parens is False
    assert [a.name for a in d["webhook"].args] == ["secret", "scheme", "header"]
    assert d["webhook"].args[0].value == ast.Call(span=S, func="env", args=(L("STRIPE_SECRET"),))
    assert d["retry"].args[1] == ast.DecoratorArg(span=S, name="backoff", value=D(2, "second"))
    assert d["rate_limit"].args[0] == ast.DecoratorArg(
        span=S, name=None, value=ast.Rate(span=S, count=100, unit="minute")
    )
    assert d["rate_limit"].args[1].value == ast.FieldAccess(span=S, obj=N("current_user"), name="id")
    assert d["debounce"].args[0] == ast.DecoratorArg(span=S, name=None, value=D(5, "second"))
    assert d["timeout"].args == (ast.DecoratorArg(span=S, name=None, value=D(30, "second")),)


def test_rate_units_are_singular() -> None:
    (decl,) = module("@rate_limit(2 per seconds)\n@rate_limit(1.5 per week)\nworkflow w() {\n}\n").decls
    assert isinstance(decl, ast.WorkflowDecl)
    assert [a.args[0].value for a in decl.decorators] == [
        ast.Rate(span=S, count=2, unit="second"),
        ast.Rate(span=S, count=1.5, unit="week"),
    ]


def test_every_triggers() -> None:
    decls = module(
        """
every 1 day at "03:00" run close_unpaid()
every 15 minutes run tick
every 1 week at "09:00 Europe/Paris" run report(kind: "weekly")
every 2 months run bill()
every 0.5 seconds run fast()
"""
    ).decls
    assert all(isinstance(d, ast.EveryTrigger) for d in decls)
    assert [(d.amount, d.unit, d.at) for d in decls] == [  # type: ignore[union-attr]
        (1, "day", "03:00"),
        (15, "minute", None),
        (1, "week", "09:00 Europe/Paris"),
        (2, "month", None),
        (0.5, "second", None),
    ]
    assert decls[0].run == ast.WorkflowRef(span=S, workflow="close_unpaid")  # type: ignore[union-attr]
    assert decls[1].run == ast.WorkflowRef(span=S, workflow="tick")  # type: ignore[union-attr]
    assert decls[2].run.args == (A("kind", L("weekly")),)  # type: ignore[union-attr]


def test_months_only_in_every_triggers() -> None:
    assert errors("workflow w() {\n  let d = 1 month\n}\n")[0].startswith("2:13: unexpected 'month'")


def test_every_time_is_a_plain_string() -> None:
    assert errors('every 1 day at "{x}" run f()\n') == [
        "1:16: the time of an 'every' trigger cannot hold '{…}' (write \\{ for a literal brace)"
    ]


def test_db_triggers() -> None:
    decls = module(
        """
on create Order run welcome(order: this)
on change Order when this.paid and not before.paid run thank(order: this)
on delete User when before.email != empty run goodbye()
"""
    ).decls
    assert [(d.event, d.type_name) for d in decls] == [  # type: ignore[attr-defined]
        ("create", "Order"),
        ("change", "Order"),
        ("delete", "User"),
    ]
    create, change, delete = decls
    assert isinstance(create, ast.DbTrigger) and isinstance(change, ast.DbTrigger) and isinstance(delete, ast.DbTrigger)
    assert create.cond is None
    assert create.run == ast.WorkflowRef(span=S, workflow="welcome", args=(A("order", N("this")),))
    assert change.cond == ast.Binary(
        span=S,
        op="and",
        left=ast.FieldAccess(span=S, obj=N("this"), name="paid"),
        right=ast.Unary(span=S, op="not", operand=ast.FieldAccess(span=S, obj=N("before"), name="paid")),
    )
    assert delete.run.args == ()


def test_declarations_may_share_lines_only_with_their_own_parts() -> None:
    decls = module("type A {}  workflow w() {}  every 1 day run w()\n").decls
    assert [type(d).__name__ for d in decls] == ["TypeDecl", "WorkflowDecl", "EveryTrigger"]


def test_comments_and_blank_lines_anywhere() -> None:
    decls = module(
        """
# heading

type A {   # trailing
  # inside

  a: text  # after a field

}
workflow w() {  # header
  # only a comment

  log "x"  # after a statement
}
# the end"""
    ).decls
    assert len(decls) == 2
