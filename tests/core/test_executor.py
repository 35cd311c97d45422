"""The executor: every statement kind, run records, limits, scheduling requests, the journal."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wfkit.core.context import ActionContext
from wfkit.core.errors import ActionError
from wfkit.core.executor import Executor
from wfkit.core.runs import RunRecord, ms_of
from wfkit.core.scheduler import MemoryScheduler
from wfkit.core.services import Limits, Services
from wfkit.plugins import ActionSpec, ParamSpec, hookimpl
from wfkit.testing import compile_source, run_source, run_workflow


async def run(src: str, wf: str = "main", services: Services | None = None, **args: Any) -> RunRecord:
    return await run_source(src, wf, services=services, **args)


async def ok(src: str, wf: str = "main", **args: Any) -> dict[str, Any]:
    record = await run(src, wf, **args)
    assert record.status == "success", record.error
    assert record.response is not None
    return record.response


# ---------------------------------------------------------------- bindings and flow


async def test_let_arithmetic_and_interpolation() -> None:
    src = """
workflow main(a: number, b: number = 2) {
  let total = a * b + 1
  let label = "total {total} of {a}x{b}"
  return { total: total, label: label, half: total / 2, rest: total % 4 }
}
"""
    assert await ok(src, a=5) == {"total": 11, "label": "total 11 of 5x2", "half": 5.5, "rest": 3}


async def test_let_rebinding_inside_if_and_loop_replaces_the_value() -> None:
    src = """
workflow main(items: list of number) {
  let sum = 0
  let seen = "none"
  for each n in items {
    let sum = sum + n
    if n > 2 {
      let seen = "big {n}"
    }
  }
  return { sum: sum, seen: seen, last: n }
}
"""
    assert await ok(src, items=[1, 3, 2]) == {"sum": 6, "seen": "big 3", "last": 2}


async def test_if_else_if_else_picks_one_branch() -> None:
    src = """
workflow main(n: number) {
  if n < 0 {
    return { sign: "negative" }
  } else if n == 0 {
    return { sign: "zero" }
  } else {
    return { sign: "positive" }
  }
}
"""
    assert await ok(src, n=-3) == {"sign": "negative"}
    assert await ok(src, n=0) == {"sign": "zero"}
    assert await ok(src, n=7) == {"sign": "positive"}


async def test_when_skips_and_records_the_values_it_saw() -> None:
    src = """
workflow main(n: number, secret_code: text = "hunter22") {
  log "small" when n < 10 and secret_code != ""
  log "always"
  x = call helper() when n > 100
  return { x_is_empty: x is empty }
}
workflow helper() {
  return { a: 1 }
}
"""
    record = await run(src, n=42)
    assert record.status == "success"
    assert record.response == {"x_is_empty": True}
    skipped = [s for s in record.steps if s["status"] == "skipped"]
    assert [s["line"] for s in skipped] == [3, 5]
    assert skipped[0]["seen"] == {"n": 42, "secret_code": "[redacted]"}
    assert [entry["message"] for entry in record.logs] == ["always"]


async def test_return_ends_the_run_and_terminate_returns_empty_response() -> None:
    src = """
workflow main(stop: boolean) {
  terminate when stop
  return { went: "on" }
  log "never"
}
"""
    assert await ok(src, stop=True) == {}
    assert await ok(src, stop=False) == {"went": "on"}


async def test_fail_gives_message_and_line() -> None:
    src = """
workflow main(amount: number) {
  if amount <= 0 {
    fail "amount must be positive, got {amount}"
  }
  return { ok: true }
}
"""
    record = await run(src, amount=-5)
    assert record.status == "failed"
    assert record.error == {"message": "amount must be positive, got -5", "line": 4}
    assert record.response is None
    assert record.steps[-1]["status"] == "failed"


async def test_runtime_error_names_the_statement_line() -> None:
    src = """
workflow main(a: number) {
  let x = 1
  let y = x / a
  return { y: y }
}
"""
    record = await run(src, a=0)
    assert record.status == "failed"
    assert record.error == {"message": "division by zero", "line": 4}


async def test_call_runs_inside_the_run_and_binds_its_return() -> None:
    src = """
