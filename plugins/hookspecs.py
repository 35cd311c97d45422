"""The hooks a wfkit plugin may implement. Every hook here is documented in `docs/plugins.md`.

Collecting hooks (`register_*`) return lists; event hooks (`run_*`, `step_*`) return nothing or an
awaitable, which the executor awaits (see `wfkit.plugins.manager.notify`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from wfkit.core.actions import ActionSpec, FunctionSpec
    from wfkit.core.context import RunInfo

hookspec = pluggy.HookspecMarker("wfkit")


@hookspec
def register_actions() -> list[ActionSpec]:  # type: ignore[empty-body]
    """Actions this plugin provides, each usable as a statement `VERB [TARGET] [(name: expr, …)]`.

    :return: a list of `ActionSpec`; a verb provided by two plugins is a startup error.
    """


@hookspec
def register_functions() -> list[FunctionSpec]:  # type: ignore[empty-body]
    """Functions this plugin adds to expressions, called as `name(arg, …, named: value)`.

    :return: a list of `FunctionSpec`; a name provided by two plugins is a startup error.
    """


@hookspec
def run_started(run: RunInfo) -> Awaitable[None] | None:
    """A run began, before its first statement.

    :param run: the run: id, workflow, user, admin and privacy mode, chain generation.
    :return: nothing, or an awaitable that the executor awaits.
    """


@hookspec
def step_finished(run: RunInfo, step: dict[str, Any]) -> Awaitable[None] | None:
    """A statement finished: it ran, was skipped (its `when` was false) or failed.

    :param run: the run the statement belongs to.
    :param step: the step record: `id`, `line`, `kind`, `status` ("ran", "skipped", "failed"),
        `duration_ms`, and, where they apply, `error` and the values the statement saw.
    :return: nothing, or an awaitable that the executor awaits.
    """


@hookspec
def run_finished(run: RunInfo, record: dict[str, Any]) -> Awaitable[None] | None:
    """A run ended, successfully or not.

    :param run: the run that ended.
    :param record: the run record: `status`, and `response` on success or `error` on failure.
    :return: nothing, or an awaitable that the executor awaits.
    """
