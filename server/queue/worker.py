"""The worker: claims due runs, runs them with the executor, saves their records, acknowledges them.

It sleeps until the next due time (or `poll_delay`, for runs other processes submit), so a
delayed run starts within a few milliseconds of its time. Records are saved in batches (one
transaction), then the runs are acknowledged in one script call; a run is acknowledged only
once its record is in the database, and its journal goes with the acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from wfkit.core import journal as J
from wfkit.core import values as V
from wfkit.core.app import App, Workflow
from wfkit.core.convert import convert_args
from wfkit.core.errors import RunError
from wfkit.core.executor import Executor
from wfkit.core.runs import RunRecord
from wfkit.core.services import Services

from .frames import admin_frame, evaluate
from .journal import RedisJournal
from .queue import Claim, Queue, from_ms, now_ms

log = logging.getLogger("wfkit.queue")

MAX_CRASHES = 5  # a run that took its worker down this often is failed, not tried again
WAIT_FOR_SLOT_MS = 50.0  # a run whose concurrency key is full looks again after about this long


@dataclass
class WorkerSettings:
    max_jobs: int = 200  # runs at once in this worker
    poll_delay: float = 0.02  # s: the longest sleep (runs other processes submit are seen this soon)
    lease: float = 30.0  # s: a claimed run is another worker's after this long without renewal
    claim_batch: int = 200  # runs claimed in one script call at most
    flush_delay: float = 0.005  # s: records wait at most this long to be saved together
    flush_size: int = 500
    grace: float = 10.0  # s: on close, running runs get this long to finish; the rest go back
    track_lateness: bool = False  # keep start - due (ms) of every run, for the benchmark


@dataclass
class _Done:
    record: RunRecord
    conc: str
    requeue_at: float | None = None  # ms: put back (a retry) instead of acknowledging


@dataclass
class Stats:
    started: int = 0
    finished: int = 0
    lateness_ms: list[float] = field(default_factory=list)


class Worker:
    def __init__(
        self,
        app: App,
        services: Services,
        queue: Queue,
        journal: RedisJournal,
        settings: WorkerSettings | None = None,
        *,
        handle_signals: bool = False,
    ) -> None:
        self.app = app
        self.services = services
        self.store = services.store
        self.queue = queue
        self.journal = journal
        self.settings = settings or WorkerSettings()
        self.handle_signals = handle_signals
        self.executor = Executor(app, services)
        self.paused = False
        self.stats = Stats()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._inflight: dict[str, str] = {}  # claimed, not acknowledged: id → concurrency key
        self._done: list[_Done] = []
        self._wake = asyncio.Event()
        self._slot = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._sleep_until = 0.0
        self._closing = False
        self._main: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        queue.on_submit = self._submitted

    # ------------------------------------------------------------------ life

    async def async_run(self) -> None:
        """Work until `close()` (or SIGINT/SIGTERM when `handle_signals`)."""
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(self.close()))
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="wfkit-heartbeat"),
            asyncio.create_task(self._flusher(), name="wfkit-flusher"),
        ]
        self._main = asyncio.current_task()
        try:
            await self._loop()
        finally:
            await self._drain()

    def start(self) -> asyncio.Task[None]:
        """Run in the background of the running loop."""
        task = asyncio.create_task(self.async_run(), name="wfkit-worker")
        return task

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._slot.set()

    async def _drain(self) -> None:
        """Let running runs finish (up to `grace`), put the others back, save and acknowledge."""
        if self._running:
            _, pending = await asyncio.wait(list(self._running.values()), timeout=self.settings.grace)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._flush()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        back = list(self._inflight.items())
        self._inflight.clear()
        for run_id, conc in back:  # interrupted by the shutdown: due again now, for any worker
            with contextlib.suppress(Exception):
                await self.queue.requeue(run_id, now_ms(), failed=False, conc_key=conc)

    def _submitted(self, due_ms: float) -> None:
        if due_ms < self._sleep_until:
            self._wake.set()

    # ------------------------------------------------------------------ claiming

    async def _loop(self) -> None:
        s = self.settings
        while not self._closing:
            free = s.max_jobs - len(self._running)
            if free <= 0:
                self._slot.clear()
                await self._slot.wait()
                continue
            want = min(free, s.claim_batch)
            try:
                self.paused, next_due, claims = await self.queue.claim(want, s.lease * 1000)
            except Exception:
                log.exception("claiming runs failed; trying again")
                await asyncio.sleep(min(1.0, s.poll_delay * 10))
                continue
            for c in claims:
                self._inflight[c.id] = ""
                self.stats.started += 1
                task = asyncio.create_task(self._run_one(c))
                self._running[c.id] = task
                task.add_done_callback(self._finisher(c.id))
            if len(claims) >= want:
                await asyncio.sleep(0)  # more may be due: claim again, letting the runs start
                continue
            delay = s.poll_delay
            if next_due is not None and not self.paused:
                delay = min(delay, max(0.0, (next_due - now_ms()) / 1000.0))
            self._sleep_until = now_ms() + delay * 1000
            self._wake.clear()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
            self._sleep_until = 0.0

    def _finisher(self, run_id: str) -> Callable[[asyncio.Task[None]], None]:
        def finished(_: asyncio.Task[None]) -> None:
            self._running.pop(run_id, None)
            self._slot.set()

        return finished

    # ------------------------------------------------------------------ running one

    async def _run_one(self, c: Claim) -> None:
        try:
            await self._execute(c)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug around the run (the run's own errors are in its record)
            log.exception("run %s of %s failed in the worker", c.id, c.workflow)
            self._inflight.pop(c.id, None)  # its lease runs out, and it is tried again

    async def _execute(self, c: Claim) -> None:
        if self.settings.track_lateness:
            self.stats.lateness_ms.append(now_ms() - c.run_at)
        wf = self.app.workflows.get(c.workflow)
        attempt = c.fails + 1
        if wf is None:
            self._finish(self._failed(c, f"workflow {c.workflow} is not in this app (it changed)"), "")
            return
        if c.crashes > 0:
            if c.crashes > MAX_CRASHES:
                message = f"the run was interrupted {c.crashes} times (did it take its worker down?)"
                self._finish(self._failed(c, message), "")
                return
            saved = await self.store.runs.get(c.id)  # finished, but the worker died before acknowledging?
            if saved is not None and saved.get("attempt", 1) == attempt and saved.get("status") != "running":
                record = _record_from(saved)
                self._finish(record, "", self._retry_at(wf, record, attempt))
                return
        try:
            user = None
            if c.user_id is not None:
                user = await self.store.get("User", c.user_id)
                if user is None:
                    raise RunError(f"the user {c.user_id} this run was scheduled for no longer exists")
            args = await convert_args(wf, {k: J.decode(v) for k, v in c.args.items()}, store=self.store)
        except RunError as e:  # a thing or user deleted meanwhile: the run cannot start; not retried
            self._finish(self._failed(c, e.message, getattr(e, "status", None)), "")
            return
        conc = ""
        flow = wf.flow
        if flow.concurrency_limit is not None:
            conc = self.queue.key("conc", wf.name, await self._key(wf, flow.concurrency_key, args))
            deadline = now_ms() + self.settings.lease * 1000
            if not await self.queue.acquire(conc, c.id, flow.concurrency_limit, deadline):
                self._inflight.pop(c.id, None)
                wait = WAIT_FOR_SLOT_MS * (0.5 + random.random())
                await self.queue.requeue(c.id, now_ms() + wait, failed=False)
                return
            self._inflight[c.id] = conc
        if flow.rate_count is not None and flow.rate_period is not None:
            period = flow.rate_period.total_seconds() * 1000
            interval = period / flow.rate_count
            key = self.queue.key("rate", wf.name, await self._key(wf, flow.rate_key, args))
            at = await self.queue.rate(key, c.id, interval, period - interval)
            if at > 0:  # not its turn yet: back in the queue until it is (nothing is dropped)
                self._inflight.pop(c.id, None)
                await self.queue.requeue(c.id, at, failed=False, conc_key=conc)
                return
        if c.crashes == 0 and c.fails == 0:
            self.journal.fresh.add(c.id)
        self.journal.held.add(c.id)
        try:
            record = await self.executor.run(
                wf, args, user=user, admin=user is None, run_id=c.id, chain=c.chain, trigger=c.kind
            )
        finally:
            self.journal.held.discard(c.id)
            self.journal.fresh.discard(c.id)
        record.attempt = attempt
        self._finish(record, conc, self._retry_at(wf, record, attempt))

    def _retry_at(self, wf: Workflow, record: RunRecord, attempt: int) -> float | None:
        """When to try a failed run again (@retry: exponential backoff, ±25% jitter), or None."""
        if record.status != "failed" or attempt >= wf.flow.retry_attempts:
            return None
        if record.error is not None and record.error.get("status") in ("MISSING_DATA", "INVALID_DATA"):
            return None  # the same arguments fail the same way
        base = wf.flow.retry_backoff.total_seconds() * 1000 * 2 ** (attempt - 1)
        return float(now_ms() + base * (0.75 + 0.5 * random.random()))

    async def _key(self, wf: Workflow, c: Any, args: dict[str, Any]) -> str:
        if c is None:
            return "-"
        vars = {p.name: args.get(p.name) for p in wf.params}
        value = await evaluate(c, admin_frame(self.services, wf.name, vars))
        return orjson.dumps(V.to_json(value)).decode()

    def _failed(self, c: Claim, message: str, status: str | None = None) -> RunRecord:
        now = V.now()
        record = RunRecord(c.id, c.workflow, c.kind, now, V.redact(c.args), c.user_id, c.chain)
        record.status, record.finished_at, record.duration_ms = "failed", now, 0.0
        record.error = {"message": message, "line": None}
        if status:
            record.error["status"] = status
        record.attempt = c.fails + 1
        return record

    def _finish(self, record: RunRecord, conc: str, requeue_at: float | None = None) -> None:
        self._done.append(_Done(record, conc, requeue_at))
        if len(self._done) == 1 or len(self._done) >= self.settings.flush_size:
            self._flush_now.set()

    # ------------------------------------------------------------------ saving and acknowledging

    async def _flusher(self) -> None:
        while True:
            await self._flush_now.wait()
            self._flush_now.clear()
            if len(self._done) < self.settings.flush_size:
                await asyncio.sleep(self.settings.flush_delay)
            await self._flush()

    async def _flush(self) -> None:
        while self._done:
            done, self._done = self._done[: self.settings.flush_size], self._done[self.settings.flush_size :]
            try:
                await self.store.runs.save([d.record for d in done])  # one statement
            except Exception:
                log.exception("saving %d run records failed: they run again when their lease ends", len(done))
                for d in done:
                    self._inflight.pop(d.record.id, None)
                continue
            acks = [(d.record.id, d.conc) for d in done if d.requeue_at is None]
            try:
                await self.queue.ack(acks)
                for d in done:
                    if d.requeue_at is not None:
                        await self.queue.requeue(d.record.id, d.requeue_at, failed=True, conc_key=d.conc)
            except Exception:
                log.exception("acknowledging %d runs failed: they run again when their lease ends", len(done))
            for d in done:
                self._inflight.pop(d.record.id, None)
            self.stats.finished += len(done)

    async def _heartbeat(self) -> None:
        s = self.settings
        while True:
            await asyncio.sleep(s.lease / 3)
            ids = list(self._inflight)
            conc = {k: v for k, v in self._inflight.items() if v}
            try:
                await self.queue.renew(ids, now_ms() + s.lease * 1000, conc)
            except Exception:
                log.exception("renewing leases failed")


def _record_from(saved: dict[str, Any]) -> RunRecord:
    """A saved record, back as a RunRecord (to acknowledge it again as it was)."""
    record = RunRecord(
        saved["id"],
        saved["workflow"],
        saved.get("trigger") or "schedule",
        V.parse_date(saved["started_at"]),
        saved.get("params") or {},
        saved.get("user_id"),
        saved.get("chain") or 1,
    )
    record.status = saved.get("status") or "failed"
    record.finished_at = V.parse_date(saved["finished_at"]) if saved.get("finished_at") else None
    record.duration_ms = saved.get("duration_ms")
    record.response = saved.get("response")
    record.error = saved.get("error")
    record.steps = saved.get("steps") or []
    record.logs = saved.get("logs") or []
    record.scheduled = saved.get("scheduled") or []
    record.scheduled_count = saved.get("scheduled_count") or 0
    record.attempt = saved.get("attempt") or 1
    return record


__all__ = ["Stats", "Worker", "WorkerSettings", "from_ms"]
