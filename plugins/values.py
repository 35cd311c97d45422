"""Run-time values as the built-in functions see them: conversions, checks and comparison keys.

Formatting (`to_text`, `to_json`) is `wfkit.core.values`', shared with interpolation and responses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NoReturn

from wfkit.core import values as V
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


format_iso = V.iso
to_json = V.to_json
to_text = V.text  # one formatter: `"{x}"`, `text(x)`, `log x` and responses always agree


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
    """`value.field` for a thing (hidden fields read as empty) or an object; empty otherwise."""
    if isinstance(value, Thing | dict):
        return V.read_field(value, field)
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


ORDERED_KINDS = frozenset({"boolean", "number", "text", "date", "duration"})


def kind(value: object) -> str:
    """Which values order against each other: numbers with numbers, texts with texts, …"""
    k = V.type_name(value)
    return k if k in ORDERED_KINDS else "other"


def check_comparable(function: str, values: list[Any]) -> None:
    """All values must be of one orderable kind (empties are left out before this)."""
    kinds = {kind(v) for v in values}
    for v in values:
        if kind(v) == "other":
            fail(function, v, "cannot be compared")
    if len(kinds) > 1:
        raise FunctionError(f"{function}: cannot compare {' and '.join(sorted(kinds))} values")
