"""Group commit for new things: creates that arrive while an insert is on its way to the database
go together in the next statement.

The database is reached through one connection (SQLite's driver runs it in one thread), so each
statement costs a round trip; under load that round trip, not the work, is the limit. Each create
still returns only once its own row is committed, and a batch that fails is retried row by row, so
every caller gets its own outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from .database import Database

COLUMNS = '"id", "type", "data", "created_at", "modified_at", "created_by"'
# One statement a batch: on SQLite a multi-row VALUES (binding is one C call in the driver's thread);
# on PostgreSQL the batch as one JSON array that the server expands into rows.
POSTGRES_FROM_JSON = (
    f'INSERT INTO "things" ({COLUMNS}) SELECT r.id, r.type, r.data, r.created_at, r.modified_at, r.created_by '
    "FROM jsonb_to_recordset($1::jsonb) AS r(id text, type text, data jsonb, created_at text, "
    "modified_at text, created_by text)"
)


def statement(dialect: str, rows: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    if dialect == "postgres":
        return POSTGRES_FROM_JSON, [orjson.dumps(rows).decode()]
    params: list[Any] = []
    for r in rows:
        params += [
            r["id"],
            r["type"],
            orjson.dumps(r["data"]).decode(),
            r["created_at"],
            r["modified_at"],
            r["created_by"],
        ]
    return f'INSERT INTO "things" ({COLUMNS}) VALUES {", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows))}', params


MAX_BATCH = 500  # 6 parameters a row: well under SQLite's 32,766 bound parameters


Insert = Callable[[BaseDBAsyncClient, list[dict[str, Any]]], Awaitable[None]]
Pending = tuple[dict[str, Any], dict[str, Any] | None, asyncio.Future[None]]  # a row, its effect, its caller


class InsertBatcher:
    """New `things` rows, each with the row of its effect when a resumable run made it: both go
    in one transaction, so a run resumed after a crash finds the effect whenever the thing exists."""

    def __init__(self, store: Database, insert_effects: Insert):
        self.store = store
        self.insert_effects = insert_effects
        self.pending: list[Pending] = []
        self.draining = False

    async def insert(self, row: dict[str, Any], effect: dict[str, Any] | None = None) -> None:
        """Insert one `things` row (and its `effects` row); returns once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((row, effect, done))
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

    async def _write(self, batch: list[Pending]) -> None:
        try:
            await self._commit(batch)
        except Exception:
            if len(batch) > 1:  # find out whose row failed: each caller gets its own outcome
                for one in batch:
                    await self._write([one])
                return
            try:
                await self._commit(batch)
            except Exception as e:
                if not batch[0][2].done():
                    batch[0][2].set_exception(e)
                return
        for _, _, done in batch:
            if not done.done():
                done.set_result(None)

    async def _commit(self, batch: list[Pending]) -> None:
        insert = statement(self.store.dialect.name, [row for row, _, _ in batch])
        effects = [e for _, e, _ in batch if e is not None]
        if not effects:  # no run can resume these: one statement, no transaction
            await self.store.execute(*insert)
            return
        async with self.store.transaction() as tx:
            await self.store.execute(*insert, on=tx)
            await self.insert_effects(tx, effects)
