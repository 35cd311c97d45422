"""The databases the tests run on: SQLite always, PostgreSQL too when `WF_TEST_POSTGRES_URL` is
set (`postgres://postgres@127.0.0.1:5433/wfkit_test`; CI starts one). Without it, the PostgreSQL
cases are reported as skipped, never silently left out."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from wfkit.core.app import App
from wfkit.core.store import Store

POSTGRES = os.environ.get("WF_TEST_POSTGRES_URL")

# the `open_store` fixture (tests/conftest.py): `async with open_store(app) as store:`
OpenStore = Callable[[App | None], AbstractAsyncContextManager[Store]]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=pytest.mark.skipif(POSTGRES is None, reason="no PostgreSQL: WF_TEST_POSTGRES_URL is not set"),
    ),
]


def database_url(backend: str, folder: Path, name: str = "data.sqlite3") -> str:
    """A database for one test: a new SQLite file in `folder`, or the PostgreSQL test database
    (shared by the tests: `open_test_store(app, url=…)` empties it first)."""
    if backend == "postgres":
        assert POSTGRES is not None
        return POSTGRES
    return f"sqlite://{folder / name}"
