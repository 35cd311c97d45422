"""Security of a served app (docs/security.md): log-in throttling over HTTP, no secret at rest in
clear text (database, Redis' files, the server's log), nosniff on every answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sanic import Blueprint, HTTPResponse
from serving import Served, serving
from wfkit.server import headers
from wfkit.server.jsonio import json_response

FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "pw-Sq7nT2vXk9"  # nowhere at rest but in the argon2 hashes


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(FIXTURES / "security.wf", tmp_path_factory.mktemp("security")) as s:
        yield s


def _wf(served: Served, name: str, **body: str) -> tuple[int, dict[str, object], dict[str, str]]:
    with served.client() as c:
        r = c.post(f"/api/1.1/wf/{name}", json=body)
    return r.status_code, r.json(), dict(r.headers)


def test_log_in_is_throttled_over_http(secure: Served) -> None:
    email = "throttled@example.com"
    assert _wf(secure, "join", email=email, password=PASSWORD)[0] == 200
    for _ in range(10):
        status, body, _headers = _wf(secure, "enter", email=email, password="not the password")
        assert status == 400 and body["body"]["message"] == "wrong email or password"  # type: ignore[index]
    status, body, answer = _wf(secure, "enter", email=email, password=PASSWORD)  # the right one, too late
    assert status == 429, body
    assert body["statusCode"] == 429 and body["body"]["status"] == "RATE_LIMITED"  # type: ignore[index]
    assert "too many failed log-ins" in body["body"]["message"]  # type: ignore[index]
    assert 14 * 60 <= int(answer["retry-after"]) <= 15 * 60
    assert answer["x-content-type-options"] == "nosniff"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.suffix != ".wf" and not p.is_symlink()]


def test_no_password_or_token_at_rest(tmp_path: Path) -> None:
    with serving(FIXTURES / "security.wf", tmp_path) as s:
        assert _wf(s, "join", email="ann@example.com", password=PASSWORD)[0] == 200
        status, body, _ = _wf(s, "enter", email="ann@example.com", password=PASSWORD)
        assert status == 200
        tokens = [body["response"]["token"]]  # type: ignore[index]
        status, body, _ = _wf(s, "enter_durably", email="ann@example.com", password=PASSWORD)
        assert status == 200, body  # journaled in Redis: a retried call resumes from it
        response = body["response"]
        tokens.append(response["token"])  # type: ignore[index]
        assert response["seen"]["token"] == response["token"]  # type: ignore[index]
        with s.client() as c:  # an answer kept for an Idempotency-Key holds the token for 24 hours
            call = {"json": {"email": "ann@example.com", "password": PASSWORD}, "headers": {"Idempotency-Key": "k1"}}
            first, again = c.post("/api/1.1/wf/enter", **call), c.post("/api/1.1/wf/enter", **call)  # type: ignore[arg-type]
        assert first.status_code == again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        tokens.append(first.json()["response"]["token"])
        assert _wf(s, "later", email="bob@example.com", password=PASSWORD)[0] == 200
        with s.client() as c:
            auth = {"Authorization": f"Bearer {s.admin}"}
            deadline = time.monotonic() + 30
            while True:
                runs = c.get("/api/1.1/meta/runs", params={"workflow": "in_background"}, headers=auth).json()
                done = [r for r in runs["runs"] if r["status"] != "running"]
                if done or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert done and done[0]["status"] == "success", runs
            record = c.get(f"/api/1.1/meta/runs/{done[0]['id']}", headers=auth).json()
        assert record["logs"][0]["message"] == "in the background with [redacted]"
        assert record["params"]["password"] == "[redacted]" and record["response"]["token"] == "[redacted]"
        with s.client() as c:  # the tokens work (what is kept is not what is needed), in a header or the query
            for t in tokens:
                assert c.get("/api/1.1/wf/me", headers={"Authorization": f"Bearer {t}"}).status_code == 200
                assert c.get("/api/1.1/wf/me", params={"api_token": t}).status_code == 200
    # Stopped: SQLite checkpointed or not (-wal), Redis' append-only file and snapshot written.
    data = tmp_path / ".wf"
    files = _files(tmp_path)
    names = {p.name for p in files}
    assert "data.sqlite3" in names and "server.log" in names
    assert any(n.endswith(".aof") for n in names) or (data / "redis" / "appendonlydir").exists(), names
    assert (data / "secret.key").stat().st_mode & 0o077 == 0  # the sealing key: its owner's only
    for path in files:
        raw = path.read_bytes()
        assert PASSWORD.encode() not in raw, path
        assert b"wfu_" not in raw, path  # no user token, whole or in part
        for t in tokens:
            assert t.encode() not in raw, path
    assert "/api/1.1/wf/me?api_token=[redacted] 200" in (tmp_path / "server.log").read_text()  # logged, hidden


def test_nosniff_on_every_answer(secure: Served) -> None:
    with secure.client() as c:
        answers = [
            c.get("/healthz"),
            c.post("/api/1.1/wf/join", json={"email": "x"}),  # 400, a parameter missing
            c.post("/api/1.1/wf/join", content=b"{not json", headers={"Content-Type": "application/json"}),
            c.get("/api/1.1/wf/nowhere"),  # 404
            c.get("/no/such/path"),  # 404 from the router
            c.delete("/api/1.1/wf/join"),  # 405
            c.get("/api/1.1/meta/workflows"),  # 401
            c.get("/api/1.1/meta/workflows", headers={"Authorization": f"Bearer {secure.admin}"}),
            c.get("/api/1.1/obj/user"),
        ]
    assert {r.status_code for r in answers} >= {200, 400, 401, 404, 405}
    for r in answers:
        assert r.headers.get("x-content-type-options") == "nosniff", (r.request.url, r.status_code)
        assert "content-security-policy" not in r.headers  # pages only (the dashboard)


def test_pages_get_their_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blueprint of pages joins one list and its answers carry the page headers."""
    monkeypatch.setattr(headers, "PAGE_BLUEPRINTS", [Blueprint("dashboard", url_prefix="/dashboard")])
    page, api = HTTPResponse("<p>hi</p>"), HTTPResponse("{}")
    headers.add_headers(SimpleNamespace(path="/dashboard/runs"), page)  # type: ignore[arg-type]
    headers.add_headers(SimpleNamespace(path="/api/1.1/wf/x"), api)  # type: ignore[arg-type]
    assert page.headers["content-security-policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers and api.headers["x-content-type-options"] == "nosniff"


def test_a_json_answer_encodes_its_headers_as_sanic_would() -> None:
    """A JSON answer encodes its headers in one pass and adds nosniff itself: the same bytes as
    Sanic's own encoding; CR, LF and NUL are still stripped; nosniff set by hand is not doubled."""
    plain = json_response({"a": 1}, headers={"Idempotent-Replayed": "true"})
    sanic = HTTPResponse(b'{"a":1}', 200, {"Idempotent-Replayed": "true", "X-Content-Type-Options": "nosniff"})
    sanic.content_type = "application/json"
    assert sorted(plain.processed_headers) == sorted(sanic.processed_headers)
    injected = json_response({}, headers={"Location": "/x\r\nSet-Cookie: a=b\x00"})
    assert dict(injected.processed_headers)[b"Location"] == b"/xSet-Cookie: a=b"
    assert dict(injected.processed_headers)[b"X-Content-Type-Options"] == b"nosniff"
    by_hand = json_response({}, headers={"X-Content-Type-Options": "nosniff"})
    assert [name for name, _ in by_hand.processed_headers].count(b"X-Content-Type-Options") == 1


@pytest.mark.parametrize("connection", ["keep-alive", "close"])
def test_an_answer_with_no_headers_of_its_own_is_written_as_sanic_would(connection: str) -> None:
    """The headers Sanic's HTTP/1 writer adds (length, connection) and nothing else: written from
    constants, the same pairs as Sanic's own encoding gives."""
    plain = json_response({"a": 1})
    sanic = HTTPResponse(b'{"a":1}', 200, {"X-Content-Type-Options": "nosniff"}, "application/json")
    for answer in (plain, sanic):
        answer.headers["content-length"] = 7  # as Sanic's writer sets them, the length a number
        answer.headers["connection"] = connection
    assert sorted(plain.processed_headers) == sorted(sanic.processed_headers)
    assert len(list(plain.processed_headers)) == 4
