"""The built-in `http_request` action (docs/language.md §11): call an outside HTTP API with httpx.

Only http and https, to addresses the policy allows (http_guard.py); a JSON body is sent as JSON
and a JSON answer is parsed. Any status comes back as the result (`status` tells a 404 from a 200);
a timeout or a failed connection fails the run with a message naming the method and the URL.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson
from wfkit.core import values as V
from wfkit.core.actions import ActionSpec, ParamSpec
from wfkit.core.errors import ActionError

from . import hookimpl
from .http_guard import GuardedTransport, Policy

if TYPE_CHECKING:
    from wfkit.core.context import ActionContext

DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 300.0
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _timeout(value: Any) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
        raise ActionError(f"http_request: timeout must be a positive duration or number of seconds, got {value!r}")
    return min(float(seconds), MAX_TIMEOUT)


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ActionError("http_request: headers must be an object of names and texts")
    return {str(k): V.text(v) for k, v in value.items() if v is not None}


def _parse(response: httpx.Response) -> Any:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            pass
    return response.text


async def http_request(ctx: ActionContext, target: Any, args: dict[str, Any]) -> dict[str, Any]:
    method = str(args.get("method") or "GET").upper()
    if method not in METHODS:
        raise ActionError(f"http_request: unknown method {method!r} (one of {', '.join(METHODS)})")
    url = args.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).netloc:
        raise ActionError(f"http_request: the url must be an http:// or https:// address, got {url!r}")
    headers = _headers(args.get("headers"))
    timeout = _timeout(args.get("timeout"))
    body = args.get("body")
    kwargs: dict[str, Any] = {}
    if isinstance(body, str):
        kwargs["content"] = body.encode()
    elif isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["content"] = orjson.dumps(V.to_json(body))
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    shown = f"{method} {url.split('?')[0]}"
    transport = GuardedTransport(Policy.from_env(), timeout)  # checks every hop (docs/security.md)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True, transport=transport) as client:
            response = await client.request(method, url, headers=headers, **kwargs)
    except httpx.TimeoutException:
        raise ActionError(
            f"http_request: {shown} timed out after {V.text(V.normalize_number(timeout))} seconds"
        ) from None
    except httpx.HTTPError as e:
        raise ActionError(f"http_request: {shown} failed: {e or type(e).__name__}") from None
    return {
        "status": response.status_code,
        "headers": {k.lower(): v for k, v in response.headers.items()},
        "body": _parse(response),
    }


@hookimpl
def register_actions() -> list[ActionSpec]:
    return [
        ActionSpec(
            verb="http_request",
            run=http_request,
            params=(
                ParamSpec("method", "text", doc="GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS"),
                ParamSpec("url", "text", required=True, doc="an http:// or https:// address"),
                ParamSpec("headers", "object", doc="header names and values"),
                ParamSpec("body", "any", doc="text is sent as it is; anything else as JSON"),
                ParamSpec("timeout", "any", doc="a duration or seconds; default 30 seconds"),
            ),
            result="object",
            doc='Call an HTTP API: `r = http_request(method: "POST", url: u, body: {a: 1})`; '
            "gives `{status, headers, body}`.",
        )
    ]
