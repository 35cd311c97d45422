"""Run-time values as the built-in functions see them: conversions, checks and comparison keys.

`to_text` is also what the log action and string interpolation use, so `"{x}"`, `text(x)` and
`log x` always agree.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import orjson
from wfkit.core.errors import FunctionError
from wfkit.core.things import Thing


def is_number(value: object) -> bool:
    # bool is an int in Python but a boolean in wfkit
    return isinstance(value, int | float) and not isinstance(value, bool)


def fail(function: str, value: object, problem: str) -> NoReturn:
    """Raise `FunctionError` as `function: VALUE problem`, e.g. `number: "abc" is not a number`."""
    raise FunctionError(f"{function}: {describe(value)} {problem}")


def describe(value: object) -> str:
    """A value as an error message shows it: text quoted, long values cut."""
    if value is None:
        return "empty"
    shown = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else to_text(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def format_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))  # 3.0 reads as 3
    return str(value)


def format_iso(value: datetime) -> str:
    """ISO 8601 in UTC with `Z`: `2026-12-01T09:00:00Z` (microseconds only when there are some)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def to_json(value: object) -> Any:
    """A value as JSON: things as ids, dates ISO 8601, durations in seconds, 3.0 as 3."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, datetime):
        return format_iso(value)
    if isinstance(value, timedelta):
        return to_json(value.total_seconds())
    if isinstance(value, Thing):
        return value.id
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return str(value)


def to_text(value: object) -> str:
    """The text of any run-time value, as `text(x)` gives it (SPEC §2.5)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, datetime):
        return format_iso(value)
    if isinstance(value, timedelta):
        return format_number(value.total_seconds())
    if isinstance(value, Thing):
        return value.id
    data = to_json(value)
    try:
        return orjson.dumps(data).decode()  # as the engine's JSON responses write it
    except TypeError:  # integers beyond 64 bits
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def to_date(function: str, value: object) -> datetime | None:
    """A date from a date or ISO 8601 text; naive text means UTC; blank text is empty."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        fail(function, value, "is not a date")
    iso = value.strip()
    if not iso:
        return None
    if iso.endswith("z"):
        iso = iso[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        fail(function, value, "is not a date (expected ISO 8601, e.g. 2026-12-01T09:00:00Z)")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def read_field(value: object, field: str) -> Any:
    """`value.field` for a thing (hidden fields read as empty) or an object."""
    if isinstance(value, Thing):
        if field in value.hidden:
            return None
        if field in ("id", "created_at", "modified_at", "created_by"):
            return getattr(value, field)
        return value.data.get(field)
    if isinstance(value, dict):
        return value.get(field)
    return None


def key(value: object) -> tuple[Any, ...]:
    """An equality key: 1 and 1.0 are equal, 1 and true are not, things compare by id."""
    if value is None:
        return ("empty",)
    if isinstance(value, bool):
        return ("boolean", value)
    if is_number(value):
        return ("number", value)
    if isinstance(value, Thing):
        return ("thing", value.type, value.id)
    if isinstance(value, dict | list):
        return ("object", to_text(value))
    return (type(value).__name__, value)


def kind(value: object) -> str:
    """Which values order against each other: numbers with numbers, texts with texts, …"""
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "date"
    if isinstance(value, timedelta):
        return "duration"
    return "other"


def check_comparable(function: str, values: list[Any]) -> None:
    """All values must be of one orderable kind (empties are left out before this)."""
    kinds = {kind(v) for v in values}
    for v in values:
        if kind(v) == "other":
            fail(function, v, "cannot be compared")
    if len(kinds) > 1:
        raise FunctionError(f"{function}: cannot compare {' and '.join(sorted(kinds))} values")
