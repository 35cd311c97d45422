"""Run records kept compact (core/store/runs.py): what a reader can recompute from the app is not
stored, and reading gives back every statement as the executor recorded it; old records are pruned."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from backends import OpenStore
from wfkit.core.executor import Executor
from wfkit.core.services import Services
from wfkit.core.store import Store
from wfkit.testing import compile_source, open_test_store

SRC = """
workflow pure(n: number) {
  let total = n * 2 + 1
  return { total: total, label: "n={n}" }
}
workflow branchy(n: number, items: list of number) {
  fail "n must not be negative" when n < 0
  let seen = 0
  if n > 10 {
    let seen = 1
  }
  for each i in items {
    log "item {i}"
  }
  x = call pure(n: n)
  return { total: x.total }
}
"""


async def _stored(store: Store, run_id: str) -> dict[str, Any]:
    rows = await store.query(f'SELECT "record" FROM "runs" WHERE "id" = {store.dialect.param(1)}', [run_id])
    raw = rows[0]["record"]
    return dict(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)


async def test_a_pure_run_keeps_no_steps_and_reads_back_whole(open_store: OpenStore) -> None:
    app = compile_source(SRC)
    async with open_store(app) as store:
        record = await Executor(app, Services(store=store)).run("pure", {"n": 21})
        await store.runs.save([record])
        assert await _stored(store, record.id) == {"params": {"n": 21}, "response": {"total": 43, "label": "n=21"}}
        whole = await store.runs.get(record.id)
    assert whole is not None
    expected = record.to_json()
    for step, original in zip(whole["steps"], expected["steps"], strict=True):
        assert step["ms"] is None or step["ms"] == original["ms"]  # a time under 0.1 ms is not kept
        step["ms"] = original["ms"]
    assert whole == {**expected, "finished_at": whole["finished_at"]}
    assert [(s["line"], s["kind"], s["label"], s["status"]) for s in whole["steps"]] == [
        (3, "let", "let total = n * 2 + 1", "ran"),
        (4, "return", 'return { total: total, label: "n={n}" }', "ran"),
    ]
    finished = datetime.fromisoformat(whole["finished_at"])
    assert abs(finished - record.finished_at) < timedelta(milliseconds=1)  # type: ignore[operator]


async def test_what_a_reader_cannot_recompute_is_kept(open_store: OpenStore) -> None:
    app = compile_source(SRC)
    async with open_store(app) as store:
        executor = Executor(app, Services(store=store))
        ran = await executor.run("branchy", {"n": 3, "items": [1, 2]})
        failed = await executor.run("branchy", {"n": -1, "items": []})
        await store.runs.save([ran, failed])
        stored = await _stored(store, ran.id)
        whole = await store.runs.get(ran.id)
        whole_failed = await store.runs.get(failed.id)
    assert whole is not None and whole_failed is not None
    # the skipped `fail … when` with the values it saw, the branch not taken, the loop's items
    skipped = whole["steps"][0]
    assert skipped["status"] == "skipped" and skipped["seen"] == {"n": 3} and skipped["line"] == 7
    assert "label" not in stored["steps"][0] and "line" not in stored["steps"][0]  # the app knows them
    kinds = [(s["kind"], s["status"]) for s in whole["steps"]]
    assert ("if", "ran") in kinds and [s for s in whole["steps"] if s.get("branch") == "none"]
    assert len([s for s in whole["steps"] if s["kind"] == "action" and s.get("path")]) == 2  # log, per item
    inner = [s for s in whole["steps"] if s.get("workflow") == "pure"]
    assert [s["label"] for s in inner] == ["let total = n * 2 + 1", 'return { total: total, label: "n={n}" }']
    assert [log["message"] for log in whole["logs"]] == ["item 1", "item 2"]
    assert whole_failed["status"] == "failed" and whole_failed["error"]["message"] == "n must not be negative"
    assert whole_failed["steps"][0]["status"] == "failed" and whole_failed["steps"][0]["line"] == 7


async def test_records_of_a_workflow_the_app_no_longer_has_still_read(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'data.sqlite3'}"
    app = compile_source(SRC)
    async with open_test_store(app, url=url) as store:
        record = await Executor(app, Services(store=store)).run("branchy", {"n": 30, "items": []})
        await store.runs.save([record])
    async with await Store.open(url, app=compile_source("workflow other() {\n}\n")) as store:  # a new app
        whole = await store.runs.get(record.id)
    assert whole is not None and whole["status"] == "success"
    assert [s["status"] for s in whole["steps"]][:2] == ["skipped", "ran"]  # numbers and statuses stay true


async def test_prune_deletes_only_what_is_older(open_store: OpenStore) -> None:
    app = compile_source(SRC)
    async with open_store(app) as store:
        executor = Executor(app, Services(store=store))
        records = [await executor.run("pure", {"n": n}, durable=False) for n in range(5)]
        for r in records[:3]:
            r.started_at = datetime.now(UTC) - timedelta(days=20)
        await store.runs.save(records)
        assert await store.runs.prune(timedelta(days=30)) == 0
        assert await store.runs.prune(timedelta(days=14)) == 3
        assert {r["id"] for r in await store.runs.recent()} == {r.id for r in records[3:]}
        assert await store.runs.prune(timedelta(days=36500 * 100)) == 0  # longer than there are dates


async def test_a_pure_run_costs_under_300_bytes_on_disk(tmp_path: Path) -> None:
    """SPEC §3.3: the database grows with what is kept. Bytes are counted, not timed."""
    path = tmp_path / "data.sqlite3"
    app = compile_source(SRC)
    n = 20_000
    async with open_test_store(app, url=f"sqlite://{path}") as store:
        executor = Executor(app, Services(store=store))
        empty = os.path.getsize(path)
        for start in range(0, n, 1_000):
            await store.runs.save(
                [await executor.run("pure", {"n": i}, durable=False) for i in range(start, start + 1_000)]
            )
        await store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = os.path.getsize(path) - empty
    assert size / n <= 300, f"{size / n:.0f} bytes per run"
