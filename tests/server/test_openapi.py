"""The OpenAPI 3.1 document: valid, complete, and typed for generated clients (test_fuzz.py holds
the server to it with schemathesis; test_generated_client.py uses a generated client)."""

from __future__ import annotations

from typing import Any

import httpx
from openapi_spec_validator import validate
from serving import Served

PUBLIC = {
    "hello",
    "join",
    "whoami",
    "admin_only",
    "fails",
    "typed",
    "make_order",
    "my_orders",
    "counter",
    "limited",
    "echo_request",
    "github_hook",
    "stripe_hook",
    "standard_hook",
    "hmac_hook",
    "days_ago",
    "stripe_counted",
    "standard_raw",
    "schedule_peek",
}


def document(served: Served) -> dict[str, Any]:
    r = httpx.get(served.url + "/api/1.1/meta/openapi.json", headers={"Authorization": f"Bearer {served.admin}"})
    assert r.status_code == 200
    return dict(r.json())


def test_document_is_valid_openapi_31(served: Served) -> None:
    doc = document(served)
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    assert doc["openapi"] == "3.1.0"
    workflows = {p.rsplit("/", 1)[1] for p in doc["paths"] if p.startswith("/api/1.1/wf/")}
    assert workflows == PUBLIC  # exposed and webhooks only
    data_api = {p for p in doc["paths"] if p.startswith("/api/1.1/obj/")}
    assert data_api == {"/api/1.1/obj/order", "/api/1.1/obj/order/{id}", "/api/1.1/obj/user", "/api/1.1/obj/user/{id}"}
    typed = doc["paths"]["/api/1.1/wf/typed"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert typed["required"] == ["n", "flag", "at", "wait", "tags"]
    assert typed["properties"]["at"] == {"type": "string", "format": "date-time"}
    assert typed["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    hello_get = {p["name"]: p for p in doc["paths"]["/api/1.1/wf/hello"]["get"]["parameters"]}
    assert hello_get["name"] == {
        "name": "name",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
    }
    assert "403" in doc["paths"]["/api/1.1/wf/admin_only"]["post"]["responses"]


def test_workflows_are_typed_for_generated_clients(served: Served) -> None:
    paths = document(served)["paths"]
    typed_post = paths["/api/1.1/wf/typed"]["post"]
    assert typed_post["requestBody"]["required"] is True  # it has required parameters
    assert paths["/api/1.1/wf/whoami"]["post"]["requestBody"]["required"] is False
    answer = typed_post["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["response"]
    assert answer["properties"]["n"] == {"type": ["number", "null"]}  # from `return { n: n, … }`
    assert answer["properties"]["at"] == {"type": ["string", "null"], "format": "date-time"}
    assert answer["properties"]["wait"]["type"] == ["number", "null"]  # durations are answered in seconds
    assert answer["properties"]["tags"] == {"type": ["array", "null"], "items": {"type": ["string", "null"]}}
    hello = paths["/api/1.1/wf/hello"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(hello["properties"]["response"]["properties"]) == {"greeting", "times"}
    stripe = paths["/api/1.1/wf/stripe_hook"]["post"]
    assert [p["name"] for p in stripe["parameters"] if p["in"] == "header"] == ["Stripe-Signature"]
    assert list(paths["/api/1.1/wf/stripe_hook"]) == ["post"]  # a webhook takes only POST
    standard = [p["name"] for p in paths["/api/1.1/wf/standard_hook"]["post"]["parameters"]]
    assert standard == ["webhook-id", "webhook-timestamp", "webhook-signature"]
    assert [p["name"] for p in paths["/api/1.1/wf/hmac_hook"]["post"]["parameters"]] == ["X-Signature"]
    order = document(served)["components"]["schemas"]["Order"]
    assert order["properties"]["owner"]["description"] == "the id of a User"
    assert order["properties"]["amount"] == {"type": "number"}
    assert "an Order" in paths["/api/1.1/obj/order/{id}"]["get"]["summary"]
