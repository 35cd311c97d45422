"""Exactly-once store writes for runs that can be resumed (docs/plugins.md, "Effects exactly once").

A run's journal is written after an action, elsewhere (Redis): a crash between the database's
commit and that write would make the resumed run do the action again. So a built-in store action of
a resumable run also writes its result to the `effects` table under its idempotency key, in the
same transaction as the write itself: the thing exists if and only if the effect is recorded. The
resumed run looks the key up first and replays the result. A run that succeeds forgets its rows;
rows of runs that never finish are pruned after `KEEP`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from .codec import column_json, iso, now_iso
from .database import Database

logger = logging.getLogger("wfkit.store")

KEEP = timedelta(days=7)  # as long as a journal of a run that never finishes
PRUNE_EVERY_S = 3600.0
MAX_KEY = 255  # the column's width; longer keys (deep loops) are kept as a prefix and a hash
MAX_REMEMBERED = 100_000  # runs with rows this process would forget; beyond, pruning catches them
FORGET_BATCH = 200  # finished runs whose rows go in one statement


@dataclass(slots=True)
class Effect:
    """A store write of a resumable run: where its result goes, and whether to look there first.

    - `key`: the action's idempotency key (run, statement, iteration);
    - `run_id`: the run's id, whose rows go when it succeeds;
    - `look`: an earlier attempt of the run may have done it (the run was resumed);
    - `replayed`: set when an earlier attempt's result was found and given back.
    """

    key: str
    run_id: str
    look: bool = False
    replayed: bool = False


def stored_key(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return f"{key[: MAX_KEY - 65]}#{hashlib.sha256(key.encode()).hexdigest()}"


class Effects:
    """The `effects` table (`store.effects`)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.runs: set[str] = set()  # runs with rows recorded by this process, not yet forgotten
        self.finished: list[str] = []  # runs that succeeded, whose rows go with the next `flush`
        self._pruned_at: float | None = None  # when this process last pruned

    async def find(self, effect: Effect | None) -> Any:
        """What an earlier attempt recorded for this effect (as the journal encodes results), or
        None: nothing, or the run was not resumed (a first attempt has nothing to find)."""
        if effect is None or not effect.look:
            return None
        rows = await self.db.query(
            f'SELECT "result" FROM "effects" WHERE "key" = {self.db.dialect.param(1)}', [stored_key(effect.key)]
        )
        if not rows:
            return None
        effect.replayed = True
        return column_json(rows[0]["result"])

    def row(self, effect: Effect, result: Any) -> dict[str, Any]:
        """The `effects` row of a write, to insert in its transaction (`insert`). `result` is JSON,
        never null (null reads as "not found")."""
        if len(self.runs) < MAX_REMEMBERED:
            self.runs.add(effect.run_id)
        return {"key": stored_key(effect.key), "run_id": effect.run_id, "result": result, "created_at": now_iso()}

    async def insert(self, tx: BaseDBAsyncClient, rows: list[dict[str, Any]]) -> None:
        """Insert effects rows on `tx`. A key that exists fails the transaction (IntegrityError):
        another attempt of the same run did this write at the same time."""
        d = self.db.dialect
        if d.name == "postgres":
            await self.db.execute(
                'INSERT INTO "effects" ("key", "run_id", "result", "created_at") '
                "SELECT r.key, r.run_id, r.result, r.created_at FROM jsonb_to_recordset($1::jsonb) "
                "AS r(key text, run_id text, result jsonb, created_at text)",
                [orjson.dumps(rows).decode()],
                on=tx,
            )
            return
        params: list[Any] = []
        for r in rows:
            params += [r["key"], r["run_id"], orjson.dumps(r["result"]).decode(), r["created_at"]]
        values = ", ".join(["(?, ?, ?, ?)"] * len(rows))
        await self.db.execute(
            f'INSERT INTO "effects" ("key", "run_id", "result", "created_at") VALUES {values}', params, on=tx
        )

    async def replace(self, tx: BaseDBAsyncClient, row: dict[str, Any]) -> None:
        """Set the result of an effect that is recorded already (a token issued again)."""
        d = self.db.dialect
        cast = "::jsonb" if d.name == "postgres" else ""
        await self.db.execute(
            f'UPDATE "effects" SET "result" = {d.param(1)}{cast} WHERE "key" = {d.param(2)}',
            [orjson.dumps(row["result"]).decode(), row["key"]],
            on=tx,
        )

    async def forget(self, run_id: str, *, resumed: bool) -> None:
        """Drop a run's rows once it has succeeded (its journal goes too): those this process
        recorded, and any an earlier attempt recorded when the run was resumed. Rows of finished
        runs are harmless (nothing resumes a finished run), so they go in batches, off the run's
        path: one statement for `FORGET_BATCH` runs, and with `flush` when the store closes."""
        if run_id in self.runs or resumed:
            self.runs.discard(run_id)
            self.finished.append(run_id)
        due = self._pruned_at is None or time.monotonic() - self._pruned_at > PRUNE_EVERY_S
        if len(self.finished) >= FORGET_BATCH or due:
            await self.flush()

    async def flush(self) -> None:
        """Delete the rows of the runs that finished, and now and then those of runs that never
        finish. A failure is logged: pruning catches the rows later."""
        ids, self.finished = self.finished, []
        try:
            for start in range(0, len(ids), FORGET_BATCH):
                chunk = ids[start : start + FORGET_BATCH]
                ps = ", ".join(self.db.dialect.param(i + 1) for i in range(len(chunk)))
                await self.db.execute(f'DELETE FROM "effects" WHERE "run_id" IN ({ps})', chunk)
            if self._pruned_at is None or time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
                self._pruned_at = time.monotonic()
                await self.prune()
        except Exception as e:
            logger.warning("could not forget the effects of %d finished runs: %s", len(ids), e)

    async def prune(self, older_than: timedelta = KEEP) -> int:
        """Drop the rows of runs that never finished (failed for good, or lost), older than `older_than`."""
        cutoff = iso(datetime.now(UTC) - older_than)
        return await self.db.execute(f'DELETE FROM "effects" WHERE "created_at" < {self.db.dialect.param(1)}', [cutoff])
