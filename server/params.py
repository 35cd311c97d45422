"""A call's parameters from its JSON body, form body or query string (SPEC §3.1), and the
`request` value a workflow started over HTTP sees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sanic import Request

from .errors import bad_request
from .jsonio import loads

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(slots=True)
class CallInput:
    params: dict[str, Any]  # parameter name → raw value (text, JSON value, or a list of either)
    text_keys: set[str]  # the names whose values came as text (query string, form)
    request: dict[str, Any]  # `request` in the workflow: body, query, headers, raw


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


def read_input(request: Request, *, lenient: bool = False) -> CallInput:
    """Parameters: the query string first, then the body's (the body wins on the same name).

    `lenient` (webhooks): any content type, and a body that is not a JSON object is kept as it is
    in `request.body` instead of being refused."""
    query = {k: _single_or_list(v) for k, v in request.args.items() if k != "api_token"}
    if any("\x00" in k or "\x00" in str(v) for k, v in query.items()):
        raise bad_request("NUL characters are not allowed in a request")
    params: dict[str, Any] = dict(query)
    text_keys = set(query)
    raw = request.body or b""
    text = _text(raw) if raw else ""
    ctype = (request.content_type or "").split(";")[0].strip().lower()
    body: Any = {}
    if raw.strip():
        if ctype in FORM_TYPES:
            form = {k: _single_or_list(v) for k, v in request.form.items()} if request.form else {}
            body = form
            params.update(form)
            text_keys |= set(form)
        elif ctype == "application/json" or ctype.endswith("+json") or ctype in ("", "text/plain"):
            try:
                body = loads(raw)
            except orjson.JSONDecodeError as e:
                raise bad_request(f"the body is not valid JSON: {e}") from None
            except ValueError as e:
                raise bad_request(str(e)) from None
            if isinstance(body, dict):
                params.update(body)
                text_keys -= set(body)
            elif not lenient:
                raise bad_request("the JSON body must be an object of parameters")
        elif lenient:  # webhook senders do not always label their bodies: JSON when it parses
            try:
                body = loads(raw)
            except ValueError:
                body = text
        else:
            raise bad_request(f"unsupported content type {ctype}: send application/json or a form")
    headers = {k.lower(): v for k, v in request.headers.items()}
    return CallInput(params, text_keys, {"body": body, "query": query, "headers": headers, "raw": text})
