"""The Data API `/api/1.1/obj/T[/ID]` (docs/http.md), with Bubble's constraints, paging and shapes.
Privacy rules apply to every call that is not made with an admin token."""

from __future__ import annotations

from typing import Any

import orjson
from sanic import Blueprint, HTTPResponse, Request
from wfkit.core import query as Q
from wfkit.core import values as V
from wfkit.core.app import TypeInfo
from wfkit.core.convert import Unconvertible, convert
from wfkit.core.things import Thing
from wfkit.core.types import BUILTIN_FIELD_TYPES, ListType, ThingType, WfType

from .auth import Caller, identify
from .errors import bad_request, forbidden, not_found, unauthorized
from .jsonio import json_response, loads
from .state import ServerState

bp = Blueprint("data", url_prefix="/api/1.1/obj")

MAX_LIMIT = 100
# Bubble's names for the built-in fields
BUBBLE_FIELDS = {"_id": "id", "Created Date": "created_at", "Modified Date": "modified_at", "Created By": "created_by"}
SHOWN_AS = {v: k for k, v in BUBBLE_FIELDS.items()}


def _ok(body: dict[str, Any], status: int = 200) -> HTTPResponse:
    return json_response(body, status=status)


def type_of(st: ServerState, name: str) -> TypeInfo:
    info = st.app.type_named(name)
    if info is None:
        raise not_found(f"Type not found: {name}")
    return info


def thing_json(thing: Thing) -> dict[str, Any]:
    """A thing as Bubble's Data API shows it: its fields (empty and hidden ones left out), then
    `_id`, `Created Date`, `Modified Date`, `Created By`."""
    out: dict[str, Any] = {
        k: V.to_json(v) for k, v in thing.data.items() if k not in thing.hidden and not V.is_empty(v)
    }
    out["_id"] = thing.id
    out["Created Date"] = V.to_json(thing.created_at)
    out["Modified Date"] = V.to_json(thing.modified_at)
    if thing.created_by:
        out["Created By"] = thing.created_by
    return out


def field_type(info: TypeInfo, key: str) -> tuple[str, WfType]:
    name = BUBBLE_FIELDS.get(key, key)
    if name in BUILTIN_FIELD_TYPES:
        return name, BUILTIN_FIELD_TYPES[name]
    field = info.fields.get(name)
    if field is None:
        raise bad_request(f"{info.name} has no field '{key}'")
    return name, field.type


async def value_for(st: ServerState, info: TypeInfo, key: str, t: WfType, raw: Any) -> Any:
    """A value from JSON as the field's type; references stay ids (no need to load them)."""
    ref = t.item if isinstance(t, ListType) else t
    if isinstance(ref, ThingType):
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(x, str) for x in items):
            raise bad_request(f"'{key}' of {info.name} takes the id of a {ref.name}")
        return raw
    try:
        return await convert(raw, t, store=None, run=None)
    except Unconvertible:
        raise bad_request(f"'{key}' of {info.name} must be {t}, got {V.text(raw)!r}") from None


CONSTRAINTS = {
    "equals": "==",
    "not equal": "!=",
    "greater than": ">",
    "less than": "<",
    "in": "in",
    "contains": "contains",
    "text contains": "contains",
}
NEGATED = {"not in": "in", "not contains": "contains", "not text contains": "contains"}
EMPTY = {"is_empty": False, "empty": False, "is_not_empty": True, "not empty": True}


async def constraints(st: ServerState, info: TypeInfo, raw: str | None) -> Q.Cond:
    """Bubble's `constraints` (a JSON list of {key, constraint_type, value}) as one condition."""
    if not raw:
        return Q.TRUE
    try:
        items = loads(raw)
    except ValueError as e:
        raise bad_request(f"constraints must be a JSON list: {e}") from None
    if not isinstance(items, list) or not all(isinstance(c, dict) for c in items):
        raise bad_request("constraints must be a JSON list of {key, constraint_type, value} objects")
    parts: list[Q.Cond] = []
    for c in items:
        key, kind = c.get("key"), str(c.get("constraint_type", "")).replace("_", " ").strip()
        kind = {"is empty": "is_empty", "is not empty": "is_not_empty"}.get(kind, kind)
        if not isinstance(key, str):
            raise bad_request("every constraint needs a key (a field name)")
        name, t = field_type(info, key)
        if kind in EMPTY:
            parts.append(Q.Empty(name, negated=EMPTY[kind]))
            continue
        op = CONSTRAINTS.get(kind) or NEGATED.get(kind)
        if op is None:
            known = ", ".join([*CONSTRAINTS, *NEGATED, *EMPTY])
            raise bad_request(f"unknown constraint_type {c.get('constraint_type')!r} (known: {known})")
        value_t: WfType = ListType(t) if op == "in" else (t.item if op == "contains" and isinstance(t, ListType) else t)
        if op == "contains" and not isinstance(t, ListType):
            value_t = t  # text contains
        value = await value_for(st, info, key, value_t, c.get("value"))
        cmp = Q.Cmp(name, op, value)
        parts.append(Q.Not(cmp) if kind in NEGATED else cmp)
    return Q.And(tuple(parts)) if parts else Q.TRUE


