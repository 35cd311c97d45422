"""Security headers (docs/security.md, "Hardened answers"): `nosniff` on every answer, errors
included; pages for browsers also get a content security policy and no referrer.

A blueprint that serves pages (the dashboard) joins `PAGE_BLUEPRINTS`, and every answer under its
prefix, its 404s included, gets `PAGE_HEADERS`."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import BaseHTTPResponse

EVERY_ANSWER = {"X-Content-Type-Options": "nosniff"}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
PAGE_BLUEPRINTS: list[Blueprint] = []


def add_headers(request: Request, response: BaseHTTPResponse) -> None:
    headers: Any = response.headers
    for name, value in EVERY_ANSWER.items():
        headers.setdefault(name, value)
    if any(bp.url_prefix and request.path.startswith(bp.url_prefix) for bp in PAGE_BLUEPRINTS):
        for name, value in PAGE_HEADERS.items():
            headers.setdefault(name, value)
