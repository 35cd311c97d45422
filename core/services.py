"""What the executor needs from the outside world, and the limits it enforces."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .journal import Journal, MemoryJournal
from .scheduler import MemoryScheduler, Scheduler

if TYPE_CHECKING:
    from wfkit.plugins.manager import Registry


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
    """The store, the queue and the journal a run uses; in-memory ones when none is given."""

    store: Any = None  # wfkit.core.store.Store once configured
    scheduler: Scheduler = field(default_factory=MemoryScheduler)
    journal: Journal = field(default_factory=MemoryJournal)
    limits: Limits = field(default_factory=Limits.from_env)
    hooks: Registry | None = None  # the plugin registry, whose listeners hear of run events
    extra: dict[str, Any] = field(default_factory=dict)  # settings and clients for plugins
