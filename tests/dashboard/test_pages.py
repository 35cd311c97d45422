"""The dashboard's pages in a real Chromium (SPEC §3.5): each reached from the menu (by mouse and
by keyboard) with no console error and no request beyond the server; a run's page with every
statement (a skipped `when` and the values it saw, a failure and its line, logs, timings, the runs
it scheduled); a workflow's page with its graph drawn as SVG; the page headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Response, expect
from served import Dashboard

MENU = {"Runs": "/dashboard/", "Scheduled": "/dashboard/scheduled", "Workflows": "/dashboard/workflows"}
MENU["Outbox"] = "/dashboard/outbox"


@dataclass
class Watch:
    """What a page did: console errors, uncaught exceptions, hosts it asked, its documents' answers."""

    errors: list[str] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    documents: list[Response] = field(default_factory=list)


@pytest.fixture
def watch(page: Page) -> Iterator[Watch]:
    w = Watch()
    page.on("console", lambda m: w.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: w.errors.append(str(e)))
    page.on("request", lambda r: w.hosts.add(urlsplit(r.url).hostname or r.url))
    page.on("response", lambda r: w.documents.append(r) if r.request.resource_type == "document" else None)
    yield w


@pytest.fixture(scope="module")
def runs(shop: Dashboard) -> dict[str, str]:
    """Runs to look at: one that skipped a `when`, one that failed, one that scheduled a run that ran;
    and a kept email in the outbox."""
    ok = shop.call("order", title="Tea", amount=12)
    failed = shop.call("order", title="Nothing", amount=0).json()["body"]["run_id"]
    shop.call("order", title="Cake", amount=30, notify=True)  # an email, kept in the outbox
    shop.call("ping", n=3)
    assert ok.status_code == 200
    found = shop.meta("runs?workflow=order&status=success")["runs"]
    skipped = next(r["id"] for r in found if shop.meta(f"runs/{r['id']}")["params"]["title"] == "Tea")
    return {"skipped": skipped, "failed": failed}


