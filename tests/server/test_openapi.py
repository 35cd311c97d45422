"""The OpenAPI 3.1 document: valid, complete, and true to the server — fuzzed with schemathesis
against the running server, with no 5xx answer."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
}


def document(served: Served) -> dict[str, Any]:
    r = httpx.get(served.url + "/api/1.1/meta/openapi.json", headers={"Authorization": f"Bearer {served.admin}"})
    assert r.status_code == 200
    return dict(r.json())


def test_document_is_valid_openapi_31(served: Served) -> None:
    doc = document(served)
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    assert doc["openapi"] == "3.1.0"
    assert {p.rsplit("/", 1)[1] for p in doc["paths"]} == PUBLIC  # exposed and webhooks only
    typed = doc["paths"]["/api/1.1/wf/typed"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert typed["required"] == ["n", "flag", "at", "wait", "tags"]
    assert typed["properties"]["at"] == {"type": "string", "format": "date-time"}
    assert typed["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert doc["paths"]["/api/1.1/wf/hello"]["get"]["parameters"][0] == {
        "name": "name",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
    }
    assert "403" in doc["paths"]["/api/1.1/wf/admin_only"]["post"]["responses"]


def test_fuzzing_the_api_finds_no_server_error(served: Served) -> None:
    schema = schemathesis.openapi.from_dict(document(served))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= len(PUBLIC)
    auth = {"Authorization": f"Bearer {served.admin}"}
    failures: list[str] = []
    statuses: list[int] = []

    for op in operations:
        if op.path.endswith("/limited"):
            continue  # answers 429 once its budget is spent, by design

        @given(case=op.as_strategy(), with_token=st.booleans())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case: Any, with_token: bool) -> None:
            response = case.call(base_url=served.url, headers=auth if with_token else {})
            statuses.append(response.status_code)
            if response.status_code >= 500:
                where = f"{case.operation.method.upper()} {case.operation.path}"
                failures.append(f"{where}: {response.status_code} {response.text[:200]}")
            assert response.status_code < 500

        check()
    assert not failures
    assert len(statuses) > 10 * len(operations)  # the fuzzer really called every operation
    assert 200 in statuses and 400 in statuses  # valid and invalid inputs both reached the server
    assert httpx.get(served.url + "/healthz").status_code == 200
