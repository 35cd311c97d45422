"""Group commit of new things: concurrent creates share statements, each gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from store_helpers import record_sql
from wfkit.core import query as Q
from wfkit.core.app import App
from wfkit.core.store import Store
from wfkit.testing import compile_source

OpenStore = Callable[[App | None], AbstractAsyncContextManager[Store]]  # the `open_store` fixture
APP = compile_source("type Note {\n  n: number\n}\n")


async def test_concurrent_creates_are_all_committed_in_few_statements(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_store(APP) as store:
        statements = record_sql(store, monkeypatch)
        made = await asyncio.gather(*(store.create("Note", {"n": i}) for i in range(200)))
        assert sorted(t.data["n"] for t in made) == list(range(200))
        assert len({t.id for t in made}) == 200
        inserts = [s for s in statements if s.startswith('INSERT INTO "things"')]
        assert 1 <= len(inserts) < 20  # grouped, not one statement per create
        found = await store.search("Note", Q.Cmp("n", ">=", 0), order_by="n", descending=False, limit=None, run=None)
        assert [t.data["n"] for t in found] == list(range(200))


async def test_a_failing_row_fails_only_its_own_create(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        first = await store.create("Note", {"n": 1})
        row = {
            "id": first.id,
            "type": "Note",
            "data": {"n": 2},
            "created_at": "2026-01-01T00:00:00.000000Z",
            "modified_at": "2026-01-01T00:00:00.000000Z",
            "created_by": None,
        }  # the same id: refused
        results = await asyncio.gather(
            store.batcher.insert(row), *(store.create("Note", {"n": 10 + i}) for i in range(5)), return_exceptions=True
        )
        assert isinstance(results[0], Exception)
        assert all(not isinstance(r, Exception) for r in results[1:])
        assert await store.count("Note") == 6