def test_each_page_from_the_menu_without_errors_or_other_hosts(
    shop: Dashboard, page: Page, watch: Watch, runs: dict[str, str]
) -> None:
    shop.sign_in(page)
    for label, path in MENU.items():
        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name=label).click()
        expect(page).to_have_url(shop.url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
        expect(page.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="order", exact=True).click()  # a workflow's page, its graph
    expect(page.locator("pre[data-graph] svg")).to_be_visible()
    page.goto(f"{shop.url}/dashboard/runs/{runs['skipped']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("order")
    page.wait_for_timeout(500)  # a moment for late errors (the live stream, Mermaid)

    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    assert len(watch.documents) >= 7
    for answer in watch.documents:
        headers = answer.headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, answer.url
        assert "script-src" not in policy and "'unsafe-eval'" not in policy  # scripts: this server's only
        assert headers["referrer-policy"] == "no-referrer" and headers["x-content-type-options"] == "nosniff"
        if answer.status == 200:  # (redirects after a form need not say)
            assert headers["cache-control"] == "no-store", answer.url


def test_the_sign_in_page_has_no_console_error_either(shop: Dashboard, page: Page, watch: Watch) -> None:
    page.goto(shop.url + "/dashboard/")
    page.get_by_label("Admin token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert watch.errors == [] and watch.hosts == {"127.0.0.1"}


def test_every_page_is_reached_with_the_keyboard(shop: Dashboard, page: Page) -> None:
    page.goto(shop.url + "/dashboard/")
    page.get_by_label("Admin token").focus()
    page.keyboard.type(shop.admin)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs")
    for label, path in [*list(MENU.items())[1:], ("Runs", "/dashboard/")]:
        page.locator("body").focus()
        for _ in range(20):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == label:
                break
        else:
            raise AssertionError(f"Tab never reached the menu's {label}")
        page.keyboard.press("Enter")
        expect(page).to_have_url(shop.url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
    # a workflow's page, and the sign-out button, by keyboard too
    page.goto(shop.url + "/dashboard/workflows")
    link = page.get_by_role("link", name="order", exact=True)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("order")
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Admin token")).to_be_visible()


def test_a_runs_page_shows_every_statement(shop: Dashboard, page: Page, runs: dict[str, str]) -> None:
    shop.sign_in(page)
    page.get_by_role("link", name=runs["skipped"]).click()  # linked from Runs by its whole id
    expect(page).to_have_url(f"{shop.url}/dashboard/runs/{runs['skipped']}")
    expect(page.locator(".heading .badge")).to_contain_text("success")
    steps = page.locator("table.steps tbody tr")
    expect(steps).to_have_count(6)
    skipped = steps.filter(has_text="send_email")
    expect(skipped.locator("td").nth(0)).to_have_text("14")  # its line
    expect(skipped).to_contain_text("skipped")
    expect(skipped).to_contain_text("notify = false")  # the value its `when` saw
    created = steps.filter(has_text="create Order")
    expect(created).to_contain_text("ran")
    expect(created.locator("td").nth(3)).to_have_text(re.compile(r"^(\d+(\.\d+)? ms|<0\.1 ms)$"))  # its time
    expect(page.locator("table.logs")).to_contain_text("for 12")
    expect(page.locator("pre.json").first).to_contain_text('"title": "Tea"')
    scheduled = shop.meta(f"runs/{runs['skipped']}")["scheduled"]
    expect(page.locator(".run-list a")).to_have_text(scheduled)
    page.locator(".run-list a").first.click()  # not started yet: it says when it will
    expect(page.locator("main")).to_contain_text("has not started yet")

    page.goto(f"{shop.url}/dashboard/runs/{runs['failed']}")
    expect(page.get_by_role("alert")).to_contain_text("amount must be positive, got 0")
    expect(page.get_by_role("alert")).to_contain_text("line 11")
    failed = page.locator("table.steps tbody tr").filter(has_text="fail")
    expect(failed).to_contain_text("failed")
    expect(failed.locator("td").nth(0)).to_have_text("11")


def test_a_run_links_to_the_runs_it_scheduled(shop: Dashboard, page: Page, runs: dict[str, str]) -> None:
    shop.sign_in(page)
    ping = shop.meta("runs?workflow=ping")["runs"][0]["id"]
    [pong] = shop.meta(f"runs/{ping}")["scheduled"]
    page.goto(f"{shop.url}/dashboard/runs/{ping}")
    page.get_by_role("link", name=pong).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("pong")
    expect(page.locator("table.logs")).to_contain_text("pong 3")
    page.locator("dl.facts").get_by_role("link", name=ping).click()  # back to the run that scheduled it
    expect(page.get_by_role("heading", level=1)).to_have_text("ping")


def test_runs_are_filtered_by_workflow_and_status(shop: Dashboard, page: Page, runs: dict[str, str]) -> None:
    shop.sign_in(page)
    page.get_by_label("Workflow").select_option("order")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{shop.url}/dashboard/?workflow=order&status=failed")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", runs["failed"])


def test_workflows_with_their_parameters_decorators_triggers_and_graph(shop: Dashboard, page: Page) -> None:
    shop.sign_in(page, "/dashboard/workflows")
    row = page.locator("table.workflows tbody tr").filter(has_text="order")
    expect(row).to_contain_text("title: text")
    expect(row).to_contain_text("@retry(attempts: 2, backoff: 1 second)")
    row.get_by_role("link", name="order").click()
    expect(page.locator("table.params tbody tr")).to_have_count(3)
    expect(page.locator("table.params")).to_contain_text("notify")
    expect(page.get_by_text("@exposed(auth: none)")).to_be_visible()
    svg = page.locator("pre[data-graph] svg")
    expect(svg).to_be_visible()
    expect(svg.locator("g.node")).not_to_have_count(0)
    expect(svg).to_contain_text("if amount <= 0")
    policy = page.evaluate("fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy

    page.goto(shop.url + "/dashboard/workflows/nightly")
    expect(page.locator("main")).to_contain_text('every 1 day at "03:00" run nightly()')
    expect(page.locator("main")).to_contain_text("Next firing")
    page.goto(shop.url + "/dashboard/workflows/remind")
    expect(page.locator("main")).to_contain_text("on create Order when this.amount > 100 run remind(title: this.title)")
    expect(page.locator("pre[data-graph] svg")).to_contain_text("on create Order")


def test_the_outbox_shows_kept_emails(shop: Dashboard, page: Page, runs: dict[str, str]) -> None:
    shop.sign_in(page, "/dashboard/outbox")
    email = page.locator("article.email").filter(has_text="New order: Cake")
    expect(email).to_contain_text("ops@example.com")
    expect(email).to_contain_text("Amount 30")


def test_values_show_as_text_never_as_markup(shop: Dashboard, page: Page) -> None:
    title = '<img src=x id=injected onerror="document.title=1">'
    shop.call("order", title=title, amount=7, notify=True)
    run_id = shop.meta("runs?workflow=order&limit=1")["runs"][0]["id"]
    shop.sign_in(page, f"/dashboard/runs/{run_id}")
    expect(page.locator("pre.json").first).to_contain_text("<img src=x id=injected")  # as JSON text
    page.goto(shop.url + "/dashboard/outbox")
    expect(page.locator("article.email h2").first).to_have_text(f"New order: {title}")
    page.goto(shop.url + "/dashboard/scheduled")
    expect(page.locator("table.scheduled")).to_contain_text("injected")
    assert page.locator("#injected").count() == 0
