"""What a run asks to be run later, and the interface of whatever runs it (the queue)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


def new_id() -> str:
    """A run id: 32 hex digits, sortable by creation time (milliseconds first, as UUIDv7 does),
    unique across machines (80 random bits)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """One run of `workflow` due at `run_at`, with JSON arguments (things as their ids)."""

    id: str
    workflow: str
    args: dict[str, Any]
    run_at: datetime
    chain: int = 1  # generations since the trigger that started the chain
    user_id: str | None = None  # the user the scheduling run ran as; None: admin
    origin: str | None = None  # the run that scheduled it


class Scheduler(Protocol):
    async def submit(self, runs: Sequence[ScheduledRun]) -> None:
        """Hand runs to the queue (called once the scheduling run has succeeded)."""
        ...

    async def cancel(self, ids: Sequence[str]) -> int:
        """Cancel runs that have not started; return how many were cancelled."""
        ...


class MemoryScheduler:
    """Keeps scheduled runs in memory: for `wf run`, and for tests of the executor."""

    def __init__(self) -> None:
        self.runs: dict[str, ScheduledRun] = {}
        self.cancelled: set[str] = set()

    async def submit(self, runs: Sequence[ScheduledRun]) -> None:
        for r in runs:
            self.runs.setdefault(r.id, r)

    async def cancel(self, ids: Sequence[str]) -> int:
        n = 0
        for i in ids:
            if self.runs.pop(i, None) is not None:
                self.cancelled.add(i)
                n += 1
        return n

    def pending(self) -> list[ScheduledRun]:
        return sorted(self.runs.values(), key=lambda r: r.run_at)
