"""The app as an OpenAPI 3.1 document (`/api/1.1/meta/openapi.json`): every exposed workflow and
webhook, and the Data API of every type, typed as precisely as the compiler knows them, so that a
generated client gets typed parameters and typed results."""

from __future__ import annotations

from typing import Any

from wfkit.core.app import App, TypeInfo, Workflow
from wfkit.core.types import AnyType, ListType, NothingType, Prim, ThingType, WfType

ERROR = {
    "type": "object",
    "required": ["statusCode", "body"],
    "properties": {
        "statusCode": {"type": "integer"},
        "body": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {
                "status": {"type": "string"},
                "message": {"type": "string"},
                "run_id": {"type": "string"},
                "line": {"type": "integer"},
            },
        },
    },
}

# The headers each webhook scheme signs with (docs/http.md "Webhooks").
SIGNATURE_HEADERS: dict[str, list[tuple[str, str]]] = {
    "standard": [
        ("webhook-id", "the delivery's id (a repeated delivery is answered again without running twice)"),
        ("webhook-timestamp", "seconds since 1970; more than 5 minutes away from now is refused"),
        ("webhook-signature", "`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`"),
    ],
    "stripe": [("Stripe-Signature", "`t=…,v1=…`: Stripe's signature of the body")],
    "github": [
        ("X-Hub-Signature-256", "`sha256=` and the hex HMAC-SHA256 of the body"),
        ("X-GitHub-Delivery", "the delivery's id"),
    ],
}


def article(name: str) -> str:
    """`an Order`, `a User`: by the first letters' sound, as near as spelling tells (`u` then a
    consonant then a vowel sounds like "you": User, Unit; Update and Umbrella do not)."""
    low = name.lower()
    you = low[:1] == "u" and len(low) > 2 and low[1] not in "aeiou" and low[2] in "aeiouy"
    return ("an " if low[:1] in "aeiou" and not you else "a ") + name


def schema(t: WfType) -> dict[str, Any]:
    """The JSON a value of `t` is sent as (parameters, fields)."""
    if isinstance(t, ListType):
        return {"type": "array", "items": schema(t.item)}
    if isinstance(t, ThingType):
        return {"type": "string", "description": f"the id of {article(t.name)}"}
    if isinstance(t, AnyType | NothingType) or not isinstance(t, Prim):
        return {}
    by_name: dict[str, dict[str, Any]] = {
        "text": {"type": "string"},
        "number": {"type": "number"},
        "boolean": {"type": "boolean"},
        "date": {"type": "string", "format": "date-time"},
        "duration": {
            "oneOf": [{"type": "number"}, {"type": "string", "format": "duration"}],
            "description": "seconds, or ISO 8601",
        },
        "object": {},
    }
    return by_name[t.name]


def answer_schema(t: WfType) -> dict[str, Any]:
    """The JSON a value of `t` is answered as: durations in seconds, and any value may be empty (null)."""
    if isinstance(t, ListType):
        return {"type": ["array", "null"], "items": answer_schema(t.item)}
    if isinstance(t, Prim) and t.name == "duration":
        return {"type": ["number", "null"], "description": "seconds"}
    s = schema(t)
    if "type" in s:
        return {**s, "type": [s["type"], "null"]}
    return s


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _success(wf: Workflow) -> dict[str, Any]:
    response: dict[str, Any] = {"type": "object"}
    if wf.returns is not None:
        response["properties"] = {k: answer_schema(t) for k, t in sorted(wf.returns.items())}
    body = {
        "type": "object",
        "required": ["status", "response"],
        "properties": {"status": {"const": "success"}, "response": response},
    }
    return _json(body, "the run succeeded; `response` is what it returned")


def operation(wf: Workflow, method: str) -> dict[str, Any]:
    props = {p.name: schema(p.type) for p in wf.params}
    required = [p.name for p in wf.params if p.required]
    body: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        body["required"] = required
    op: dict[str, Any] = {
        "operationId": f"{wf.name}_{method}",
        "summary": f"Run the workflow {wf.name}",
        "responses": {
            "200": _success(wf),
            "400": _error("missing or invalid parameters, a malformed body, or the run failed"),
            "404": _error("no such exposed workflow"),
            "413": _error("the body is too large"),
            "429": _error("too many calls (the workflow has a rate limit)"),
        },
    }
    if wf.webhook is not None:
        scheme = wf.webhook.scheme
        op["security"] = []
        op["description"] = f"A webhook: the body must be signed ({scheme} scheme)."
        headers = SIGNATURE_HEADERS.get(scheme) or [
            (wf.webhook.header or "", "the hex HMAC-SHA256 of the body (`sha256=` may lead)")
        ]
        op["parameters"] = [
            {"name": name, "in": "header", "required": True, "description": doc, "schema": {"type": "string"}}
            for name, doc in headers
        ]
        op["requestBody"] = {  # any content type is accepted: a body that is not JSON is `request.raw`
            "required": True,
            "content": {"application/json": {"schema": {}}},
        }
        op["responses"]["401"] = _error("the signature does not hold")
        return op
    if wf.exposed == "none":
        op["security"] = [{}, {"bearer": []}, {"api_token": []}]
    else:
        op["security"] = [{"bearer": []}, {"api_token": []}]
        op["responses"]["401"] = _error("no token, or a bad or expired one")
        if wf.exposed == "admin":
            op["responses"]["403"] = _error("a user token where an admin token is needed")
    op["parameters"] = [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "a repeated call with this key (for 24 hours) gets the first answer again",
            "schema": {"type": "string"},
        }
    ]
    op["responses"]["409"] = _error("a call with this Idempotency-Key is still running")
    op["responses"]["422"] = _error("this Idempotency-Key was used for another request")
    if method == "post":
        op["requestBody"] = {
            "required": bool(required),
            "content": {
                "application/json": {"schema": body},
                "application/x-www-form-urlencoded": {"schema": body},
            },
        }
    else:
        op["parameters"] += [
            {"name": p.name, "in": "query", "required": p.required, "schema": schema(p.type)} for p in wf.params
        ]
    return op


