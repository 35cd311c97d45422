"""A call's parameters from its JSON body, form body or query string (docs/http.md "Calling a
workflow"), and the `request` value a workflow started over HTTP sees.

A value means the same whichever way it comes: `?word=` is the empty text, as `{"word": ""}` is (Sanic
drops blank query values unless asked to keep them), and a JSON object sent with a form's content type
(what `curl -d '{…}'` sends) is read as JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sanic import Request

from .errors import bad_request
from .jsonio import loads

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NO_NAMES: frozenset[str] = frozenset()


@dataclass(slots=True)
class CallInput:
    params: dict[str, Any]  # parameter name → raw value (text, JSON value, or a list of either)
    text_keys: frozenset[str] | set[str]  # the names whose values came as text (query string, form)
    # `request` in the workflow (body, query, headers, raw), built on first use: most workflows
    # never read it, and copying every header costs more than running a short workflow.
    request: Callable[[], dict[str, Any]]


def _single_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _text(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8 text") from None
    if "\x00" in text:
        raise bad_request("NUL characters are not allowed in a request")
    return text


def _json_body(raw: bytes) -> Any:
    """orjson checks UTF-8 itself; the text is decoded again only to word an error."""
    if b"\x00" in raw:
        raise bad_request("NUL characters are not allowed in a request")
    try:
        return loads(raw)
    except orjson.JSONDecodeError as e:
        _text(raw)  # a body that is not UTF-8 says so
        raise bad_request(f"the body is not valid JSON: {e}") from None
    except ValueError as e:
        raise bad_request(str(e)) from None


def _lenient_body(raw: bytes) -> Any:
    """A webhook's body: its JSON value when it is JSON, else empty (`request.raw` holds the text)."""
    _text(raw)  # not UTF-8, or holding NUL: refused as for any call
    try:
        return loads(raw)
    except ValueError:
        return None


def read_input(request: Request, *, lenient: bool = False) -> CallInput:
    """Parameters: the query string first, then the body's (the body wins on the same name).

    `lenient` (webhooks): any content type, and a body that is not a JSON object is kept as it is
    in `request.body` instead of being refused."""
    query: dict[str, Any] = {}
    if request.query_string:
        args = request.get_args(keep_blank_values=True)
        query = {k: _single_or_list(v) for k, v in args.items() if k != "api_token"}
        if any("\x00" in k or "\x00" in str(v) for k, v in query.items()):
            raise bad_request("NUL characters are not allowed in a request")
    params: dict[str, Any] = dict(query)
    text_keys: frozenset[str] | set[str] = set(query) if query else NO_NAMES
    raw: bytes = request.body or b""
    body: Any = {}
    if raw and not raw.isspace():  # (no stripped copy of the body)
        ctype = request.content_type.partition(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded" and raw.lstrip()[:1] == b"{":
            ctype = "application/json"  # `curl -d '{"title": …}'` labels JSON as a form
        if lenient and ctype not in FORM_TYPES:  # webhook senders do not always label their bodies
            body = _lenient_body(raw)
            if isinstance(body, dict):
                params.update(body)
                text_keys = text_keys - body.keys() if text_keys else NO_NAMES
        elif ctype == "application/json" or ctype.endswith("+json") or ctype in ("", "text/plain"):
            body = _json_body(raw)
            if not isinstance(body, dict):
                raise bad_request("the JSON body must be an object of parameters")
            params.update(body)
            text_keys = text_keys - body.keys() if text_keys else NO_NAMES
        elif ctype in FORM_TYPES:
            _text(raw)
            fields = request.get_form(keep_blank_values=True)
            form = {k: _single_or_list(v) for k, v in fields.items()} if fields else {}
            body = form
            params.update(form)
            text_keys = set(text_keys) | set(form)
        else:
            raise bad_request(f"unsupported content type {ctype}: send application/json or a form")

    def request_value() -> dict[str, Any]:
        headers = {k.lower(): v for k, v in request.headers.items()}
        return {"body": body, "query": query, "headers": headers, "raw": raw.decode("utf-8") if raw else ""}

    return CallInput(params, text_keys, request_value)
