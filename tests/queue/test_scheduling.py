"""schedule … in/at, handles, cancel (handle, id, list; a no-op once started), run records,
listing with redaction, cancel by workflow, pause and resume, WF_MAX_CHAIN through the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from queue_helpers import Start, eventually, runs_of
from wfkit.core.executor import Executor
from wfkit.core.services import Limits

SOURCE = """
workflow later(n: number, api_token: text = "tok-123456") {
  log "later {n}"
}
workflow main(n: number, delay: number = 0) {
  h = schedule later(n: n) in delay * 1 second
  return { id: h.id }
}
workflow at_time(moment: date) {
  h = schedule later(n: 7) at moment
  return { id: h.id }
}
workflow canceller(ids: list of text) {
  cancel ids
}
workflow handles() {
  a = schedule later(n: 1) in 1 hour
  b = schedule later(n: 2) in 1 hour
  c = schedule later(n: 3) in 1 hour
  return { ids: [a.id, b.id, c.id] }
}
workflow cancel_handle() {
  h = schedule later(n: 9) in 1 hour
  cancel h
}
"""


async def test_a_scheduled_run_runs_once_and_leaves_a_record(start_bg: Start) -> None:
    bg = await start_bg(SOURCE)
    ex = Executor(bg.app, bg.services)
    record = await ex.run("main", {"n": 5}, admin=True)
    assert record.status == "success", record.error
    run_id = record.response["id"]  # type: ignore[index]

    async def done() -> bool:
        return len(await runs_of(bg, "later")) == 1

    await eventually(done, what="the scheduled run")
    saved = await bg.store.runs.get(run_id)
    assert saved["status"] == "success"
    assert saved["trigger"] == "schedule"
    assert saved["chain"] == 2
    assert saved["params"]["api_token"] == "[redacted]"
    assert [entry["message"] for entry in saved["logs"]] == ["later 5"]
    assert await bg.list_scheduled() == []


async def test_a_repeatable_run_remembers_its_release_and_an_http_call_leaves_nothing(start_bg: Start) -> None:
    """A run that may run again with its id (durable: resumed, retried, delivered again) submits
    its scheduled runs once, remembered by a key for 7 days; a call nobody repeats (an HTTP call
    without @retry runs with durable=False) leaves no key, so Redis does not grow with traffic."""
    bg = await start_bg(SOURCE, worker=False)
    ex = Executor(bg.app, bg.services)
    once = await ex.run("main", {"n": 1, "delay": 3600}, admin=True)
    assert await bg.redis.exists(bg.queue.key("origin", once.id)) == 1
    again = await ex.run("main", {"n": 1, "delay": 3600}, admin=True, run_id=once.id)  # a retry of it
    assert again.status == "success", again.error
    assert [x["id"] for x in await bg.list_scheduled("later")] == [once.response["id"]]  # type: ignore[index]
    call = await ex.run("main", {"n": 2, "delay": 3600}, admin=True, trigger="http", durable=False)
    assert await bg.redis.exists(bg.queue.key("origin", call.id)) == 0
    assert len(await bg.list_scheduled("later")) == 2


async def test_at_a_date_and_listing_with_redaction(start_bg: Start) -> None:
    bg = await start_bg(SOURCE, worker=False)
    ex = Executor(bg.app, bg.services)
    when = datetime.now(UTC) + timedelta(days=3)
    record = await ex.run("at_time", {"moment": when}, admin=True)
    listed = await bg.list_scheduled()
    assert [(x["id"], x["workflow"]) for x in listed] == [(record.response["id"], "later")]  # type: ignore[index]
    assert abs(datetime.fromisoformat(listed[0]["run_at"]) - when) < timedelta(milliseconds=2)
    assert listed[0]["args"] == {"n": 7}
    await ex.run("main", {"n": 1, "delay": 3600}, admin=True)
    assert [x["workflow"] for x in await bg.list_scheduled("later")] == ["later", "later"]
    assert await bg.list_scheduled("main") == []


async def test_secret_arguments_are_redacted_in_the_list(start_bg: Start) -> None:
    src = (
        SOURCE
        + """