workflow double(n: number) {
  log "doubling {n}"
  return { value: n * 2 }
}
workflow main(n: number) {
  r = call double(n: n)
  nothing = call quiet()
  return { got: r.value, nothing: nothing is empty }
}
workflow quiet() {
  terminate
}
"""
    record = await run(src, n=4)
    assert record.response == {"got": 8, "nothing": True}
    assert [entry["message"] for entry in record.logs] == ["doubling 4"]
    assert any(s.get("workflow") == "double" for s in record.steps)


async def test_fail_inside_call_fails_the_caller() -> None:
    src = """
workflow inner() {
  fail "inner broke"
}
workflow main() {
  call inner()
  return { reached: true }
}
"""
    record = await run(src)
    assert record.status == "failed"
    assert record.error == {"message": "inner broke", "line": 3}


async def test_call_depth_is_guarded() -> None:
    src = """
workflow main(n: number = 0) {
  call main(n: n + 1)
}
"""
    record = await run(src)
    assert record.status == "failed"
    assert "nested calls" in record.error["message"]  # type: ignore[index]


async def test_for_each_limit_is_a_run_error() -> None:
    src = """
workflow main(items: list of number) {
  for each i in items {
    log "x"
  }
}
"""
    services = Services(limits=Limits(max_iterations=3))
    assert (await run(src, services=services, items=[1, 2, 3])).status == "success"
    record = await run(src, services=Services(limits=Limits(max_iterations=3)), items=[1, 2, 3, 4])
    assert record.status == "failed"
    assert "exceeds WF_MAX_ITERATIONS (3)" in record.error["message"]  # type: ignore[index]
    assert record.logs == []  # nothing of the loop ran


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WF_MAX_ITERATIONS", "50")
    monkeypatch.setenv("WF_MAX_CHAIN", "7")
    limits = Limits.from_env()
    assert (limits.max_iterations, limits.max_chain) == (50, 7)
    monkeypatch.setenv("WF_MAX_CHAIN", "lots")
    with pytest.raises(Exception, match="WF_MAX_CHAIN must be a whole number"):
        Limits.from_env()


async def test_timeout_fails_the_run() -> None:
    src = """
@timeout(0.05 seconds)
workflow main(items: list of number) {
  for each i in items {
    x = nap()
  }
}
"""

    class Nap:
        @hookimpl
        def register_actions(self) -> list[ActionSpec]:
            async def nap(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Any:
                import asyncio

                await asyncio.sleep(0.02)
                return 1

            return [ActionSpec("nap", nap, result="number")]

    record = await run_source(src, "main", plugins=[Nap()], items=list(range(20)))
    assert record.status == "failed"
    assert "timeout of 0.05 seconds" in record.error["message"]  # type: ignore[index]


# ---------------------------------------------------------------- scheduling


async def test_schedule_requests_are_released_only_on_success() -> None:
    src = """
workflow later(n: number) {
  log "later {n}"
}
workflow main(n: number, boom: boolean = false) {
  h = schedule later(n: n) in 2 days
  schedule later(n: n + 1)
  fail "no" when boom
  return { id: h.id, at: h.run_at }
}
"""
    app = compile_source(src)
    scheduler = MemoryScheduler()
    services = Services(scheduler=scheduler)
    before = datetime.now(UTC)
    record = await run_workflow(app, "main", services=services, n=1)
    assert record.status == "success"
    pending = scheduler.pending()
    assert [r.args for r in pending] == [{"n": 2}, {"n": 1}]
    assert pending[1].id == record.response["id"]  # type: ignore[index]
    assert pending[1].run_at - before >= timedelta(days=2)
    assert all(r.chain == 2 and r.origin == record.id for r in pending)
    assert record.scheduled_count == 2

    failed = await run_workflow(app, "main", services=Services(scheduler=(s2 := MemoryScheduler())), n=1, boom=True)
    assert failed.status == "failed"
    assert s2.pending() == []


async def test_schedule_list_spaces_runs_by_every() -> None:
    src = """
