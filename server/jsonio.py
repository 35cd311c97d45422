"""JSON in and out of the server: orjson, with wfkit's value forms (dates ISO 8601, things as ids)."""

from __future__ import annotations

from typing import Any

import orjson
from wfkit.core.values import to_json


def dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=to_json).decode()


def loads(raw: bytes | str) -> Any:
    """Parse a body; NUL characters are refused (they cannot be stored in PostgreSQL text)."""
    value = orjson.loads(raw)
    if _has_nul(value):
        raise ValueError("NUL characters are not allowed")
    return value


def _has_nul(v: Any, depth: int = 0) -> bool:
    if isinstance(v, str):
        return "\x00" in v
    if isinstance(v, dict):
        return any("\x00" in k or _has_nul(x) for k, x in v.items())
    if isinstance(v, list):
        return any(_has_nul(x) for x in v)
    return False
