"""The edges of the HTTP API (docs/http.md): extreme values are a 4xx and a recorded run, never a
5xx; a value means the same whichever way it comes; webhook deliveries are identified as their
senders retry them; a signed body need not be JSON."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from serving import Served
from standardwebhooks.webhooks import Webhook

STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _error(r: Any, code: int, status: str) -> dict[str, Any]:
    assert r.status_code == code, r.text
    body = r.json()
    assert body["statusCode"] == code and body["body"]["status"] == status, body
    return dict(body["body"])


# ------------------------------------------------------------------ extreme values


def test_date_arithmetic_past_year_9999_is_a_recorded_workflow_error(served: Served) -> None:
    with served.client() as c:
        for days in (1_000_000, -1_000_000_000, 1e300):
            r = c.post("/api/1.1/wf/days_ago", json={"days": days})
            body = _error(r, 400, "WORKFLOW_ERROR")
            assert "out of range" in body["message"], body
            run = c.get(f"/api/1.1/meta/runs/{body['run_id']}", params={"api_token": served.admin})
            assert run.status_code == 200 and run.json()["status"] == "failed", run.text
        assert c.post("/api/1.1/wf/days_ago", json={"days": 1}).status_code == 200


# ------------------------------------------------------------------ one meaning per value


def test_an_empty_query_value_is_the_empty_text_as_in_json(served: Served) -> None:
    with served.client() as c:
        by_query = c.post("/api/1.1/wf/hello?name=&times=")
        by_json = c.post("/api/1.1/wf/hello", json={"name": "", "times": ""})
        by_form = c.post("/api/1.1/wf/hello", data={"name": "", "times": ""})
    assert by_query.status_code == by_json.status_code == by_form.status_code == 200, by_query.text
    assert by_query.json() == by_json.json() == by_form.json()
    assert by_query.json()["response"] == {"greeting": "hello ", "times": 1}  # "" is no number: the default


def test_a_json_object_labelled_as_a_form_is_read_as_json(served: Served) -> None:
    # what `curl -d '{"name": "Ann"}'` sends: a form content type around a JSON object
    with served.client() as c:
        r = c.post(
            "/api/1.1/wf/hello",
            content=b'{"name": "Ann", "times": 2}',
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 200, r.text
    assert r.json()["response"] == {"greeting": "hello Ann", "times": 2}


# ------------------------------------------------------------------ webhooks


def _stripe_header(body: bytes, ts: int, secret: str = "stripe_secret") -> str:
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={sig}"


def test_a_stripe_retry_signed_anew_runs_once(served: Served) -> None:
    event = f"evt_{time.time_ns()}"
    body = json.dumps({"id": event, "type": "invoice.paid"}).encode()
    now = int(time.time())
    with served.client() as c:
        first = c.post(
            "/api/1.1/wf/stripe_counted", content=body, headers={"Stripe-Signature": _stripe_header(body, now)}
        )
        retry = c.post(
            "/api/1.1/wf/stripe_counted", content=body, headers={"Stripe-Signature": _stripe_header(body, now + 7)}
        )
        assert first.status_code == retry.status_code == 200, retry.text
        assert first.json() == retry.json() == {"status": "success", "response": {"id": event}}
        cons = json.dumps([{"key": "title", "constraint_type": "equals", "value": f"stripe {event}"}])
        found = c.get("/api/1.1/obj/order", params={"constraints": cons, "api_token": served.admin}).json()
    assert found["response"]["count"] == 1  # the retry, with its new t= and signature, did not run again


def _standard_headers(body: str, msg_id: str) -> dict[str, str]:
    when = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(STANDARD_SECRET).sign(msg_id, when, body),
    }


def test_a_signed_standard_webhook_body_that_is_not_json_runs(served: Served) -> None:
    body = "plain=text&not json"
    headers = {**_standard_headers(body, f"msg_{time.time_ns()}"), "Content-Type": "text/plain"}
    with served.client() as c:
        r = c.post("/api/1.1/wf/standard_raw", content=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["response"] == {"body": None, "raw": body}  # request.body is empty, request.raw the text
        forged = {**headers, "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl"}
        _error(c.post("/api/1.1/wf/standard_raw", content=body, headers=forged), 401, "UNAUTHORIZED")
        garbled = {**headers, "webhook-signature": "garbage-without-a-comma"}
        _error(c.post("/api/1.1/wf/standard_raw", content=body, headers=garbled), 401, "UNAUTHORIZED")


# ------------------------------------------------------------------ methods and idempotency


def test_a_method_a_path_does_not_serve_gets_405_with_allow(served: Served) -> None:
    with served.client() as c:
        r = c.delete("/api/1.1/wf/hello")
    _error(r, 405, "METHOD_NOT_ALLOWED")
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}


def test_an_idempotency_key_reused_for_another_request_is_refused(served: Served) -> None:
    key = {"Idempotency-Key": f"k-{time.time_ns()}"}
    with served.client() as c:
        first = c.post("/api/1.1/wf/hello", json={"name": "Ann"}, headers=key)
        again = c.post("/api/1.1/wf/hello", json={"name": "Ann"}, headers=key)
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        for other in (
            c.post("/api/1.1/wf/hello", json={"name": "Bob"}, headers=key),  # another body
            c.post("/api/1.1/wf/hello?times=2", json={"name": "Ann"}, headers=key),  # another query
            c.post("/api/1.1/wf/days_ago", json={"name": "Ann"}, headers=key),  # another workflow
        ):
            body = _error(other, 422, "IDEMPOTENCY_KEY_REUSED")
            assert "another request" in body["message"]
            assert "Idempotent-Replayed" not in other.headers


# ------------------------------------------------------------------ run identity


def test_a_run_scheduled_by_an_anonymous_caller_runs_anonymous(served: Served) -> None:
    label = f"hidden-{time.time_ns()}"
    admin = {"api_token": served.admin}
    with served.client() as c:
        assert c.post("/api/1.1/obj/order", params=admin, json={"title": label}).status_code == 201

        def peeked(by: str) -> str:
            cons = json.dumps([{"key": "title", "constraint_type": "equals", "value": f"peek {label}"}])
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                found = c.get("/api/1.1/obj/order", params={**admin, "constraints": cons}).json()["response"]
                notes = [r.get("note") for r in found["results"]]
                if by in notes:
                    return by
                time.sleep(0.1)
            raise AssertionError(f"no run of peek wrote {by!r} (found {notes})")

        # an anonymous caller cannot search Orders (no `everyone` rule grants it): nor can its run
        assert c.post("/api/1.1/wf/schedule_peek", json={"label": label}).status_code == 200
        assert peeked("saw 0") == "saw 0"
        # an admin's scheduled run is admin: it finds the order
        assert c.post("/api/1.1/wf/schedule_peek", params=admin, json={"label": label}).status_code == 200
        assert peeked("saw 1") == "saw 1"