workflow one(x: text) {
  log x
}
workflow main(items: list of text) {
  hs = schedule one(x: item) for each item in items in 1 hour every 0.5 seconds
  return { count: count(hs) }
}
"""
    scheduler = MemoryScheduler()
    record = await run(src, services=Services(scheduler=scheduler), items=["a", "b", "c"])
    assert record.response == {"count": 3}
    runs = scheduler.pending()
    assert [r.args["x"] for r in runs] == ["a", "b", "c"]
    gaps = [(b.run_at - a.run_at).total_seconds() for a, b in itertools.pairwise(runs)]
    assert gaps == [0.5, 0.5]
    assert runs[0].run_at - datetime.now(UTC) > timedelta(minutes=59)


async def test_schedule_list_when_false_schedules_nothing() -> None:
    src = """
workflow one(x: text) {
  log x
}
workflow main(items: list of text) {
  schedule one(x: item) for each item in items when count(items) > 5
}
"""
    scheduler = MemoryScheduler()
    record = await run(src, services=Services(scheduler=scheduler), items=["a"])
    assert record.status == "success" and scheduler.pending() == []


async def test_cancel_own_schedule_and_others() -> None:
    src = """
workflow later() {
  log "x"
}
workflow plan() {
  h = schedule later() in 1 day
  return { id: h.id }
}
workflow main(other: text) {
  a = schedule later() in 1 day
  b = schedule later() in 1 day
  cancel a
  cancel other
  cancel "no-such-run"
  return { own: a.id, kept: b.id }
}
"""
    scheduler = MemoryScheduler()
    services = Services(scheduler=scheduler)
    app = compile_source(src)
    planned = await run_workflow(app, "plan", services=services)
    assert planned.ok and planned.response is not None
    other = planned.response["id"]
    assert [r.id for r in scheduler.pending()] == [other]  # another run's schedule, in the queue
    record = await run_workflow(app, "main", services=services, other=other)
    assert record.ok and record.response is not None, record.error
    assert [r.id for r in scheduler.pending()] == [record.response["kept"]]
    assert scheduler.cancelled == {other}  # cancelled in the queue; its own `a` never reached it
    assert record.response["own"] not in scheduler.runs


async def test_chain_limit_fails_the_run_that_would_exceed_it() -> None:
    src = """
