"""What an action receives: the run it belongs to and the services it may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .things import Thing


@dataclass(slots=True)
class RunInfo:
    """Who runs what: shared by every action of one run, and what event hooks get as `run`.

    Fields:
    - `id`: the run's id (`runs/ID`);
    - `workflow`: the workflow's name;
    - `user`: the caller (`current_user`); None for anonymous and admin runs;
    - `admin`: started with an admin token, by the scheduler, a trigger or the CLI;
    - `ignore_privacy`: admin runs and `@ignore_privacy` workflows see past privacy rules;
    - `chain`: how many generations of scheduled runs led here (limited by WF_MAX_CHAIN).
    """

    id: str
    workflow: str
    user: Thing | None = None
    admin: bool = False
    ignore_privacy: bool = False
    chain: int = 1


@dataclass(slots=True)
class ActionContext:
    """Handed to every action as `ctx` (see docs/plugins.md, "What an action receives").

    Fields:
    - `run`: the run this statement belongs to (a `RunInfo`);
    - `idempotency_key`: stable across attempts of this statement in this run: hand it to outside
      systems so a retried run does not act twice;
    - `line`: the statement's line, for messages;
    - `log`: `ctx.log(message)` keeps a message with the run;
    - `store`: the data store (`wfkit.core.store.Store`) when one is configured, else None;
    - `services`: settings and shared clients;
    - `durable`: the run can be resumed after a crash (its results are journaled): a write that
      must happen once records itself under `idempotency_key` (the built-in store actions do);
    - `resumed`: an earlier attempt of this run may have done this statement already: look for
      its effect before acting (never on a first attempt, which has nothing to find);
    - `replayed`: the action sets it when it gave back an earlier attempt's result instead of
      acting again; the run record then shows the step as `replayed`.
    """

    run: RunInfo
    idempotency_key: str
    line: int
    log: Callable[[str], None]
    store: Any = None
    services: dict[str, Any] = field(default_factory=dict)
    durable: bool = False
    resumed: bool = False
    replayed: bool = False
