"""Queue tests run against one real Redis for the session (the embedded redis-server, on a unix
socket); each test gets its own key prefix, SQLite file and Background."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
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
async def start_bg(redis_url: str, tmp_path: Path) -> AsyncIterator[Start]:
    """`bg = await start_bg(SOURCE, worker=True, settings=…, limits=…)`: a Background on a fresh
    store and its own prefix; stopped (and its store closed) after the test."""
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
            cm = open_test_store(app)
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
