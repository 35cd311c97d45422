"""Run records kept in the database."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

import pytest
from store_helpers import record_sql
from wfkit.core.app import App
from wfkit.core.executor import Executor
from wfkit.core.services import Services
from wfkit.core.store import Store
from wfkit.core.store.codec import iso
from wfkit.testing import compile_source

OpenStore = Callable[[App | None], AbstractAsyncContextManager[Store]]  # the `open_store` fixture

SRC = """
workflow ok(n: number, api_key: text = "sk_secret_1") {
  log "n is {n}"
  return { n: n }
}
workflow bad() {
  fail "nope"
}
"""


async def test_records_are_saved_listed_and_read_back(open_store: OpenStore, db_url: str) -> None:
    app = compile_source(SRC)
    async with open_store(app) as store:
        executor = Executor(app, Services(store=store))
        first = await executor.run("ok", {"n": 1})
        second = await executor.run("bad", {})
        for record in (first, second):
            await store.runs.save([record])
        await store.runs.save([first])  # saving again updates, never duplicates

        runs = await store.runs.recent()
        assert [r["id"] for r in runs] == [second.id, first.id]
        assert runs[0]["status"] == "failed" and runs[1]["workflow"] == "ok"
        assert [r["id"] for r in await store.runs.recent(workflow="ok")] == [first.id]
        assert [r["id"] for r in await store.runs.recent(status="failed")] == [second.id]

        full = await store.runs.get(first.id)
        assert full is not None
        assert full["params"] == {"n": 1, "api_key": "[redacted]"}
        assert full["logs"][0]["message"] == "n is 1" and full["response"] == {"n": 1}
        assert [s["kind"] for s in full["steps"]] == ["action", "return"]
        failed = await store.runs.get(second.id)
        assert failed is not None  # every field of the record comes back, at its default if not kept
        assert set(failed) == set(second.to_json()) and failed["response"] is None
        assert failed["error"] == {"message": "nope", "line": 7}
        assert await store.runs.get("missing") is None
        assert [r["record"] for r in await store.query('SELECT "record" FROM "runs"') if "sk_secret_1" in str(r)] == []


async def test_a_large_batch_is_saved_in_one_statement(open_store: OpenStore, monkeypatch: pytest.MonkeyPatch) -> None:
    app = compile_source(SRC)
    async with open_store(app) as store:
        executor = Executor(app, Services(store=store))
        records = [await executor.run("ok", {"n": i}, durable=False) for i in range(500)]
        sql = record_sql(store, monkeypatch)  # every statement from here on
        await store.runs.save(records)
        assert len(sql) == 1 and sql[0].startswith('INSERT INTO "runs"'), sql
        records[0].status = "failed"  # a retried run's record is updated, not duplicated
        await store.runs.save(records[:1])
        assert len(sql) == 2
        assert len(await store.runs.recent(limit=1000)) == 500
        again = await store.runs.get(records[0].id)
        assert again is not None and again["status"] == "failed" and again["params"]["n"] == 0


async def test_start_times_keep_their_fixed_width(open_store: OpenStore) -> None:
    """Listing orders by the start time as text, so a start on a whole second keeps its zeros."""
    app = compile_source(SRC)
    async with open_store(app) as store:
        executor = Executor(app, Services(store=store))
        whole, later = [await executor.run("ok", {"n": i}, durable=False) for i in range(2)]
        whole.started_at = whole.started_at.replace(microsecond=0) + timedelta(seconds=5)
        later.started_at = whole.started_at + timedelta(microseconds=1)
        await store.runs.save([whole, later])
        runs = await store.runs.recent()
        assert [r["id"] for r in runs] == [later.id, whole.id]
        assert runs[1]["started_at"] == iso(whole.started_at) and runs[1]["started_at"].endswith(".000000Z")
