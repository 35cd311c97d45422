"""Flow control for background runs: @retry (backoff, N attempts in all, `fail` not retried,
resuming the journal; the same over HTTP),
@concurrency per key, @rate_limit (excess waits, nothing dropped), @debounce (last arguments)."""

from __future__ import annotations

from typing import Any

from queue_helpers import Start, eventually, fast_settings, runs_of, slow_http
from wfkit.core.executor import Executor

RETRY = """
@retry(attempts: 3, backoff: 0.05 seconds)
workflow flaky(once: text, flaky: text) {
  http_request(method: "GET", url: once)
  http_request(method: "GET", url: flaky, timeout: 0.3)
}
@retry(attempts: 3, backoff: 0.02 seconds)
workflow hopeless(url: text) {
  http_request(method: "GET", url: url, timeout: 0.1)
}
@retry(attempts: 3, backoff: 0.02 seconds)
workflow verdict(url: text) {
  http_request(method: "GET", url: url)
  fail "never"
}
workflow start(once: text, flaky: text, slow: text, verdict: text) {
  schedule flaky(once: once, flaky: flaky)
  schedule hopeless(url: slow)
  schedule verdict(url: verdict)
}
"""


async def test_retry_tries_again_with_the_journal_and_stops_after_the_attempts(start_bg: Start) -> None:
    async with slow_http() as http:
        http.delays["/flaky"] = 5.0
        http.delays["/slow"] = 5.0
        bg = await start_bg(RETRY)
        urls = {"once": http.url("once"), "flaky": http.url("flaky"), "slow": http.url("slow")}
        await Executor(bg.app, bg.services).run("start", {**urls, "verdict": http.url("verdict")}, admin=True)

        async def hopeless_done() -> bool:
            rows = await runs_of(bg, "hopeless")
            return bool(rows) and (await bg.store.runs.get(rows[0]["id"]))["attempt"] == 3

        await eventually(hopeless_done, what="three attempts")
        (row,) = await runs_of(bg, "hopeless")
        assert row["status"] == "failed"
        assert http.hits["/slow"] == 3  # N attempts in all, as docs/language.md says
        assert await bg.list_scheduled("hopeless") == []
        # `fail` is the workflow's own verdict: not tried again
        (row,) = await runs_of(bg, "verdict")
        assert (await bg.store.runs.get(row["id"]))["attempt"] == 1
        assert http.hits["/verdict"] == 1

        async def flaky_failed_once() -> bool:
            return bool(await runs_of(bg, "flaky", "failed"))

        await eventually(flaky_failed_once)
        http.delays["/flaky"] = 0.0

        async def flaky_ok() -> bool:
            return bool(await runs_of(bg, "flaky", "success"))

        await eventually(flaky_ok)
        (row,) = await runs_of(bg, "flaky")
        full = await bg.store.runs.get(row["id"])
        assert full["attempt"] in (2, 3)
        assert http.hits["/once"] == 1  # the action that succeeded is replayed from the journal, not redone


async def test_retry_over_http_is_the_same_behaviour(start_bg: Start) -> None:
    """The HTTP path (`run_with_retries`) tries N times in all, and does not retry `fail`."""
    from types import SimpleNamespace

    from wfkit.server.auth import Caller
    from wfkit.server.wf_api import run_with_retries

    async with slow_http() as http:
        http.delays["/slow"] = 5.0
        bg = await start_bg(RETRY, worker=False)
        st: Any = SimpleNamespace(executor=Executor(bg.app, bg.services))
        admin = Caller(admin=True)
        hopeless = bg.app.workflows["hopeless"]
        record = await run_with_retries(st, hopeless, {"url": http.url("slow")}, admin, None)
        assert record.status == "failed" and record.attempt == 3
        assert http.hits["/slow"] == 3
        verdict = bg.app.workflows["verdict"]
        record = await run_with_retries(st, verdict, {"url": http.url("verdict")}, admin, None)
        assert record.status == "failed" and record.attempt == 1
        assert http.hits["/verdict"] == 1


async def test_concurrency_limit_per_key(start_bg: Start) -> None:
    src = """
@concurrency(limit: 1, key: who)
workflow hit(url: text, who: text) {
  http_request(method: "GET", url: url)
}
workflow fan(a: text, b: text) {
  schedule hit(url: a, who: "a") for each i in [1, 2, 3]
  schedule hit(url: b, who: "b") for each i in [1, 2, 3]
}
"""
    async with slow_http() as http:
        bg = await start_bg(src)
        await Executor(bg.app, bg.services).run("fan", {"a": http.url("a", 0.1), "b": http.url("b", 0.1)}, admin=True)

        async def all_done() -> bool:
            return len(await runs_of(bg, "hit", "success")) == 6

        await eventually(all_done)
        assert http.max_inflight == {"/a": 1, "/b": 1}
        assert http.hits == {"/a": 3, "/b": 3}


async def test_rate_limit_delays_excess_runs_and_drops_none(start_bg: Start) -> None:
    src = """
@rate_limit(4 per second)
workflow hit(url: text) {
  http_request(method: "GET", url: url)
}
workflow fan(url: text) {
  schedule hit(url: url) for each i in [1, 2, 3, 4, 5, 6, 7, 8]
}
"""
    async with slow_http() as http:
        bg = await start_bg(src, settings=fast_settings())
        await Executor(bg.app, bg.services).run("fan", {"url": http.url("r")}, admin=True)

        async def all_done() -> bool:
            return len(await runs_of(bg, "hit", "success")) == 8

        await eventually(all_done)
        starts = sorted(http.starts["/r"])
        # a burst of 4 may start at once; the other 4 wait their turn, 0.25 s apart: about 1 s in all.
        # Unlimited, all 8 start within milliseconds; the bound leaves room for the first request's
        # connection set-up, which shortens the span as the HTTP server sees it.
        assert starts[-1] - starts[0] >= 0.5


async def test_debounce_makes_one_run_with_the_last_arguments(start_bg: Start) -> None:
    src = """
@debounce(0.3 seconds, key: group)
workflow settle(group: text, n: number) {
  log "{group} {n}"
}
workflow burst() {
  schedule settle(group: "x", n: 1)
  schedule settle(group: "x", n: 2)
  schedule settle(group: "y", n: 1)
}
workflow more() {
  schedule settle(group: "x", n: 3)
}
"""
    bg = await start_bg(src)
    ex = Executor(bg.app, bg.services)
    await ex.run("burst", {}, admin=True)
    await ex.run("more", {}, admin=True)

    async def settled() -> bool:
        return len(await runs_of(bg, "settle")) == 2 and not await bg.list_scheduled()

    await eventually(settled)
    logs = []
    for row in await runs_of(bg, "settle"):
        logs += [entry["message"] for entry in (await bg.store.runs.get(row["id"]))["logs"]]
    assert sorted(logs) == ["x 3", "y 1"]
