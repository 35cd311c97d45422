"""Search conditions → SQL over the `things` table, for SQLite and PostgreSQL.

Every declared field is an expression over the JSON `data` column (`json_extract` on SQLite,
`->>` with a guarded cast on PostgreSQL); built-in fields are columns. Field names go into the SQL
text only after `check_name`; values are always bound parameters (`?N` / `$N`, numbered, so a
fragment may be used twice). Each comparison is written to be true or false, never SQL NULL, so
`not`, `!=` and empty values mean what they mean in Python (`wfkit.core.query.matches`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
from wfkit.core import query as Q
from wfkit.core import values as V
from wfkit.core.errors import RunError
from wfkit.core.things import Thing
from wfkit.core.types import AnyType, ListType, NothingType, Prim, ThingType, WfType

from .codec import iso

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
COLUMNS = {"id": "text", "created_at": "date", "modified_at": "date", "created_by": "text"}
SELECT = 'SELECT "id", "type", "data", "created_at", "modified_at", "created_by" FROM "things"'

Kind = Literal["text", "date", "num", "bool", "json"]


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise RunError(f"not a field name: {name!r}")
    return name


def kind_of(t: WfType) -> Kind:
    if isinstance(t, ThingType):
        return "text"
    if isinstance(t, Prim):
        if t.name == "text":
            return "text"
        if t.name == "date":
            return "date"
        if t.name in ("number", "duration"):
            return "num"
        if t.name == "boolean":
            return "bool"
    return "json"


class Dialect:
    name: str = ""

    def param(self, n: int) -> str:
        raise NotImplementedError

    def value(self, f: str, kind: Kind) -> str:
        """The field's scalar value (SQL NULL when empty or of another type)."""
        raise NotImplementedError

    def json(self, f: str) -> str:
        """The field's JSON value, for lists and objects."""
        raise NotImplementedError

    def json_empty(self, f: str) -> str:
        raise NotImplementedError

    def list_has(self, f: str, p: str) -> str:
        """The list field holds the stored item bound at `p` (see `list_item_param`)."""
        raise NotImplementedError

    def list_item_param(self, item: Any) -> Any:
        return item

    def text_has(self, expr: str, p: str) -> str:
        raise NotImplementedError

    def order(self, expr: str, desc: bool) -> str:
        raise NotImplementedError

    def num_param(self, x: int | float) -> Any:
        return x

    def set_data(self, b: Builder, changes: dict[str, Any]) -> str:
        """`data` with these keys set to these stored (JSON) values."""
        raise NotImplementedError


class SqliteDialect(Dialect):
    name = "sqlite"

    def param(self, n: int) -> str:
        return f"?{n}"

    def value(self, f: str, kind: Kind) -> str:
        return f"json_extract(\"data\",'$.{f}')"

    def json(self, f: str) -> str:
        return f"json_extract(\"data\",'$.{f}')"

    def json_empty(self, f: str) -> str:
        e = self.json(f)
        return f"({e} IS NULL OR {e} IN ('[]','{{}}',''))"

    def list_has(self, f: str, p: str) -> str:
        return f'EXISTS (SELECT 1 FROM json_each("data",\'$.{f}\') WHERE "value" = {p})'

    def text_has(self, expr: str, p: str) -> str:
        return f"instr({expr}, {p}) > 0"

    def order(self, expr: str, desc: bool) -> str:
        return f"{expr} DESC" if desc else expr  # SQLite sorts NULL (empty) first: the smallest

    def set_data(self, b: Builder, changes: dict[str, Any]) -> str:
        pairs = ", ".join(f"'$.{check_name(k)}', json({b.bind(orjson.dumps(v).decode())})" for k, v in changes.items())
        return f'json_set("data", {pairs})'


class PostgresDialect(Dialect):
    name = "postgres"

    def param(self, n: int) -> str:
        return f"${n}"

    def value(self, f: str, kind: Kind) -> str:
        j = f"(\"data\"->'{f}')"
        t = f"(\"data\"->>'{f}')"
        if kind == "num":
            return f"(CASE WHEN jsonb_typeof({j})='number' THEN {t}::float8 END)"
        if kind == "bool":
            return f"(CASE WHEN jsonb_typeof({j})='boolean' THEN {t}::boolean END)"
        if kind in ("text", "date"):
            return f'({t} COLLATE "C")'  # byte order, as SQLite and Python compare text
        return j

    def json(self, f: str) -> str:
        return f"(\"data\"->'{f}')"

    def json_empty(self, f: str) -> str:
        e = self.json(f)
        return f"({e} IS NULL OR {e} IN ('null'::jsonb,'[]'::jsonb,'{{}}'::jsonb,'\"\"'::jsonb))"

    def list_has(self, f: str, p: str) -> str:
        return f"{self.json(f)} @> {p}::jsonb"

    def list_item_param(self, item: Any) -> Any:
        return orjson.dumps([item]).decode()

    def text_has(self, expr: str, p: str) -> str:
        return f"strpos({expr}, {p}) > 0"

    def order(self, expr: str, desc: bool) -> str:
        return f"{expr} DESC NULLS LAST" if desc else f"{expr} ASC NULLS FIRST"

    def num_param(self, x: int | float) -> Any:
        return float(x)

    def set_data(self, b: Builder, changes: dict[str, Any]) -> str:
        for k in changes:
            check_name(k)
        return f'("data" || {b.bind(orjson.dumps(changes).decode())}::jsonb)'


