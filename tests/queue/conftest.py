"""Queue tests run against one real Redis for the session (the embedded redis-server, on a unix
socket); each test gets its own key prefix, store and Background, on each database of
`backends.BACKENDS` (a new SQLite file; the PostgreSQL test database, emptied first)."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from queue_helpers import Start, fast_settings
from wfkit.core.app import App
from wfkit.core.services import Limits, Services
from wfkit.plugins.manager import get_registry
from wfkit.server.queue import Background, EmbeddedRedis, WorkerSettings
from wfkit.testing import compile_source, open_test_store

_prefixes = itertools.count()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def start_bg(redis_url: str, db_url: str) -> AsyncIterator[Start]:
    """`bg = await start_bg(SOURCE, worker=True, settings=…, limits=…)`: a Background on a fresh
    store (on this test's database: call it once a test, or pass `store=`) and its own prefix;
    stopped (and its store closed) after the test."""
    opened: list[tuple[Background, Any]] = []
    stores: list[Any] = []

    async def start(
        source: str | App,
        *,
        worker: bool = True,
        settings: WorkerSettings | None = None,
        limits: Limits | None = None,
        prefix: str | None = None,
        store: Any = None,
    ) -> Background:
        app = compile_source(source) if isinstance(source, str) else source
        if store is None:
            assert not stores or not db_url.startswith("postgres"), "one store a test on PostgreSQL: pass store="
            cm = open_test_store(app, url=db_url if db_url.startswith("postgres") else None)
            store = await cm.__aenter__()
            stores.append(cm)
        services = Services(store=store, hooks=get_registry(), limits=limits or Limits())
        bg = await Background.start(
            app,
            store,
            redis_url=redis_url,
            worker=worker,
            prefix=prefix or f"t{time.monotonic_ns()}-{next(_prefixes)}",
            services=services,
            settings=settings or fast_settings(),
        )
        opened.append((bg, store))
        return bg

    yield start
    for bg, _ in reversed(opened):
        await bg.stop()
    for cm in reversed(stores):
        await cm.__aexit__(None, None, None)
