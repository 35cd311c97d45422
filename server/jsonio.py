"""JSON in and out of the server: orjson, with wfkit's value forms (dates ISO 8601, things as ids)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
from sanic import HTTPResponse
from sanic.compat import Header
from sanic.helpers import has_message_body
from wfkit.core.values import to_json

NOSNIFF = ("X-Content-Type-Options", "nosniff")  # on every answer (server/headers.py)
_NOSNIFF_BYTES = (NOSNIFF[0].encode(), NOSNIFF[1].encode())
_UNSAFE = re.compile("[\r\n\x00]")
_JSON_TYPE = (b"content-type", b"application/json")
_CONNECTION = {"keep-alive": (b"connection", b"keep-alive"), "close": (b"connection", b"close")}


class JSONAnswer(HTTPResponse):
    """A JSON answer that says `nosniff` itself and encodes its headers in one pass. Sanic strips CR,
    LF and NUL from each header's name and value with two translations a header; one search over
    them all finds that there is nothing to strip (it falls back to Sanic's when there is). Most
    answers have no headers of their own: theirs are written from constants."""

    __slots__ = ()

    def __init__(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        # (HTTPResponse's would make its headers twice: its base class's, then its own)
        self.asgi = False
        self.body = body
        self.content_type = "application/json"
        self.stream = None
        self.status = status
        self.headers = Header(headers) if headers else Header()
        self._cookies = None

    @property
    def processed_headers(self) -> Iterator[tuple[bytes, bytes]]:
        headers = self.headers
        if len(headers) == 2:  # only the two Sanic's HTTP/1 writer adds (a length: an answer with a body)
            length, connection = headers.get("content-length"), _CONNECTION.get(headers.get("connection", ""))
            if type(length) is int and connection is not None:
                return iter(((b"content-length", b"%d" % length), connection, _JSON_TYPE, _NOSNIFF_BYTES))
        if has_message_body(self.status):  # type: ignore[no-untyped-call]
            headers.setdefault("content-type", self.content_type)
        pairs = [(name, f"{value}") for name, value in headers.items()]
        if _UNSAFE.search("".join(name + value for name, value in pairs)):
            headers.setdefault(*NOSNIFF)
            return super().processed_headers
        encoded = [(name.encode("ascii"), value.encode(errors="surrogateescape")) for name, value in pairs]
        if NOSNIFF[0] not in headers:
            encoded.append(_NOSNIFF_BYTES)
        return iter(encoded)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONAnswer:
    """A JSON answer; orjson's bytes go out as they are (Sanic's `json()` would decode them to text
    and encode them again)."""
    return JSONAnswer(orjson.dumps(body, default=to_json), status, headers)


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
