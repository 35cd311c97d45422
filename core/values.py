"""Operations on run-time values.

Values are: text `str`, number `int | float`, boolean `bool`, date aware `datetime` (UTC),
duration `timedelta`, object (JSON), list `list`, thing `Thing`, empty `None`.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .errors import RunError
from .things import Thing

SECRET_WORDS = ("password", "secret", "token", "key")
REDACTED = "[redacted]"


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    low = name.lower()
    return any(w in low for w in SECRET_WORDS)


def type_name(v: Any) -> str:
    if v is None:
        return "empty"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, datetime):
        return "date"
    if isinstance(v, timedelta):
        return "duration"
    if isinstance(v, list):
        return "list"
    if isinstance(v, Thing):
        return v.type
    return "object"


def normalize_number(x: int | float) -> int | float:
    """Whole floats become ints, so `4 / 2` prints as 2 and compares equal to an id-like 2."""
    if isinstance(x, float):
        return int(x) if x.is_integer() and abs(x) < 2**53 else x
    if -(2**63) <= x < 2**64:
        return x
    try:  # whole numbers past 64 bits, as JSON (and orjson) carry them: as a float
        return float(x)
    except OverflowError:
        raise _too_large() from None


# --------------------------------------------------------------------------- arithmetic


def add(a: Any, b: Any) -> Any:
    """`+`: numbers add, texts and lists join, a duration moves a date. Empty is the neutral value."""
    if a is None:
        return b
    if b is None:
        return a
    ta, tb = type(a), type(b)
    if ta in (int, float) and tb in (int, float):
        try:
            return normalize_number(a + b)
        except OverflowError:  # an integer past a float's range met a float
            raise _too_large() from None
    if ta is str and tb is str:
        return a + b
    if ta is list:
        return a + b if tb is list else [*a, b]
    if isinstance(b, timedelta) and isinstance(a, datetime | timedelta):
        return _in_range(operator.add, a, b)
    if isinstance(a, timedelta) and isinstance(b, datetime):
        return _in_range(operator.add, b, a)
    if ta is str or tb is str:
        return text(a) + text(b)
    raise RunError(f"cannot add {type_name(a)} and {type_name(b)}")


def _in_range(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """Date and duration arithmetic. Dates run from year 1 to 9999 and durations to 999,999,999 days:
    past them (or a duration times NaN) is the run's error, not the server's."""
    try:
        return op(a, b)
    except (OverflowError, ValueError):
        raise RunError(
            f"{type_name(a)} {_SIGNS[op]} {type_name(b)} is out of range "
            "(dates run from year 1 to 9999, durations to 999,999,999 days)"
        ) from None


def _too_large() -> RunError:
    return RunError("the number is too large (past ±1.8e308)")


_SIGNS = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/"}


def sub(a: Any, b: Any) -> Any:
    if b is None:
        return a
    if a is None and type(b) in (int, float):
        return normalize_number(-b)
    ta, tb = type(a), type(b)
    if ta in (int, float) and tb in (int, float):
        try:
            return normalize_number(a - b)
        except OverflowError:  # an integer past a float's range met a float
            raise _too_large() from None
    if isinstance(a, datetime) and isinstance(b, timedelta | datetime):
        return _in_range(operator.sub, a, b)
    if ta is timedelta and tb is timedelta:
        return _in_range(operator.sub, a, b)
    if ta is list:
        drop = b if tb is list else [b]
        return [x for x in a if x not in drop]
    raise RunError(f"cannot subtract {type_name(b)} from {type_name(a)}")


def mul(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta in (int, float) and tb in (int, float):
        try:
            return normalize_number(a * b)
        except OverflowError:  # an integer past a float's range met a float
            raise _too_large() from None
    if ta is timedelta and tb in (int, float):
        return _in_range(operator.mul, a, b)
    if tb is timedelta and ta in (int, float):
        return _in_range(operator.mul, b, a)
    raise RunError(f"cannot multiply {type_name(a)} by {type_name(b)}")


def div(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if tb in (int, float) and b == 0:
        raise RunError("division by zero")
    if ta in (int, float) and tb in (int, float):
        try:
            return normalize_number(a / b)
        except OverflowError:  # an integer past a float's range met a float
            raise _too_large() from None
    if ta is timedelta and tb in (int, float):
        return _in_range(operator.truediv, a, b)
    if ta is timedelta and tb is timedelta:
        if not b:
            raise RunError("division by zero")
        return normalize_number(a / b)
    raise RunError(f"cannot divide {type_name(a)} by {type_name(b)}")


def mod(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if type(a) in (int, float) and type(b) in (int, float):
        if b == 0:
            raise RunError("division by zero")
        try:
            return normalize_number(a % b)
        except OverflowError:  # an integer past a float's range met a float
            raise _too_large() from None
    raise RunError(f"cannot take {type_name(a)} modulo {type_name(b)}")


def neg(a: Any) -> Any:
    if a is None:
        return None
    if type(a) in (int, float) or isinstance(a, timedelta):
        return -a
    raise RunError(f"cannot negate {type_name(a)}")


# --------------------------------------------------------------------------- comparison


def _key(v: Any) -> Any:
    return v.id if isinstance(v, Thing) else v


def eq(a: Any, b: Any) -> bool:
    if isinstance(a, Thing) or isinstance(b, Thing):
        return bool(_key(a) == _key(b))
    if type(a) is bool or type(b) is bool:
        return a is b
    return bool(a == b)


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def _ordered(a: Any, b: Any, op: str) -> bool:
    # Empty is not ordered against anything: comparisons with it are false, as in SQL.
    if a is None or b is None:
        return False
    try:
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)
    except TypeError:
        raise RunError(f"cannot compare {type_name(a)} {op} {type_name(b)}") from None


def lt(a: Any, b: Any) -> bool:
    return _ordered(a, b, "<")


def le(a: Any, b: Any) -> bool:
    return _ordered(a, b, "<=")


def gt(a: Any, b: Any) -> bool:
    return _ordered(a, b, ">")


def ge(a: Any, b: Any) -> bool:
    return _ordered(a, b, ">=")


def contains(container: Any, item: Any) -> bool:
    """`item in container`: a member of a list, a part of a text, a key of an object."""
    if container is None:
        return False
    if isinstance(container, str):
        return item is not None and text(item) in container
    if isinstance(container, list):
        return any(eq(x, item) for x in container)
    if isinstance(container, dict):
        return item in container
    raise RunError(f"cannot look for a value in {type_name(container)}")


def truthy(v: Any) -> bool:
    """What a condition means: booleans as they are; empty, "", 0 and [] are false."""
    if v is None:
        return False
    if type(v) is bool:
        return v
    return bool(v)


def is_empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


# --------------------------------------------------------------------------- fields


def read_field(v: Any, name: str) -> Any:
    """`.name` of a thing (hidden fields read as empty), an object, or each item of a list
    (Bubble's "each item's field")."""
    if v is None:
        return None
    if isinstance(v, Thing):
        if name in v.hidden:
            return None
        if name == "id":
            return v.id
        if name in ("created_at", "modified_at", "created_by"):
            return getattr(v, name)
        return v.data.get(name)
    if isinstance(v, dict):
        return v.get(name)
    if isinstance(v, list):
        return [read_field(x, name) for x in v]
    raise RunError(f"cannot read .{name} of {type_name(v)}")


# --------------------------------------------------------------------------- text and JSON


def iso(d: datetime) -> str:
    s = d.astimezone(UTC).isoformat()
    return s.replace("+00:00", "Z")


def text(v: Any) -> str:
    """A value as text, as interpolation and `text()` show it."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer():
            return str(int(v))
        return repr(v)
    if isinstance(v, datetime):
        return iso(v)
    if isinstance(v, timedelta):
        return text(normalize_number(v.total_seconds()))
    if isinstance(v, Thing):
        return v.id
    return orjson.dumps(to_json(v)).decode()


_AS_JSON = frozenset({str, int, bool, type(None)})  # exactly these types are their own JSON


def is_json(d: dict[str, Any]) -> bool:
    """Every value is text, a whole number, yes/no or empty: `d` is its own JSON form."""
    return _AS_JSON.issuperset(map(type, d.values()))


def to_json(v: Any) -> Any:
    """A value as JSON for responses and records: things as ids, dates ISO 8601, durations seconds."""
    kind = type(v)
    if kind in _AS_JSON:
        return v
    if kind is dict and is_json(v):
        return dict(v)  # the common flat object of text and numbers, without a call per value
    if v is None or isinstance(v, str | bool | int):
        return v
    if isinstance(v, float):
        return normalize_number(v) if math.isfinite(v) else None
    if isinstance(v, datetime):
        return iso(v)
    if isinstance(v, timedelta):
        return normalize_number(v.total_seconds())
    if isinstance(v, Thing):
        return v.id
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [to_json(x) for x in v]
    return str(v)


def redact(params: dict[str, Any]) -> dict[str, Any]:
    """JSON for a run record: secret-named values shown as `[redacted]`, in nested objects too."""
    redacted: dict[str, Any] = redact_json({k: to_json(v) for k, v in params.items()})
    return redacted


def redact_json(v: Any) -> Any:
    """JSON with the values of secret-named keys, at any depth, shown as `[redacted]` (a `log_in`
    result's `token`, wherever a run put it)."""
    if isinstance(v, dict):
        return {k: REDACTED if x is not None and is_secret_name(k) else redact_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [redact_json(x) for x in v]
    return v


# --------------------------------------------------------------------------- dates and durations

UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}

_ISO_DURATION = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_date(s: str) -> datetime:
    """ISO 8601 text as an aware UTC datetime; text without a zone is UTC."""
    t = s.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    d = datetime.fromisoformat(t)  # raises ValueError
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.astimezone(UTC)


def parse_duration(s: str) -> timedelta:
    """Seconds (`"90"`, `"1.5"`) or ISO 8601 (`"PT1H30M"`, `"P2D"`) as a duration."""
    t = s.strip()
    try:
        return timedelta(seconds=float(t))
    except ValueError:
        pass
    m = _ISO_DURATION.match(t.upper())
    if not m or t.upper() in ("P", "PT"):
        raise ValueError(s)
    parts = {k: float(v) for k, v in m.groupdict().items() if v}
    return timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


def now() -> datetime:
    return datetime.now(UTC)


def today() -> datetime:
    return now().replace(hour=0, minute=0, second=0, microsecond=0)
