from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from wfkit.core.context import ActionContext, RunInfo
from wfkit.core.things import Thing
from wfkit.plugins import Registry


def context(lines: list[str]) -> ActionContext:
    run = RunInfo(id="run-1", workflow="remind")
    return ActionContext(run=run, idempotency_key="k", line=3, log=lines.append)


def test_log_is_declared(registry: Registry) -> None:
    spec = registry.actions["log"]
    assert (spec.target, spec.result, spec.params) == ("value", "nothing", ())
    assert registry.action_plugins["log"] == "wfkit.plugins.builtin_log"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("order o1 is still unpaid", "order o1 is still unpaid"),
        (42.0, "42"),
        (None, ""),
        (True, "true"),
        (datetime(2026, 1, 2, tzinfo=UTC), "2026-01-02T00:00:00Z"),
        ({"a": [1, 2]}, '{"a":[1,2]}'),
        (Thing("Order", "o1"), "o1"),
    ],
)
async def test_log_keeps_the_text(registry: Registry, value: Any, expected: str) -> None:
    lines: list[str] = []
    result = await registry.actions["log"].run(context(lines), value, {})
    assert result is None
    assert lines == [expected]
