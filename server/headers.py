"""Security headers (docs/security.md, "Hardened answers"): `nosniff` on every answer, errors
included; pages for browsers also get a content security policy and no referrer.

A blueprint that serves pages (the dashboard) joins `PAGE_BLUEPRINTS`, and every answer under its
prefix, its 404s included, gets `PAGE_HEADERS`."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import BaseHTTPResponse

from .jsonio import NOSNIFF, JSONAnswer

EVERY_ANSWER = dict([NOSNIFF])
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
PAGE_BLUEPRINTS: list[Blueprint] = []


def add_headers(request: Request, response: BaseHTTPResponse) -> None:
    headers: Any = response.headers
    if not isinstance(response, JSONAnswer):  # (a JSON answer says nosniff itself)
        for name, value in EVERY_ANSWER.items():
            headers.setdefault(name, value)
    path = request.path
    for bp in PAGE_BLUEPRINTS:
        if bp.url_prefix and path.startswith(bp.url_prefix):
            for name, value in PAGE_HEADERS.items():
                headers.setdefault(name, value)
            return
