"""The dashboard's browser tests: Playwright (pytest-playwright) driving Debian's Chromium, which
`.ci/run` installs (`apt-get install chromium`; Playwright's own browser download cannot work
here), against a real `wf serve` on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from served import Dashboard, serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_name: str) -> dict[str, Any]:
    if browser_name == "chromium":
        return {**browser_type_launch_args, "executable_path": CHROMIUM}
    return browser_type_launch_args


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
