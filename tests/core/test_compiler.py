"""The compiler: every error collected with its position, types checked, the action graph built."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from wfkit.core import query as Q
from wfkit.core import values as V
from wfkit.core.app import ActionStep, CExpr, ForEachStep, IfStep, LetStep, ScheduleStep
from wfkit.core.context import RunInfo
from wfkit.core.errors import CompileError, SourceError
from wfkit.core.frame import Frame, RunState
from wfkit.core.runs import RunRecord
from wfkit.core.services import Services
from wfkit.core.things import Thing
from wfkit.plugins.loader import compile_sources
from wfkit.testing import compile_source


def errors(src: str) -> list[str]:
    """Each error as `LINE:COL: message`."""
    _, syntax, meaning = compile_sources({"t.wf": src})
    return [f"{d.span.line}:{d.span.column}: {d.message}" for d in syntax + meaning if d.severity == "error"]


def warnings(src: str) -> list[str]:
    _, _, meaning = compile_sources({"t.wf": src})
    return [f"{d.span.line}: {d.message}" for d in meaning if d.severity == "warning"]


def frame(user: Thing | None = None, **names: Any) -> Frame:
    """A frame in which a compiled expression can be evaluated, with these names bound."""
    run = RunInfo("r", "w", user=user)
    return Frame(names, run, Services(), RunState(RunRecord("r", "w", "test", V.now(), {})))


def value(expr: CExpr | None, **names: Any) -> Any:
    """What a (synchronous) compiled expression gives with these names bound."""
    assert expr is not None and not expr.is_async
    return expr.fn(frame(**names))


def one_error(src: str) -> str:
    errs = errors(src)
    assert len(errs) == 1, errs
    return errs[0]


def test_clean_app_compiles_to_a_graph() -> None:
    app = compile_source(
        """
type Order {
  title: text
  amount: number = 0
}
workflow main(n: number) {
  let x = n + 1
  if x > 2 {
    log "big"
  } else {
    log "small"
  }
  for each i in [1, 2] {
    log "i {i}"
  }
  schedule main(n: 1) in 1 hour
}
"""
    )
    wf = app.workflows["main"]
    assert [type(s) for s in wf.body] == [LetStep, IfStep, ForEachStep, ScheduleStep]
    if_step = wf.body[1]
    assert isinstance(if_step, IfStep) and isinstance(if_step.branches[0][1][0], ActionStep)
    assert wf.body[0].label == "let x = n + 1"
    assert wf.step_count == 7
    assert value(app.types["Order"].fields["amount"].default) == 0
    assert "email" in app.types["User"].fields


def test_nesting_too_deep_for_the_compiler_is_an_error_not_a_crash() -> None:
    """300 nested lists once crashed `wf check` with RecursionError in the compiler; the parser
    now refuses the nesting, with its position, and the compiler never sees it."""
    src = "workflow w() {\n  let x = " + "[" * 300 + "1" + "]" * 300 + "\n  log x\n}\n"
    [error] = errors(src)
    assert error.startswith("2:") and "nested too deeply" in error
    with pytest.raises(SourceError, match="nested too deeply"):
        compile_source(src)


def test_every_error_is_reported_at_once() -> None:
    errs = errors(
        """
type Order {
  owner: Usr
}
workflow main(n: number) {
  let x = y + 1
  z = frobnicate(a: 1)
  schedule nowhere()
  log order.title
}
"""
    )
    assert errs == [
        "3:10: unknown type 'Usr' (did you mean 'User'?)",
        "6:11: unknown name 'y'",
        "7:3: unknown action 'frobnicate'",
        "8:12: unknown workflow 'nowhere'",
        "9:7: unknown name 'order'",
    ]


def test_unknown_field_and_password_are_errors() -> None:
    src = """
type Order {
  title: text
}
workflow main(o: Order, u: User) {
  log o.titel
  log u.password
}
"""
    assert errors(src) == [
        "6:7: Order has no field 'titel' (did you mean 'title'?)",
        "7:7: a user's password is never readable",
    ]


def test_type_mismatches_known_at_compile_time() -> None:
    src = """
workflow target(n: number) {
  log n
}
workflow main(t: text, b: boolean, d: date) {
  let a = b + 1
  if t {
    log "x"
  }
  schedule target(n: "five")
  call target(n: 1, extra: 2)
  let c = d < 3
}
"""
    assert errors(src) == [
        "6:11: cannot use + on boolean and number",
        "7:6: a `if` condition must be a boolean, got text (use `is empty` or `is not empty` to test a value)",
        "10:22: 'n' of target must be number, got text",
        "11:21: call target: it has no parameter 'extra' (parameters: n)",
        "12:11: cannot compare date < number",
    ]


def test_missing_arguments_of_schedule_call_and_actions() -> None:
    src = """
