"""Run records kept in the database, newest first, for `wf runs` and the meta API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from ..runs import RunRecord
from .codec import iso

if TYPE_CHECKING:
    from .store import Store

MAX_LIST = 500


async def save_run(store: Store, record: RunRecord, *, on: BaseDBAsyncClient | None = None) -> None:
    """Insert or update the record of one run (a retried run keeps its id, so it is updated);
    `on` a transaction to save many at once."""
    d = store.dialect
    cast = "::jsonb" if d.name == "postgres" else ""
    data = orjson.dumps(record.to_json()).decode()
    values = [record.workflow, record.status, record.trigger, iso(record.started_at), record.duration_ms, data]
    updated = await store.execute(
        f'UPDATE "runs" SET "workflow" = {d.param(1)}, "status" = {d.param(2)}, "trigger" = {d.param(3)}, '
        f'"started_at" = {d.param(4)}, "duration_ms" = {d.param(5)}, "record" = {d.param(6)}{cast} '
        f'WHERE "id" = {d.param(7)}',
        [*values, record.id],
        on=on,
    )
    if updated:
        return
    try:
        await store.execute(
            'INSERT INTO "runs" ("workflow", "status", "trigger", "started_at", "duration_ms", "record", "id") '
            f"VALUES ({d.param(1)}, {d.param(2)}, {d.param(3)}, {d.param(4)}, {d.param(5)}, {d.param(6)}{cast}, "
            f"{d.param(7)})",
            [*values, record.id],
            on=on,
        )
    except IntegrityError:  # saved meanwhile by another attempt of the same run: keep the newest
        await save_run(store, record, on=on)


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
