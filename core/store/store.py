"""The data store: things of the app's types in SQLite or PostgreSQL, read under privacy rules.

    store = await Store.open(app=app)            # WF_DATABASE_URL, or sqlite://.wf/data.sqlite3
    order = await store.create("Order", {"title": "Tea", "amount": 4})
    found = await store.search("Order", Cmp("amount", ">", 3), order_by="amount", descending=True,
                               limit=10, run=run)
    await store.close()

Every thing lives in one table (`things`, a JSON `data` column; see models.py). A search becomes
one SQL statement: its condition, the privacy rules that let the run find things, the order and
the limit. tortoise-orm gives the connections, transactions and the schema; statements are written
here because JSON expressions are outside what its query builder does on both databases.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.exceptions import IntegrityError
from wfkit.core import query as Q
from wfkit.core.app import App, FieldInfo, TypeInfo
from wfkit.core.context import RunInfo
from wfkit.core.errors import ActionError, ConfigError
from wfkit.core.runs import RunRecord
from wfkit.core.services import Services
from wfkit.core.things import BUILTIN_FIELDS, Thing
from wfkit.core.types import BOOLEAN, TEXT, ListType, ThingType, WfType

from . import runs as R
from . import sql as S
from .batching import InsertBatcher
from .codec import check, decode, iso, parse_iso
from .privacy import Access, access_for, frame_for

logger = logging.getLogger("wfkit.store")

DEFAULT_URL = "sqlite://.wf/data.sqlite3"
MODELS = "wfkit.core.store.models"
CONNECTION = "wfkit"
MAX_AUTO_INDEXES = 16  # per type: each index costs every write of the type a little

Listener = Callable[[str, str, Thing | None, Thing | None], Any]
"""`listener(event, type_name, before, after)`, event "create" | "change" | "delete"; may be async."""


def database_url(url: str | None = None) -> str:
    """The URL to open: the one given, else `WF_DATABASE_URL`, else an SQLite file under `.wf/`."""
    return url or os.environ.get("WF_DATABASE_URL") or DEFAULT_URL


def new_thing_id() -> str:
    """A thing id as Bubble writes them (`1717171717171x123456789012345678`): milliseconds, then
    18 random digits; ids sort by creation time."""
    return f"{time.time_ns() // 1_000_000}x{secrets.randbelow(10**18):018d}"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def default_types() -> dict[str, TypeInfo]:
    return {"User": TypeInfo("User", {"email": FieldInfo("email", TEXT)}, True)}


@dataclass(slots=True)
class Page:
    """One page of a search, as the Data API answers it (Bubble's cursor is a position)."""

    results: list[Thing]
    count: int  # things on this page
    cursor: int  # position of the first one
    remaining: int  # things after this page
    total: int = 0


class Store:
    """Things, users, tokens and the outbox in one database."""

    def __init__(self, app: App | None = None) -> None:
        self.app: App | None = app
        self.types: dict[str, TypeInfo] = app.types if app is not None else default_types()
        self.listeners: list[Listener] = []
        self.url = ""
        self._ctx: TortoiseContext | None = None
        self._db: BaseDBAsyncClient | None = None
        self.dialect: S.Dialect = S.SqliteDialect()
        self.services = Services(store=self)  # for the frames of privacy conditions and defaults
        self._indexes: set[str] = set()
        self.batcher = InsertBatcher(self)
        self._auto_indexed: dict[str, int] = {}
        self._index_checked: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ opening

    @classmethod
    async def open(cls, url: str | None = None, app: App | None = None, *, global_fallback: bool = False) -> Store:
        """Connect, create the tables that are missing, and adopt `app` (see `use_app`).

        `global_fallback` also makes this tortoise context the process-wide fallback (for code
        that uses tortoise models in tasks started elsewhere, such as Sanic listeners)."""
        store = cls(app)
        await store.connect(database_url(url), global_fallback=global_fallback)
        try:
            await store.generate_schemas()
            if app is not None:
                await store.use_app(app)
        except BaseException:
            await store.close()
            raise
        return store

    async def connect(self, url: str, *, global_fallback: bool = False) -> None:
        if url.startswith("sqlite://"):
            path = url[len("sqlite://") :].split("?", 1)[0]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        elif not url.startswith(("postgres://", "postgresql://", "asyncpg://")):
            raise ConfigError(f"WF_DATABASE_URL must start with sqlite:// or postgres://, got {url.split(':')[0]}://…")
        if url.startswith("sqlite://") and "synchronous=" not in url:
            # WAL (tortoise's default) with synchronous=NORMAL: a commit survives a crash of the
            # process, and costs no fsync of its own (SQLite's recommended pairing)
            url += ("&" if "?" in url else "?") + "synchronous=NORMAL"
        ctx = TortoiseContext()
        try:
            with ctx:
                await ctx.init(
                    config={
                        "connections": {CONNECTION: url},
                        "apps": {CONNECTION: {"models": [MODELS], "default_connection": CONNECTION}},
                    },
                    _enable_global_fallback=global_fallback,
                )
        except BaseException as e:  # a signal to stop included: an open connection's thread would hang the exit
            with ctx:
                await ctx.close_connections()
            if isinstance(e, Exception):
                raise ConfigError(f"cannot open the database: {e}") from e
            raise
        self._ctx = ctx
        self._db = ctx.db(CONNECTION)
        self.dialect = S.dialect_for(type(self._db).__module__)
        self.url = url

    async def close(self) -> None:
        """Close the connections (forgetting this hangs the process on exit)."""
        if self._ctx is not None:
            ctx, self._ctx, self._db = self._ctx, None, None
            with ctx:
                await ctx.close_connections()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def generate_schemas(self) -> None:
        """Create the tables and indexes that do not exist yet (never drops or alters anything)."""
        assert self._ctx is not None, "the store is not open"
        with self._ctx:
            await self._ctx.generate_schemas(safe=True)
        self._indexes = await self._index_names()

    @property
    def tortoise_context(self) -> TortoiseContext:
        """The tortoise context of this store: `with store.tortoise_context:` lets tortoise's model
        API (`ThingRow.filter(...)`) use this store's connection."""
        if self._ctx is None:
            raise ConfigError("the data store is not open")
        return self._ctx

    @property
    def db(self) -> BaseDBAsyncClient:
        if self._db is None:
            raise ConfigError("the data store is not open")
        return self._db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[BaseDBAsyncClient]:
        """`async with store.transaction() as tx:` statements on `tx` commit together."""
        assert self._ctx is not None, "the store is not open"
        with self._ctx:
            async with self.db._in_transaction() as tx:
                yield tx

    async def query(
        self, sql: str, params: Iterable[Any] = (), *, on: BaseDBAsyncClient | None = None
    ) -> list[dict[str, Any]]:
        return list(await (on or self.db).execute_query_dict(sql, list(params)))

    async def execute(self, sql: str, params: Iterable[Any] = (), *, on: BaseDBAsyncClient | None = None) -> int:
        count, _ = await (on or self.db).execute_query(sql, list(params))
        return int(count)

    # ------------------------------------------------------------------ the app

    async def use_app(self, app: App) -> None:
        """Serve `app` from now on. The database keeps what it holds: a new type or field needs no
        change, a field that is gone stays stored (and comes back if the field does). A field new to
        this database that has a default gets it on the things that existed before it."""
        self.app = app
        self.types = app.types
        self._index_checked.clear()
        rows = await self.query('SELECT "value" FROM "wf_meta" WHERE "key" = ' + self.dialect.param(1), ["fields"])
        known: dict[str, list[str]] = _json(rows[0]["value"]) if rows else {}
        for type_name, info in app.types.items():
            old = set(known.get(type_name, ()))
            for name, fi in info.fields.items():
                if name not in old and fi.default is not None:
                    await self._backfill(type_name, name, fi)
        fields = {name: sorted(info.fields) for name, info in app.types.items()}
        value = orjson.dumps({**known, **fields}).decode()
        p1, p2 = self.dialect.param(1), self.dialect.param(2)
        cast = "::jsonb" if self.dialect.name == "postgres" else ""
        if rows:
            await self.execute(f'UPDATE "wf_meta" SET "value" = {p2}{cast} WHERE "key" = {p1}', ["fields", value])
        else:
            await self.execute(f'INSERT INTO "wf_meta" ("key", "value") VALUES ({p1}, {p2}{cast})', ["fields", value])

    async def _backfill(self, type_name: str, name: str, fi: FieldInfo) -> None:
        assert fi.default is not None
        value = fi.default.fn(frame_for(None, self.services))
        if inspect.isawaitable(value):
            value = await value
        stored = check(type_name, name, fi.type, value)
        if stored is None:
            return
        b = S.Builder(self.dialect, {}, type_name)
        new_data = self.dialect.set_data(b, {name: stored})
        p_type = b.bind(type_name)
        if self.dialect.name == "postgres":
            missing = f"NOT (\"data\" ? '{S.check_name(name)}')"
        else:
            missing = f"json_type(\"data\",'$.{S.check_name(name)}') IS NULL"
        n = await self.execute(
            f'UPDATE "things" SET "data" = {new_data} WHERE "type" = {p_type} AND {missing}', b.params
        )
        if n:
            logger.info("gave %d existing %s things the default of the new field %s", n, type_name, name)

    def type_info(self, type_name: str) -> TypeInfo:
        info = self.types.get(type_name)
        if info is None:
            raise ActionError(f"unknown type '{type_name}'")
        return info

    def _field_types(self, type_name: str) -> dict[str, WfType]:
        info = self.types.get(type_name)
        return {n: f.type for n, f in info.fields.items()} if info is not None else {}

    # ------------------------------------------------------------------ rows → things

    def thing_from_row(self, row: Mapping[str, Any]) -> Thing:
        data = _json(row["data"])
        info = self.types.get(row["type"])
        values = {n: decode(f.type, data.get(n)) for n, f in info.fields.items()} if info else {}
        return Thing(
            row["type"],
            row["id"],
            values,
            parse_iso(row["created_at"]),
            parse_iso(row["modified_at"]),
            row["created_by"],
        )

    async def access(self, type_name: str, run: RunInfo | None) -> Access | None:
        """The privacy rules of a type as they apply to `run` (None: everything is visible)."""
        if self.app is None:
            return None
        return await access_for(self.app, type_name, run, self.services)

    async def allowed(self, thing: Thing, grant: str, run: RunInfo | None) -> bool:
        """Whether `run` may `grant` ("change" or "delete") this thing through the Data API (SPEC
        §2.3). `thing` must be as stored (loaded with `run=None`): rules test every field."""
        if grant not in ("search", "change", "delete"):
            raise ValueError(f"unknown grant {grant!r}")
        access = await self.access(thing.type, run)
        return access is None or access.allows(thing, grant)

    @staticmethod
    def seen(thing: Thing, access: Access | None) -> Thing | None:
        """`thing` as a run under `access` sees it: None when no rule lets it see the thing, hidden
        fields listed in `hidden` and left out of `data`."""
        if access is None:
            return thing
        hidden = access.hidden(thing)
        if hidden is None:
            return None
        if hidden:
            thing.data = {k: v for k, v in thing.data.items() if k not in hidden}
            thing.hidden = hidden
        return thing

    async def _seen_or_masked(self, thing: Thing, run: RunInfo | None) -> Thing:
        """What a write action gives back: the thing as the run sees it, and when it may not see
        the thing at all, its id alone (a workflow needs the id of what it created)."""
        access = await self.access(thing.type, run)
        copy = Thing(thing.type, thing.id, dict(thing.data), thing.created_at, thing.modified_at, thing.created_by)
        visible = self.seen(copy, access)
        if visible is not None:
            return visible
        hidden = frozenset(self._field_types(thing.type))
        return Thing(thing.type, thing.id, {}, thing.created_at, thing.modified_at, thing.created_by, hidden)

    # ------------------------------------------------------------------ reading

    async def get(self, type_name: str, id: str, run: RunInfo | None = None) -> Thing | None:
        """One thing by id, under `run`'s privacy (None or an admin run: everything). None when it
        does not exist, or when no privacy rule lets the run see it at all."""
        if not isinstance(id, str) or not id:
            return None
        d = self.dialect
        rows = await self.query(f'{S.SELECT} WHERE "id" = {d.param(1)} AND "type" = {d.param(2)}', [id, type_name])
        if not rows:
            return None
        return self.seen(self.thing_from_row(rows[0]), await self.access(type_name, run))

    async def search(
        self,
        type_name: str,
        cond: Q.Cond = Q.TRUE,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        run: RunInfo | None = None,
        offset: int = 0,
    ) -> list[Thing]:
        """The things of `type_name` that meet `cond` and that `run` may find, in one SQL statement."""
        access = await self.access(type_name, run)
        b, where = self._where(type_name, cond, access)
        if where is None or limit == 0:
            return []
        await self._auto_index(type_name, S.fields_used(cond) | ({order_by} if order_by else set()))
        sql = f"{S.SELECT} WHERE {where} ORDER BY {b.order_by(order_by, descending)}"
        if limit is not None or offset:
            sql += f" LIMIT {int(limit) if limit is not None else -1 if self.dialect.name == 'sqlite' else 'ALL'}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        rows = await self.query(sql, b.params)
        things = [self.seen(self.thing_from_row(r), access) for r in rows]
        return [t for t in things if t is not None]

    async def count(self, type_name: str, cond: Q.Cond = Q.TRUE, *, run: RunInfo | None = None) -> int:
        """How many things `search` would find without a limit."""
        access = await self.access(type_name, run)
        b, where = self._where(type_name, cond, access)
        if where is None:
            return 0
        rows = await self.query(f'SELECT COUNT(*) AS "n" FROM "things" WHERE {where}', b.params)
        return int(rows[0]["n"])

    async def page(
        self,
        type_name: str,
        cond: Q.Cond = Q.TRUE,
        *,
        order_by: str | None = None,
        descending: bool = False,
        cursor: int = 0,
        limit: int = 100,
        run: RunInfo | None = None,
    ) -> Page:
        """A page for the Data API: `limit` things from position `cursor`, and how many remain."""
        cursor = max(int(cursor), 0)
        results = await self.search(
            type_name, cond, order_by=order_by, descending=descending, limit=limit, run=run, offset=cursor
        )
        total = await self.count(type_name, cond, run=run)
        return Page(results, len(results), cursor, max(total - cursor - len(results), 0), total)

    def _where(self, type_name: str, cond: Q.Cond, access: Access | None) -> tuple[S.Builder, str | None]:
        """The WHERE clause: type, condition and privacy; None when nothing can match."""
        b = S.Builder(self.dialect, self._field_types(type_name), type_name)
        parts = [f'"type" = {b.bind(type_name)}']
        if access is not None:
            allowed = access.search_cond()
            if allowed == Q.FALSE:
                return b, None
            if allowed != Q.TRUE:
                parts.append(b.unguarded(allowed))
            b.guard = access.guard(b)
        cond = Q.simplify(cond)
        if cond == Q.FALSE:
            return b, None
        if cond != Q.TRUE:
            parts.append(b.where(cond))
        return b, " AND ".join(parts)

    # ------------------------------------------------------------------ indexes

    async def _index_names(self) -> set[str]:
        if self.dialect.name == "sqlite":
            rows = await self.query("SELECT name FROM sqlite_master WHERE type = 'index'")
        else:
            rows = await self.query("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'things'")
        return {r["name"] for r in rows}

    async def ensure_index(self, type_name: str, name: str) -> bool:
        """An expression index on `("type", field)`, so searches that filter or order by the field
        use it. Returns whether one was made now."""
        t = self._field_types(type_name).get(name)
        if t is None:
            return False
        expr = S.index_expr(self.dialect, name, t)
        if expr is None:
            return False
        index = _index_name(type_name, name, expr)
        if index in self._indexes:
            return False
        self._indexes.add(index)
        # Empty sorts as the smallest value: PostgreSQL's index must keep NULLs first to serve
        # `ORDER BY … ASC NULLS FIRST` and, scanned backwards, `DESC NULLS LAST`.
        nulls = " NULLS FIRST" if self.dialect.name == "postgres" else ""
        try:
            await self.execute(f'CREATE INDEX IF NOT EXISTS "{index}" ON "things" ("type", {expr}{nulls})')
        except Exception:  # another process made it, or the database refuses: searches still work
            logger.warning("could not create the index %s on %s.%s", index, type_name, name, exc_info=True)
            return False
        return True

    async def _auto_index(self, type_name: str, names: set[str]) -> None:
        """Index the fields that searches use, the first time they use them (at most
        MAX_AUTO_INDEXES per type)."""
        fields = self._field_types(type_name)
        for name in names:
            if (type_name, name) in self._index_checked:
                continue
            self._index_checked.add((type_name, name))
            t = fields.get(name)
            if t is None or name in BUILTIN_FIELDS or t == BOOLEAN:  # two values: an index rarely helps
                continue
            if self._auto_indexed.get(type_name, 0) >= MAX_AUTO_INDEXES:
                return
            if await self.ensure_index(type_name, name):
                self._auto_indexed[type_name] = self._auto_indexed.get(type_name, 0) + 1

    # ------------------------------------------------------------------ writing

    async def create(
        self,
        type_name: str,
        values: Mapping[str, Any] | None = None,
        *,
        run: RunInfo | None = None,
        password_hash: str | None = None,
    ) -> Thing:
        """A new thing of `type_name`: the given fields checked against their types, the others
        their default or empty. The result is what `run` may see of it."""
        info = self.type_info(type_name)
        given = dict(values or {})
        data = await self._encode(info, given)
        frame = None
        for name, fi in info.fields.items():
            if name in data:
                continue
            value = None
            if fi.default is not None:
                frame = frame or frame_for(run, self.services)
                value = fi.default.fn(frame)
                if inspect.isawaitable(value):
                    value = await value
            data[name] = check(type_name, name, fi.type, value)
        now = now_iso()
        user = run.user.id if run is not None and run.user is not None else None
        row: dict[str, Any] = {"id": new_thing_id(), "type": type_name, "data": data}
        row.update(created_at=now, modified_at=now, created_by=user)
        if type_name == "User":
            data["email"] = normalize_email(data.get("email"))
            async with self.transaction() as tx:
                await self._insert_user(tx, row["id"], data["email"], password_hash)
                await self._insert(tx, row)
        else:
            await self.batcher.insert(row)  # group commit with the creates arriving meanwhile
        thing = self.thing_from_row({**row, "data": data})
        await self._emit("create", type_name, None, thing)
        return await self._seen_or_masked(thing, run)

    async def _insert(self, tx: BaseDBAsyncClient, row: dict[str, Any]) -> None:
        d = self.dialect
        cast = "::jsonb" if d.name == "postgres" else ""
        ps = [d.param(i) for i in range(1, 7)]
        await self.execute(
            'INSERT INTO "things" ("id", "type", "data", "created_at", "modified_at", "created_by") '
            f"VALUES ({ps[0]}, {ps[1]}, {ps[2]}{cast}, {ps[3]}, {ps[4]}, {ps[5]})",
            [
                row["id"],
                row["type"],
                orjson.dumps(row["data"]).decode(),
                row["created_at"],
                row["modified_at"],
                row["created_by"],
            ],
            on=tx,
        )

    async def _insert_user(self, tx: BaseDBAsyncClient, id: str, email: str, password_hash: str | None) -> None:
        d = self.dialect
        try:
            await self.execute(
                'INSERT INTO "users" ("id", "email", "password_hash") '
                f"VALUES ({d.param(1)}, {d.param(2)}, {d.param(3)})",
                [id, email, password_hash],
                on=tx,
            )
        except IntegrityError:
            raise ActionError(f"the email {email} is already taken") from None

    async def _encode(self, info: TypeInfo, values: Mapping[str, Any]) -> dict[str, Any]:
        """Given field values, checked and in their stored form; references must name things."""
        out: dict[str, Any] = {}
        refs: dict[str, set[str]] = {}
        for name, value in values.items():
            if name in BUILTIN_FIELDS:
                raise ActionError(f"{info.name}.{name} is set by wfkit and cannot be written")
            fi = info.fields.get(name)
            if fi is None:
                if info.name == "User" and name == "password":
                    raise ActionError("a password is set with sign_up, not as a field")
                raise ActionError(f"{info.name} has no field '{name}'")
            stored = check(info.name, name, fi.type, value)
            out[name] = stored
            ref = fi.type.item if isinstance(fi.type, ListType) else fi.type
            if isinstance(ref, ThingType) and stored is not None:
                items = value if isinstance(value, list) else [value]
                ids = {x for x in items if isinstance(x, str)}  # things given as things were loaded
                if ids:
                    refs.setdefault(ref.name, set()).update(ids)
        for type_name, ids in refs.items():
            await self._check_refs(type_name, ids)
        return out

    async def _check_refs(self, type_name: str, ids: set[str]) -> None:
        b = S.Builder(self.dialect, {}, type_name)
        p_type = b.bind(type_name)
        ps = ", ".join(b.bind(i) for i in sorted(ids))
        rows = await self.query(f'SELECT "id" FROM "things" WHERE "type" = {p_type} AND "id" IN ({ps})', b.params)
        missing = sorted(ids - {r["id"] for r in rows})
        if missing:
            raise ActionError(f"there is no {type_name} with the id {missing[0]!r}")

    async def change(
        self,
        target: Thing | str,
        values: Mapping[str, Any],
        *,
        type_name: str | None = None,
        run: RunInfo | None = None,
    ) -> Thing:
        """Set the given fields of one thing (the others keep their values); returns it as `run`
        sees it. A workflow's own changes are not subject to privacy (SPEC §2.3)."""
        type_name, id = _type_and_id(target, type_name)
        info = self.type_info(type_name)
        changes = await self._encode(info, values)
        if type_name == "User" and "email" in changes:
            changes["email"] = normalize_email(changes["email"])
        d = self.dialect
        lock = " FOR UPDATE" if d.name == "postgres" else ""
        async with self.transaction() as tx:
            rows = await self.query(
                f'{S.SELECT} WHERE "id" = {d.param(1)} AND "type" = {d.param(2)}{lock}', [id, type_name], on=tx
            )
            if not rows:
                raise ActionError(f"there is no {type_name} with the id {id!r} (was it deleted?)")
            before = self.thing_from_row(rows[0])
            if not changes:
                return await self._seen_or_masked(before, run)
            b = S.Builder(d, {}, type_name)
            new_data = d.set_data(b, changes)
            p_now, p_id = b.bind(now_iso()), b.bind(id)
            after_rows = await self.query(
                f'UPDATE "things" SET "data" = {new_data}, "modified_at" = {p_now} WHERE "id" = {p_id} '
                'RETURNING "id", "type", "data", "created_at", "modified_at", "created_by"',
                b.params,
                on=tx,
            )
            if "email" in changes and type_name == "User":
                try:
                    await self.execute(
                        f'UPDATE "users" SET "email" = {d.param(1)} WHERE "id" = {d.param(2)}',
                        [changes["email"], id],
                        on=tx,
                    )
                except IntegrityError:
                    raise ActionError(f"the email {changes['email']} is already taken") from None
        after = self.thing_from_row(after_rows[0])
        await self._emit("change", type_name, before, after)
        return await self._seen_or_masked(after, run)

    async def delete(
        self, targets: Thing | str | Iterable[Thing | str], *, type_name: str | None = None, run: RunInfo | None = None
    ) -> int:
        """Delete things (ids need `type_name`); things already gone are skipped. Returns how many
        were deleted. References to them read as empty from now on."""
        items = [targets] if isinstance(targets, Thing | str) else list(targets)
        by_type: dict[str, list[str]] = {}
        for item in items:
            if item is None:
                continue
            t, id = _type_and_id(item, type_name)
            by_type.setdefault(t, []).append(id)
        deleted: list[Thing] = []
        for t, ids in by_type.items():
            for chunk in _chunks(sorted(set(ids)), 500):
                b = S.Builder(self.dialect, {}, t)
                p_type = b.bind(t)
                ps = ", ".join(b.bind(i) for i in chunk)
                async with self.transaction() as tx:
                    rows = await self.query(
                        f'DELETE FROM "things" WHERE "type" = {p_type} AND "id" IN ({ps}) '
                        'RETURNING "id", "type", "data", "created_at", "modified_at", "created_by"',
                        b.params,
                        on=tx,
                    )
                    if t == "User" and rows:
                        gone = [r["id"] for r in rows]
                        pu = S.Builder(self.dialect, {})
                        ps_u = ", ".join(pu.bind(i) for i in gone)
                        await self.execute(f'DELETE FROM "users" WHERE "id" IN ({ps_u})', pu.params, on=tx)
                        await self.execute(
                            f'DELETE FROM "tokens" WHERE "kind" = \'user\' AND "user_id" IN ({ps_u})', pu.params, on=tx
                        )
                deleted.extend(self.thing_from_row(r) for r in rows)
        for thing in deleted:
            await self._emit("delete", thing.type, thing, None)
        return len(deleted)

    async def _emit(self, event: str, type_name: str, before: Thing | None, after: Thing | None) -> None:
        """Tell the listeners (database triggers) after the change is committed; a listener that
        fails is logged and skipped: the change stands."""
        for listener in list(self.listeners):
            try:
                result = listener(event, type_name, before, after)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("a store listener failed on %s %s", event, type_name)

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
        return [{"id": r["id"], "created_at": r["created_at"], **_json(r["message"])} for r in rows]

    # ------------------------------------------------------------------ users and tokens

    async def sign_up(
        self, email: Any, password: Any, fields: Mapping[str, Any] | None = None, *, run: RunInfo | None = None
    ) -> Thing:
        from .users import sign_up

        return await sign_up(self, email, password, fields or {}, run=run)

    async def log_in(self, email: Any, password: Any, *, keep: bool = False) -> dict[str, Any]:
        from .users import log_in

        return await log_in(self, email, password, keep=keep)

    async def log_out(self, token: str) -> bool:
        from .users import revoke_user_token

        return await revoke_user_token(self, token)

    async def set_password(self, user: Thing | str, password: Any) -> None:
        from .users import set_password

        await set_password(self, user, password)

    async def verify_user_token(self, token: str | None) -> Thing | None:
        from .users import verify_user_token

        return await verify_user_token(self, token)

    async def create_admin_token(self, name: str | None = None) -> str:
        from .users import create_admin_token

        return await create_admin_token(self, name)

    async def list_admin_tokens(self) -> list[AdminToken]:
        from .users import list_admin_tokens

        return await list_admin_tokens(self)

    async def revoke_admin_token(self, name_or_id: str) -> bool:
        from .users import revoke_admin_token

        return await revoke_admin_token(self, name_or_id)

    async def verify_admin_token(self, token: str | None) -> bool:
        from .users import verify_admin_token

        return await verify_admin_token(self, token)

    # ------------------------------------------------------------------ run records

    async def save_runs(self, records: list[RunRecord]) -> None:
        await R.save_runs(self, records)

    async def save_run(self, record: RunRecord) -> None:
        await R.save_runs(self, [record])

    async def list_runs(
        self, *, workflow: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        return await R.list_runs(self, workflow=workflow, status=status, limit=limit)

    async def get_run(self, run_id: str) -> dict[str, Any] | None:
        return await R.get_run(self, run_id)


@dataclass(frozen=True, slots=True)
class AdminToken:
    """An admin token as `wf token list` shows it (the token itself is never kept)."""

    id: str
    name: str
    created_at: datetime


def _json(v: Any) -> Any:
    if isinstance(v, str | bytes):
        return orjson.loads(v)
    return v if v is not None else {}


def normalize_email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ActionError("a User needs an email")
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if not local or not domain or " " in email:
        raise ActionError(f"{value!r} is not an email address")
    return email


def _type_and_id(target: Thing | str, type_name: str | None) -> tuple[str, str]:
    if isinstance(target, Thing):
        return target.type, target.id
    if isinstance(target, str) and type_name is not None:
        return type_name, target
    raise ActionError(f"expected a thing, got {target!r}")


def _index_name(type_name: str, name: str, expr: str) -> str:
    digest = hashlib.sha1(f"{type_name}.{name}:{expr}".encode()).hexdigest()[:8]
    return f"wf_{type_name.lower()[:20]}_{name.lower()[:20]}_{digest}"


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