# ------------------------------------------------------------------ the Data API


def thing_schema(info: TypeInfo) -> dict[str, Any]:
    """A thing as the Data API shows it: its fields, then Bubble's built-in ones."""
    props = {name: schema(f.type) for name, f in sorted(info.fields.items())}
    props |= {
        "_id": {"type": "string"},
        "Created Date": {"type": "string", "format": "date-time"},
        "Modified Date": {"type": "string", "format": "date-time"},
        "Created By": {"type": "string", "description": "the id of the User who created it"},
    }
    return {"type": "object", "required": ["_id", "Created Date", "Modified Date"], "properties": props}


def fields_schema(info: TypeInfo) -> dict[str, Any]:
    """The fields a Data API write may set."""
    return {"type": "object", "properties": {name: schema(f.type) for name, f in sorted(info.fields.items())}}


def data_api_paths(info: TypeInfo) -> dict[str, Any]:
    name, ref = info.name, f"#/components/schemas/{info.name}"
    low = name.lower()
    security: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"api_token": []}]  # privacy rules decide
    thing_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    not_found = _error(f"no such {name}, or none that you may see")
    denied = {"401": _error("no token, or a bad one"), "403": _error(f"no privacy rule of {name} lets you do this")}
    success = _json({"type": "object", "required": ["status"], "properties": {"status": {"const": "success"}}}, "done")
    write = {"required": True, "content": {"application/json": {"schema": fields_schema(info)}}}
    query = [
        ("constraints", {"type": "string"}, "Bubble's constraints: a JSON list of {key, constraint_type, value}"),
        ("sort_field", {"type": "string"}, "the field to sort by"),
        ("descending", {"type": "boolean"}, "sort in descending order"),
        ("cursor", {"type": "integer", "minimum": 0}, "how many results to skip"),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "how many results at most (100)"),
    ]
    page = {
        "type": "object",
        "required": ["response"],
        "properties": {
            "response": {
                "type": "object",
                "required": ["cursor", "results", "count", "remaining"],
                "properties": {
                    "cursor": {"type": "integer"},
                    "results": {"type": "array", "items": {"$ref": ref}},
                    "count": {"type": "integer"},
                    "remaining": {"type": "integer"},
                },
            }
        },
    }
    created = {
        "type": "object",
        "required": ["status", "id"],
        "properties": {"status": {"const": "success"}, "id": {"type": "string"}},
    }
    one = {"type": "object", "required": ["response"], "properties": {"response": {"$ref": ref}}}
    return {
        f"/api/1.1/obj/{low}": {
            "get": {
                "operationId": f"search_{low}",
                "summary": f"Search {name} things",
                "security": security,
                "parameters": [
                    {"name": n, "in": "query", "required": False, "schema": s, "description": d} for n, s, d in query
                ],
                "responses": {
                    "200": _json(page, f"a page of {name} things"),
                    "400": _error("bad constraints or paging"),
                    "404": not_found,
                },
            },
            "post": {
                "operationId": f"create_{low}",
                "summary": f"Create {article(name)}",
                "security": security,
                "requestBody": write,
                "responses": {
                    "201": _json(created, "created"),
                    "400": _error("a field that cannot be set to that value"),
                    **denied,
                    "404": not_found,
                    "413": _error("the body is too large"),
                },
            },
        },
        f"/api/1.1/obj/{low}/{{id}}": {
            "parameters": [thing_id],
            "get": {
                "operationId": f"get_{low}",
                "summary": f"Read {article(name)}",
                "security": security,
                "responses": {"200": _json(one, f"the {name}"), "404": not_found},
            },
            "patch": {
                "operationId": f"change_{low}",
                "summary": f"Change {article(name)}",
                "security": security,
                "requestBody": write,
                "responses": {
                    "200": success,
                    "400": _error("a field that cannot be set to that value"),
                    **denied,
                    "404": not_found,
                    "413": _error("the body is too large"),
                },
            },
            "delete": {
                "operationId": f"delete_{low}",
                "summary": f"Delete {article(name)}",
                "security": security,
                "responses": {"200": success, **denied, "404": not_found},
            },
        },
    }


def document(app: App, server_url: str | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for wf in sorted(app.workflows.values(), key=lambda w: w.name):
        if wf.public:
            methods = ("post",) if wf.webhook is not None else ("post", "get")
            paths[f"/api/1.1/wf/{wf.name}"] = {m: operation(wf, m) for m in methods}
    schemas: dict[str, Any] = {"Error": ERROR}
    for info in sorted(app.types.values(), key=lambda t: t.name):
        paths |= data_api_paths(info)
        schemas[info.name] = thing_schema(info)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "wfkit app",
            "version": "1.0.0",
            "description": "Exposed workflows and webhooks of this app, and its Data API.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "api_token": {"type": "apiKey", "in": "query", "name": "api_token"},
            },
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
