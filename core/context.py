"""What an action receives: the run it belongs to and the services it may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .things import Thing


@dataclass(slots=True)
class RunInfo:
    """Who runs what: shared by every action of one run."""

    id: str
    workflow: str
    user: Thing | None = None  # the caller (`current_user`); None for anonymous and admin runs
    admin: bool = False  # started with an admin token, by the scheduler, a trigger or the CLI
    ignore_privacy: bool = False  # admin runs and `@ignore_privacy` workflows
    chain: int = 1  # how many generations of scheduled runs led here (SPEC §2.4, WF_MAX_CHAIN)


@dataclass(slots=True)
class ActionContext:
    """Handed to every action: `ctx.run`, `ctx.store`, `ctx.log(message)`, `ctx.idempotency_key`."""

    run: RunInfo
    idempotency_key: str  # stable across attempts of this statement in this run
    line: int  # the statement's line, for messages
    log: Callable[[str], None]
    store: Any = None  # the data store (wfkit.core.store) when one is configured
    services: dict[str, Any] = field(default_factory=dict)  # settings and shared clients
