"""The data store: things of the app's types in SQLite or PostgreSQL, read under privacy rules; users
and tokens, run records and the outbox beside them.

    services = Services(hooks=registry)          # one a process, shared
    store = await Store.open(app=app, services=services)   # WF_DATABASE_URL, or sqlite://.wf/data.sqlite3
    order = await store.create("Order", {"title": "Tea", "amount": 4})
    found = await store.search("Order", Cmp("amount", ">", 3), order_by="amount", descending=True,
                               limit=10, run=run)
    user = await store.users.sign_up("ann@example.com", "a password")
    await store.runs.save([record])
    await store.close()

The parts, each in its module: the connection (database.py), reading and searching things
(reads.py), writing them (writes.py), users and tokens (users.py), run records (runs.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import orjson
from tortoise.exceptions import IntegrityError
from wfkit.core.app import App
from wfkit.core.services import Services

from .codec import column_json, now_iso
from .database import database_url
from .models import new_thing_id
from .runs import RunLog
from .users import Users
from .writes import ThingWriter


class Store(ThingWriter):
    """Things (`create`, `get`, `search`, …), `users`, `runs` and the outbox in one database."""

    def __init__(self, app: App | None = None, services: Services | None = None) -> None:
        # The process's services, which this store joins; a store opened on its own (a test, a CLI
        # command) gets an in-memory set.
        services = services if services is not None else Services()
        super().__init__(app, services)
        services.store = self
        self.users = Users(self)
        self.runs = RunLog(self, lambda: self.app)

    @classmethod
    async def open(
        cls,
        url: str | None = None,
        app: App | None = None,
        *,
        services: Services | None = None,
        global_fallback: bool = False,
    ) -> Self:
        """Connect, create the tables that are missing, and adopt `app` (see `use_app`).

        `services`: the process's services (their `store` becomes this one). `global_fallback`
        also makes this tortoise context the process-wide fallback (for code that uses tortoise
        models in tasks started elsewhere, such as Sanic listeners)."""
        store = cls(app, services)
        await store.connect(database_url(url), global_fallback=global_fallback)
        try:
            await store.generate_schemas()
            if app is not None:
                await store.use_app(app)
        except BaseException:
            await store.close()
            raise
        return store

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ outbox

    async def add_to_outbox(self, message: Mapping[str, Any], key: str | None = None) -> str:
        """Keep an email (no SMTP server is set). The same `key` (the action's idempotency key)
        is kept once, so a retried run does not queue the mail twice. Returns its id."""
        d = self.dialect
        key = key or new_thing_id()
        rows = await self.query(f'SELECT "id" FROM "outbox" WHERE "key" = {d.param(1)}', [key])
        if rows:
            return str(rows[0]["id"])
        id = new_thing_id()
        cast = "::jsonb" if d.name == "postgres" else ""
        try:
            await self.execute(
                'INSERT INTO "outbox" ("id", "key", "created_at", "message") '
                f"VALUES ({d.param(1)}, {d.param(2)}, {d.param(3)}, {d.param(4)}{cast})",
                [id, key, now_iso(), orjson.dumps(dict(message)).decode()],
            )
        except IntegrityError:  # the same key, kept by a concurrent attempt
            rows = await self.query(f'SELECT "id" FROM "outbox" WHERE "key" = {d.param(1)}', [key])
            return str(rows[0]["id"])
        return id

    async def outbox(self, limit: int = 100) -> list[dict[str, Any]]:
        """The kept emails, newest first: `{id, created_at, to, subject, body, html, reply_to, from}`."""
        rows = await self.query(
            'SELECT "id", "created_at", "message" FROM "outbox" '
            f'ORDER BY "created_at" DESC, "id" DESC LIMIT {int(limit)}'
        )
        return [{"id": r["id"], "created_at": r["created_at"], **column_json(r["message"])} for r in rows]
