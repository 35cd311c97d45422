"""Run records kept in the database."""

from __future__ import annotations

from pathlib import Path

from wfkit.core.executor import Executor
from wfkit.core.services import Services
from wfkit.core.store import Store
from wfkit.core.testing import compile_source

SRC = """
workflow ok(n: number, api_key: text = "sk_secret_1") {
  log "n is {n}"
  return { n: n }
}
workflow bad() {
  fail "nope"
}
"""


async def test_records_are_saved_listed_and_read_back(tmp_path: Path) -> None:
    app = compile_source(SRC)
    async with await Store.open(f"sqlite://{tmp_path}/runs.sqlite3", app) as store:
        executor = Executor(app, Services(store=store))
        first = await executor.run("ok", {"n": 1})
        second = await executor.run("bad", {})
        for record in (first, second):
            await store.save_run(record)
        await store.save_run(first)  # saving again updates, never duplicates

        runs = await store.list_runs()
        assert [r["id"] for r in runs] == [second.id, first.id]
        assert runs[0]["status"] == "failed" and runs[1]["workflow"] == "ok"
        assert [r["id"] for r in await store.list_runs(workflow="ok")] == [first.id]
        assert [r["id"] for r in await store.list_runs(status="failed")] == [second.id]

        full = await store.get_run(first.id)
        assert full is not None
        assert full["params"] == {"n": 1, "api_key": "[redacted]"}
        assert full["logs"][0]["message"] == "n is 1" and full["response"] == {"n": 1}
        assert [s["kind"] for s in full["steps"]] == ["action", "return"]
        assert await store.get_run("missing") is None
    assert b"sk_secret_1" not in (tmp_path / "runs.sqlite3").read_bytes()
