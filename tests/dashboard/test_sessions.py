"""The dashboard's session cookie and request checks, without a browser: what the cookie holds and
how it is signed, its expiry, `Secure` over https, the origin check's cases, and where signing in
may send the browser (never to another site)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sanic import HTTPResponse
from wfkit.server.dashboard import sessions
from wfkit.server.dashboard.pages import _local


def request(scheme: str = "http", host: str = "127.0.0.1:8000", **headers: str) -> Any:
    return SimpleNamespace(scheme=scheme, host=host, headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_a_session_is_signed_with_the_data_folders_key_and_expires(tmp_path: Path) -> None:
    key = sessions.session_key(tmp_path)
    assert sessions.session_key(tmp_path) == key  # every process on the folder: the same key
    assert sessions.session_key(tmp_path / "other") != key
    session = sessions.new_session("1796213930290x245529272554517518")
    value = session.cookie_value(key)
    assert sessions.parse(value, key) == session
    assert sessions.parse(value, sessions.session_key(tmp_path / "other")) is None
    assert sessions.parse(value, key, now=session.expires) is None  # expired
    sid, token_id, expires, mac = value.split(".")
    assert sessions.parse(f"{sid}.other{token_id}.{expires}.{mac}", key) is None
    assert sessions.parse(f"{sid}.{token_id}.{int(expires) + 1}.{mac}", key) is None
    for junk in ("", "a.b.c", "a.b.c.d", "x" * 400, f"{sid}.{token_id}.soon.{mac}"):
        assert sessions.parse(junk, key) is None
    other = sessions.new_session(session.token_id)
    assert session.csrf(key) != other.csrf(key)
    assert session.csrf_ok(key, session.csrf(key)) and not session.csrf_ok(key, other.csrf(key))


def test_the_cookie_is_httponly_strict_and_secure_over_https() -> None:
    for scheme, secure in (("http", False), ("https", True)):
        response = HTTPResponse()
        sessions.set_cookie(request(scheme), response, "v", 60)
        header = str(response.cookies.get_cookie("wf_session", path="/dashboard")).lower()
        assert "httponly" in header and "samesite=strict" in header and "path=/dashboard" in header
        assert ("secure" in header.replace("samesite", "")) is secure


def test_the_origin_check() -> None:
    own = "http://127.0.0.1:8000"
    assert sessions.same_origin(request(origin=own, sec_fetch_site="same-origin"))
    assert sessions.same_origin(request(origin="null", sec_fetch_site="same-origin"))  # no-referrer pages
    assert sessions.same_origin(request())  # no browser (the CSRF token still decides)
    assert not sessions.same_origin(request(origin="http://127.0.0.1:9000"))  # another port
    assert not sessions.same_origin(request(origin="https://127.0.0.1:8000"))  # another scheme
    assert not sessions.same_origin(request(origin="null", sec_fetch_site="cross-site"))
    assert not sessions.same_origin(request(origin=own, sec_fetch_site="same-site"))


def test_signing_in_only_goes_on_to_a_dashboard_page() -> None:
    assert _local("/dashboard/scheduled?x=1") == "/dashboard/scheduled?x=1"
    for elsewhere in (
        None,
        "",
        "https://evil.example/",
        "//evil.example/dashboard/",
        "/api/1.1/meta/runs",
        "/dashboard/\\\\evil",
    ):
        assert _local(elsewhere) == "/dashboard/"
