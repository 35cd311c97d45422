"""JSON in and out of the server: orjson, with wfkit's value forms (dates ISO 8601, things as ids)."""

from __future__ import annotations

from typing import Any

import orjson
from sanic import HTTPResponse
from wfkit.core.values import to_json


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    """A JSON answer; orjson's bytes go out as they are (Sanic's `json()` would decode them to text
    and encode them again)."""
    return HTTPResponse(orjson.dumps(body, default=to_json), status, headers, "application/json")


def loads(raw: bytes | str) -> Any:
    """Parse a body; NUL characters are refused (they cannot be stored in PostgreSQL text)."""
    value = orjson.loads(raw)
    # JSON can only spell NUL as an escape; a body without one needs no walk through its values
    if (b"\\u0000" in raw if isinstance(raw, bytes) else "\\u0000" in raw) and _has_nul(value):
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
