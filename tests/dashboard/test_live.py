"""Runs, live (SPEC §3.5): a run made over HTTP appears on an open Runs page within a second, with
no reload, and a filtered page shows only what its filter takes; with `wf serve --workers 2`, every
open page sees the runs that every process makes, and any process serves any session."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from served import Dashboard, serving


def wait_live(page: Page) -> None:
    """Until the page's stream is open (the page says so)."""
    expect(page.locator("[data-live-state]")).to_have_text("Live")
    page.wait_for_function("() => !document.querySelector('[data-live-state]').classList.contains('is-off')")


def failed_run(shop: Dashboard, title: str) -> str:
    """A run made over HTTP that fails: its answer names its run id."""
    answer = shop.call("order", title=title, amount=-1)
    assert answer.status_code == 400
    run_id: str = answer.json()["body"]["run_id"]
    return run_id


def test_a_new_run_appears_within_a_second(shop: Dashboard, page: Page) -> None:
    shop.sign_in(page)
    wait_live(page)
    page.evaluate("window.notReloaded = true")
    for title in ("first", "second"):
        run_id = failed_run(shop, title)
        started = time.monotonic()
        row = page.locator(f'table.runs tbody tr[data-run-id="{run_id}"]')
        expect(row).to_be_visible(timeout=1000)
        assert time.monotonic() - started < 1.0
        expect(row).to_contain_text("failed")
        expect(row.get_by_role("link", name=run_id)).to_have_attribute("href", f"/dashboard/runs/{run_id}")
        assert page.locator("table.runs tbody tr").first.get_attribute("data-run-id") == run_id  # newest first
    assert page.evaluate("window.notReloaded") is True


def test_a_filtered_page_shows_only_its_runs_live(shop: Dashboard, page: Page) -> None:
    shop.sign_in(page, "/dashboard/?workflow=ping")
    wait_live(page)
    other = failed_run(shop, "not ping")
    assert shop.call("ping", n=0).status_code == 200
    ping = shop.meta("runs?workflow=ping&limit=1")["runs"][0]["id"]
    expect(page.locator(f'tr[data-run-id="{ping}"]')).to_be_visible(timeout=1000)
    expect(page.locator(f'tr[data-run-id="{other}"]')).to_have_count(0)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with serving(tmp_path_factory.mktemp("workers"), workers=2) as dashboard:
        yield dashboard


def test_with_two_workers_every_page_sees_every_run(two_workers: Dashboard, page: Page) -> None:
    shop = two_workers
    shop.sign_in(page)
    cookie = page.context.cookies()[0]["value"]
    # any process verifies the session: many fresh connections, all signed in
    for _ in range(12):
        answer = httpx.get(shop.url + "/dashboard/scheduled", cookies={"wf_session": cookie})
        assert "Sign out" in answer.text
    second = page.context.new_page()
    second.goto(shop.url + "/dashboard/")
    wait_live(page)
    wait_live(second)
    made: list[str] = []
    while len({run_id[12:24] for run_id in made}) < 2:  # (a run id's middle names its process)
        assert len(made) < 40, "every call went to one process"
        made.append(failed_run(shop, f"run {len(made)}"))  # a connection each: the kernel spreads them
    for view in (page, second):
        for run_id in made:
            expect(view.locator(f'tr[data-run-id="{run_id}"]')).to_be_visible(timeout=1500)
    second.close()
