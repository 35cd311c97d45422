"""Built-in functions on texts, numbers and dates, and `env`.

A plain plugin module: it provides its functions through `register_functions`, like any other.
"""

from __future__ import annotations

import math
import os
import secrets
import string
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wfkit.core.actions import FunctionSpec, ParamSpec

from . import hookimpl
from .values import fail, format_iso, is_number, to_date, to_text

MAX_RANDOM_LENGTH = 100_000  # a typo must not make a run allocate gigabytes
ALPHABET = string.ascii_letters + string.digits


def _text_or_empty(function: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    fail(function, value, "is not a text")


def _whole(function: str, value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        fail(function, value, f"is not a whole number ({what})")
    return int(value)


def lower(value: object) -> str | None:
    s = _text_or_empty("lower", value)
    return None if s is None else s.lower()


def upper(value: object) -> str | None:
    s = _text_or_empty("upper", value)
    return None if s is None else s.upper()


def trim(value: object) -> str | None:
    s = _text_or_empty("trim", value)
    return None if s is None else s.strip()


def split(value: object, sep: object = None) -> list[str]:
    s = _text_or_empty("split", value)
    if sep is not None and not isinstance(sep, str):
        fail("split", sep, "is not a text (separator)")
    if not s:
        return []
    if sep is None:
        return s.split()  # on any run of whitespace
    if sep == "":
        return list(s)
    return s.split(sep)


def text(value: object) -> str:
    return to_text(value)


def number(value: object) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        fail("number", value, "is not a number")
    s = value.strip()
    if not s:
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        result = float(s)
    except ValueError:
        fail("number", value, "is not a number")
    if not math.isfinite(result):
        fail("number", value, "is not a number")
    return result


def round_(value: object, digits: object = 0) -> int | float | None:
    places = _whole("round", digits, "digits")
    if value is None:
        return None
    if not is_number(value):
        fail("round", value, "is not a number")
    if isinstance(value, int) and places >= 0:
        return value
    # half away from zero, as people round (Python's round() rounds half to even)
    with localcontext() as ctx:
        ctx.prec = 1000
        rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return int(rounded) if places <= 0 else float(rounded)


def format_date(value: object, fmt: object = None, zone: object = None) -> str | None:
    when = to_date("format_date", value)
    if fmt is not None and not isinstance(fmt, str):
        fail("format_date", fmt, "is not a format")
    if when is None:
        return None
    if zone is not None:
        if not isinstance(zone, str):
            fail("format_date", zone, "is not a time zone")
        try:
            when = when.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            fail("format_date", zone, "is not a time zone (expected e.g. Europe/Paris)")
    if fmt is None:
        return when.isoformat() if zone is not None else format_iso(when)
    return when.strftime(fmt)


def date(value: object) -> datetime | None:
    return to_date("date", value)


def random_string(length: object) -> str:
    n = _whole("random_string", length, "length")
    if not 0 <= n <= MAX_RANDOM_LENGTH:
        fail("random_string", length, f"is not a length between 0 and {MAX_RANDOM_LENGTH}")
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def env(name: object) -> str | None:
    if not isinstance(name, str):
        fail("env", name, "is not a variable name")
    return os.environ.get(name)


TEXT = ParamSpec("text", "text", required=True)
ANY = ParamSpec("value", "any", required=True)


@hookimpl
def register_functions() -> list[FunctionSpec]:
    return [
        FunctionSpec("lower", lower, (TEXT,), "text", "The text in lower case."),
        FunctionSpec("upper", upper, (TEXT,), "text", "The text in upper case."),
        FunctionSpec("trim", trim, (TEXT,), "text", "The text without spaces at either end."),
        FunctionSpec(
            "split",
            split,
            (TEXT, ParamSpec("sep", "text", doc="without it: any run of spaces")),
            "list of text",
            "The parts of a text between separators; [] for empty.",
        ),
        FunctionSpec(
            "text",
            text,
            (ANY,),
            "text",
            "Any value as text: 3 (not 3.0), dates as ISO 8601 UTC, durations in seconds, "
            "lists and objects as JSON, things as their id, empty as an empty text.",
        ),
        FunctionSpec("number", number, (ANY,), "number", 'A number from a text: number("42") is 42.'),
        FunctionSpec(
            "round",
            round_,
            (ParamSpec("x", "number", required=True), ParamSpec("digits", "number", doc="default 0")),
            "number",
            "Rounded half away from zero to `digits` decimals; a whole number when digits is 0.",
        ),
        FunctionSpec(
            "format_date",
            format_date,
            (ParamSpec("date", "date", required=True), ParamSpec("format", "text", doc="strftime")),
            "text",
            "A date as text in a strftime format, e.g. %Y-%m-%d (default ISO 8601); in UTC, "
            'or in `zone: "Europe/Paris"`.',
            kwargs=(ParamSpec("zone", "text", doc="an IANA time zone"),),
        ),
        FunctionSpec(
            "date",
            date,
            (ANY,),
            "date",
            "A date from ISO 8601 text (Z or an offset; none means UTC); a date passes through.",
        ),
        FunctionSpec(
            "random_string",
            random_string,
            (ParamSpec("length", "number", required=True),),
            "text",
            "Random letters and digits, from a cryptographically secure source.",
        ),
        FunctionSpec(
            "env",
            env,
            (ParamSpec("name", "text", required=True),),
            "text",
            "A server environment variable (for secrets); empty when it is not set.",
        ),
    ]
