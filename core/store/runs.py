"""Run records kept in the database, newest first, for `wf runs` and the meta API."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from wfkit.core import values as V
from wfkit.core.runs import RunRecord

from .codec import iso
from .database import Database

MAX_LIST = 500


COLUMNS = '"id", "workflow", "status", "trigger", "started_at", "duration_ms", "record"'
UPSERT = (
    'ON CONFLICT ("id") DO UPDATE SET "status" = excluded."status", "duration_ms" = excluded."duration_ms", '
    '"record" = excluded."record"'
)
# One statement a batch, so the driver's thread needs Python (and its lock) once per batch, not once
# per row: on SQLite a multi-row VALUES (binding is one C call); on PostgreSQL the batch as one JSON
# array that the server expands into rows.
SQLITE_ROWS_PER_STATEMENT = 4000  # 7 parameters a row, under SQLite's 32,766 bound parameters
POSTGRES_FROM_JSON = (
    f'INSERT INTO "runs" ({COLUMNS}) SELECT r.id, r.workflow, r.status, r.trigger, r.started_at, '
    "r.duration_ms, r.record FROM jsonb_to_recordset($1::jsonb) AS r(id text, workflow text, status text, "
    "trigger text, started_at text, duration_ms float8, record jsonb) " + UPSERT
)


def _kept(r: RunRecord) -> RunRecord:
    """The record as kept: its response without secrets (a `log_in` token given back to the caller
    is not kept with the run)."""
    if not r.response:
        return r
    return dataclasses.replace(r, response=V.redact_json(r.response))


class RunLog:
    """The `runs` table (`store.runs`): `save` records, list the `recent` ones, `get` one whole."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, records: list[RunRecord]) -> None:
        """Insert or update run records in one statement (a retried run keeps its id, so its record
        is updated). orjson writes each record dataclass itself (dates in UTC with Z), as
        RunRecord.to_json() would."""
        if not records:
            return
        records = [_kept(r) for r in records]
        if self.db.dialect.name == "postgres":
            rows = [
                {
                    "id": r.id,
                    "workflow": r.workflow,
                    "status": r.status,
                    "trigger": r.trigger,
                    "started_at": iso(r.started_at),
                    "duration_ms": r.duration_ms,
                    "record": r,
                }
                for r in records
            ]
            await self.db.execute(POSTGRES_FROM_JSON, [orjson.dumps(rows, option=orjson.OPT_UTC_Z).decode()])
            return
        for start in range(0, len(records), SQLITE_ROWS_PER_STATEMENT):
            chunk = records[start : start + SQLITE_ROWS_PER_STATEMENT]
            params: list[Any] = []
            for r in chunk:
                record = orjson.dumps(r, option=orjson.OPT_UTC_Z).decode()
                params += [r.id, r.workflow, r.status, r.trigger, iso(r.started_at), r.duration_ms, record]
            values = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            await self.db.execute(f'INSERT INTO "runs" ({COLUMNS}) VALUES {values} {UPSERT}', params)

    async def recent(
        self, *, workflow: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Summaries of the newest runs (no steps or logs), filtered by workflow and status."""
        d = self.db.dialect
        where, params = [], []
        for column, value in (("workflow", workflow), ("status", status)):
            if value:
                params.append(value)
                where.append(f'"{column}" = {d.param(len(params))}')
        sql = 'SELECT "id", "workflow", "status", "trigger", "started_at", "duration_ms" FROM "runs"'
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f' ORDER BY "started_at" DESC, "id" DESC LIMIT {max(1, min(int(limit), MAX_LIST))}'
        return await self.db.query(sql, params)

    async def get(self, run_id: str) -> dict[str, Any] | None:
        """The whole record of one run: every statement, timings, logs, the response or the error."""
        rows = await self.db.query(f'SELECT "record" FROM "runs" WHERE "id" = {self.db.dialect.param(1)}', [run_id])
        if not rows:
            return None
        raw = rows[0]["record"]
        return dict(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)
