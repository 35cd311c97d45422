"""What one server process holds: the compiled app, the store, the executor, and the helpers that
keep the request path short (run records written in batches, rate limits, concurrency slots)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from wfkit.core.app import App
from wfkit.core.executor import Executor
from wfkit.core.runs import RunRecord
from wfkit.core.services import Services
from wfkit.core.store import Store

from . import metrics, tasks
from .outage import DATABASE, backoff, unreachable, watch

log = logging.getLogger("wfkit.server")

MAX_BATCH = 500  # run records saved in one statement at most


class RunRecorder:
    """Saves run records beside the requests: a batch every `interval` seconds in one statement,
    so a call does not wait for a database commit of its own record (small batches, so that other
    writes do not queue long behind one). While the database is unreachable the records wait, and
    the loop tries again with backoff (the outage is logged once: docs/operating.md)."""

    def __init__(self, store: Store, interval: float = 0.02):
        self.store = store
        self.interval = interval
        self.pending: list[RunRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._tries = 0  # failed flushes in a row

    def add(self, record: RunRecord) -> None:
        metrics.current().run_ended(record)
        self.pending.append(record)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):  # close() ends a backoff at once (stop within 5 s)
                async with asyncio.timeout(backoff(self._tries) if self._tries else self.interval):
                    await self._closing.wait()
            await self.flush()

    async def flush(self) -> None:
        # what waited out an outage goes in batches of the usual size, not in one long statement
        batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
        if not batch:
            return
        database = watch(DATABASE)
        try:
            await self.store.runs.save(batch)
        except Exception as e:  # a record must never take the server down; the run itself is done
            if not unreachable(e):
                log.exception("could not save %d run record(s)", len(batch))
                return
            self.pending[:0] = batch  # kept, in order, for the next try
            self._tries += 1
            database.failed(e, run_records=len(self.pending))
            return
        self._tries = 0
        database.ok(run_records=len(batch) + len(self.pending))

    async def close(self) -> None:
        """Stop the loop between two writes (cancelling one half-way would leave its transaction
        open), then save what is left."""
        if self._task is not None:
            self._closing.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()  # one try even during an outage; then on while they save
        while self.pending and not self._tries:
            await self.flush()
        if self.pending:
            log.error("%d run record(s) not saved: %s is unreachable", len(self.pending), DATABASE)
            self.pending = []


class RunPruner:
    """Deletes the run records older than `keep` (WF_RUNS_KEEP) once the server has started, then
    every `every` seconds: the database grows with what is kept, not with all traffic."""

    def __init__(self, store: Store, keep: timedelta, every: float = 3600.0) -> None:
        self.store = store
        self.keep = keep
        self.every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="wfkit-prune-runs")

    async def _loop(self) -> None:
        while True:
            try:
                pruned = await self.store.runs.prune(self.keep)
            except Exception as e:  # pruning waits for the next hour; the server goes on
                if not unreachable(e):
                    log.exception("could not prune run records")
            else:
                if pruned:
                    log.info("pruned %d run record(s) older than WF_RUNS_KEEP", pruned)
            await asyncio.sleep(self.every)

    async def close(self) -> None:
        await tasks.cancel(self._task)
        self._task = None


class RateLimiter:
    """Calls per period and key, in a sliding window (this process's view)."""

    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def retry_after(self, workflow: str, key: str, count: float, period: float) -> float:
        """0 when the call may go now (and counts it); else seconds until a slot frees."""
        now = time.monotonic()
        window = self.calls[(workflow, key)]
        while window and window[0] <= now - period:
            window.popleft()
        if len(window) >= count:
            return max(window[0] + period - now, 0.001)
        window.append(now)
        return 0.0


@dataclass(eq=False)
class ServerState:
    app: App
    store: Store
    services: Services
    executor: Executor
    recorder: RunRecorder
    pruner: RunPruner | None = None  # started once the server serves
    background: Any = None  # wfkit.server.queue.Background when the queue runs
    limiter: RateLimiter = field(default_factory=RateLimiter)
    slots: dict[tuple[str, str], asyncio.Semaphore] = field(default_factory=dict)

    def slot(self, workflow: str, key: str, limit: int) -> asyncio.Semaphore:
        sem = self.slots.get((workflow, key))
        if sem is None:
            sem = self.slots[(workflow, key)] = asyncio.Semaphore(limit)
        return sem

    async def swap(self, app: App) -> None:
        """Serve `app` from now on (`wf serve --reload`): calls, the store and the queue (its
        scheduler, triggers, recurring events and worker) use it. The database, Redis and their
        connections stay; runs already started finish on the app they started with (each holds
        its executor). A workflow whose @concurrency limit changed gets new slots."""
        try:
            await self.store.use_app(app)  # takes the app at once, then notes its fields in the database
        except Exception as e:  # noted at the next reload or start; the app is served meanwhile
            log.error("the database did not note the new app's fields (%s): it does at the next reload", e)
        old = self.app.workflows
        changed = {
            name
            for name, wf in old.items()
            if name not in app.workflows or app.workflows[name].flow.concurrency_limit != wf.flow.concurrency_limit
        }
        self.slots = {k: sem for k, sem in self.slots.items() if k[0] not in changed}
        self.app, self.executor = app, Executor(app, self.services)
        if self.background is not None:
            await self.background.swap(app)