workflow with_secret() {
  schedule later(n: 1, api_token: "s3cr3t-value") in 1 hour
}
"""
    )
    bg = await start_bg(src, worker=False)
    await Executor(bg.app, bg.services).run("with_secret", {}, admin=True)
    (listed,) = await bg.list_scheduled()
    assert listed["args"] == {"n": 1, "api_token": "[redacted]"}


async def test_cancel_by_handle_id_and_list_and_not_after_it_ran(start_bg: Start) -> None:
    bg = await start_bg(SOURCE)
    ex = Executor(bg.app, bg.services)
    ids = (await ex.run("handles", {}, admin=True)).response["ids"]  # type: ignore[index]
    assert len(await bg.list_scheduled()) == 3
    record = await ex.run("canceller", {"ids": ids[:2]}, admin=True)
    assert record.status == "success"
    assert [x["id"] for x in await bg.list_scheduled()] == ids[2:]
    assert await bg.cancel([ids[2]]) == 1
    assert await bg.cancel([ids[2], "no-such-id"]) == 0  # already cancelled, unknown: no-ops
    # a handle cancelled by the run that scheduled it never reaches the queue
    await ex.run("cancel_handle", {}, admin=True)
    assert await bg.list_scheduled() == []
    # a run that has finished cannot be cancelled
    done = (await ex.run("main", {"n": 1}, admin=True)).response["id"]  # type: ignore[index]

    async def finished() -> bool:
        return await bg.store.runs.get(done) is not None

    await eventually(finished)
    assert await bg.cancel([done]) == 0
    assert (await bg.store.runs.get(done))["status"] == "success"


async def test_cancel_workflow_and_pause_resume(start_bg: Start) -> None:
    bg = await start_bg(SOURCE)
    ex = Executor(bg.app, bg.services)
    await bg.pause()
    assert bg.paused
    for n in range(3):
        await ex.run("main", {"n": n}, admin=True)
    await ex.run("main", {"n": 99, "delay": 3600}, admin=True)
    assert len(await bg.list_scheduled("later")) == 4
    await ex.run("handles", {}, admin=True)
    assert await bg.cancel_workflow("later") == 7
    assert await bg.list_scheduled() == []

    for n in range(3):
        await ex.run("main", {"n": n}, admin=True)
    assert len(await bg.list_scheduled()) == 3  # paused: due, and waiting
    await bg.resume()
    assert not bg.paused

    async def all_ran() -> bool:
        return len(await runs_of(bg, "later")) == 3

    await eventually(all_ran)
    assert await bg.healthy()


async def test_a_run_that_fails_schedules_nothing(start_bg: Start) -> None:
    src = (
        SOURCE
        + """
workflow failing() {
  schedule later(n: 1)
  fail "no"
}
"""
    )
    bg = await start_bg(src, worker=False)
    record = await Executor(bg.app, bg.services).run("failing", {}, admin=True)
    assert record.status == "failed"
    assert await bg.list_scheduled() == []


async def test_the_chain_limit_holds_through_the_queue(start_bg: Start) -> None:
    src = """
workflow countdown(n: number) {
  schedule countdown(n: n - 1) when n > 0
}
"""
    bg = await start_bg(src, limits=Limits(max_chain=3))
    record = await Executor(bg.app, bg.services).run("countdown", {"n": 10}, admin=True)
    assert record.status == "success" and record.chain == 1

    async def two() -> bool:
        return len(await runs_of(bg, "countdown")) == 2

    await eventually(two, what="generations 2 and 3")
    rows = await runs_of(bg, "countdown")
    by_chain = {}
    for row in rows:
        full = await bg.store.runs.get(row["id"])
        by_chain[full["chain"]] = full
    assert sorted(by_chain) == [2, 3]
    assert by_chain[2]["status"] == "success"
    assert by_chain[3]["status"] == "failed"
    assert "WF_MAX_CHAIN (3)" in by_chain[3]["error"]["message"]
