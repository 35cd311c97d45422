"""Claims of docs/http.md about calling a workflow, over a real `wf serve` on 127.0.0.1: the body
wins over the query string, multipart forms, Idempotency-Key scoped to the caller and a concurrent
repeat waiting for the first answer, `@retry`, `@concurrency` and `@timeout` over HTTP, and the
meta API's scheduled runs (list, cancel one or a workflow's, pause and resume)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import Served, serving
from upstream import Upstream, upstream

FIXTURES = Path(__file__).parent / "fixtures"
Json = dict[str, Any]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(FIXTURES / "calls.wf", tmp_path_factory.mktemp("calls")) as s:
        yield s


@pytest.fixture
def up() -> Iterator[Upstream]:
    with upstream() as u:
        yield u


def call(served: Served, name: str, token: str | None = None, **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with served.client() as c:
        return c.post(f"/api/1.1/wf/{name}", headers=headers, **kw)


def meta(served: Served, method: str, path: str) -> httpx.Response:
    with served.client() as c:
        return c.request(method, f"/api/1.1/meta/{path}", headers={"Authorization": f"Bearer {served.admin}"})


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Each call in a thread of its own, all started together."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda f: f(), calls))


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"


# ------------------------------------------------------------------ where parameters come from


def test_the_body_wins_over_the_query_string(served: Served) -> None:
    query = {"title": "from the query", "amount": "7"}
    as_json = call(served, "echo", params=query, json={"title": "from the body"})
    as_form = call(served, "echo", params=query, data={"title": "from the body"})
    as_multipart = call(served, "echo", params=query, data={"title": "from the body"}, files={"f": ("f.txt", b"x")})
    for r in (as_json, as_form, as_multipart):
        assert r.status_code == 200, r.text
        assert r.json()["response"] == {"title": "from the body", "amount": 7, "tags": None, "flag": False}


def test_a_multipart_form_is_read_as_a_form(served: Served) -> None:
    fields = {"title": "Desk", "amount": "12.5", "tags": ["a", "b"], "flag": "yes", "unknown": "ignored"}
    r = call(served, "echo", data=fields, files={"attachment": ("note.txt", b"not a parameter", "text/plain")})
    assert r.request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert r.status_code == 200, r.text
    assert r.json()["response"] == {"title": "Desk", "amount": 12.5, "tags": ["a", "b"], "flag": True}
    missing = call(served, "echo", data={"amount": "1"}, files={"attachment": ("n.txt", b"x")})
    assert missing.status_code == 400 and missing.json()["body"]["status"] == "MISSING_DATA"


# ------------------------------------------------------------------ Idempotency-Key


def test_idempotency_keys_are_scoped_to_the_caller(served: Served) -> None:
    users = {}
    for who in ("ann", "bob"):
        r = call(served, "join", json={"email": f"{unique(who)}@example.com", "password": "correct horse"})
        assert r.status_code == 200, r.text
        users[who] = r.json()["response"]
    label, key = unique("scoped"), unique("key")
    body = {"label": label}
    answers = {
        who: call(served, "count_hit", token, json=body, headers={"Idempotency-Key": key})
        for who, token in (
            ("admin", served.admin),
            ("ann", users["ann"]["token"]),
            ("bob", users["bob"]["token"]),
            ("anonymous", None),
        )
    }
    # the same key from four callers: four runs, each caller its own answer
    assert [a.json()["response"]["hits"] for a in answers.values()] == [1, 2, 3, 4]
    assert answers["ann"].json()["response"]["by"] == users["ann"]["user"]
    assert answers["bob"].json()["response"]["by"] == users["bob"]["user"]
    assert all("Idempotent-Replayed" not in a.headers for a in answers.values())
    for who, token in (("ann", users["ann"]["token"]), ("anonymous", None), ("admin", served.admin)):
        again = call(served, "count_hit", token, json=body, headers={"Idempotency-Key": key})
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == answers[who].json()  # its own first answer, not another caller's
    fresh = call(served, "count_hit", json=body, headers={"Idempotency-Key": unique("key")})
    assert fresh.json()["response"]["hits"] == 5  # the repeats ran nothing


def test_a_concurrent_repeat_waits_for_the_first_answer(served: Served, up: Upstream) -> None:
    label, key = unique("waits"), unique("key")
    body = {"label": label, "url": up.url("slow", 1.5)}

    def first() -> httpx.Response:
        return call(served, "slow_hit", json=body, headers={"Idempotency-Key": key})

    def repeat() -> httpx.Response:
        time.sleep(0.5)  # while the first call is in its 1.5 s request
        started = time.monotonic()
        r = call(served, "slow_hit", json=body, headers={"Idempotency-Key": key})
        r.extensions["waited"] = time.monotonic() - started
        return r

    one, two = at_once(first, repeat)
    assert one.status_code == two.status_code == 200, (one.text, two.text)
    assert one.json() == two.json() == {"status": "success", "response": {"hits": 1}}
    assert "Idempotent-Replayed" not in one.headers and two.headers.get("Idempotent-Replayed") == "true"
    assert up.hits == {"/slow": 1}  # the workflow ran once
    assert two.extensions["waited"] > 0.5  # the repeat waited for the first answer


# ------------------------------------------------------------------ flow control over HTTP


def test_retry_runs_a_run_failed_in_an_action_again_with_the_same_run_id(served: Served, up: Upstream) -> None:
    up.hang_up["/then"] = 2  # the second action fails twice (no answer), then succeeds
    r = call(served, "flaky", json={"first": up.url("first"), "then": up.url("then")})
    assert r.status_code == 200, r.text
    assert r.json()["response"] == {"ok": True}
    assert up.hits == {"/first": 1, "/then": 3}  # the finished action was replayed from the journal
    [run] = meta(served, "GET", "runs?workflow=flaky").json()["runs"]  # one run id for the 3 attempts
    record = meta(served, "GET", f"runs/{run['id']}").json()
    assert record["status"] == "success" and record["attempt"] == 3
    assert [s["status"] for s in record["steps"]][:2] == ["replayed", "ran"]


def test_retry_does_not_run_a_fail_statement_again(served: Served, up: Upstream) -> None:
    r = call(served, "verdict", json={"url": up.url("verdict")})
    assert r.status_code == 400 and r.json()["body"]["message"] == "no, and that is final"
    assert up.hits == {"/verdict": 1}
    record = meta(served, "GET", f"runs/{r.json()['body']['run_id']}").json()
    assert record["status"] == "failed" and record.get("attempt", 1) == 1


def test_concurrency_lets_one_call_per_key_run_and_the_others_wait(served: Served, up: Upstream) -> None:
    def one(who: str) -> Callable[[], httpx.Response]:
        return lambda: call(served, "one_at_a_time", json={"url": up.url(who, 0.4), "who": who})

    answers = at_once(*[one(who) for who in ("a", "b", "a", "b", "a", "b")])
    assert [r.status_code for r in answers] == [200] * 6, [r.text for r in answers]
    assert up.hits == {"/a": 3, "/b": 3}
    assert up.max_inflight == {"/a": 1, "/b": 1}  # one at a time per key ...
    assert up.max_all_inflight == 2  # ... and the two keys at the same time


def test_timeout_fails_the_run_past_its_duration(served: Served, up: Upstream) -> None:
    started = time.monotonic()
    r = call(served, "hurried", json={"url": up.url("slow", 5)})
    took = time.monotonic() - started
    assert r.status_code == 400, r.text
    body = r.json()["body"]
    assert body["status"] == "WORKFLOW_ERROR" and body["message"] == "the run took longer than its timeout of 1 second"
    assert 0.9 < took < 4.0, took
    assert meta(served, "GET", f"runs/{body['run_id']}").json()["status"] == "failed"


# ------------------------------------------------------------------ the meta API's scheduled runs


def test_scheduled_runs_are_listed_cancelled_paused_and_resumed(served: Served) -> None:
    ids = [call(served, "plan", json={"n": n}).json()["response"]["id"] for n in (1, 2, 3)]
    listed = meta(served, "GET", "scheduled?workflow=later").json()["scheduled"]
    assert [(s["id"], s["workflow"], s["args"]) for s in listed] == [
        (ids[0], "later", {"n": 1}),
        (ids[1], "later", {"n": 2}),
        (ids[2], "later", {"n": 3}),
    ]
    assert meta(served, "GET", "scheduled?workflow=echo").json() == {"scheduled": []}

    assert meta(served, "DELETE", f"scheduled/{ids[0]}").json() == {"status": "success", "cancelled": 1}
    assert meta(served, "DELETE", f"scheduled/{ids[0]}").json() == {"status": "success", "cancelled": 0}
    assert [s["id"] for s in meta(served, "GET", "scheduled?workflow=later").json()["scheduled"]] == ids[1:]
    assert meta(served, "DELETE", "scheduled?workflow=later").json() == {"status": "success", "cancelled": 2}
    assert meta(served, "GET", "scheduled").json() == {"scheduled": []}
    bad = meta(served, "DELETE", "scheduled")
    assert bad.status_code == 400 and bad.json()["body"]["status"] == "BAD_REQUEST"

    assert meta(served, "POST", "scheduler/pause").json() == {"status": "success", "paused": True}
    try:
        due = call(served, "plan", json={"n": 9, "wait": 0}).json()["response"]["id"]
        time.sleep(1.0)  # due now, and the worker is awake: paused, it starts nothing
        assert [s["id"] for s in meta(served, "GET", "scheduled?workflow=later").json()["scheduled"]] == [due]
        assert meta(served, "GET", "runs?workflow=later").json()["runs"] == []
    finally:
        assert meta(served, "POST", "scheduler/resume").json() == {"status": "success", "paused": False}
    deadline = time.monotonic() + 15
    while not (runs := meta(served, "GET", "runs?workflow=later").json()["runs"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [(r["id"], r["status"], r["trigger"]) for r in runs] == [(due, "success", "schedule")]
    assert meta(served, "GET", "scheduled").json() == {"scheduled": []}
