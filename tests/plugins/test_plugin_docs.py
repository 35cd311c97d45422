"""Every hook is documented for plugin authors (as datasette's test_plugin_hooks_are_documented)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wfkit.plugins import hookspecs

DOCS = Path(__file__).parents[2] / "docs" / "plugins.md"
HOOKS = sorted(name for name in vars(hookspecs) if hasattr(getattr(hookspecs, name), "wfkit_spec"))


def headings() -> set[str]:
    return set(re.findall(r"^## (\w+)\(", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE))


def test_there_are_hooks() -> None:
    assert {"register_actions", "register_functions", "run_started", "step_finished"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    assert hook in headings(), f"docs/plugins.md needs a '## {hook}(...)' section"


def test_documented_hooks_exist() -> None:
    assert headings() <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_has_a_docstring(hook: str) -> None:
    doc = getattr(hookspecs, hook).__doc__ or ""
    params = getattr(hookspecs, hook).__code__.co_varnames[: getattr(hookspecs, hook).__code__.co_argcount]
    assert doc.strip()
    for p in params:
        assert f":param {p}:" in doc
