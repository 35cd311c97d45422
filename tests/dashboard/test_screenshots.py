"""docs/dashboard.md's screenshots come from `python docs/screenshots.py`: the same steps, run here
into a scratch folder, so the script keeps working (each page at 1280 px, Runs and a run at 390 px
in dark mode), and the pictures stay small."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from playwright.sync_api import Browser

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "screenshots.py"
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_screenshot_script_takes_every_page(browser: Browser, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    made = script.take(tmp_path, browser)
    names = {p.name for p in made}
    for page in ("sign-in", "runs", "run", "scheduled", "workflows", "workflow", "outbox", "runs-phone-dark"):
        assert f"dashboard-{page}.png" in names
    for picture in made:
        data = picture.read_bytes()
        assert data.startswith(PNG) and 5_000 < len(data) < 400_000, picture.name
    documented = (SCRIPT.parent / "dashboard.md").read_text()
    for name in names:
        assert f"img/{name}" in documented and (SCRIPT.parent / "img" / name).exists(), name
