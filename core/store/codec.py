"""Run-time values ↔ the JSON kept in a thing's `data`, checked against the field's declared type.

Stored forms: text, number and boolean as JSON; a date as fixed-width ISO 8601 text in UTC (text
order is time order); a duration as seconds; a reference as the other thing's id; an object as
itself; a list as a JSON array of stored items. Empty is JSON null.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from wfkit.core import values as V
from wfkit.core.convert import PRIM
from wfkit.core.errors import ActionError
from wfkit.core.things import Thing
from wfkit.core.types import AnyType, ListType, NothingType, Prim, ThingType, WfType


def iso(d: datetime) -> str:
    """A date as stored: `2026-05-01T09:00:00.000000Z` (always 27 characters, so text order works)."""
    if d.tzinfo is UTC and d.microsecond:  # what wfkit makes; orjson is six times faster than isoformat
        return orjson.dumps(d, option=orjson.OPT_UTC_Z)[1:-1].decode()  # (it drops a zero fraction)
    # isoformat with timespec is several times faster than strftime, and gives the same text
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_iso(s: str) -> datetime:
    """A stored date (Python 3.11 reads the `Z`); other ISO text through `values.parse_date`."""
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        return V.parse_date(s)
    return d if d.tzinfo is UTC else V.parse_date(s)


class Invalid(Exception):
    """A value that does not fit a field's type; `encode` turns it into an ActionError."""


def encode(t: WfType, value: Any) -> Any:
    """`value` as stored for a field of type `t`; raises `Invalid` when it does not fit.

    Values from outside (an `object` read from a request) are converted as the HTTP API converts
    parameters: "42" for a number, ISO text for a date, seconds for a duration."""
    if value is None:
        return None
    if isinstance(t, AnyType | NothingType):
        return _json(value)
    if isinstance(t, ListType):
        if not isinstance(value, list | tuple):
            raise Invalid
        return [encode(t.item, x) for x in value]
    if isinstance(t, ThingType):
        if isinstance(value, Thing):
            if value.type != t.name:
                raise Invalid
            return value.id
        if isinstance(value, str) and value:
            return value  # an id; the store checks that it names a thing of this type
        raise Invalid
    assert isinstance(t, Prim)
    name = t.name
    if name == "object":
        return _json(value)
    if isinstance(value, list | dict | Thing):
        raise Invalid
    try:
        converted: Any = PRIM[name](value)
    except Exception:
        raise Invalid from None
    if name == "date":
        return iso(converted)
    if name == "duration":
        return V.normalize_number(converted.total_seconds())
    if name == "number" and not math.isfinite(converted):
        raise Invalid
    return converted


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): _json(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [_json(x) for x in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid
    return V.to_json(value)


def decode(t: WfType, raw: Any) -> Any:
    """A stored value as a run sees it. A value stored under an older type of the field is
    converted when it can be (`"42"` for a number) and read as empty when it cannot."""
    if raw is None:
        return None
    if isinstance(t, AnyType | NothingType):
        return raw
    if isinstance(t, ListType):
        if not isinstance(raw, list):
            return None
        return [x for x in (decode(t.item, r) for r in raw) if x is not None]
    if isinstance(t, ThingType):
        return raw if isinstance(raw, str) else None
    assert isinstance(t, Prim)
    name = t.name
    if name == "object":
        return raw
    if isinstance(raw, list | dict):
        return None
    try:
        if name == "text":
            return raw if isinstance(raw, str) else V.text(raw)
        if name == "number":
            return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else PRIM["number"](raw)
        if name == "boolean":
            return raw if isinstance(raw, bool) else PRIM["boolean"](raw)
        if name == "date":
            return parse_iso(raw) if isinstance(raw, str) else None
        if name == "duration":
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return timedelta(seconds=raw)
            return PRIM["duration"](raw)
    except Exception:
        return None
    return None  # pragma: no cover - every primitive is handled above


def check(type_name: str, field: str, t: WfType, value: Any) -> Any:
    """`encode`, with the clear error a workflow author needs."""
    try:
        return encode(t, value)
    except Invalid:
        shown = V.REDACTED if V.is_secret_name(field) else _show(value)
        raise ActionError(f"{type_name}.{field} must be {t}, got {V.type_name(value)} {shown}") from None


def _show(v: Any) -> str:
    s = repr(v) if isinstance(v, str) else V.text(v)
    return s if len(s) <= 80 else s[:77] + "..."


def column_json(v: Any) -> Any:
    """A JSON column as read: text on SQLite, already parsed on PostgreSQL; NULL as `{}`."""
    if isinstance(v, str | bytes):
        return orjson.loads(v)
    return v if v is not None else {}


def normalize_email(value: Any) -> str:
    """A User's email as stored: trimmed and lower-case (the `users` table keeps it unique)."""
    if not isinstance(value, str) or not value.strip():
        raise ActionError("a User needs an email")
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if not local or not domain or " " in email:
        raise ActionError(f"{value!r} is not an email address")
    return email
