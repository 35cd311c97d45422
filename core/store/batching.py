"""Group commit for new things: creates that arrive while an insert is on its way to the database
go together in the next statement.

The database is reached through one connection (SQLite's driver runs it in one thread), so each
statement costs a round trip; under load that round trip, not the work, is the limit. Each create
still returns only once its own row is committed, and a batch that fails is retried row by row, so
every caller gets its own outcome.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .store import Store

COLUMNS = '"id", "type", "data", "created_at", "modified_at", "created_by"'
# The batch is one bound JSON array that the database expands into rows (one statement, one parameter).
FROM_JSON = {
    "sqlite": (
        f"INSERT INTO \"things\" ({COLUMNS}) SELECT value ->> '$.id', value ->> '$.type', value -> '$.data', "
        "value ->> '$.created_at', value ->> '$.modified_at', value ->> '$.created_by' FROM json_each(?)"
    ),
    "postgres": (
        f'INSERT INTO "things" ({COLUMNS}) SELECT r.id, r.type, r.data, r.created_at, r.modified_at, r.created_by '
        "FROM jsonb_to_recordset($1::jsonb) AS r(id text, type text, data jsonb, created_at text, "
        "modified_at text, created_by text)"
    ),
}
MAX_BATCH = 500


class InsertBatcher:
    def __init__(self, store: Store):
        self.store = store
        self.pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self.draining = False

    async def insert(self, row: dict[str, Any]) -> None:
        """Insert one `things` row; returns once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((row, done))
        if not self.draining:
            self.draining = True
            asyncio.get_running_loop().create_task(self._drain())
        await done

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                await self._write(batch)
        finally:
            self.draining = False

    async def _write(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        try:
            await self.store.execute(FROM_JSON[self.store.dialect.name], [orjson.dumps([r for r, _ in batch]).decode()])
        except Exception:
            if len(batch) > 1:  # find out whose row failed: each caller gets its own outcome
                for one in batch:
                    await self._write([one])
                return
            row, done = batch[0]
            try:
                await self.store.execute(FROM_JSON[self.store.dialect.name], [orjson.dumps([row]).decode()])
            except Exception as e:
                if not done.done():
                    done.set_exception(e)
                return
        for _, done in batch:
            if not done.done():
                done.set_result(None)
