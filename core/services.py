"""What the executor needs from the outside world, and the limits it enforces."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .context import RunInfo
from .errors import ConfigError
from .frame import Frame, RunState
from .journal import Journal, MemoryJournal
from .runs import RunRecord
from .scheduler import MemoryScheduler, Scheduler

if TYPE_CHECKING:
    from .actions import Registry

ADMIN_RUN = RunInfo(id="-", workflow="-", admin=True, ignore_privacy=True)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Limits:
    max_iterations: int = 10_000  # WF_MAX_ITERATIONS: items one `for each` may loop over
    max_chain: int = 10_000  # WF_MAX_CHAIN: generations of runs started by one trigger
    max_call_depth: int = 64  # nested `call`s (a workflow calling itself without end)
    max_steps_recorded: int = 2_000  # step records kept per run; the rest are counted

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_iterations=_env_int("WF_MAX_ITERATIONS", 10_000),
            max_chain=_env_int("WF_MAX_CHAIN", 10_000),
        )


@dataclass(slots=True)
class Services:
    """The store, the queue and the journal a run uses; in-memory ones when none is given. A process
    builds one and shares it: the store it opens takes it (`Store.open(services=…)`)."""

    store: Any = None  # wfkit.core.store.Store once configured
    scheduler: Scheduler = field(default_factory=MemoryScheduler)
    journal: Journal = field(default_factory=MemoryJournal)
    limits: Limits = field(default_factory=Limits.from_env)
    hooks: Registry | None = None  # the plugin registry, whose listeners hear of run events
    extra: dict[str, Any] = field(default_factory=dict)  # settings and clients for plugins

    def frame(self, run: RunInfo | None = None) -> Frame:
        """A frame with nothing bound, for expressions evaluated outside a workflow that need only
        the caller and these services: privacy conditions, field defaults, webhook secrets.
        Without `run`, as admin."""
        run = run or ADMIN_RUN
        record = RunRecord(run.id, run.workflow, "store", datetime.now(UTC), {})
        return Frame({}, run, self, RunState(record))
