from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from wfkit.plugins import Registry
from wfkit.plugins.manager import load_registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry(entrypoints=False)


@pytest.fixture(scope="session")
def call(registry: Registry) -> Callable[..., Any]:
    """Call a registered function as the executor does: positional arguments, then named ones."""

    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        return registry.functions[name].impl(*args, **kwargs)

    return call
