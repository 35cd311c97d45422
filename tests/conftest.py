"""The test suite's root: with this file, pytest puts `tests/` on the import path, so the helpers
shared by the test folders (`processes.py`, `backends.py`) import as `from processes import …`.

`db_url` and `open_store` run a test on each database of `backends.BACKENDS`."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from backends import BACKENDS, OpenStore, database_url
from wfkit.core.app import App
from wfkit.core.store import Store
from wfkit.testing import open_test_store


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: a new SQLite file, or the PostgreSQL test database (emptied by `open_store`)."""
    return database_url(request.param, tmp_path)


@pytest.fixture
def open_store(db_url: str) -> OpenStore:
    """`async with open_store(app) as store:` a store on this test's database, empty at first."""

    def opener(app: App | None) -> AbstractAsyncContextManager[Store]:
        return open_test_store(app, url=db_url)

    return opener


@pytest.fixture(autouse=True)
def _own_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """`wf` commands run in this process (`main([...])`) put the data folder they chose in
    WF_DATA_DIR (and `wf serve --workers N` its metrics folder in PROMETHEUS_MULTIPROC_DIR): each
    test starts without them, and whatever it sets is undone after it."""
    for name in ("WF_DATA_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.setenv(name, "")  # (records what to restore: delenv of an unset name records nothing)
        monkeypatch.delenv(name)
