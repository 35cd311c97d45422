"""Steering the queue from the Scheduled page (SPEC §3.5): cancel a pending run by its button (it
is gone from `/api/1.1/meta/scheduled` too); pause the scheduler (a due run waits) and resume it
(the run goes); the recurring events' next firings."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect
from served import Dashboard


def pending(shop: Dashboard, workflow: str) -> list[str]:
    return [r["id"] for r in shop.meta(f"scheduled?workflow={workflow}")["scheduled"]]


def test_cancel_a_scheduled_run_by_its_button(shop: Dashboard, page: Page) -> None:
    before = set(pending(shop, "remind"))
    assert shop.call("order", title="Later", amount=5).status_code == 200  # schedules remind in 1 hour
    assert shop.call("order", title="Kept", amount=6).status_code == 200
    cancelled, kept = [i for i in pending(shop, "remind") if i not in before]

    shop.sign_in(page, "/dashboard/scheduled")
    row = page.locator(f'tr[data-run-id="{cancelled}"]')
    expect(row).to_contain_text("remind")
    expect(row).to_contain_text('"title":"Later"')
    row.get_by_role("button", name="Cancel").click()
    expect(row).to_have_count(0)  # gone without a reload (htmx swapped the row out)
    assert cancelled not in pending(shop, "remind")
    assert kept in pending(shop, "remind")
    page.reload()
    expect(page.locator(f'tr[data-run-id="{cancelled}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-run-id="{kept}"]')).to_have_count(1)


def test_pause_and_resume_the_scheduler(shop: Dashboard, page: Page) -> None:
    shop.sign_in(page, "/dashboard/scheduled")
    state = page.locator("[data-scheduler-state]")
    expect(state).to_have_text("running")
    page.get_by_role("button", name="Pause").click()
    expect(state).to_have_text("paused")
    try:
        assert shop.call("ping", n=41).status_code == 200  # schedules pong(n: 41) to run at once
        time.sleep(1.5)  # a worker would have started it by now
        [waiting] = [r for r in shop.meta("scheduled?workflow=pong")["scheduled"] if r["args"] == {"n": 41}]
        page.reload()
        expect(page.locator(f'tr[data-run-id="{waiting["id"]}"]')).to_be_visible()
    finally:
        page.get_by_role("button", name="Resume").click()
    expect(state).to_have_text("running")
    deadline = time.monotonic() + 10
    while waiting["id"] not in [r["id"] for r in shop.meta("runs?workflow=pong")["runs"]]:
        assert time.monotonic() < deadline, "the run did not go after Resume"
        time.sleep(0.2)
    assert waiting["id"] not in pending(shop, "pong")


def test_recurring_events_with_their_next_firing(shop: Dashboard, page: Page) -> None:
    shop.sign_in(page, "/dashboard/scheduled")
    row = page.locator("table.recurring tbody tr").filter(has_text="nightly")
    expect(row).to_contain_text("every 1 day at 03:00 UTC")
    expect(row.locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d 03:00:00$"))
