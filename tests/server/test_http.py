"""The HTTP API over a real server on 127.0.0.1: auth, error shapes, conversion, malformed input,
Idempotency-Key, the Data API under privacy, rate limits, webhooks, the meta API."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import Served
from standardwebhooks.webhooks import Webhook

Json = dict[str, Any]


def post(served: Served, path: str, body: Any = None, token: str | None = None, **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with served.client() as c:
        return c.post(path, json=body, headers=headers, **kw)


def get(served: Served, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with served.client() as c:
        return c.get(path, headers=headers, **kw)


def error(r: httpx.Response, code: int, status: str) -> Json:
    assert r.status_code == code, r.text
    body = r.json()
    assert body["statusCode"] == code and body["body"]["status"] == status, body
    assert isinstance(body["body"]["message"], str) and body["body"]["message"]
    return dict(body["body"])


@pytest.fixture(scope="module")
def users(served: Served) -> dict[str, Json]:
    """Two users, signed up and logged in through a workflow."""
    out = {}
    for who in ("ann", "bob"):
        r = post(served, "/api/1.1/wf/join", {"email": f"{who.upper()}@Example.com", "password": "correct horse"})
        assert r.status_code == 200, r.text
        out[who] = r.json()["response"]
    return out


# ------------------------------------------------------------------ auth


MATRIX = [
    # path, method, expected status for: no token, bad token, user token, admin token
    ("/api/1.1/wf/hello?name=x", "GET", (200, 401, 200, 200)),
    ("/api/1.1/wf/whoami", "POST", (401, 401, 200, 200)),
    ("/api/1.1/wf/admin_only", "POST", (401, 401, 403, 200)),
    ("/api/1.1/wf/internal", "POST", (404, 404, 404, 404)),
    ("/api/1.1/wf/no_such", "GET", (404, 404, 404, 404)),
    ("/api/1.1/obj/order", "GET", (200, 401, 200, 200)),
    ("/api/1.1/obj/Order", "POST", (401, 401, 201, 201)),
    ("/api/1.1/meta/workflows", "GET", (401, 401, 403, 200)),
    ("/api/1.1/meta/runs", "GET", (401, 401, 403, 200)),
    ("/api/1.1/meta/outbox", "GET", (401, 401, 403, 200)),
    ("/api/1.1/meta/openapi.json", "GET", (401, 401, 403, 200)),
    ("/api/1.1/meta/scheduled", "GET", (401, 401, 403, 200)),
    ("/api/1.1/meta/scheduled/0123456789abcdef0123456789abcdef", "DELETE", (401, 401, 403, 200)),
    ("/api/1.1/meta/scheduled?workflow=peek", "DELETE", (401, 401, 403, 200)),
    ("/api/1.1/meta/scheduler/pause", "POST", (401, 401, 403, 200)),
    ("/api/1.1/meta/scheduler/resume", "POST", (401, 401, 403, 200)),  # after pause: the server runs on
]
STATUS_WORD = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}


@pytest.mark.parametrize(("path", "method", "expected"), MATRIX)
@pytest.mark.parametrize("via", ["header", "query"])
def test_auth_matrix(
    served: Served, users: dict[str, Json], path: str, method: str, expected: tuple[int, ...], via: str
) -> None:
    tokens = [None, "wfa_not_a_real_token", users["ann"]["token"], served.admin]
    with served.client() as c:
        for token, want in zip(tokens, expected, strict=True):
            headers, url = {}, path
            if token and via == "header":
                headers["Authorization"] = f"Bearer {token}"
            elif token:
                url += ("&" if "?" in url else "?") + f"api_token={token}"
            body = ({"title": "t"} if "/obj/" in path else {}) if method == "POST" else None
            r = c.request(method, url, headers=headers, json=body)
            assert r.status_code == want, (path, token, r.text)
            if want in STATUS_WORD:
                error(r, want, STATUS_WORD[want])


def test_user_token_runs_as_that_user(served: Served, users: dict[str, Json]) -> None:
    r = post(served, "/api/1.1/wf/whoami", {}, users["bob"]["token"])
    assert r.json() == {"status": "success", "response": {"user": users["bob"]["user"], "anonymous": False}}
    r = post(served, "/api/1.1/wf/whoami", {}, served.admin)
    assert r.json()["response"] == {"user": None, "anonymous": True}


def test_malformed_authorization_header(served: Served) -> None:
    r = post(served, "/api/1.1/wf/whoami", {}, headers={"Authorization": "Basic abc"})
    error(r, 401, "UNAUTHORIZED")


# ------------------------------------------------------------------ errors and conversion


def test_missing_parameter(served: Served) -> None:
    body = error(post(served, "/api/1.1/wf/hello", {}), 400, "MISSING_DATA")
    assert body["message"] == "Missing parameter for workflow hello: parameter name"


def test_invalid_parameter_names_parameter_type_value(served: Served) -> None:
    body = error(post(served, "/api/1.1/wf/hello", {"name": "x", "times": "many"}), 400, "INVALID_DATA")
    assert "parameter times" in body["message"] and "number" in body["message"] and "'many'" in body["message"]


def test_workflow_error_has_message_line_and_run(served: Served) -> None:
    body = error(post(served, "/api/1.1/wf/fails", {"n": 7}, served.admin), 400, "WORKFLOW_ERROR")
    assert body["message"] == "n was 7" and body["line"] == 55
    run = get(served, f"/api/1.1/meta/runs/{body['run_id']}", served.admin).json()
    assert run["status"] == "failed" and run["error"] == {"message": "n was 7", "line": 55}
    assert [s["status"] for s in run["steps"]] == ["ran", "failed"]
    assert run["logs"][0]["message"] == "about to fail"
    listed = get(served, "/api/1.1/meta/runs?workflow=fails&status=failed", served.admin).json()["runs"]
    assert body["run_id"] in [r["id"] for r in listed]


TYPED = {"n": 42, "flag": True, "at": "2026-12-01T09:00:00Z", "wait": 90, "tags": ["a", "b"], "meta": None}


def test_conversion_from_json(served: Served) -> None:
    body = {"n": "42", "flag": "yes", "at": "2026-12-01T10:00:00+01:00", "wait": "PT1M30S", "tags": ["a", "b"]}
    assert post(served, "/api/1.1/wf/typed", body).json()["response"] == TYPED


def test_conversion_from_query(served: Served) -> None:
    q = "n=42&flag=true&at=2026-12-01T09:00:00Z&wait=90&tags=a&tags=b"
    assert get(served, f"/api/1.1/wf/typed?{q}").json()["response"] == TYPED


def test_conversion_from_form(served: Served) -> None:
    with served.client() as c:
        r = c.post(
            "/api/1.1/wf/typed",
            data={
                "n": "42",
                "flag": "yes",
                "at": "2026-12-01T09:00:00Z",
                "wait": "90",
                "tags": ["a", "b"],
                "meta": '{"k": 1}',
            },
        )
    assert r.json()["response"] == {**TYPED, "meta": {"k": 1}}


def test_request_is_visible_to_the_workflow(served: Served) -> None:
    r = post(served, "/api/1.1/wf/echo_request?x=1", {"a": [1, 2]}, headers={"X-Test": "yes"})
    resp = r.json()["response"]
    assert resp["body"] == {"a": [1, 2]} and resp["query"] == {"x": "1"} and resp["agent"] == "yes"
    assert json.loads(resp["raw"]) == {"a": [1, 2]}


# ------------------------------------------------------------------ malformed input


def test_malformed_input_is_4xx_and_the_server_keeps_serving(served: Served) -> None:
    with served.client() as c:
        bad_json = c.post("/api/1.1/wf/hello", content=b'{"name": ', headers={"Content-Type": "application/json"})
        error(bad_json, 400, "BAD_REQUEST")
        wrong_type = c.post("/api/1.1/wf/hello", content=b"<name>x</name>", headers={"Content-Type": "text/xml"})
        error(wrong_type, 400, "BAD_REQUEST")
        not_object = c.post("/api/1.1/wf/hello", json=[1, 2])
        error(not_object, 400, "BAD_REQUEST")
        too_big = c.post("/api/1.1/wf/hello", json={"name": "x" * 70_000})
        error(too_big, 413, "PAYLOAD_TOO_LARGE")
        nested = c.post(
            "/api/1.1/wf/hello",
            content=b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert nested.status_code == 400, nested.text
        nul = c.post("/api/1.1/wf/hello", json={"name": "a\u0000b"})
        error(nul, 400, "BAD_REQUEST")
        nul_query = c.get("/api/1.1/wf/hello", params={"name": "a\x00b"})
        error(nul_query, 400, "BAD_REQUEST")
        not_utf8 = c.post(
            "/api/1.1/wf/hello", content=b'{"name": "\xff"}', headers={"Content-Type": "application/json"}
        )
        assert not_utf8.status_code == 400
        method = c.put("/api/1.1/wf/hello")
        assert method.status_code == 405 and method.json()["body"]["status"] == "METHOD_NOT_ALLOWED"
        assert c.get("/healthz").status_code == 200
        assert c.post("/api/1.1/wf/hello", json={"name": "still here"}).status_code == 200


# ------------------------------------------------------------------ idempotency


def test_idempotency_key_replays_the_first_response(served: Served) -> None:
    label = f"idem-{time.time_ns()}"
    first = post(served, "/api/1.1/wf/counter", {"label": label}, headers={"Idempotency-Key": label})
    again = post(served, "/api/1.1/wf/counter", {"label": label}, headers={"Idempotency-Key": label})
    assert first.json() == again.json() == {"status": "success", "response": {"count": 1}}
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = post(served, "/api/1.1/wf/counter", {"label": label}, headers={"Idempotency-Key": label + "-2"})
    assert other.json()["response"] == {"count": 2}
    plain = post(served, "/api/1.1/wf/counter", {"label": label})
    assert plain.json()["response"] == {"count": 3}


# ------------------------------------------------------------------ the Data API


def test_data_api_under_privacy(served: Served, users: dict[str, Json]) -> None:
    ann, bob = users["ann"]["token"], users["bob"]["token"]
    ids = []
    for title, amount in (("desk", 120), ("lamp", 30), ("chair", 80)):
        r = post(served, "/api/1.1/wf/make_order", {"title": title, "amount": amount}, ann)
        ids.append(r.json()["response"]["id"])
    mine = post(served, "/api/1.1/wf/my_orders", {}, ann).json()["response"]
    assert mine["titles"][:3] == ["desk", "chair", "lamp"] and mine["notes"][0] == "private desk"
    assert post(served, "/api/1.1/wf/my_orders", {}, bob).json()["response"] == {"titles": [], "notes": []}

    # ann searches her orders through the Data API, with Bubble's constraints, sort and paging
    cons = json.dumps(
        [
            {"key": "amount", "constraint_type": "greater than", "value": 50},
            {"key": "owner", "constraint_type": "equals", "value": users["ann"]["user"]},
        ]
    )
    r = get(
        served,
        "/api/1.1/obj/order",
        ann,
        params={"constraints": cons, "sort_field": "amount", "descending": "true", "limit": 1},
    )
    page = r.json()["response"]
    assert [t["title"] for t in page["results"]] == ["desk"] and page["count"] == 1 and page["remaining"] == 1
    assert page["results"][0]["_id"] == ids[0] and page["results"][0]["note"] == "private desk"
    page2 = get(
        served,
        "/api/1.1/obj/order",
        ann,
        params={"constraints": cons, "sort_field": "amount", "descending": "true", "cursor": 1},
    ).json()["response"]
    assert [t["title"] for t in page2["results"]] == ["chair"] and page2["remaining"] == 0

    # bob finds none of them (no rule grants him search) but may read the title of one by id
    assert get(served, "/api/1.1/obj/order", bob, params={"constraints": cons}).json()["response"]["results"] == []
    seen = get(served, f"/api/1.1/obj/Order/{ids[0]}", bob).json()["response"]
    assert seen["title"] == "desk" and "note" not in seen and "amount" not in seen
    assert get(served, f"/api/1.1/obj/Order/{ids[0]}", ann).json()["response"]["amount"] == 120

    # writes need the change / delete grant
    error(post_patch(served, ids[1], {"title": "bobs"}, bob), 403, "FORBIDDEN")
    assert post_patch(served, ids[1], {"title": "lamp 2"}, ann).status_code == 200
    assert get(served, f"/api/1.1/obj/Order/{ids[1]}", ann).json()["response"]["title"] == "lamp 2"
    error(post_patch(served, ids[1], {"amount": "lots"}, ann), 400, "BAD_REQUEST")
    error(post_patch(served, ids[1], {"nope": 1}, ann), 400, "BAD_REQUEST")
    with served.client() as c:
        error(c.delete(f"/api/1.1/obj/Order/{ids[2]}", headers={"Authorization": f"Bearer {bob}"}), 403, "FORBIDDEN")
        assert c.delete(f"/api/1.1/obj/Order/{ids[2]}", headers={"Authorization": f"Bearer {ann}"}).status_code == 200
        error(
            c.get(f"/api/1.1/obj/Order/{ids[2]}", headers={"Authorization": f"Bearer {served.admin}"}), 404, "NOT_FOUND"
        )
    error(get(served, "/api/1.1/obj/Nothing"), 404, "NOT_FOUND")
    error(get(served, "/api/1.1/obj/order", params={"constraints": "[{"}), 400, "BAD_REQUEST")
    error(get(served, "/api/1.1/obj/order", params={"limit": "x"}), 400, "BAD_REQUEST")


def post_patch(served: Served, id: str, body: Json, token: str) -> httpx.Response:
    with served.client() as c:
        return c.patch(f"/api/1.1/obj/Order/{id}", json=body, headers={"Authorization": f"Bearer {token}"})


def test_data_api_create_sets_fields(served: Served, users: dict[str, Json]) -> None:
    r = post(served, "/api/1.1/obj/Order", {"title": "api made", "amount": 5, "tags": ["x"]}, served.admin)
    assert r.status_code == 201 and r.json()["status"] == "success"
    thing = get(served, f"/api/1.1/obj/order/{r.json()['id']}", served.admin).json()["response"]
    assert thing["title"] == "api made" and thing["tags"] == ["x"] and thing["Created Date"].endswith("Z")
    error(post(served, "/api/1.1/obj/User", {"name": "x"}, served.admin), 400, "BAD_REQUEST")


CONSTRAINT_CASES = [
    # constraint_type, key, value → the amounts of the orders found (5: "apple pie", 12: "Banana",
    # 30: "cherry pie" with no tags, 40: no title and no tags)
    ("equals", "title", "Banana", [12]),
    ("not equal", "title", "Banana", [5, 30, 40]),  # an empty title is not "Banana" either
    ("greater than", "amount", 12, [30, 40]),
    ("less than", "amount", 12, [5]),
    ("in", "title", ["Banana", "cherry pie", "zzz"], [12, 30]),
    ("not in", "title", ["Banana", "cherry pie"], [5, 40]),
    ("contains", "tags", "fruit", [5, 12]),
    ("not contains", "tags", "fruit", [30, 40]),
    ("text contains", "title", "pie", [5, 30]),
    ("not text contains", "title", "pie", [12, 40]),
    ("is_empty", "tags", None, [30, 40]),
    ("is_not_empty", "title", None, [5, 12, 30]),
]


@pytest.fixture(scope="module")
def constraint_orders(served: Served) -> str:
    """Four orders made by admin, marked by a `note` no other test uses; the marker."""
    marker = f"constraints-{time.time_ns()}"
    for fields in (
        {"title": "apple pie", "amount": 5, "tags": ["red", "fruit"]},
        {"title": "Banana", "amount": 12, "tags": ["fruit"]},
        {"title": "cherry pie", "amount": 30},
        {"amount": 40},
    ):
        r = post(served, "/api/1.1/obj/Order", {**fields, "note": marker}, served.admin)
        assert r.status_code == 201, r.text
    return marker


@pytest.mark.parametrize(("kind", "key", "value", "amounts"), CONSTRAINT_CASES, ids=[c[0] for c in CONSTRAINT_CASES])
def test_data_api_constraint_types(
    served: Served, constraint_orders: str, kind: str, key: str, value: Any, amounts: list[int]
) -> None:
    cons = [
        {"key": "note", "constraint_type": "equals", "value": constraint_orders},
        {"key": key, "constraint_type": kind, **({} if value is None else {"value": value})},
    ]
    r = get(
        served, "/api/1.1/obj/order", served.admin, params={"constraints": json.dumps(cons), "sort_field": "amount"}
    )
    assert r.status_code == 200, r.text
    assert [t["amount"] for t in r.json()["response"]["results"]] == amounts


def test_every_documented_constraint_type_is_tested() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "http.md").read_text(encoding="utf-8")
    listed = doc.split("`constraint_type` is one of", 1)[1].split(";", 1)[0]
    assert {c[0] for c in CONSTRAINT_CASES} == set(re.findall(r"`([^`]+)`", listed))


# ------------------------------------------------------------------ rate limit


def test_rate_limit_answers_429_with_retry_after(served: Served) -> None:
    codes = [post(served, "/api/1.1/wf/limited", {}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = post(served, "/api/1.1/wf/limited", {})
    error(r, 429, "RATE_LIMITED")
    assert int(r.headers["Retry-After"]) >= 1


# ------------------------------------------------------------------ webhooks


def gh_sign(body: bytes, secret: str = "gh_secret") -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_github_webhook_runs_once_per_delivery(served: Served) -> None:
    action = f"opened-{time.time_ns()}"
    body = json.dumps({"action": action}).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": gh_sign(body), "X-GitHub-Delivery": action}
    with served.client() as c:
        first = c.post("/api/1.1/wf/github_hook", content=body, headers=headers)
        again = c.post("/api/1.1/wf/github_hook", content=body, headers=headers)
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json() == {"status": "success", "response": {"action": action}}
        cons = json.dumps([{"key": "title", "constraint_type": "equals", "value": f"gh {action}"}])
        found = c.get("/api/1.1/obj/order", params={"constraints": cons, "api_token": served.admin}).json()
        assert found["response"]["count"] == 1  # the repeated delivery did not run again
        bad = c.post(
            "/api/1.1/wf/github_hook", content=body, headers={**headers, "X-Hub-Signature-256": gh_sign(body, "x")}
        )
        error(bad, 401, "UNAUTHORIZED")
        error(c.post("/api/1.1/wf/github_hook", json={"action": "x"}), 401, "UNAUTHORIZED")


def stripe_header(body: bytes, ts: int, secret: str = "stripe_secret") -> str:
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={sig}"


def test_stripe_webhook_checks_signature_and_age(served: Served) -> None:
    body = json.dumps({"id": "evt_1", "type": "charge.succeeded"}).encode()
    with served.client() as c:
        now = int(time.time())
        ok = c.post("/api/1.1/wf/stripe_hook", content=body, headers={"Stripe-Signature": stripe_header(body, now)})
        assert ok.status_code == 200, ok.text
        assert ok.json()["response"] == {"type": "charge.succeeded"}
        old = c.post(
            "/api/1.1/wf/stripe_hook", content=body, headers={"Stripe-Signature": stripe_header(body, now - 600)}
        )
        error(old, 401, "UNAUTHORIZED")
        forged = c.post(
            "/api/1.1/wf/stripe_hook", content=body, headers={"Stripe-Signature": stripe_header(body, now, "wrong")}
        )
        error(forged, 401, "UNAUTHORIZED")


def test_standard_webhook(served: Served) -> None:
    body = json.dumps({"event": "user.created"})
    wh = Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    msg_id = f"msg_{time.time_ns()}"
    from datetime import UTC, datetime

    when = datetime.now(UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": wh.sign(msg_id, when, body),
        "Content-Type": "application/json",
    }
    with served.client() as c:
        assert c.post("/api/1.1/wf/standard_hook", content=body, headers=headers).json()["response"] == {
            "event": "user.created"
        }
        error(c.post("/api/1.1/wf/standard_hook", content=body + " ", headers=headers), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(("age_s", "code"), [(-6 * 60, 401), (-4 * 60, 200), (4 * 60, 200), (6 * 60, 401)])
def test_standard_webhook_refuses_timestamps_more_than_5_minutes_away(served: Served, age_s: int, code: int) -> None:
    from datetime import UTC, datetime, timedelta

    body = json.dumps({"event": f"aged {age_s}"})
    msg_id = f"msg_{time.time_ns()}"
    when = datetime.now(UTC) + timedelta(seconds=age_s)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").sign(msg_id, when, body),
        "Content-Type": "application/json",
    }
    with served.client() as c:
        r = c.post("/api/1.1/wf/standard_hook", content=body, headers=headers)
    if code == 401:
        error(r, 401, "UNAUTHORIZED")
    else:
        assert r.status_code == 200 and r.json()["response"] == {"event": f"aged {age_s}"}, r.text


def test_hmac_webhook(served: Served) -> None:
    body = b'{"n": 1}'
    sig = hmac.new(b"plain_secret", body, hashlib.sha256).hexdigest()
    with served.client() as c:
        ok = c.post(
            "/api/1.1/wf/hmac_hook", content=body, headers={"X-Signature": sig, "Content-Type": "application/json"}
        )
        assert ok.status_code == 200
        bad = c.post("/api/1.1/wf/hmac_hook", content=body, headers={"X-Signature": "00" * 32})
        error(bad, 401, "UNAUTHORIZED")


# ------------------------------------------------------------------ meta


def test_meta_workflows_describes_parameters(served: Served) -> None:
    wfs = {w["name"]: w for w in get(served, "/api/1.1/meta/workflows", served.admin).json()["workflows"]}
    assert wfs["hello"]["auth"] == "none" and wfs["admin_only"]["auth"] == "admin"
    assert wfs["internal"]["exposed"] is False and wfs["github_hook"]["auth"] == "webhook"
    assert wfs["hello"]["params"] == [
        {"name": "name", "type": "text", "required": True, "optional": False},
        {"name": "times", "type": "number", "required": False, "optional": False},
    ]
    assert wfs["limited"]["flow"]["rate_limit"] == {"count": 3, "period_seconds": 60}


def test_outbox_and_health(served: Served) -> None:
    assert get(served, "/api/1.1/meta/outbox", served.admin).json() == {"emails": []}
    health = get(served, "/healthz").json()
    assert health["status"] == "ok" and health["database"] == "ok"


def test_unknown_path_is_bubble_404(served: Served) -> None:
    error(get(served, "/api/1.1/nothing/here"), 404, "NOT_FOUND")