def _int(request: Request, name: str, default: int, low: int, high: int = 2**62) -> int:
    """A whole number from the query string, in [low, high] (beyond `high`: `high`, which no page reaches;
    past 64 bits SQL's OFFSET would overflow)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        n = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be a whole number, got {raw!r}") from None
    if n < low:
        raise bad_request(f"{name} must be at least {low}")
    return min(n, high)


@bp.get("/<type_name>")
async def search(request: Request, type_name: str) -> HTTPResponse:
    st: ServerState = request.app.ctx.state
    info = type_of(st, type_name)
    caller = await identify(request, st.store)
    cond = await constraints(st, info, request.args.get("constraints"))
    sort = request.args.get("sort_field")
    order_by = field_type(info, sort)[0] if sort else None
    descending = (request.args.get("descending") or "").lower() in ("true", "yes", "1")
    limit = _int(request, "limit", MAX_LIMIT, 1, MAX_LIMIT)
    cursor = _int(request, "cursor", 0, 0)
    page = await st.store.page(
        info.name,
        cond,
        order_by=order_by,
        descending=descending,
        cursor=cursor,
        limit=limit,
        run=caller.run_info(workflow="data-api"),
    )
    return _ok(
        {
            "response": {
                "cursor": page.cursor,
                "results": [thing_json(t) for t in page.results],
                "count": page.count,
                "remaining": page.remaining,
            }
        }
    )


async def visible(st: ServerState, info: TypeInfo, id: str, caller: Caller) -> Thing:
    thing = await st.store.get(info.name, id, caller.run_info(workflow="data-api"))
    if thing is None:
        raise not_found(f"{info.name} not found: {id}")
    return thing


async def may(st: ServerState, info: TypeInfo, thing: Thing, caller: Caller, grant: str) -> None:
    """`change`/`delete` grants for callers that are not admin (docs/http.md)."""
    if caller.admin:
        return
    if caller.anonymous:
        raise unauthorized(f"changing a {info.name} needs a token")
    stored = await st.store.get(info.name, thing.id, None)  # rules test every field, hidden or not
    if stored is None or not await st.store.allowed(stored, grant, caller.run_info(workflow="data-api")):
        raise forbidden(f"no privacy rule of {info.name} lets you {grant} this thing")


async def fields_from_body(st: ServerState, info: TypeInfo, request: Request) -> dict[str, Any]:
    try:
        body = loads(request.body or b"{}")
    except orjson.JSONDecodeError as e:
        raise bad_request(f"the body is not valid JSON: {e}") from None
    except ValueError as e:
        raise bad_request(str(e)) from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object of fields")
    values: dict[str, Any] = {}
    for key, raw in body.items():
        name, t = field_type(info, key)
        if name in BUILTIN_FIELD_TYPES:
            raise bad_request(f"'{key}' is a built-in field and cannot be set")
        if info.name == "User" and name == "email":
            raise bad_request("a user's email is set by sign_up")
        values[name] = await value_for(st, info, key, t, raw)
    return values


@bp.post("/<type_name>")
async def create(request: Request, type_name: str) -> HTTPResponse:
    st: ServerState = request.app.ctx.state
    info = type_of(st, type_name)
    caller = await identify(request, st.store)
    if caller.anonymous:
        raise unauthorized(f"creating a {info.name} needs a token")
    if info.name == "User":
        raise bad_request("users are created by sign_up, not the Data API")
    values = await fields_from_body(st, info, request)
    thing = await st.store.create(info.name, values, run=caller.run_info(workflow="data-api"))
    return _ok({"status": "success", "id": thing.id}, 201)


@bp.get("/<type_name>/<id>")
async def read(request: Request, type_name: str, id: str) -> HTTPResponse:
    st: ServerState = request.app.ctx.state
    info = type_of(st, type_name)
    caller = await identify(request, st.store)
    return _ok({"response": thing_json(await visible(st, info, id, caller))})


async def writable(
    request: Request, type_name: str, id: str, grant: str
) -> tuple[ServerState, TypeInfo, Caller, Thing]:
    """The thing a PATCH or DELETE names, once the caller may `grant` it."""
    st: ServerState = request.app.ctx.state
    info = type_of(st, type_name)
    caller = await identify(request, st.store)
    thing = await visible(st, info, id, caller)
    await may(st, info, thing, caller, grant)
    return st, info, caller, thing


@bp.patch("/<type_name>/<id>")
async def change(request: Request, type_name: str, id: str) -> HTTPResponse:
    st, info, caller, thing = await writable(request, type_name, id, "change")
    values = await fields_from_body(st, info, request)
    await st.store.change(thing, values, run=caller.run_info(workflow="data-api"))
    return _ok({"status": "success"})


@bp.delete("/<type_name>/<id>")
async def delete(request: Request, type_name: str, id: str) -> HTTPResponse:
    st, _, caller, thing = await writable(request, type_name, id, "delete")
    await st.store.delete(thing, run=caller.run_info(workflow="data-api"))
    return _ok({"status": "success"})
