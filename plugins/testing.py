"""Run workflows in-process from a test: for wfkit's own tests and for plugin authors.

Installed as `wfkit.testing` too (the name plugin authors use; see docs/plugins.md):

    from wfkit.testing import compile_source, open_test_store, run_source, run_workflow

    async def test_hello():
        record = await run_source('workflow hi(n: number) { return { twice: n * 2 } }', "hi", n=21)
        assert record.response == {"twice": 42}

    async def test_orders():
        app = compile_source(SOURCE, plugins=[my_plugin])
        async with open_test_store(app) as store:  # a fresh SQLite file, removed afterwards
            record = await run_workflow(app, "create_order", store=store, title="Tea", amount=4)
            assert record.ok, record.error
            assert await store.count("Order") == 1
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfkit.core.app import App
from wfkit.core.context import RunInfo
from wfkit.core.convert import convert_args
from wfkit.core.executor import Executor
from wfkit.core.loader import build_app
from wfkit.core.runs import RunRecord
from wfkit.core.services import Services
from wfkit.core.things import Thing

from .manager import get_registry, load_registry

if TYPE_CHECKING:
    from wfkit.core.store import Store

__all__ = ["compile_source", "open_test_store", "run_source", "run_workflow"]


def compile_source(source: str, *, file: str = "test.wf", plugins: Iterable[object] = ()) -> App:
    """Compile one file's text; raises `SourceError` with every diagnostic when it has errors.

    With `plugins` (modules or classes with `@hookimpl` functions), the app sees the built-ins and
    exactly these plugins, installed or not; without, every installed plugin (entry points)."""
    extra = list(plugins)
    registry = load_registry(extra, entrypoints=False) if extra else get_registry()
    return build_app({file: source}, registry)


def store_tables() -> list[str]:
    """Every table of the store, from its models (so a new one is emptied too)."""
    from tortoise.models import Model
    from wfkit.core.store import models

    found = [m for m in vars(models).values() if isinstance(m, type) and issubclass(m, Model) and m is not Model]
    return [m.Meta.table for m in found]  # type: ignore[attr-defined]


@asynccontextmanager
async def open_test_store(app: App | None = None, *, url: str | None = None) -> AsyncIterator[Store]:
    """A data store for one test: on a new SQLite file in a temporary folder, removed afterwards
    (or on `url`, such as a PostgreSQL test database, whose tables are emptied first)."""
    from wfkit.core.store import Store

    folder = None
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="wfkit-test-"))
        url = f"sqlite://{folder / 'data.sqlite3'}"
    store = await Store.open(url)
    try:
        if folder is None:
            for table in store_tables():
                await store.execute(f'DELETE FROM "{table}"')
        if app is not None:
            await store.use_app(app)
        yield store
    finally:
        await store.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


async def run_workflow(
    app: App,
    workflow: str,
    *,
    services: Services | None = None,
    store: Store | None = None,
    user: Thing | None = None,
    admin: bool | None = None,
    request: Any = None,
    **args: Any,
) -> RunRecord:
    """Run `workflow` with `args` converted as the HTTP API converts them (so `"42"` is a number).

    It runs as admin, or as `user` (through their eyes: privacy rules apply) when one is given.
    `store` is a shortcut for `services=Services(store=store)`."""
    services = services or Services(store=store)
    wf = app.workflows[workflow]
    as_admin = user is None if admin is None else admin
    caller = RunInfo("-", wf.name, user=user, admin=as_admin, ignore_privacy=as_admin or wf.ignore_privacy)
    converted = await convert_args(wf, args, store=services.store, run=caller, from_text=True)
    return await Executor(app, services).run(wf, converted, user=user, admin=as_admin, request=request, trigger="test")


async def run_source(
    source: str,
    workflow: str,
    *,
    services: Services | None = None,
    store: Store | None = None,
    plugins: Iterable[object] = (),
    **args: Any,
) -> RunRecord:
    """Compile `source` and run one workflow of it as admin."""
    app = compile_source(source, plugins=plugins)
    return await run_workflow(app, workflow, services=services, store=store, **args)
