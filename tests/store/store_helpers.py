"""Helpers shared by the store tests."""

from __future__ import annotations

from typing import Any

import pytest
from wfkit.core.store import Store


def record_sql(store: Store, monkeypatch: pytest.MonkeyPatch, method: str = "execute") -> list[str]:
    """The SQL of every statement `store.execute` (or `store.query`) runs from now on."""
    statements: list[str] = []
    run = getattr(store, method)

    async def recording(sql: str, params: Any = (), **kw: Any) -> Any:
        statements.append(sql)
        return await run(sql, params, **kw)

    monkeypatch.setattr(store, method, recording)
    return statements
