"""The state of a run while it executes: bindings, the caller, and what the run has asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .context import RunInfo

if TYPE_CHECKING:
    from .runs import RunRecord
    from .scheduler import Scheduled
    from .services import Services


@dataclass(slots=True, eq=False)
class RunState:
    """Shared by every frame of one run (a `call` gets a new frame, not a new state)."""

    record: RunRecord
    scheduled: list[Scheduled] = field(default_factory=list)  # released when the run succeeds
    cancels: list[str] = field(default_factory=list)  # likewise
    secrets: set[str] = field(default_factory=set)  # values to scrub from logs and errors
    journal: dict[str, Any] = field(default_factory=dict)  # results of finished actions, by path
    durable: bool = True  # the journal is also kept in the services' journal (for resuming)
    resumed: bool = False  # an earlier attempt may have done some actions: store writes look first
    depth: int = 0  # `call` nesting


@dataclass(slots=True, eq=False)
class Frame:
    """One workflow's bindings inside a run. Compiled expressions read `vars`, `run`, `request`."""

    vars: dict[str, Any]
    run: RunInfo
    services: Services
    state: RunState
    request: Any = None  # the value, or a function that builds it on first use (HTTP calls)
    path: str = ""  # loop iterations around the current statement, for journal and idempotency keys

    @property
    def store(self) -> Any:
        return self.services.store

    def request_value(self) -> Any:
        """`request` in the workflow."""
        if callable(self.request):
            self.request = self.request()
        return self.request
