"""Every exposed workflow (and webhook) as an OpenAPI 3.1 document (`/api/1.1/meta/openapi.json`)."""

from __future__ import annotations

from typing import Any

from wfkit.core.app import App, Workflow
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


def schema(t: WfType) -> dict[str, Any]:
    if isinstance(t, ListType):
        return {"type": "array", "items": schema(t.item)}
    if isinstance(t, ThingType):
        return {"type": "string", "description": f"the id of a {t.name}"}
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


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


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
            "200": {
                "description": "the run succeeded; `response` is what it returned",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["status", "response"],
                            "properties": {"status": {"const": "success"}, "response": {"type": "object"}},
                        }
                    }
                },
            },
            "400": _error("missing or invalid parameters, a malformed body, or the run failed"),
            "404": _error("no such exposed workflow"),
            "413": _error("the body is too large"),
            "429": _error("too many calls (the workflow has a rate limit)"),
        },
    }
    if wf.webhook is not None:
        op["security"] = []
        op["description"] = f"A webhook: the body must be signed ({wf.webhook.scheme} scheme)."
        op["requestBody"] = {"content": {"application/json": {"schema": {}}}}
        op["responses"]["401"] = _error("the signature does not hold")
        return op
    if wf.exposed == "none":
        op["security"] = [{}, {"bearer": []}]
    else:
        op["security"] = [{"bearer": []}, {"api_token": []}]
        op["responses"]["401"] = _error("no token, or a bad or expired one")
        if wf.exposed == "admin":
            op["responses"]["403"] = _error("a user token where an admin token is needed")
    if method == "post":
        op["requestBody"] = {
            "content": {
                "application/json": {"schema": body},
                "application/x-www-form-urlencoded": {"schema": body},
            }
        }
    else:
        op["parameters"] = [
            {"name": p.name, "in": "query", "required": p.required, "schema": schema(p.type)} for p in wf.params
        ]
    return op


def document(app: App, server_url: str | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for wf in sorted(app.workflows.values(), key=lambda w: w.name):
        if wf.public:
            methods = ("post",) if wf.webhook is not None else ("post", "get")
            paths[f"/api/1.1/wf/{wf.name}"] = {m: operation(wf, m) for m in methods}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "wfkit app", "version": "1.0.0", "description": "Exposed workflows of this app."},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "api_token": {"type": "apiKey", "in": "query", "name": "api_token"},
            },
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
