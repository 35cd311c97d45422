"""Store tests run on SQLite always, and on PostgreSQL too when WF_TEST_POSTGRES_URL is set
(`postgres://postgres@127.0.0.1:5433/wfkit_test`; CI starts one), else those cases are reported
as skipped: the `db_url` and `open_store` fixtures of tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backends import OpenStore
from wfkit.core.store import Store


@pytest.fixture
async def store(open_store: OpenStore) -> AsyncIterator[Store]:
    async with open_store(None) as s:
        yield s
