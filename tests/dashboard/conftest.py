"""The dashboard's browser tests: Playwright (pytest-playwright) driving Debian's Chromium, which
`.ci/run` installs (`apt-get install chromium`; Playwright's own browser download cannot work
here), against a real `wf serve` on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright
from served import Dashboard, serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_name: str) -> dict[str, Any]:
    if browser_name == "chromium":
        return {**browser_type_launch_args, "executable_path": CHROMIUM}
    return browser_type_launch_args


# Playwright for each test module, not for the session as pytest-playwright's own fixtures are:
# while its sync API runs it keeps an event loop running in the main thread, and the asyncio tests
# collected after these (pytest-asyncio) need that thread free.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return cast(BrowserType, getattr(playwright, browser_name))


@pytest.fixture(scope="module")
def browser_context_args() -> dict[str, Any]:
    """(The plugin's asks its session-wide `playwright` for a device's settings; the tests use none.)"""
    return {}


@pytest.fixture(scope="module")
def browser(browser_type: BrowserType, browser_type_launch_args: dict[str, Any]) -> Iterator[Browser]:
    if not Path(browser_type_launch_args.get("executable_path", CHROMIUM)).exists():  # reported, not hidden
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")
    browser = browser_type.launch(**browser_type_launch_args)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def base_url() -> str | None:
    """None: tests visit whole URLs (each server has a port of its own). Defined here because the
    plugin's own fallback fails under `-W error`."""
    return None


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """One `wf serve` of the fixture app for a test module."""
    with serving(tmp_path_factory.mktemp("shop")) as dashboard:
        yield dashboard