workflow target(n: number, m: text = "x", o: text?) {
  log n
}
workflow main() {
  schedule target()
  call target(m: "y")
}
"""
    assert errors(src) == [
        "6:12: schedule target: missing argument(s) n",
        "7:8: call target: missing argument(s) n",
    ]


def test_duplicates_are_errors() -> None:
    src = """
type A {
  x: text
  x: number
}
type A {
  y: text
}
workflow w(p: text, p: number) {
  log { k: 1, k: 2 }
}
workflow w() {
  log "again"
}
"""
    errs = errors(src)
    assert any("the field 'x' is declared twice in A" in e for e in errs)
    assert any("the type 'A' is declared twice" in e for e in errs)
    assert any("the parameter 'p' is declared twice" in e for e in errs)
    assert any("the key 'k' is given twice" in e for e in errs)
    assert any(e.startswith("12:") and "the workflow 'w' is declared twice" in e for e in errs)


def test_binding_a_non_action_suggests_let() -> None:
    assert one_error("workflow main(a: number) {\n  x = a\n}\n") == (
        "2:3: unknown action 'a' (to bind a value, write `let x = a`)"
    )


def test_statements_after_return_warn() -> None:
    src = """
workflow main() {
  return { a: 1 }
  log "never"
}
"""
    assert warnings(src) == ["4: this statement never runs: the return on line 3 always ends the run before it"]
    compile_source(src)  # a warning does not stop the app


def test_search_checks_fields_and_name_clashes() -> None:
    src = """
type Order {
  amount: number
  paid: boolean
}
workflow main(amount: number) {
  let a = search Order where amount > 3
  let b = search Order where paid == false order by nope
  let c = search Order where paid > 1
  let d = search Ordr
}
"""
    errs = errors(src)
    assert errs[0].startswith("7:30: 'amount' is both a field of Order and a name in this workflow")
    assert "8:11: Order has no field 'nope' to order by" in errs[1]
    assert errs[2] == "9:30: cannot compare the field 'paid' (boolean) with number"
    assert errs[3] == "10:18: unknown type 'Ordr' (did you mean 'Order'?)"


def test_decorators_are_checked() -> None:
    src = """
@exposed(auth: everyone)
@retri(attempts: 3)
@rate_limit(100 per minute, key: nope)
@timeout(5)
workflow main(n: number) {
  log n
}
"""
    errs = errors(src)
    assert errs == [
        "2:10: auth must be one of: user, admin, none",
        "3:1: unknown decorator '@retri' (did you mean '@retry'?)",
        "4:34: unknown name 'nope'",
        "5:10: @timeout takes a duration such as 30 seconds",
    ]


def test_decorators_fill_the_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    app = compile_source(
        """
@exposed(auth: admin)
@ignore_privacy
@retry(attempts: 3, backoff: 2 seconds)
@concurrency(limit: 2, key: n)
@rate_limit(10 per second)
@debounce(5 seconds)
@timeout(30 seconds)
workflow main(n: number) {
  log n
}
@webhook(secret: env("HOOK_SECRET"), scheme: "hmac-sha256", header: "X-Sig")
workflow hook() {
  log "hi"
}
"""
    )
    wf = app.workflows["main"]
    assert wf.exposed == "admin" and wf.ignore_privacy and wf.public
    assert wf.flow.retry_attempts == 3 and wf.flow.retry_backoff.total_seconds() == 2
    assert wf.flow.concurrency_limit == 2 and value(wf.flow.concurrency_key, n=7) == 7
    assert wf.flow.rate_count == 10 and wf.flow.rate_period == timedelta(seconds=1) and wf.flow.rate_key is None
    assert wf.flow.debounce == timedelta(seconds=5) and wf.flow.timeout == timedelta(seconds=30)
    hook = app.workflows["hook"]
    assert hook.webhook is not None and hook.webhook.scheme == "hmac-sha256" and hook.webhook.header == "X-Sig"
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    assert value(hook.webhook.secret) == "s3cret"
    assert hook.public and hook.exposed is None


def test_triggers_are_checked() -> None:
    src = """
