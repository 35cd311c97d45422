"""Run records kept in the database, newest first, for `wf runs` and the meta API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ..runs import RunRecord
from .codec import iso

if TYPE_CHECKING:
    from .store import Store

MAX_LIST = 500


async def save_runs(store: Store, records: list[RunRecord]) -> None:
    """Insert or update run records, all in one statement (a retried run keeps its id, so its
    record is updated)."""
    if not records:
        return
    d = store.dialect
    cast = "::jsonb" if d.name == "postgres" else ""
    ps = [d.param(i) for i in range(1, 8)]
    sql = (
        'INSERT INTO "runs" ("id", "workflow", "status", "trigger", "started_at", "duration_ms", "record") '
        f"VALUES ({', '.join(ps[:6])}, {ps[6]}{cast}) "
        'ON CONFLICT ("id") DO UPDATE SET "status" = excluded."status", "duration_ms" = excluded."duration_ms", '
        '"record" = excluded."record"'
    )
    rows = [
        [r.id, r.workflow, r.status, r.trigger, iso(r.started_at), r.duration_ms, orjson.dumps(r.to_json()).decode()]
        for r in records
    ]
    await store.db.execute_many(sql, rows)


def _record(raw: Any) -> dict[str, Any]:
    value = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return dict(value)


async def list_runs(
    store: Store, *, workflow: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Summaries of the newest runs (no steps or logs), filtered by workflow and status."""
    d = store.dialect
    where, params = [], []
    for column, value in (("workflow", workflow), ("status", status)):
        if value:
            params.append(value)
            where.append(f'"{column}" = {d.param(len(params))}')
    sql = 'SELECT "id", "workflow", "status", "trigger", "started_at", "duration_ms" FROM "runs"'
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f' ORDER BY "started_at" DESC, "id" DESC LIMIT {max(1, min(int(limit), MAX_LIST))}'
    return await store.query(sql, params)


async def get_run(store: Store, run_id: str) -> dict[str, Any] | None:
    """The whole record of one run: every statement, timings, logs, the response or the error."""
    rows = await store.query(f'SELECT "record" FROM "runs" WHERE "id" = {store.dialect.param(1)}', [run_id])
    return _record(rows[0]["record"]) if rows else None
