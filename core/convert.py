"""Arguments from outside (JSON, form, query string, command line) → values of declared types.

docs/http.md "Calling a workflow": "42" → 42 for a number, "true"/"yes" → true, a thing's id → that
thing, ISO 8601 text → a date, seconds or ISO 8601 text → a duration, a list from a JSON array or
repeated keys.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

import orjson

from . import values as V
from .app import ParamInfo, Workflow
from .context import RunInfo
from .errors import InvalidDataError, MissingDataError
from .things import Thing
from .types import TEXT, AnyType, ListType, NothingType, Prim, ThingType, WfType

TRUE_WORDS = ("true", "yes", "1", "on")
FALSE_WORDS = ("false", "no", "0", "off")


class Unconvertible(Exception):
    pass


def _number(v: Any) -> int | float:
    if type(v) is int:  # JSON's whole numbers, as they are
        return v
    if isinstance(v, bool):
        raise Unconvertible
    if isinstance(v, int | float):
        n = v
    elif isinstance(v, str):
        try:
            n = float(v.strip())
        except ValueError:
            raise Unconvertible from None
    else:
        raise Unconvertible
    if not math.isfinite(n):
        raise Unconvertible
    return V.normalize_number(n)


def _boolean(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
    raise Unconvertible


def _date(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v
    if isinstance(v, str):
        try:
            return V.parse_date(v)
        except ValueError:
            raise Unconvertible from None
    raise Unconvertible


def _duration(v: Any) -> timedelta:
    if isinstance(v, timedelta):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return timedelta(seconds=v)
    if isinstance(v, str):
        try:
            return V.parse_duration(v)
        except (ValueError, OverflowError):
            raise Unconvertible from None
    raise Unconvertible


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, int | float | bool):
        return V.text(v)
    raise Unconvertible


def _object(v: Any, from_text: bool) -> Any:
    if from_text and isinstance(v, str):
        try:
            return orjson.loads(v)
        except orjson.JSONDecodeError:
            return v
    return v


PRIM = {"number": _number, "boolean": _boolean, "date": _date, "duration": _duration, "text": _text}


def convert_plain(value: Any, t: Prim, from_text: bool = False) -> Any:
    """`value` as a primitive type (no store needed); raises `Unconvertible` when it cannot be."""
    if t.name == "object":
        return _object(value, from_text)
    if isinstance(value, list):  # a repeated key where one value is expected: the last wins
        if not value:
            return None
        value = value[-1]
    try:
        return PRIM[t.name](value)
    except (OverflowError, ValueError):  # 1e308 seconds, and the like: not a value of the type either
        raise Unconvertible from None


async def convert(value: Any, t: WfType, *, store: Any, run: RunInfo | None, from_text: bool = False) -> Any:
    """`value` as type `t`; raises `Unconvertible` when it cannot be."""
    if value is None:
        return None
    if type(t) is Prim:
        return convert_plain(value, t, from_text)
    if isinstance(t, AnyType | NothingType):
        return value
    if isinstance(t, ListType):
        if from_text and isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise Unconvertible from None
        items = value if isinstance(value, list) else [value]
        return [await convert(x, t.item, store=store, run=run, from_text=from_text) for x in items]
    assert isinstance(t, ThingType)
    if isinstance(value, Thing):
        return value
    if not isinstance(value, str) or store is None:
        raise Unconvertible
    thing = await store.get(t.name, value, run)
    if thing is None:
        raise Unconvertible
    return thing


async def convert_args(
    wf: Workflow,
    raw: Mapping[str, Any],
    *,
    store: Any = None,
    run: RunInfo | None = None,
    from_text: bool | Collection[str] = False,
) -> dict[str, Any]:
    """The workflow's parameters from `raw`; unknown keys are ignored, as Bubble does.

    `from_text`: the values came as text (query string, form, command line) — all of them, or the
    keys named. Raises MissingDataError / InvalidDataError with Bubble's messages."""
    if wf.plain_params:  # no store to ask, no coroutine per parameter
        return convert_plain_args(wf, raw, from_text)
    out: dict[str, Any] = {}
    for p in wf.params:
        value, as_text = _given(wf, p, raw, from_text)
        if value is not None:
            try:
                out[p.name] = await convert(value, p.type, store=store, run=run, from_text=as_text)
            except Unconvertible:
                raise _invalid(wf, p, value) from None
    return out


def convert_plain_args(
    wf: Workflow, raw: Mapping[str, Any], from_text: bool | Collection[str] = False
) -> dict[str, Any]:
    """`convert_args` for a workflow whose parameters are all of primitive types (`wf.plain_params`)."""
    out: dict[str, Any] = {}
    for p in wf.params:
        value, as_text = _given(wf, p, raw, from_text)
        if value is not None:
            out[p.name] = _plain(wf, p, value, as_text)
    return out


def _plain(wf: Workflow, p: ParamInfo, value: Any, as_text: bool) -> Any:
    try:
        return convert_plain(value, cast(Prim, p.type), as_text)
    except Unconvertible:
        raise _invalid(wf, p, value) from None


def _given(wf: Workflow, p: ParamInfo, raw: Mapping[str, Any], from_text: bool | Collection[str]) -> tuple[Any, bool]:
    """The value given for `p` (None: none) and whether it came as text."""
    value = raw.get(p.name)
    # "" is no value for a type other than text, however it came (`?n=` and `{"n": ""}` alike)
    if value is None or (value == "" and p.type != TEXT):
        if p.required:
            raise MissingDataError(f"Missing parameter for workflow {wf.name}: parameter {p.name}")
        return None, False
    return value, from_text if isinstance(from_text, bool) else p.name in from_text


def _invalid(wf: Workflow, p: ParamInfo, value: Any) -> InvalidDataError:
    shown = V.REDACTED if p.secret else _show(value)
    message = f"Invalid data for parameter {p.name} of workflow {wf.name}: expected {p.type}, got {shown}"
    return InvalidDataError(message)


def _show(v: Any) -> str:
    if isinstance(v, str):
        s = repr(v)
    else:
        try:
            s = orjson.dumps(v, default=str).decode()
        except TypeError:  # integers beyond 64 bits
            s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."
