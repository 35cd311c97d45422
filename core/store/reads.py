"""Reading things: one by id or many by a search, as the run asking may see them (privacy rules).

A search becomes one SQL statement: its condition, the privacy rules that let the run find things,
the order and the limit. The fields searches use get an expression index the first time.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wfkit.core import query as Q
from wfkit.core.app import App, FieldInfo, TypeInfo
from wfkit.core.context import RunInfo
from wfkit.core.errors import ActionError
from wfkit.core.services import Services
from wfkit.core.things import BUILTIN_FIELDS, Thing
from wfkit.core.types import BOOLEAN, TEXT, WfType

from . import sql as S
from .codec import column_json, decode, parse_iso
from .database import Database
from .privacy import Access, access_for

logger = logging.getLogger("wfkit.store")

MAX_AUTO_INDEXES = 16  # per type: each index costs every write of the type a little
# SQLite chooses an index by the statistics ANALYZE keeps; without them, a search with a condition
# and a limit walks the (type, created_at) index to avoid a sort, and reads every thing of the type
# when few match (100 ms at 200,000 things, against 0.1 ms by the condition's index). Searches
# refresh them, sampling a few hundred rows an index (a few milliseconds whatever the size).
STATISTICS_EVERY = 60.0  # seconds
ANALYSIS_ROWS = 400


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


class ThingReader(Database):
    """The things of the app's types, read under privacy rules."""

    def __init__(self, app: App | None, services: Services) -> None:
        super().__init__()
        self.app: App | None = app
        self.types: dict[str, TypeInfo] = app.types if app is not None else default_types()
        self.services = services  # the frames of privacy conditions and field defaults use them
        self._auto_indexed: dict[str, int] = {}
        self._index_checked: set[tuple[str, str]] = set()
        self._statistics_due = 0.0  # (time.monotonic) when searches next refresh SQLite's statistics

    def type_info(self, type_name: str) -> TypeInfo:
        info = self.types.get(type_name)
        if info is None:
            raise ActionError(f"unknown type '{type_name}'")
        return info

    def _field_types(self, type_name: str) -> dict[str, WfType]:
        info = self.types.get(type_name)
        return {n: f.type for n, f in info.fields.items()} if info is not None else {}

    def thing_from_row(self, row: Mapping[str, Any]) -> Thing:
        data = column_json(row["data"])
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

    # ------------------------------------------------------------------ privacy

    async def access(self, type_name: str, run: RunInfo | None) -> Access | None:
        """The privacy rules of a type as they apply to `run` (None: everything is visible)."""
        if self.app is None:
            return None
        return await access_for(self.app, type_name, run, self.services)

    async def allowed(self, thing: Thing, grant: str, run: RunInfo | None) -> bool:
        """Whether `run` may `grant` ("change" or "delete") this thing through the Data API
        (docs/http.md). `thing` must be as stored (loaded with `run=None`): rules test every field."""
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
        await self._fresh_statistics()
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
        if index in self.indexes:
            return False
        self.indexes.add(index)
        # Empty sorts as the smallest value: PostgreSQL's index must keep NULLs first to serve
        # `ORDER BY … ASC NULLS FIRST` and, scanned backwards, `DESC NULLS LAST`.
        nulls = " NULLS FIRST" if self.dialect.name == "postgres" else ""
        try:
            await self.execute(f'CREATE INDEX IF NOT EXISTS "{index}" ON "things" ("type", {expr}{nulls})')
        except Exception:  # another process made it, or the database refuses: searches still work
            logger.warning("could not create the index %s on %s.%s", index, type_name, name, exc_info=True)
            return False
        return True

    async def _fresh_statistics(self) -> None:
        """SQLite's planner statistics, refreshed at most every STATISTICS_EVERY seconds (PostgreSQL's
        autovacuum keeps its own)."""
        if self.dialect.name != "sqlite" or time.monotonic() < self._statistics_due:
            return
        self._statistics_due = time.monotonic() + STATISTICS_EVERY
        try:
            await self.execute(f"PRAGMA analysis_limit = {ANALYSIS_ROWS}")
            await self.execute("ANALYZE")
        except Exception:  # a busy database: searches go on with the statistics they have
            logger.warning("could not refresh the database's statistics", exc_info=True)

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


def _index_name(type_name: str, name: str, expr: str) -> str:
    digest = hashlib.sha1(f"{type_name}.{name}:{expr}".encode()).hexdigest()[:8]
    return f"wf_{type_name.lower()[:20]}_{name.lower()[:20]}_{digest}"
