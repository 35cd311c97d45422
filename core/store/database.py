"""The store's connection: one database (SQLite or PostgreSQL) through tortoise-orm, its tables, its
transactions, and the SQL statements the rest of the store writes itself.

tortoise-orm gives the connections, transactions and the schema; statements are written by hand
because JSON expressions are outside what its query builder does on both databases.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext, _current_context
from wfkit.core.errors import ConfigError

from . import sql as S

DEFAULT_URL = "sqlite://.wf/data.sqlite3"  # under WF_DATA_DIR when that is set
DATA_DIR_ENV = "WF_DATA_DIR"
MODELS = "wfkit.core.store.models"
CONNECTION = "wfkit"


def database_url(url: str | None = None) -> str:
    """The URL to open: the one given, else `WF_DATABASE_URL`, else an SQLite file in the data
    folder (`WF_DATA_DIR`, which the command line sets to the app's; else `.wf/` here)."""
    if url or os.environ.get("WF_DATABASE_URL"):
        return url or os.environ["WF_DATABASE_URL"]
    folder = os.environ.get(DATA_DIR_ENV)
    return f"sqlite://{Path(folder).resolve() / 'data.sqlite3'}" if folder else DEFAULT_URL


SCHEMA_TRIES = 5  # creating the schema, when PostgreSQL aborts it as a deadlock with another process's

# (table, column, type) that `safe` schema generation does not add to tables made by an older wfkit
ADDED_COLUMNS = [("idempotency", "request", "VARCHAR(64) NOT NULL DEFAULT ''")]


class Database:
    """An open (or not yet open) database: `connect`, statements, transactions, `close`."""

    def __init__(self) -> None:
        self.url = ""
        self._ctx: TortoiseContext | None = None
        self._db: BaseDBAsyncClient | None = None
        self.dialect: S.Dialect = S.SqliteDialect()
        self.indexes: set[str] = set()  # the names of the indexes that exist

    async def connect(self, url: str, *, global_fallback: bool = False) -> None:
        """`global_fallback` also makes this tortoise context the process-wide fallback (for code
        that uses tortoise models in tasks started elsewhere, such as Sanic listeners)."""
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

    @contextmanager
    def current(self) -> Iterator[None]:
        """This store's tortoise context as the current one, for this task. (`with TortoiseContext:`
        keeps its one token on the shared object, so two tasks inside it at once reset each other's
        and the second fails with "was created in a different Context".)"""
        if self._ctx is None:
            raise ConfigError("the data store is not open")
        token = _current_context.set(self._ctx)
        try:
            yield
        finally:
            _current_context.reset(token)

    async def generate_schemas(self) -> None:
        """Create the tables and indexes that do not exist yet (never drops or alters anything)."""
        assert self._ctx is not None, "the store is not open"
        for attempt in range(SCHEMA_TRIES):
            try:
                with self.current():
                    await self._ctx.generate_schemas(safe=True)
                break
            except Exception as e:
                # PostgreSQL: the schema script runs in one transaction, and even when everything
                # exists its `CREATE INDEX IF NOT EXISTS` (ShareLock) and `COMMENT ON TABLE`
                # (ShareUpdateExclusiveLock) lock each table. Two processes opening the store at once
                # (`wf serve --workers 2`, `wf worker`s started together) lock the same tables in
                # turn and deadlock; PostgreSQL aborts one, which would exit. It is idempotent: again.
                if "deadlock detected" not in str(e) or attempt == SCHEMA_TRIES - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1) + random.random() * 0.1)
        for table, column, sql_type in ADDED_COLUMNS:
            await self._add_column(table, column, sql_type)
        self.indexes = await self.index_names()

    async def _add_column(self, table: str, column: str, sql_type: str) -> None:
        """A column a later wfkit added to one of its own tables, on a database made before it."""
        if self.dialect.name == "sqlite":
            names = {r["name"] for r in await self.query(f'PRAGMA table_info("{table}")')}
            if column not in names:
                await self.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sql_type}')
        else:
            await self.execute(f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS "{column}" {sql_type}')

    async def index_names(self) -> set[str]:
        """The indexes in the database now (on PostgreSQL: those of `things`)."""
        if self.dialect.name == "sqlite":
            rows = await self.query("SELECT name FROM sqlite_master WHERE type = 'index'")
        else:
            rows = await self.query("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'things'")
        return {r["name"] for r in rows}

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
        with self.current():
            async with self.db._in_transaction() as tx:
                yield tx

    async def query(
        self, sql: str, params: Iterable[Any] = (), *, on: BaseDBAsyncClient | None = None
    ) -> list[dict[str, Any]]:
        return list(await (on or self.db).execute_query_dict(sql, list(params)))

    async def execute(self, sql: str, params: Iterable[Any] = (), *, on: BaseDBAsyncClient | None = None) -> int:
        count, _ = await (on or self.db).execute_query(sql, list(params))
        return int(count)
