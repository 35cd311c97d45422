"""Replayed answers: the first answer to a call with an `Idempotency-Key` (or to a webhook
delivery) is kept for 24 hours and given again instead of running the workflow twice.

A key is claimed before the run (status 0) so that two concurrent calls with it run once: the
second waits for the first answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from tortoise.exceptions import IntegrityError

from .codec import iso

if TYPE_CHECKING:
    from .store import Store

KEEP = timedelta(hours=24)
PENDING = 0


async def claim(store: Store, key: str, workflow: str, *, wait: float = 30.0) -> tuple[int, dict[str, Any]] | None:
    """None when this caller got the key and must run (then `finish` it); else the kept answer.

    Answers older than 24 hours are forgotten. A claim whose run is still going is waited for up to
    `wait` seconds; past that its caller is told to retry (409)."""
    d = store.dialect
    now = datetime.now(UTC)
    await store.execute(f'DELETE FROM "idempotency" WHERE "created_at" < {d.param(1)}', [iso(now - KEEP)])
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            cast = "::jsonb" if d.name == "postgres" else ""
            await store.execute(
                'INSERT INTO "idempotency" ("key", "workflow", "status", "body", "created_at") '
                f"VALUES ({d.param(1)}, {d.param(2)}, {d.param(3)}, {d.param(4)}{cast}, {d.param(5)})",
                [key, workflow, PENDING, "{}", iso(now)],
            )
            return None
        except IntegrityError:
            pass
        rows = await store.query(f'SELECT "status", "body" FROM "idempotency" WHERE "key" = {d.param(1)}', [key])
        if rows and rows[0]["status"] != PENDING:
            body = rows[0]["body"]
            return int(rows[0]["status"]), orjson.loads(body) if isinstance(body, str | bytes) else dict(body)
        if not rows:
            continue  # released meanwhile: try to claim it again
        if asyncio.get_running_loop().time() > deadline:
            return 409, {
                "statusCode": 409,
                "body": {"status": "CONFLICT", "message": "a call with this Idempotency-Key is still running"},
            }
        await asyncio.sleep(0.05)


async def finish(store: Store, key: str, status: int, body: dict[str, Any]) -> None:
    d = store.dialect
    cast = "::jsonb" if d.name == "postgres" else ""
    await store.execute(
        f'UPDATE "idempotency" SET "status" = {d.param(1)}, "body" = {d.param(2)}{cast} WHERE "key" = {d.param(3)}',
        [status, orjson.dumps(body).decode(), key],
    )


async def release(store: Store, key: str) -> None:
    """Give a claimed key back (the call never reached the workflow: a malformed request)."""
    await store.execute(f'DELETE FROM "idempotency" WHERE "key" = {store.dialect.param(1)}', [key])
