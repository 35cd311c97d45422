"""Signing in to the dashboard (SPEC §3.5, docs/dashboard.md): admins only, by the form; the
session cookie's flags and what it holds; signing out ends the session in the server too; forms
refuse requests from other sites (CSRF)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Page, expect
from processes import free_port
from served import Dashboard

PATHS = ("/dashboard/", "/dashboard/scheduled", "/dashboard/workflows", "/dashboard/workflows/order")
PATHS += ("/dashboard/outbox", "/dashboard/runs/0123456789abcdef0123456789abcdef", "/dashboard/no/such/page")
PATHS += ("/dashboard/stream/runs",)


@contextmanager
def signed_in_client(shop: Dashboard) -> Iterator[httpx.Client]:
    """A client with a session, signed in through the form as a browser would."""
    with httpx.Client(base_url=shop.url, timeout=30) as client:
        answer = client.post("/dashboard/sign-in", data={"token": shop.admin}, headers={"Origin": shop.url})
        assert answer.status_code == 303, answer.text
        yield client


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/dashboard/scheduled").text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def paused(client: httpx.Client) -> bool:
    return "Scheduler: <span data-scheduler-state>paused" in client.get("/dashboard/scheduled").text


def test_every_dashboard_path_shows_the_sign_in_form_to_strangers(shop: Dashboard) -> None:
    for path in PATHS:
        answer = httpx.get(shop.url + path)
        assert answer.status_code == 200, path
        assert '<label for="token">Admin token</label>' in answer.text, path
        assert ">Sign in</button>" in answer.text and "Sign out" not in answer.text, path
    # what a page would show is not there: no run, no workflow's graph
    assert "flowchart" not in httpx.get(shop.url + "/dashboard/workflows/order").text
    assert "Admin token" in httpx.get(shop.url + "/dashboard/stream/runs").text  # no stream of runs
    # an action without a session does nothing
    answer = httpx.post(shop.url + "/dashboard/scheduler/pause", data={"csrf": "x"})
    assert "Admin token" in answer.text
    with signed_in_client(shop) as client:
        assert not paused(client)
    # a user's token (from `log_in`) or a made-up one is no admin's: the form again, with an error
    answer = httpx.post(shop.url + "/dashboard/sign-in", data={"token": "wfa_" + "x" * 43})
    assert "Admin token" in answer.text and 'role="alert"' in answer.text and "set-cookie" not in answer.headers


def test_a_wrong_token_stays_on_the_form_and_the_right_one_signs_in(shop: Dashboard, page: Page) -> None:
    page.goto(shop.url + "/dashboard/scheduled")
    page.get_by_label("Admin token").fill("wfa_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not an admin token")
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert page.context.cookies() == []

    page.get_by_label("Admin token").fill(shop.admin)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scheduled")  # where it was going
    expect(page.get_by_role("navigation", name="Dashboard").get_by_role("link")).to_have_text(
        ["Runs", "Scheduled", "Workflows", "Outbox"]
    )

    [cookie] = page.context.cookies()
    assert cookie["name"] == "wf_session"
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard"
    assert cookie["secure"] is False  # plain http here; over https it is Secure
    assert shop.admin not in cookie["value"] and shop.admin[4:20] not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it


def test_sign_out_ends_the_session_in_every_process(shop: Dashboard, page: Page) -> None:
    shop.sign_in(page)
    [cookie] = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert page.context.cookies() == []
    # the old cookie, kept by someone, opens nothing any more
    answer = httpx.get(shop.url + "/dashboard/", cookies={"wf_session": cookie["value"]})
    assert "Admin token" in answer.text and "Sign out" not in answer.text


def test_a_tampered_or_revoked_session_is_refused(shop: Dashboard) -> None:
    with signed_in_client(shop) as client:
        value = client.cookies["wf_session"]
        sid, token_id, expires, mac = value.split(".")
        later = f"{sid}.{token_id}.{int(expires) + 86400}.{mac}"  # a longer life, unsigned
        answer = httpx.get(shop.url + "/dashboard/", cookies={"wf_session": later})
        assert "Admin token" in answer.text
        assert "Sign out" in client.get("/dashboard/").text


def test_forms_refuse_requests_from_other_sites(shop: Dashboard) -> None:
    with signed_in_client(shop) as client:
        token = csrf_of(client)
        other = {"Origin": "http://127.0.0.1:1"}  # another origin (same site: the cookie is sent)
        assert client.post("/dashboard/scheduler/pause", data={"csrf": token}, headers=other).status_code == 403
        cross = {"Sec-Fetch-Site": "cross-site"}
        assert client.post("/dashboard/scheduler/pause", data={"csrf": token}, headers=cross).status_code == 403
        assert client.post("/dashboard/scheduler/pause", data={"csrf": "forged"}).status_code == 403
        assert client.post("/dashboard/scheduler/pause").status_code == 403
        assert not paused(client)
        # the page's own form, as its browser sends it (under no-referrer: `Origin: null`)
        same = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
        assert client.post("/dashboard/scheduler/pause", data={"csrf": token}, headers=same).status_code == 303
        assert paused(client)
        assert client.post("/dashboard/scheduler/resume", data={"csrf": token}, headers=same).status_code == 303
        assert not paused(client)


class OtherSite:
    """Pages on another origin of 127.0.0.1 (another port: the same site, so SameSite=Strict does
    not keep the cookie back; only the dashboard's own checks stand in the way)."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, b"")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def other_site() -> Iterator[OtherSite]:
    site = OtherSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()


def test_a_page_of_another_origin_cannot_pause_the_scheduler(
    shop: Dashboard, page: Page, other_site: OtherSite
) -> None:
    shop.sign_in(page)
    other_site.pages["/attack"] = (
        f'<form id="f" method="post" action="{shop.url}/dashboard/scheduler/pause">'
        '<input name="csrf" value="guessed"></form><script>document.getElementById("f").submit()</script>'
    ).encode()
    with page.expect_response(f"{shop.url}/dashboard/scheduler/pause") as answer:
        page.goto(other_site.url + "/attack")
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("another site")
    page.goto(shop.url + "/dashboard/scheduled")
    expect(page.locator("[data-scheduler-state]")).to_have_text("running")