type Order {
  paid: boolean
}
workflow thank(order: Order) {
  log "x"
}
every 1 day at "03:00 Mars/Olympus" run thank()
every 15 minutes at "03:00" run thank(order: empty)
on change Order when this.paid and not before.paid run thank(order: this)
on create Ordr run thank(order: this)
"""
    errs = errors(src)
    assert errs[0].startswith("8:16: unknown time zone 'Mars/Olympus'")
    assert errs[1] == "8:41: every … run thank: missing argument(s) order"
    assert errs[2].startswith("9:21: `at` needs a unit of days, weeks or months")
    assert errs[3].startswith("11:1: unknown type 'Ordr'")
    app, _, _ = compile_sources({"t.wf": src.replace("Mars/Olympus", "Europe/Paris")})
    assert app.triggers[0].event == "change" and app.triggers[0].type_name == "Order"
    now_paid, unpaid = Thing("Order", "o1", {"paid": True}), Thing("Order", "o1", {"paid": False})
    assert value(app.triggers[0].cond, this=now_paid, before=unpaid) is True
    assert value(app.triggers[0].cond, this=now_paid, before=now_paid) is False
    assert app.recurring[0].zone == "Europe/Paris" and app.recurring[0].at == (3, 0)


def test_privacy_rules_compile_to_conditions() -> None:
    app = compile_source(
        """
type Order {
  title: text
  owner: User
}
privacy Order {
  rule mine when this.owner == current_user {
    view all
    search
  }
  everyone {
    view title
  }
}
"""
    )
    rules = app.privacy["Order"].rules
    assert [r.name for r in rules] == ["mine", "everyone"]
    assert rules[0].view_all and rules[0].search and rules[0].cond is not None
    ann = Thing("User", "u1")
    assert rules[0].cond.build(frame(user=ann)) == Q.Cmp("owner", "==", ann)  # this.owner == current_user
    assert rules[1].view == frozenset({"title"}) and rules[1].cond is None


def test_privacy_errors() -> None:
    src = """
type Order {
  title: text
}
privacy Order {
  rule r when this.nope == current_user {
    view titel
  }
}
privacy Nothing {
  everyone {
    search
  }
}
"""
    errs = errors(src)
    assert errs == [
        "6:15: Order has no field 'nope'",
        "7:5: Order has no field 'titel' (did you mean 'title'?)",
        "10:1: unknown type 'Nothing'",
    ]


def test_action_arguments_are_checked() -> None:
    src = """
workflow main() {
  log
  log "x"(nope: 1)
}
"""
    errs = errors(src)
    assert errs == ["3:3: log needs a value after it", "4:11: log has no argument 'nope' (it takes none)"]


def test_functions_are_checked() -> None:
    src = """
workflow main() {
  let a = count()
  let b = nope(1)
  let c = join([1], ", ", sep: 1)
}
"""
    errs = errors(src)
    assert errs[0].startswith("3:11: count() takes 1 argument(s), got 0")
    assert errs[1] == "4:11: unknown function 'nope'"
    assert errs[2].startswith("5:27: join() has no named argument 'sep'")


def test_source_error_renders_file_line_col_and_caret() -> None:
    with pytest.raises(SourceError) as info:
        compile_source("workflow main() {\n  let x = nope\n}\n", file="app.wf")
    assert isinstance(info.value, CompileError)
    assert str(info.value) == "app.wf:2:11: unknown name 'nope'\n      let x = nope\n              ^^^^"


def test_which_workflows_can_suspend() -> None:
    app = compile_source(
        """
type Note {
  text: text
}
workflow pure(n: number) {
  let x = n * 2
  if x > 3 {
    return { x: x }
  }
}
workflow acts() {
  log "x"
}
workflow searches() {
  let found = count(search Note)
}
workflow calls_pure() {
  r = call pure(n: 1)
}
workflow calls_acts() {
  r = call acts()
}
workflow schedules() {
  schedule acts() in 1 day
}
"""
    )
    suspends = {name: wf.suspends for name, wf in app.workflows.items()}
    assert suspends == {
        "pure": False,
        "acts": True,
        "searches": True,
        "calls_pure": False,
        "calls_acts": True,
        "schedules": False,
    }


ANONYMOUS_SEARCH = """type Account {
  email: text
  owner: User
}
privacy Account {
  rule mine when this.owner == current_user {
    view all
    search
  }
}
type Note {
  body: text
}
privacy Note {
  everyone {
    view all
    search
  }
}
@exposed(auth: none)
workflow signup_check(email: text) {
  let taken = search Account where email == email_given
  let notes = search Note
  return { taken: count(taken) > 0, notes: count(notes) }
}
"""


def test_a_search_an_anonymous_caller_cannot_see_through_warns() -> None:
    src = ANONYMOUS_SEARCH.replace("email == email_given", 'email == "x"')
    found = warnings(src)
    assert len(found) == 1 and found[0].startswith("22: anyone may call this workflow (auth: none)"), found
    assert "Account" in found[0] and "@ignore_privacy" in found[0]  # Note's `everyone` may search: no warning
    assert warnings(src.replace("@exposed(auth: none)", "@exposed(auth: none)\n@ignore_privacy")) == []
    assert warnings(src.replace("@exposed(auth: none)", "@exposed")) == []  # a token: a known caller
