"""An app from disk: a `.wf` file, or a folder whose `*.wf` files (recursively) form one app.

The caller passes the registry of actions and functions; `wfkit.plugins.loader` has the same
functions with the installed plugins' registry as the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from wfkit.dsl import parse
from wfkit.dsl.errors import Diagnostic

from .app import App
from .compile import compile_modules
from .errors import CompileError, ConfigError, WfSyntaxError

if TYPE_CHECKING:
    from .actions import Registry


def read_sources(path: str | Path) -> dict[str, str]:
    """File name (as given, for messages) → text, in a stable order."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*.wf") if f.is_file())
        if not files:
            raise ConfigError(f"{path}: no .wf files in this folder")
    elif p.is_file():
        files = [p]
    else:
        raise ConfigError(f"{path}: no such file or folder")
    out: dict[str, str] = {}
    for f in files:
        try:
            out[str(f)] = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError(f"{f}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return out


def compile_sources(sources: dict[str, str], registry: Registry) -> tuple[App, list[Diagnostic], list[Diagnostic]]:
    """Parse and compile: the app, the syntax diagnostics and the compiler's (errors and warnings)."""
    modules = []
    diagnostics: list[Diagnostic] = []
    for name, text in sources.items():
        result = parse(text, name)
        modules.append(result.module)
        diagnostics.extend(result.diagnostics)
    app, more = compile_modules(modules, registry, sources)
    return app, diagnostics, more


def build_app(sources: dict[str, str], registry: Registry) -> App:
    """The compiled app, or a `WfSyntaxError`/`CompileError` carrying every diagnostic."""
    app, syntax, meaning = compile_sources(sources, registry)
    if any(d.severity == "error" for d in meaning):
        raise CompileError(syntax + meaning, sources)
    if syntax:
        raise WfSyntaxError(syntax + meaning, sources)
    return app


def load_app(path: str | Path, registry: Registry) -> App:
    return build_app(read_sources(path), registry)
