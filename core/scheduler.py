"""What a run asks to be run later, and the interface of whatever runs it (the queue)."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .context import RunInfo

_PROCESS = secrets.token_hex(6)  # this process's share of an id: unique across processes and machines
_counter = itertools.count()


def new_id() -> str:
    """A run id: 32 hex digits, sortable by creation time (milliseconds first, as UUIDv7 does),
    then 48 random bits drawn once per process and a per-process counter (cheaper than asking
    the OS for randomness on every run)."""
    global _last
    ms = time.time_ns() // 1_000_000
    if ms != _last[0]:  # the time and the process, written once a millisecond
        _last = (ms, f"{ms:012x}{_PROCESS}")
    return f"{_last[1]}{next(_counter) & 0xFFFFFFFF:08x}"


_last = (-1, "")


# `user_id` of a run scheduled by an anonymous caller: it runs anonymous too, under privacy rules,
# as the run that scheduled it did (never as admin). No user id looks like it.
ANONYMOUS = "-"


def caller_id(run: RunInfo) -> str | None:
    """What a scheduled run keeps of the caller of the run that scheduled it."""
    if run.user is not None:
        return run.user.id
    return None if run.admin else ANONYMOUS


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """One run of `workflow` due at `run_at`, with JSON arguments (things as their ids)."""

    id: str
    workflow: str
    args: dict[str, Any]
    run_at: datetime
    chain: int = 1  # generations since the trigger that started the chain
    user_id: str | None = None  # the user the scheduling run ran as; None: admin; ANONYMOUS: nobody
    origin: str | None = None  # the run that scheduled it


@dataclass(slots=True, eq=False)
class ScheduledBatch:
    """`schedule WF(args) for each ITEM in LIST [every D]`, kept compact: one entry for `count` runs.

    Item *i* is the run `f"{id}.{i}"` at `start + i * every`, with `args` (the same for every item)
    plus, for each name in `columns`, that column's *i*-th value. A million items are one list per
    argument that depends on the item, not a million objects; the queue stores it once."""

    id: str
    workflow: str
    args: dict[str, Any]  # JSON, the same for every item
    columns: dict[str, list[Any]]  # JSON, one value per item, for arguments that depend on the item
    count: int
    start: datetime
    every: timedelta
    chain: int = 1
    user_id: str | None = None
    origin: str | None = None
    skip: set[int] = field(default_factory=set)  # items the scheduling run cancelled itself

    def item_id(self, i: int) -> str:
        return f"{self.id}.{i}"

    def run_at(self, i: int) -> datetime:
        return self.start + self.every * i

    def item_args(self, i: int) -> dict[str, Any]:
        args = dict(self.args)
        for name, column in self.columns.items():
            args[name] = column[i]
        return args

    def item(self, i: int) -> ScheduledRun:
        return ScheduledRun(
            self.item_id(i), self.workflow, self.item_args(i), self.run_at(i), self.chain, self.user_id, self.origin
        )

    def runs(self) -> Iterator[ScheduledRun]:
        """Every item not skipped, as a ScheduledRun (for schedulers that keep runs one by one)."""
        return (self.item(i) for i in range(self.count) if i not in self.skip)

    @property
    def size(self) -> int:
        return self.count - len(self.skip)


def split_item_id(run_id: str) -> tuple[str, int] | None:
    """`(batch id, index)` for the id of an item of a ScheduledBatch, else None."""
    head, dot, tail = run_id.rpartition(".")
    if not dot or not head or not tail.isdigit():
        return None
    return head, int(tail)


Scheduled = ScheduledRun | ScheduledBatch


class Scheduler(Protocol):
    async def submit(self, runs: Sequence[Scheduled], *, repeatable: bool = True) -> None:
        """Hand runs to the queue (called once the scheduling run has succeeded). `repeatable`: the
        scheduling run may run again with its id (resumed, retried, delivered again), so a queue
        remembers that it submitted and a second submission adds nothing; a run that cannot (an
        HTTP call without @retry) leaves nothing to remember."""
        ...

    async def cancel(self, ids: Sequence[str]) -> int:
        """Cancel runs that have not started; return how many were cancelled."""
        ...


class MemoryScheduler:
    """Keeps scheduled runs in memory: for `wf run`, and for tests of the executor."""

    def __init__(self) -> None:
        self.runs: dict[str, ScheduledRun] = {}
        self.cancelled: set[str] = set()

    async def submit(self, runs: Sequence[Scheduled], *, repeatable: bool = True) -> None:
        for r in runs:  # (kept by id: a repeated submission adds nothing)
            for one in r.runs() if isinstance(r, ScheduledBatch) else (r,):
                self.runs.setdefault(one.id, one)

    async def cancel(self, ids: Sequence[str]) -> int:
        n = 0
        for i in ids:
            if self.runs.pop(i, None) is not None:
                self.cancelled.add(i)
                n += 1
        return n

    def pending(self) -> list[ScheduledRun]:
        return sorted(self.runs.values(), key=lambda r: r.run_at)
