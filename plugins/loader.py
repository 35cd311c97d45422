"""An app from disk, compiled against the installed plugins unless a registry is given.

`wfkit.core.loader` with `get_registry()` as the default: what `wf check`, `wf serve` and tests use.
"""

from __future__ import annotations

from pathlib import Path

from wfkit.core import loader
from wfkit.core.actions import Registry
from wfkit.core.app import App
from wfkit.core.loader import read_sources
from wfkit.dsl.errors import Diagnostic

from .manager import get_registry

__all__ = ["build_app", "compile_sources", "load_app", "read_sources"]


def compile_sources(
    sources: dict[str, str], registry: Registry | None = None
) -> tuple[App, list[Diagnostic], list[Diagnostic]]:
    """Parse and compile: the app, the syntax diagnostics and the compiler's (errors and warnings)."""
    return loader.compile_sources(sources, get_registry() if registry is None else registry)


def build_app(sources: dict[str, str], registry: Registry | None = None) -> App:
    """The compiled app, or a `WfSyntaxError`/`CompileError` carrying every diagnostic."""
    return loader.build_app(sources, get_registry() if registry is None else registry)


def load_app(path: str | Path, registry: Registry | None = None) -> App:
    """The app of a `.wf` file or a folder of them (see `wfkit.core.loader.read_sources`)."""
    return loader.load_app(path, get_registry() if registry is None else registry)
