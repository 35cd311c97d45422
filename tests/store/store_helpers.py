"""Helpers shared by the store tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from wfkit.core.store import Store


def record_sql(store: Store, monkeypatch: pytest.MonkeyPatch, method: str = "execute") -> list[str]:
    """The SQL of every statement `store.execute` (or `store.query`) runs from now on."""
    statements: list[str] = []
    _record(store, monkeypatch, method, lambda sql, _: statements.append(sql))
    return statements


def record_statements(
    store: Store, monkeypatch: pytest.MonkeyPatch, method: str = "query"
) -> list[tuple[str, list[Any]]]:
    """The SQL and parameters of every statement `store.query` (or `store.execute`) runs from now on."""
    statements: list[tuple[str, list[Any]]] = []
    _record(store, monkeypatch, method, lambda sql, params: statements.append((sql, params)))
    return statements


def _record(store: Store, monkeypatch: pytest.MonkeyPatch, method: str, keep: Callable[[str, list[Any]], None]) -> None:
    run = getattr(store, method)

    async def recording(sql: str, params: Any = (), **kw: Any) -> Any:
        params = list(params)
        keep(sql, params)
        return await run(sql, params, **kw)

    monkeypatch.setattr(store, method, recording)
