"""The packages form layers, dsl <- core <- plugins <- server: each imports only from those below it.

Every import counts, also under `if TYPE_CHECKING:` and inside functions. A file's module name, and
so the layer of what it imports, comes from `package-dir` in pyproject.toml (`wfkit.testing` is the
folder plugins/wfkit_testing, so it is in the plugins layer).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import tomllib
from pathlib import Path

import wfkit.plugins

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("dsl", "core", "plugins", "server")  # lowest first
PACKAGE_DIRS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]

# What a plugin author imports (docs/plugins.md): all of it from `wfkit.plugins`.
PLUGIN_AUTHOR_API = {
    "hookimpl",
    "ActionSpec",
    "FunctionSpec",
    "ParamSpec",
    "ActionContext",
    "RunInfo",
    "ActionError",
    "FunctionError",
    "ConfigError",
}

CONTRACT_MODULES = ("wfkit.core.actions", "wfkit.core.context")  # their classes document every field


def module_of(path: Path) -> tuple[str, bool]:
    """The dotted module name of a file (by the longest package-dir folder holding it), and
    whether it is a package's `__init__`."""
    rel = path.relative_to(ROOT)
    package, folder = max(
        ((p, Path(f)) for p, f in PACKAGE_DIRS.items() if rel.is_relative_to(f)), key=lambda pf: len(pf[1].parts)
    )
    parts = [*package.split("."), *rel.relative_to(folder).with_suffix("").parts]
    is_init = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_init else parts), is_init


def layer_of(module: str) -> str | None:
    """The layer of a wfkit module (by the folder it is installed from); None outside wfkit."""
    if module != "wfkit" and not module.startswith("wfkit."):
        return None
    owners = [p for p in PACKAGE_DIRS if module == p or module.startswith(p + ".")]
    if not owners:
        return LAYERS[-1]  # `wfkit` itself, or a package unknown here: only the top layer may reach it
    return Path(PACKAGE_DIRS[max(owners, key=len)]).parts[0]


def imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, imported module, the import as written) for every import in the file."""
    module, is_init = module_of(path)
    package = module if is_init else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ast.unparse(node)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.append((node.lineno, target, ast.unparse(node)))
    return found


def layering_violations(layer: str) -> list[str]:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for line, target, written in imports(path):
            target_layer = layer_of(target)
            if target_layer is not None and target_layer not in allowed:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {written}  ({layer} may not import {target_layer})")
    return bad


def test_module_names_follow_package_dir() -> None:
    assert module_of(ROOT / "core" / "app.py") == ("wfkit.core.app", False)
    assert module_of(ROOT / "plugins" / "__init__.py") == ("wfkit.plugins", True)
    assert module_of(ROOT / "plugins" / "wfkit_testing" / "__init__.py") == ("wfkit.testing", True)
    assert [layer_of(m) for m in ("wfkit.dsl.ast", "wfkit.testing", "wfkit.server.queue", "pluggy")] == [
        "dsl",
        "plugins",
        "server",
        None,
    ]


def test_relative_imports_resolve_to_their_package() -> None:
    found = {written: target for _, target, written in imports(ROOT / "plugins" / "builtin_log.py")}
    assert found["from . import hookimpl"] == "wfkit.plugins"


def test_each_layer_imports_only_from_below() -> None:
    bad = [v for layer in LAYERS for v in layering_violations(layer)]
    assert not bad, "imports against dsl <- core <- plugins <- server:\n" + "\n".join(bad)


def test_plugin_author_api() -> None:
    exported = set(wfkit.plugins.__all__)
    assert exported >= PLUGIN_AUTHOR_API, f"wfkit.plugins must export {sorted(PLUGIN_AUTHOR_API - exported)}"
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert not [n for n in exported if f"`{n}`" not in docs], "every export of wfkit.plugins is in docs/plugins.md"
    for name in exported:
        value = getattr(wfkit.plugins, name)
        if not inspect.isclass(value):
            continue
        doc = value.__doc__ or ""
        assert doc and not doc.startswith(f"{name}("), f"{name} needs a docstring"  # not dataclass's default
        if dataclasses.is_dataclass(value) and value.__module__ in CONTRACT_MODULES:
            undocumented = [f.name for f in dataclasses.fields(value) if f"`{f.name}`" not in doc]
            assert not undocumented, f"{name}'s docstring does not describe {undocumented}"


def test_the_example_plugin_needs_one_import() -> None:
    source = (ROOT / "examples" / "plugin-hello" / "wfkit_example_hello.py").read_text(encoding="utf-8")
    wfkit_imports = re.findall(r"^(?:from|import) (wfkit\S*)", source, re.MULTILINE)
    assert wfkit_imports == ["wfkit.plugins"]
