"""The screenshots of docs/dashboard.md, taken in Chromium from a real `wf serve` of the dashboard
tests' app (tests/dashboard/fixtures/shop.wf). Needs the dev extra and `apt-get install chromium`:

    python docs/screenshots.py            # writes docs/img/dashboard-*.png

tests/dashboard/test_screenshots.py runs the same steps into a scratch folder, so this keeps working.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "dashboard")]

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from served import Dashboard, serving  # noqa: E402

WIDE = {"width": 1280, "height": 760}
PHONE = {"width": 390, "height": 760}


def some_runs(shop: Dashboard) -> str:
    """Runs of every kind; returns the id of one whose `send_email … when notify` was skipped."""
    shop.call("order", title="Green tea", amount=12)
    shop.call("order", title="Cake", amount=130, notify=True)
    shop.call("order", title="Nothing", amount=0)
    shop.call("ping", n=2)
    shop.call("order", title="Scones", amount=8)
    runs = shop.meta("runs?workflow=order&status=success")["runs"]
    return next(r["id"] for r in runs if shop.meta(f"runs/{r['id']}")["params"]["title"] == "Green tea")


def shoot(page: Page, path: Path, full: bool = False) -> None:
    page.wait_for_timeout(300)  # the live dot, fonts
    page.screenshot(path=str(path), full_page=full, animations="disabled", caret="hide")


def take(out: Path, browser: Browser | None = None) -> list[Path]:
    """Every screenshot, into `out`, with `browser` (else a Chromium of its own); their paths."""
    if browser is None:
        with sync_playwright() as p:
            own = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
            try:
                return take(out, own)
            finally:
                own.close()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, serving(Path(scratch)) as shop:
        run = some_runs(shop)
        wide = browser.new_context(viewport=WIDE, color_scheme="light")
        page = wide.new_page()
        page.goto(shop.url + "/dashboard/")
        shoot(page, out / "dashboard-sign-in.png")
        shop.sign_in(page)
        shoot(page, out / "dashboard-runs.png")
        page.goto(f"{shop.url}/dashboard/runs/{run}")
        shoot(page, out / "dashboard-run.png", full=True)
        page.goto(shop.url + "/dashboard/scheduled")
        shoot(page, out / "dashboard-scheduled.png")
        page.goto(shop.url + "/dashboard/workflows")
        shoot(page, out / "dashboard-workflows.png")
        page.goto(shop.url + "/dashboard/workflows/order")
        page.locator("pre[data-graph] svg").wait_for()
        shoot(page, out / "dashboard-workflow.png", full=True)
        page.goto(shop.url + "/dashboard/outbox")
        shoot(page, out / "dashboard-outbox.png")

        phone = browser.new_context(viewport=PHONE, color_scheme="dark", storage_state=wide.storage_state())
        small = phone.new_page()
        small.goto(shop.url + "/dashboard/")
        shoot(small, out / "dashboard-runs-phone-dark.png")
        small.goto(f"{shop.url}/dashboard/runs/{run}")
        shoot(small, out / "dashboard-run-phone-dark.png")
        phone.close()
        wide.close()
    return sorted(out.glob("dashboard-*.png"))


if __name__ == "__main__":
    for made in take(ROOT / "docs" / "img"):
        print(f"{made.relative_to(ROOT)}  {made.stat().st_size // 1024} kB")
