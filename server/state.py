"""What one server process holds: the compiled app, the store, the executor, and the helpers that
keep the request path short (run records written in batches, rate limits, concurrency slots)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from wfkit.core.app import App
from wfkit.core.executor import Executor
from wfkit.core.runs import RunRecord
from wfkit.core.services import Services
from wfkit.core.store import Store

log = logging.getLogger("wfkit.server")


class RunRecorder:
    """Saves run records beside the requests: a batch every `interval` seconds in one statement,
    so a call does not wait for a database commit of its own record (small batches, so that other
    writes do not queue long behind one)."""

    def __init__(self, store: Store, interval: float = 0.02):
        self.store = store
        self.interval = interval
        self.pending: list[RunRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def add(self, record: RunRecord) -> None:
        self.pending.append(record)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            await self.store.runs.save(batch)
        except Exception:  # a record must never take the server down; the run itself is done
            log.exception("could not save %d run record(s)", len(batch))

    async def close(self) -> None:
        """Stop the loop between two writes (cancelling one half-way would leave its transaction
        open), then save what is left."""
        if self._task is not None:
            self._closing = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


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
    background: Any = None  # wfkit.server.queue.Background when the queue runs
    limiter: RateLimiter = field(default_factory=RateLimiter)
    slots: dict[tuple[str, str], asyncio.Semaphore] = field(default_factory=dict)

    def slot(self, workflow: str, key: str, limit: int) -> asyncio.Semaphore:
        sem = self.slots.get((workflow, key))
        if sem is None:
            sem = self.slots[(workflow, key)] = asyncio.Semaphore(limit)
        return sem
