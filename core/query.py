"""Search conditions: what `search T where …` and privacy rules become, ready for SQL.

The compiler turns a `where` clause into a `CondPlan` whose values are compiled expressions;
at run time `CondPlan.build(frame)` gives a `Cond` tree of plain values that the store translates
to SQL, and `matches(cond, thing)` checks in Python (for a single, already loaded thing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import values as V
from .things import Thing


class Cond:
    """A condition on the fields of one thing."""


@dataclass(frozen=True, slots=True)
class Cmp(Cond):
    """`field OP value`; `in`: the field's value is one of `value` (a list); `contains`: the list
    field holds `value`."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Empty(Cond):
    field: str
    negated: bool = False  # True for `is not empty`


@dataclass(frozen=True, slots=True)
class And(Cond):
    parts: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Or(Cond):
    parts: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Not(Cond):
    part: Cond


@dataclass(frozen=True, slots=True)
class Const(Cond):
    """A condition that does not depend on the thing (`when current_user is not empty`)."""

    value: bool


TRUE = Const(True)
FALSE = Const(False)


def field_value(thing: Thing, field: str) -> Any:
    if field == "id":
        return thing.id
    if field in ("created_at", "modified_at"):
        return getattr(thing, field)
    if field == "created_by":
        return thing.created_by
    v = thing.data.get(field)
    return v.id if isinstance(v, Thing) else v


def matches(cond: Cond, thing: Thing | None) -> bool:
    """Whether `thing` meets `cond`, evaluated in Python (references compared by id)."""
    if isinstance(cond, Const):
        return cond.value
    if thing is None:
        return False
    if isinstance(cond, And):
        return all(matches(p, thing) for p in cond.parts)
    if isinstance(cond, Or):
        return any(matches(p, thing) for p in cond.parts)
    if isinstance(cond, Not):
        return not matches(cond.part, thing)
    if isinstance(cond, Empty):
        return V.is_empty(field_value(thing, cond.field)) != cond.negated
    assert isinstance(cond, Cmp)
    left = field_value(thing, cond.field)
    right = cond.value.id if isinstance(cond.value, Thing) else cond.value
    if cond.op == "in":
        return V.contains(right, left)
    if cond.op == "contains":
        return V.contains(left, right)
    fn: Callable[[Any, Any], bool] = {
        "==": V.eq,
        "!=": V.ne,
        "<": V.lt,
        "<=": V.le,
        ">": V.gt,
        ">=": V.ge,
    }[cond.op]
    return fn(left, right)


def simplify(cond: Cond) -> Cond:
    """Fold constant parts away, so the store sees only what depends on the row."""
    if isinstance(cond, And | Or):
        parts = [simplify(p) for p in cond.parts]
        absorbing = FALSE if isinstance(cond, And) else TRUE
        if absorbing in parts:
            return absorbing
        parts = [p for p in parts if not isinstance(p, Const)]
        if not parts:
            return TRUE if isinstance(cond, And) else FALSE
        return parts[0] if len(parts) == 1 else type(cond)(tuple(parts))
    if isinstance(cond, Not):
        inner = simplify(cond.part)
        if isinstance(inner, Const):
            return Const(not inner.value)
        return Not(inner)
    return cond
