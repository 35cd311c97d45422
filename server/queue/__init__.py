"""Background runs: scheduled runs as arq jobs on the queue `wfkit`, the worker (an arq `Worker`),
recurring events and database triggers, on Redis (an embedded one unless `WF_REDIS_URL` is set).

    bg = await Background.start(app, store)          # in `wf serve`, inside the running loop
    services.scheduler, services.journal = bg.scheduler, bg.journal
    ...
    await bg.stop()

Modules: `embedded` (the Redis server under .wf/), `queue` (arq jobs: submit, cancel, list,
pause), `scripts` (the few atomic wfkit operations next to arq's keys), `journal` (the durable run
journal), `scheduler` (core's Scheduler, with @debounce), `worker` (the arq Worker and its loop),
`runner` (what a job does: attempts, flow control), `records` (run records saved together),
`recurring` (every … run), `triggers` (on create/change/delete … run). The Redis key layout and
what recovery after a crash costs are in docs/operating.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from wfkit.core import values as V
from wfkit.core.app import App
from wfkit.core.errors import ConfigError
from wfkit.core.services import Services

from .embedded import START_TIMEOUT_S, EmbeddedRedis
from .journal import RedisJournal
from .queue import Queue, from_ms
from .recurring import Every, Ticker, next_fire
from .scheduler import QueueScheduler
from .triggers import TriggerListener
from .worker import Worker, WorkerSettings

__all__ = [
    "Background",
    "EmbeddedRedis",
    "Queue",
    "QueueControl",
    "RedisJournal",
    "Worker",
    "WorkerSettings",
    "connect",
    "from_ms",
    "settings_from_env",
]


APP_KEY = "app"  # wfkit:app: the served app's workflow names and recurring events (JSON)


def _env_float(name: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else None


async def connect(
    redis_url: str | None = None, data_dir: Path = Path(".wf"), *, port: int | None = None
) -> tuple[aioredis.Redis, EmbeddedRedis | None]:
    """A client for `redis_url`, else `WF_REDIS_URL`, else the embedded Redis under `data_dir`
    (started here unless another process of the project runs it; `port`, or `WF_REDIS_PORT`: a TCP
    port on 127.0.0.1 as well)."""
    url = redis_url or os.environ.get("WF_REDIS_URL") or None
    embedded = None
    if url is None:
        if port is None:
            port = int(os.environ.get("WF_REDIS_PORT") or 0)
        embedded = EmbeddedRedis(data_dir / "redis", port=port)
        await asyncio.to_thread(embedded.start)
        url = embedded.url
    client: aioredis.Redis = aioredis.from_url(url)  # type: ignore[no-untyped-call]
    try:
        async with asyncio.timeout(START_TIMEOUT_S):  # a Redis that never answers is an error, not a hang
            await client.ping()
    except Exception as e:
        await client.aclose()
        if embedded is not None:
            embedded.stop()
        if isinstance(e, TimeoutError):
            raise ConfigError(f"Redis did not answer within {START_TIMEOUT_S:.0f} s") from None
        raise
    return client, embedded


class QueueControl:
    """Operating the queue: list, cancel, pause, resume. What the meta API, the dashboard and
    `wf scheduled|cancel|scheduler` use; `async with QueueControl.open() as q:` needs no app."""

    def __init__(self, redis: aioredis.Redis, embedded: EmbeddedRedis | None, prefix: str = "wfkit") -> None:
        self.redis: Any = redis
        self.embedded = embedded
        self.queue = Queue(redis, prefix)
        self._paused = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, data_dir: Path = Path(".wf"), redis_url: str | None = None) -> AsyncIterator[QueueControl]:
        """The queue alone: `redis_url`, else WF_REDIS_URL, else the embedded Redis under `data_dir`."""
        redis, embedded = await connect(redis_url, data_dir)
        try:
            yield cls(redis, embedded)
        finally:
            await redis.aclose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    async def list_scheduled(self, workflow: str | None = None, *, limit: int = 1_000) -> list[dict[str, Any]]:
        """Runs not started yet, earliest first: id, workflow, run_at (ISO 8601), args (redacted)."""
        return [
            {
                "id": p["id"],
                "workflow": p["workflow"],
                "run_at": V.iso(from_ms(p["run_at"])),
                "args": V.redact(p["args"]),
            }
            for p in await self.queue.pending(workflow, limit)
        ]

    async def cancel(self, ids: list[str] | tuple[str, ...]) -> int:
        return await self.queue.cancel(list(ids))

    async def cancel_workflow(self, name: str) -> int:
        return await self.queue.cancel_workflow(name)

    async def pause(self) -> None:
        """Workers start nothing until `resume()`; scheduled runs wait (nothing is lost)."""
        await self.queue.pause()
        self._paused = True

    async def resume(self) -> None:
        await self.queue.resume()
        self._paused = False

    async def is_paused(self) -> bool:
        self._paused = await self.queue.is_paused()
        return self._paused

    @property
    def paused(self) -> bool:
        """As last seen or set by this process."""
        return self._paused

    async def served_app(self) -> dict[str, Any] | None:
        """What the servers and workers on this queue last published of their app (`workflows`:
        the names; `recurring`: the events, as `Every.to_json`), or None before any has started."""
        raw = await self.redis.get(self.queue.key(APP_KEY))
        return dict(orjson.loads(raw)) if raw else None

    async def recurring(self) -> list[dict[str, Any]]:
        """Each recurring event of the served app with its next firing (ISO 8601), soonest first."""
        app = await self.served_app()
        now = V.now()
        events = [Every.from_json(e) for e in (app or {}).get("recurring", [])]
        rows = [{"workflow": e.workflow, "every": e.describe(), "next_at": V.iso(next_fire(e, now))} for e in events]
        return sorted(rows, key=lambda r: r["next_at"])

    async def members(self, workflow: str) -> list[str]:
        """The jobs of one workflow not started yet (runs, and slices of lists), for `cancel`."""
        return await self.queue.members(workflow)

    async def count_pending(self) -> int:
        """Jobs waiting in the queue (a slice of a list counts once)."""
        return await self.queue.count_pending()

    async def healthy(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self.redis.ping(), 2.0))
        except Exception:
            return False


class Background(QueueControl):
    """The queue as `wf serve` and `wf worker` use it. Build it with `await Background.start(…)`."""

    def __init__(
        self,
        app: App,
        store: Any,
        redis: aioredis.Redis,
        embedded: EmbeddedRedis | None,
        *,
        prefix: str = "wfkit",
        services: Services | None = None,
    ) -> None:
        super().__init__(redis, embedded, prefix)
        self.app = app
        self.store = store
        self.journal = RedisJournal(redis, prefix)
        self.services = services if services is not None else store.services  # the process's one
        self.scheduler = QueueScheduler(app, self.queue, self.services)
        self.services.scheduler = self.scheduler
        self.services.journal = self.journal
        self.listener = TriggerListener(app, self.services, self.scheduler.submit)
        self.ticker = Ticker(app, self.queue, self.services)
        self.worker: Worker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._ticking = False  # the ticker of recurring events runs here

    @classmethod
    async def start(
        cls,
        app: App,
        store: Any,
        *,
        redis_url: str | None = None,
        data_dir: Path = Path(".wf"),
        worker: bool = True,
        redis_port: int | None = None,
        prefix: str = "wfkit",
        services: Services | None = None,
        settings: WorkerSettings | None = None,
        recurring: bool = True,
    ) -> Background:
        """Connect (or start the embedded Redis), listen to the store for database triggers, start
        the recurring-event ticker and, with `worker`, a worker in this loop. `services`: those the
        worker's runs use (its scheduler and journal are set to the queue's)."""
        redis, embedded = await connect(redis_url, data_dir, port=redis_port)
        bg = cls(app, store, redis, embedded, prefix=prefix, services=services)
        try:
            await bg.publish_app()
        except BaseException:
            await redis.aclose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise
        store.listeners.append(bg.listener)
        if recurring:
            bg._ticking = True
            bg.ticker.start()
        if worker:
            bg.worker = Worker(app, bg.services, bg.queue, bg.journal, settings or settings_from_env())
            bg._worker_task = bg.worker.start()
        bg._paused = await bg.queue.is_paused()
        return bg

    async def publish_app(self) -> None:
        """Tell commands that have no app (`wf cancel --workflow`, `wf scheduled`) what is served."""
        info = {
            "workflows": sorted(self.app.workflows),
            "recurring": [Every.of(r).to_json() for r in self.app.recurring],
        }
        await self.redis.set(self.queue.key(APP_KEY), orjson.dumps(info))

    async def swap(self, app: App) -> None:
        """Serve `app` from now on (`wf serve --reload`): what is scheduled, what a database change
        triggers and what the worker starts follow it at once; the ticker starts again on its
        recurring events (the ticks already fired are in Redis). Redis and its jobs stay; runs
        already started finish on the app they started with."""
        self.app = self.scheduler.app = app
        self.listener.use(app)
        if self.worker is not None:
            self.worker.use_app(app)
        await self.ticker.stop()
        self.ticker.app = app
        if self._ticking:
            self.ticker.start()
        await self.publish_app()

    async def stop(self) -> None:
        """Stop the worker (running runs get its grace period), the ticker, the listener; close Redis."""
        with contextlib.suppress(ValueError):
            self.store.listeners.remove(self.listener)
        await self.listener.close()
        await self.ticker.stop()
        if self.worker is not None and self._worker_task is not None:
            await self.worker.close()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker_task
            self._worker_task = None
        await self.redis.aclose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)

    async def pause(self) -> None:
        await super().pause()
        if self.worker is not None:
            self.worker.paused = True

    async def resume(self) -> None:
        await super().resume()
        if self.worker is not None:
            self.worker.paused = False

    @property
    def paused(self) -> bool:
        """As this process's worker last saw it (another process may pause the queue)."""
        return self.worker.paused if self.worker is not None else self._paused

    async def wait(self) -> None:
        """Until the worker stops (`wf worker`)."""
        if self._worker_task is not None:
            await self._worker_task


def settings_from_env() -> WorkerSettings:
    """Worker settings, with `WF_WORKER_CONCURRENCY` and `WF_QUEUE_POLL` (s)."""
    s = WorkerSettings()
    jobs = os.environ.get("WF_WORKER_CONCURRENCY", "").strip()
    if jobs:
        s.max_jobs = max(1, int(jobs))
    poll = _env_float("WF_QUEUE_POLL")
    if poll is not None:
        s.poll_delay = max(0.001, poll)
    return s
