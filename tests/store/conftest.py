"""Store tests run on SQLite always, and on PostgreSQL too when WF_TEST_POSTGRES_URL is set
(`postgres://postgres@127.0.0.1:5433/wfkit_test`; CI starts one)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from wfkit.core.app import App
from wfkit.core.store import Store
from wfkit.testing import open_test_store

POSTGRES = os.environ.get("WF_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES else ["sqlite"]

OpenStore = Callable[[App | None], AbstractAsyncContextManager[Store]]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: a new SQLite file, or the (emptied by `open_test_store`) PostgreSQL test database."""
    if request.param == "postgres":
        assert POSTGRES is not None
        return POSTGRES
    return f"sqlite://{tmp_path / 'data.sqlite3'}"


@pytest.fixture
def open_store(db_url: str) -> OpenStore:
    """`async with open_store(app) as store:` a store on this test's database, empty at first."""

    def opener(app: App | None) -> AbstractAsyncContextManager[Store]:
        return open_test_store(app, url=db_url)

    return opener


@pytest.fixture
async def store(open_store: OpenStore) -> AsyncIterator[Store]:
    async with open_store(None) as s:
        yield s
