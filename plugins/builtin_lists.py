"""Built-in functions on lists (and `length`/`contains`, which take a text or a list).

A plain plugin module: it provides its functions through `register_functions`, like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import reduce
from typing import Any

from wfkit.core import types as t
from wfkit.core.actions import FunctionSpec, ParamSpec
from wfkit.core.errors import FunctionError
from wfkit.core.things import Thing

from . import hookimpl
from .values import check_comparable, fail, is_number, key, read_field, to_text


def as_list(function: str, value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    fail(function, value, "is not a list")


def gather(function: str, values: tuple[Any, ...]) -> list[Any]:
    """`f(list)` or `f(a, b, …)`: the values, empties left out."""
    items = as_list(function, values[0]) if len(values) == 1 and isinstance(values[0], list) else values
    return [v for v in items if v is not None]


# --- the functions ---


def count(values: object) -> int:
    return len(as_list("count", values))


def first(values: object) -> Any:
    items = as_list("first", values)
    return items[0] if items else None


def last(values: object) -> Any:
    items = as_list("last", values)
    return items[-1] if items else None


def sum_(*values: Any) -> int | float | timedelta:
    items = gather("sum", values)
    if items and all(isinstance(v, timedelta) for v in items):
        return sum(items, timedelta())
    if any(isinstance(v, timedelta) for v in items):
        raise FunctionError("sum: cannot add numbers and durations")
    for v in items:
        if not is_number(v):
            fail("sum", v, "is not a number")
    total: int | float = sum(items)
    return total


def min_(*values: Any) -> Any:
    items = gather("min", values)
    check_comparable("min", items)
    return min(items) if items else None


def max_(*values: Any) -> Any:
    items = gather("max", values)
    check_comparable("max", items)
    return max(items) if items else None


def unique(values: object) -> list[Any]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for v in as_list("unique", values):
        k = key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def sort(values: object, desc: object = False, by: object = None) -> list[Any]:
    items = as_list("sort", values)
    if not isinstance(desc, bool):
        fail("sort", desc, "is not a boolean (desc:)")
    if by is not None and not isinstance(by, str):
        fail("sort", by, "is not a field name (by:)")
    if by is None:
        for v in items:
            if isinstance(v, dict | Thing):
                fail("sort", v, 'cannot be compared; give the field to sort by, as by: "field"')
    pairs = [(read_field(v, by) if by is not None else v, v) for v in items]
    present = [p for p in pairs if p[0] is not None]
    check_comparable("sort", [p[0] for p in present])
    present.sort(key=lambda p: p[0], reverse=desc)
    return [v for _, v in present] + [v for k, v in pairs if k is None]  # empties last


def join(values: object, sep: object) -> str:
    if not isinstance(sep, str):
        fail("join", sep, "is not a text (separator)")
    return sep.join(to_text(v) for v in as_list("join", values) if v is not None)


def length(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, str | list | dict):
        return len(value)
    fail("length", value, "is not a text or a list")


def contains(haystack: object, needle: object) -> bool:
    if haystack is None or needle is None:
        return False
    if isinstance(haystack, str):
        return to_text(needle) in haystack
    if isinstance(haystack, list):
        k = key(needle)
        return any(key(v) == k for v in haystack)
    if isinstance(haystack, dict):
        return to_text(needle) in haystack  # an object's keys
    fail("contains", haystack, "is not a text or a list")


# --- result types, from the argument types ---


def _arg(args: Sequence[t.WfType]) -> t.WfType:
    return args[0] if args else t.ANY


def item_type(args: Sequence[t.WfType]) -> t.WfType:
    """`first(list of T) -> T`."""
    a = _arg(args)
    return a.item if isinstance(a, t.ListType) else t.ANY


def same_list_type(args: Sequence[t.WfType]) -> t.WfType:
    """`sort(list of T) -> list of T`."""
    a = _arg(args)
    return a if isinstance(a, t.ListType) else t.ANY_LIST


def extreme_type(args: Sequence[t.WfType]) -> t.WfType:
    """`min(list of T) -> T`, `min(T, T, …) -> T`."""
    if len(args) == 1 and isinstance(args[0], t.ListType):
        return args[0].item
    start: t.WfType = t.NOTHING
    return reduce(t.join, args, start) if args else t.ANY


def sum_type(args: Sequence[t.WfType]) -> t.WfType:
    item = extreme_type(args)
    return item if item in (t.DURATION, t.ANY) else t.NUMBER


LIST = ParamSpec("list", "list", required=True)
VALUES = ParamSpec("values", "any", required=True, doc="a list, or several values")


@hookimpl
def register_functions() -> list[FunctionSpec]:
    return [
        FunctionSpec("count", count, (LIST,), "number", "How many items a list has; 0 for empty."),
        FunctionSpec("first", first, (LIST,), item_type, "The first item, or empty."),
        FunctionSpec("last", last, (LIST,), item_type, "The last item, or empty."),
        FunctionSpec("sum", sum_, (VALUES,), sum_type, "Numbers or durations added up; 0 for none.", True),
        FunctionSpec("min", min_, (VALUES,), extreme_type, "The smallest value, or empty.", True),
        FunctionSpec("max", max_, (VALUES,), extreme_type, "The largest value, or empty.", True),
        FunctionSpec("unique", unique, (LIST,), same_list_type, "Without repeats, in order; things by id."),
        FunctionSpec(
            "sort",
            sort,
            (LIST,),
            same_list_type,
            'Sorted, empties last; `desc: true` reverses, `by: "field"` sorts things or objects.',
            kwargs=(ParamSpec("desc", "boolean"), ParamSpec("by", "text")),
        ),
        FunctionSpec(
            "join",
            join,
            (LIST, ParamSpec("sep", "text", required=True)),
            "text",
            "The items as text, separated by `sep`.",
        ),
        FunctionSpec(
            "length",
            length,
            (ParamSpec("value", "any", required=True, doc="a text or a list"),),
            "number",
            "Characters of a text, items of a list; 0 for empty.",
        ),
        FunctionSpec(
            "contains",
            contains,
            (ParamSpec("value", "any", required=True, doc="a text or a list"), ParamSpec("x", "any", True)),
            "boolean",
            "Whether a text contains `x` as a part, or a list as an item.",
        ),
    ]
