"""Run workflows in-process from a test: for wfkit's own tests and for plugin authors.

    from wfkit.core.testing import compile_source, run_source

    async def test_hello():
        record = await run_source('workflow hi(n: number) { return { twice: n * 2 } }', "hi", n=21)
        assert record.response == {"twice": 42}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .app import App
from .convert import convert_args
from .executor import Executor
from .loader import build_app
from .runs import RunRecord
from .services import Services
from .things import Thing


def compile_source(source: str, *, file: str = "test.wf", plugins: Iterable[object] = ()) -> App:
    """Compile one file's text; raises `SourceError` with every diagnostic when it has errors.

    `plugins` are extra plugin objects (modules or classes with `@hookimpl` functions)."""
    from wfkit.plugins.manager import get_registry, load_registry

    extra = list(plugins)
    registry = load_registry(extra) if extra else get_registry()
    return build_app({file: source}, registry)


async def run_workflow(
    app: App,
    workflow: str,
    *,
    services: Services | None = None,
    user: Thing | None = None,
    admin: bool = True,
    request: Any = None,
    **args: Any,
) -> RunRecord:
    """Run `workflow` with `args` converted as the HTTP API converts them (so `"42"` is a number)."""
    services = services or Services()
    wf = app.workflows[workflow]
    converted = await convert_args(wf, args, store=services.store, from_text=True)
    return await Executor(app, services).run(wf, converted, user=user, admin=admin, request=request, trigger="test")


async def run_source(
    source: str, workflow: str, *, services: Services | None = None, plugins: Iterable[object] = (), **args: Any
) -> RunRecord:
    """Compile `source` and run one workflow of it as admin."""
    return await run_workflow(compile_source(source, plugins=plugins), workflow, services=services, **args)