workflow countdown(n: number) {
  schedule countdown(n: n - 1) when n > 0
}
"""
    app = compile_source(src)
    services = Services(limits=Limits(max_chain=3))
    executor = Executor(app, services)
    ok_run = await executor.run("countdown", {"n": 5}, chain=2, admin=True)
    assert ok_run.status == "success"
    record = await executor.run("countdown", {"n": 5}, chain=3, admin=True)
    assert record.status == "failed"
    assert "WF_MAX_CHAIN (3)" in record.error["message"]  # type: ignore[index]


# ---------------------------------------------------------------- actions, journal, secrets


class Counter:
    """A plugin whose action counts its calls and can fail once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_on: int | None = None

    @hookimpl
    def register_actions(self) -> list[ActionSpec]:
        async def tick(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Any:
            self.calls.append((ctx.idempotency_key, args))
            if self.fail_on is not None and args.get("n") == self.fail_on:
                self.fail_on = None
                raise ActionError(f"tick {args.get('n')} refused")
            ctx.log(f"tick {args.get('n')} with {args.get('api_key')}")
            return {"n": args.get("n")}

        return [
            ActionSpec(
                "test.tick",
                tick,
                params=(ParamSpec("n", "number", True), ParamSpec("api_key", "text")),
                result="object",
            )
        ]


async def test_journal_replays_finished_actions_with_stable_keys() -> None:
    src = """
workflow main(items: list of number) {
  for each n in items {
    r = test.tick(n: n)
  }
  return { last: r.n }
}
"""
    counter = Counter()
    app = compile_source(src, plugins=[counter])
    services = Services()
    counter.fail_on = 2
    executor = Executor(app, services)
    first = await executor.run("main", {"items": [1, 2, 3]}, run_id="run-1")
    assert first.status == "failed"
    assert first.error == {"message": "tick 2 refused", "line": 4}
    keys_first = [k for k, _ in counter.calls]
    second = await executor.run("main", {"items": [1, 2, 3]}, run_id="run-1")  # the retry of the same run
    assert second.status == "success" and second.response == {"last": 3}
    keys_second = [k for k, _ in counter.calls[2:]]
    # item 1 was journaled: not done again; item 2 gets the same idempotency key as its first attempt
    assert [a["n"] for _, a in counter.calls] == [1, 2, 2, 3]
    assert keys_second[0] == keys_first[1]
    assert [s["status"] for s in second.steps if s["kind"] == "action"] == ["replayed", "ran", "ran"]
    assert await services.journal.load("run-1") == {}  # forgotten once the run succeeded


async def test_secrets_are_redacted_from_params_logs_and_errors() -> None:
    src = """
workflow main(api_key: text, password: text, note: text) {
  r = test.tick(n: 1, api_key: api_key)
  log "password is {password}"
  fail "bad key {api_key}"
}
"""
    record = await run_source(src, "main", plugins=[Counter()], api_key="sk_live_123", password="hunter2!", note="hi")
    dumped = str(record.to_json())
    assert "sk_live_123" not in dumped and "hunter2!" not in dumped
    assert record.params == {"api_key": "[redacted]", "password": "[redacted]", "note": "hi"}
    assert [entry["message"] for entry in record.logs] == ["tick 1 with [redacted]", "password is [redacted]"]
    assert record.error == {"message": "bad key [redacted]", "line": 5}


async def test_recorded_parameters_are_json_whatever_their_types() -> None:
    """Text, numbers and yes/no are recorded as given (defaults included, `let` does not change
    them); a secret name, a date, a duration or an object goes through the redacting JSON form."""
    src = """
workflow plain(n: number, word: text, on: boolean, m: number = 2, f: number = 2.0) {
  let n2 = n * 2
}
workflow other(token: text, at: date, wait: duration, extra: object) {
  let x = 1
}
"""
    plain = await run_source(src, "plain", n=1.5, word="hi", on=True)
    assert plain.params == {"n": 1.5, "word": "hi", "on": True, "m": 2, "f": 2}
    assert type(plain.params["f"]) is int  # a whole number is written as one
    at = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
    other = await run_source(src, "other", token="tok_123", at=at, wait=timedelta(minutes=2), extra={"password": "pw1"})
    assert other.params == {
        "token": "[redacted]",
        "at": "2026-12-02T08:30:00Z",
        "wait": 120,
        "extra": {"password": "[redacted]"},
    }


async def test_action_exception_becomes_run_error_with_line() -> None:
    class Broken:
        @hookimpl
        def register_actions(self) -> list[ActionSpec]:
            async def boom(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Any:
                raise ValueError("socket closed")

            return [ActionSpec("boom", boom)]

    record = await run_source("workflow main() {\n  boom()\n}\n", "main", plugins=[Broken()])
    assert record.error == {"message": "boom failed: socket closed", "line": 2}


async def test_missing_required_parameter() -> None:
    app = compile_source("workflow main(n: number) {\n  log n\n}\n")
    record = await Executor(app).run("main", {})
    assert record.status == "failed"
    assert record.error["message"] == "Missing parameter for workflow main: parameter n"  # type: ignore[index]


async def test_request_is_empty_outside_http_and_readable_inside() -> None:
    src = """
workflow main() {
  return { has: request is not empty, who: request.body.name }
}
"""
    app = compile_source(src)
    assert (await run_workflow(app, "main")).response == {"has": False, "who": None}
    rec = await run_workflow(app, "main", request={"body": {"name": "ada"}, "query": {}, "headers": {}, "raw": ""})
    assert rec.response == {"has": True, "who": "ada"}


async def test_dates_and_durations() -> None:
    src = """
workflow main(start: date, wait: duration) {
  let end = start + wait + 1 day
  let span = end - start
  return { end: end, hours: span / 1 hour, text: format_date(end, "%Y-%m-%d"), later: end > start }
}
"""
    resp = await ok(src, start="2026-12-01T09:00:00Z", wait="PT2H")
    assert resp == {"end": "2026-12-02T11:00:00Z", "hours": 26, "text": "2026-12-02", "later": True}


STRAIGHT = """
workflow pure(n: number) {
  let total = n * 2 + 1
  return { total: total, label: "n={n}" }
}
workflow no_return(n: number) {
  let twice = n * 2
}
workflow leaky(word: text) {
  let api_key = "key_{word}"
  let box = { k: api_key }
  let x = [1, 2][box.k]
  return { x: x }
}
workflow token_inside(word: text) {
  let session = { token: "tok_{word}", n: 1 }
  let x = [1, 2][session.token]
}
"""


def _comparable(record: RunRecord) -> dict[str, Any]:
    out = record.to_json()
    for key in ("id", "started_at", "finished_at", "duration_ms"):
        del out[key]
    out["steps"] = [{k: v for k, v in step.items() if k != "ms"} for step in record.steps]
    return out


@pytest.mark.parametrize(
    ("workflow", "args"),
    [("pure", {"n": 21}), ("no_return", {"n": 2}), ("leaky", {"word": "abcdef"}), ("token_inside", {"word": "abcdef"})],
)
async def test_a_straight_body_of_lets_and_a_return_is_recorded_as_every_other_body(
    workflow: str, args: dict[str, Any]
) -> None:
    """Such a body runs without a coroutine a statement (`Executor._run_straight`): its record, its
    failure and the secrets it scrubs are those of the same body run statement by statement."""
    app = compile_source(STRAIGHT)
    executor = Executor(app)
    wf = app.workflows[workflow]
    straight = await executor.run(wf, args)
    assert executor._straights[wf] is not None  # it took the straight path
    executor._straights[wf] = None  # the same body, statement by statement
    general = await executor.run(wf, args)
    assert _comparable(straight) == _comparable(general)
    assert "abcdef" not in str(straight.to_json()["error"])
    assert straight.went_straight is (straight.status == "success" and all(s["ms"] < 0.1 for s in straight.steps))
    assert not general.went_straight  # (only the straight path says so: it is a shortcut for the run log)


async def test_a_straight_bodys_records_are_made_once_when_read_and_are_its_own() -> None:
    executor = Executor(compile_source(STRAIGHT))
    record = await executor.run("pure", {"n": 1})
    assert record.step_count == 2  # counted without making them
    steps = record.steps
    assert [(s["kind"], s["status"]) for s in steps] == [("let", "ran"), ("return", "ran")]
    assert all(type(s["ms"]) is float and s["ms"] >= 0 for s in steps)
    assert record.steps is steps and record.step_count == 2
    other = await executor.run("pure", {"n": 2})
    assert other.steps[0] is not steps[0]  # each run's own records, not the workflow's shared ones
    other.steps[0]["note"] = "x"
    assert "note" not in (await executor.run("pure", {"n": 3})).steps[0]


async def test_a_body_with_a_condition_or_an_action_is_not_run_straight() -> None:
    app = compile_source(
        """
workflow conditional(n: number) {
  if n > 1 {
    let n = n * 2
  }
  return { n: n }
}
workflow acting(n: number) {
  log "n is {n}"
  return { n: n }
}
"""
    )
    executor = Executor(app)
    for name in ("conditional", "acting"):
        record = await executor.run(name, {"n": 2})
        assert record.status == "success", record.error
        assert executor._straights.get(app.workflows[name]) is None


TIMES_MS = [0.0, 0.0004, 0.0006, 0.0123456, 1.23449, 1.2345678, 99.9999, 12345.6789012, 86_400_000.25]


@pytest.mark.parametrize("ms", TIMES_MS)
def test_a_time_is_kept_to_the_microsecond_as_round_would_keep_it(ms: float) -> None:
    assert ms_of(ms) == pytest.approx(round(ms, 3), abs=1e-9)
    assert ms_of(ms) == float(f"{ms_of(ms):.3f}")  # no digit past the microsecond