def dialect_for(engine: str) -> Dialect:
    return SqliteDialect() if "sqlite" in engine else PostgresDialect()


class _Mismatch(Exception):
    """A value of another kind than the field's: never equal to it."""


@dataclass
class Builder:
    """Builds one statement: SQL text with numbered parameters, and the parameters."""

    dialect: Dialect
    fields: dict[str, WfType]  # the searched type's declared fields
    type_name: str = ""
    params: list[Any] = field(default_factory=list)
    guard: Callable[[str], str | None] | None = None  # field → SQL saying the caller may view it

    def unguarded(self, cond: Q.Cond) -> str:
        """`where(cond)` over the stored values (privacy rules see every field)."""
        guard, self.guard = self.guard, None
        try:
            return self.where(cond)
        finally:
            self.guard = guard

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return self.dialect.param(len(self.params))

    # ---- fields

    def field_type(self, name: str) -> WfType:
        check_name(name)
        if name in COLUMNS:
            return Prim("date") if COLUMNS[name] == "date" else Prim("text")
        t = self.fields.get(name)
        if t is None:
            raise RunError(f"{self.type_name or 'this type'} has no field '{name}'")
        return t

    def expr(self, name: str, kind: Kind, *, guarded: bool = True) -> str:
        """The SQL for a field's value; a field the caller may not view reads as NULL (empty)."""
        if name in COLUMNS:
            return f'"{name}"'
        e = self.dialect.value(name, kind) if kind != "json" else self.dialect.json(name)
        if guarded and self.guard is not None:
            visible = self.guard(name)
            if visible is not None:
                return f"(CASE WHEN {visible} THEN {e} END)"
        return e

    # ---- conditions

    def where(self, cond: Q.Cond) -> str:
        if isinstance(cond, Q.Const):
            return "1=1" if cond.value else "1=0"
        if isinstance(cond, Q.And | Q.Or):
            if not cond.parts:
                return "1=1" if isinstance(cond, Q.And) else "1=0"
            joiner = " AND " if isinstance(cond, Q.And) else " OR "
            return "(" + joiner.join(self.where(p) for p in cond.parts) + ")"
        if isinstance(cond, Q.Not):
            return f"NOT {self.where(cond.part)}"
        if isinstance(cond, Q.Empty):
            sql = self.empty(cond.field)
            return f"NOT {sql}" if cond.negated else sql
        if isinstance(cond, Q.Cmp):
            return self.compare(cond)
        raise RunError(f"cannot search with {cond!r}")

    def empty(self, name: str) -> str:
        t = self.field_type(name)
        if name == "id":
            return "1=0"
        if name in COLUMNS:
            return f'("{name}" IS NULL)'
        kind = kind_of(t)
        if kind == "json":
            if self.guard is not None and (visible := self.guard(name)) is not None:
                return f"(NOT {visible} OR {self.dialect.json_empty(name)})"
            return self.dialect.json_empty(name)
        e = self.expr(name, kind)
        if kind == "text":
            return f"({e} IS NULL OR {e} = '')"
        return f"({e} IS NULL)"

    def compare(self, c: Q.Cmp) -> str:
        t = self.field_type(c.field)
        op, value = c.op, c.value
        if op in ("==", "!=") and value is None:
            sql = self.empty(c.field)
            return sql if op == "==" else f"NOT {sql}"
        if op == "in":
            return self._in(c.field, t, value)
        if op == "contains":
            return self._contains(c.field, t, value)
        kind = kind_of(t)
        if kind == "json":
            raise RunError(f"cannot compare the field '{c.field}' ({t}) in a search; test it with `is empty` or `in`")
        if value is None:  # empty is not ordered against anything
            return "1=0"
        try:
            p = self.bind(self.scalar(kind, value))
        except _Mismatch:
            if op in ("==", "!="):
                return "1=0" if op == "==" else "1=1"
            raise RunError(f"cannot compare the field '{c.field}' ({t}) {op} {V.type_name(value)}") from None
        e = self.expr(c.field, kind)
        if op == "!=":
            return f"NOT ({e} IS NOT NULL AND {e} = {p})"
        sql_op = "=" if op == "==" else op
        return f"({e} IS NOT NULL AND {e} {sql_op} {p})"

    def scalar(self, kind: Kind, v: Any) -> Any:
        """A value as bound for comparison with a field of this kind."""
        if isinstance(v, Thing):
            v = v.id
        if kind == "text":
            if isinstance(v, str):
                return v
            raise _Mismatch
        if kind == "date":
            if isinstance(v, datetime):
                return iso(v)
            if isinstance(v, str):
                try:
                    return iso(V.parse_date(v))
                except ValueError:
                    raise _Mismatch from None
            raise _Mismatch
        if kind == "num":
            if isinstance(v, timedelta):
                v = v.total_seconds()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                return self.dialect.num_param(v)
            raise _Mismatch
        if kind == "bool":
            if isinstance(v, bool):
                return v
            raise _Mismatch
        raise _Mismatch

    def _in(self, name: str, t: WfType, value: Any) -> str:
        if value is None:
            return "1=0"
        if isinstance(value, str):  # `field in "some text"`: the field's text is part of it
            kind = kind_of(t)
            if kind != "text":
                return "1=0"
            e = self.expr(name, kind)
            p = self.bind(value)
            return f"({e} IS NOT NULL AND {self.dialect.text_has(p, e)})"
        if not isinstance(value, list | tuple):
            raise RunError(f"`in` needs a list, got {V.type_name(value)}")
        kind = kind_of(t)
        if kind == "json":
            raise RunError(f"cannot search for the field '{name}' ({t}) in a list")
        parts = []
        has_empty = False
        for item in value:
            if item is None:
                has_empty = True
                continue
            try:
                parts.append(self.bind(self.scalar(kind, item)))
            except _Mismatch:
                continue
        e = self.expr(name, kind)
        sql = f"({e} IS NOT NULL AND {e} IN ({', '.join(parts)}))" if parts else "1=0"
        if has_empty:
            sql = f"({sql} OR {self.empty(name)})"
        return sql

    def _contains(self, name: str, t: WfType, value: Any) -> str:
        if value is None:
            return "1=0"
        if isinstance(t, ListType):
            item_kind = kind_of(t.item)
            try:
                item = self.scalar(item_kind, value) if item_kind != "json" else value
            except _Mismatch:
                return "1=0"
            if isinstance(item, float) and item.is_integer() and self.dialect.name == "sqlite":
                item = int(item)
            p = self.bind(self.dialect.list_item_param(item))
            sql = self.dialect.list_has(name, p)
            if self.guard is not None and (visible := self.guard(name)) is not None:
                sql = f"({visible} AND {sql})"
            return sql
        kind = kind_of(t)
        if kind != "text" or not isinstance(value, str | int | float) or isinstance(value, bool):
            if isinstance(t, AnyType | NothingType):
                return "1=0"
            raise RunError(f"the field '{name}' ({t}) is not a list or a text")
        e = self.expr(name, kind)
        p = self.bind(V.text(value))
        return f"({e} IS NOT NULL AND {self.dialect.text_has(e, p)})"

    # ---- order

    def order_by(self, name: str | None, desc: bool) -> str:
        if name is None:
            return f'"created_at"{" DESC" if desc else ""}, "id"{" DESC" if desc else ""}'
        t = self.field_type(name)
        kind = kind_of(t)
        if kind == "json":
            raise RunError(f"cannot order by '{name}': {t} values have no order")
        return f'{self.dialect.order(self.expr(name, kind), desc)}, "id"{" DESC" if desc else ""}'


def index_expr(dialect: Dialect, name: str, t: WfType) -> str | None:
    """The expression an index on this field must hold to serve searches (as `Builder.expr`)."""
    kind = kind_of(t)
    if kind == "json" or name in COLUMNS:
        return None
    return dialect.value(check_name(name), kind)


def fields_used(cond: Q.Cond) -> set[str]:
    if isinstance(cond, Q.And | Q.Or):
        out: set[str] = set()
        for p in cond.parts:
            out |= fields_used(p)
        return out
    if isinstance(cond, Q.Not):
        return fields_used(cond.part)
    if isinstance(cond, Q.Cmp | Q.Empty):
        return {cond.field}
    return set()
