"""Replayed answers: the first answer to a call with an `Idempotency-Key` (or to a webhook
delivery) is kept for 24 hours and given again instead of running the workflow twice.

A key is claimed before the run (status 0) so that two concurrent calls with it run once: the
second waits for the first answer. A key given again with another request (another workflow, query
or body) is refused with 422, as Stripe and the IETF Idempotency-Key draft do: replaying the first
answer would tell the caller that a request it never made succeeded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tortoise.exceptions import IntegrityError
from wfkit.core import sealing
from wfkit.core import values as V

from .codec import iso
from .database import Database

KEEP = timedelta(hours=24)
PENDING = 0


async def claim(
    store: Database, key: str, workflow: str, request: str = "", *, wait: float = 30.0
) -> tuple[int, dict[str, Any]] | None:
    """None when this caller got the key and must run (then `finish` it); else the kept answer.

    `request` fingerprints what was asked: given, a kept key for another request is a 422.
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
                'INSERT INTO "idempotency" ("key", "workflow", "request", "status", "body", "created_at") '
                f"VALUES ({d.param(1)}, {d.param(2)}, {d.param(3)}, {d.param(4)}, {d.param(5)}{cast}, {d.param(6)})",
                [key, workflow, request, PENDING, "{}", iso(now)],
            )
            return None
        except IntegrityError:
            pass
        rows = await store.query(
            f'SELECT "status", "body", "request" FROM "idempotency" WHERE "key" = {d.param(1)}', [key]
        )
        if rows and request and rows[0]["request"] and rows[0]["request"] != request:
            return 422, {
                "statusCode": 422,
                "body": {
                    "status": "IDEMPOTENCY_KEY_REUSED",
                    "message": "this Idempotency-Key was already used for another request "
                    "(another workflow, query or body): use a new key for a new request",
                },
            }
        if rows and rows[0]["status"] != PENDING:
            body = rows[0]["body"]
            kept = orjson.loads(body) if isinstance(body, str | bytes) else dict(body)
            if sealing.is_sealed(kept):  # it held a secret (`finish`)
                kept = sealing.current().unseal(kept[sealing.MARK])
            return int(rows[0]["status"]), kept
        if not rows:
            continue  # released meanwhile: try to claim it again
        if asyncio.get_running_loop().time() > deadline:
            return 409, {
                "statusCode": 409,
                "body": {"status": "CONFLICT", "message": "a call with this Idempotency-Key is still running"},
            }
        await asyncio.sleep(0.05)


async def finish(store: Database, key: str, status: int, body: dict[str, Any]) -> None:
    """Keep the answer; sealed when it holds a secret (a `log_in` token), as it stays 24 hours."""
    if V.redact_json(body) != body:
        body = sealing.current().seal(body)
    d = store.dialect
    cast = "::jsonb" if d.name == "postgres" else ""
    await store.execute(
        f'UPDATE "idempotency" SET "status" = {d.param(1)}, "body" = {d.param(2)}{cast} WHERE "key" = {d.param(3)}',
        [status, orjson.dumps(body).decode(), key],
    )


async def release(store: Database, key: str) -> None:
    """Give a claimed key back (the call never reached the workflow: a malformed request)."""
    await store.execute(f'DELETE FROM "idempotency" WHERE "key" = {store.dialect.param(1)}', [key])
