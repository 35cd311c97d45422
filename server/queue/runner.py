"""What the arq functions `run` and `slice` do: run a scheduled run with the executor, with its
attempts, its flow control and its record.

arq delivers a job at least once (again after its worker died, once its in-progress mark
expires); the journal and the saved record make that effectively once: a run delivered again
resumes from its journal, and a run whose record says it finished is not run again. `@retry` is
arq's `Retry` (the same job, deferred); a run waiting for a `@concurrency` slot or its
`@rate_limit` turn is deferred the same way without counting as a try.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
from dataclasses import dataclass, field
from typing import Any

from arq.constants import retry_key_prefix
from arq.worker import Retry
from wfkit.core import journal as J
from wfkit.core import values as V
from wfkit.core.app import App, Workflow
from wfkit.core.convert import convert_args
from wfkit.core.errors import RunError
from wfkit.core.executor import Executor
from wfkit.core.flow import key_of, retry_after
from wfkit.core.runs import RunRecord
from wfkit.core.scheduler import ANONYMOUS
from wfkit.core.services import Services

from .. import metrics
from ..outage import DATABASE, unreachable, watch, which
from .frames import admin_frame
from .journal import RedisJournal
from .queue import Claim, Queue, claim_of, now_ms, slice_items
from .records import RecordSaver, record_from

log = logging.getLogger("wfkit.queue")

MAX_CRASHES = 5  # a run that took its worker down this often is failed, not tried again
WAIT_FOR_SLOT_MS = 50.0  # a run whose concurrency key is full looks again after about this long
SAVE_RETRY_S = 2.0  # a record that could not be saved: the job runs again this much later


@dataclass
class WorkerSettings:
    max_jobs: int = 200  # runs at once in this worker
    poll_delay: float = 0.5  # s: how soon due jobs held by another worker (or a dead one) are looked at again
    max_sleep: float = 30.0  # s: the longest sleep with nothing due (a wake message that was lost)
    flush_delay: float = 0.005  # s: records wait at most this long to be saved together
    flush_size: int = 500
    grace: float = 10.0  # s: on close, running runs get this long to finish; the rest go back
    health_check_interval: float = 60.0  # s: how often `PREFIX:health-check` is written
    track_lateness: bool = False  # keep start - due (ms) of every run, for the benchmark


@dataclass
class Stats:
    started: int = 0
    finished: int = 0
    most_at_once: int = 0  # runs running at once in this worker, at the most
    lateness_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Again:
    """Run this again at `at` (ms), as attempt `attempt`; `tried`: it failed (else it waits its turn)."""

    at: float
    attempt: int
    tried: bool


class Runner:
    def __init__(self, app: App, services: Services, queue: Queue, journal: RedisJournal, s: WorkerSettings) -> None:
        self.app = app
        self.services = services
        self.store = services.store
        self.queue = queue
        self.journal = journal
        self.executor = Executor(app, services)
        self.saver = RecordSaver(services.store, s.flush_delay, s.flush_size)
        self.capacity = s.max_jobs  # runs at once in this worker, items of slices included
        self.active = 0  # runs running now
        self.track_lateness = s.track_lateness
        self.stats = Stats()
        self.finishing: dict[str, str] = {}  # run job id → workflow: its keys go with its job (Worker.finish_job)
        self.unsaved: set[str] = set()  # runs whose record the database did not take: they run again

    # ------------------------------------------------------------------ the arq functions

    async def run_job(self, ctx: dict[str, Any], payload: dict[str, Any]) -> None:
        """arq function `run`: one scheduled run (job id = run id)."""
        c = claim_of(ctx["job_id"], payload)
        self.finishing[c.id] = c.workflow
        self._started()
        try:
            again = await self.run(c, int(ctx["job_try"]))
        finally:
            self.active -= 1
        if again is None:
            return
        if not again.tried:  # waiting its turn is not a try: arq counts this delivery again
            await self.queue.redis.decr(retry_key_prefix + c.id)
        raise Retry(defer=max(0.0, again.at - now_ms()) / 1000)

    async def slice_job(self, ctx: dict[str, Any], d: dict[str, Any]) -> None:
        """arq function `slice`: the due items of a slice of a list, as many as this worker has room
        for; the rest is deferred as a new slice job (to the next item's time, or now when due
        already, for any worker). A slice job so lasts no longer than its items' @timeout, as arq
        expects of a job. With no room at all, it waits its turn (not counted as a try)."""
        s, e, every = int(d["s"]), int(d["e"]), float(d["ev"])
        again = int(ctx["job_try"]) > 1
        room = self.capacity - self.active
        if room <= 0 and not again:  # (a slice delivered again may have split already: it runs)
            await self.queue.redis.decr(retry_key_prefix + ctx["job_id"])
            raise Retry(defer=WAIT_FOR_SLOT_MS * (0.5 + random.random()) / 1000)
        take = max(1, room)
        self._started(take)  # the room is this slice's before it awaits anything
        try:
            upto = e if every <= 0 else min(e, math.floor((now_ms() - float(d["t"])) / every) + 1)
            upto = min(max(upto, s + 1), s + take)
            upto, skip = await self.queue.split(ctx["job_id"], d, upto)
            items = [c for i, c in itertools.takewhile(lambda x: x[0] < upto, slice_items(d)) if i not in skip]
        except BaseException:
            self.active -= take
            raise
        self.active -= take - len(items)
        tasks = {c.id: asyncio.create_task(self._item(c, again)) for c in items}
        try:
            await asyncio.gather(*tasks.values())
        finally:
            for t in tasks.values():
                t.cancel()
        await self.queue.slice_done(ctx["job_id"], d, [run_id for run_id, t in tasks.items() if t.result()])

    async def _item(self, c: Claim, again: bool) -> bool:
        """Run an item (its room is taken); True when it is done with (else it is a job of its own now)."""
        try:
            later = await self.run(c, 2 if again else 1)
        except Exception as e:  # (its record could not be saved): a job of its own, a little later
            if unreachable(e):  # the outage is logged once, not once per run
                watch(which(e)).failed(e)
            elif not isinstance(e, Retry):  # (a Retry: a record the database did not take, told by _save)
                log.exception("run %s of %s failed in the worker", c.id, c.workflow)
            later, again = Again(now_ms() + SAVE_RETRY_S * 1000, c.attempt, False), True
        finally:
            self.active -= 1
        if later is not None:  # an item that must wait or be tried again becomes a job of its own
            await self.queue.enqueue_run(c, later.at, later.attempt, resumed=again)
            return False
        return True

    def _started(self, n: int = 1) -> None:
        self.active += n
        self.stats.most_at_once = max(self.stats.most_at_once, self.active)

    # ------------------------------------------------------------------ one run

    async def run(self, c: Claim, job_try: int) -> Again | None:
        """Run `c` (delivery `job_try` of its job); None when done with it, else when to run it again."""
        self.stats.started += 1
        late_ms = now_ms() - c.run_at
        metrics.current().run_started(late_ms / 1000)
        if self.track_lateness:
            self.stats.lateness_ms.append(late_ms)
        wf = self.app.workflows.get(c.workflow)
        if wf is None:
            await self._fail(c, c.attempt, f"workflow {c.workflow} is not in this app (it changed)")
            return None
        attempt = c.attempt
        if c.resumed:
            job_try += 1
        if job_try > 1:  # tried before, or its worker died: what did the last delivery finish?
            saved = await self.store.runs.get(c.id)
            if saved is not None and saved.get("status") != "running" and (saved.get("attempt") or 1) >= attempt:
                done = saved.get("attempt") or 1
                if retry_after(wf.flow, record_from(saved), done) is None:
                    return None
                attempt = done + 1
            crashes = job_try - 1 - (attempt - c.attempt)
            if crashes > MAX_CRASHES:
                await self._fail(c, attempt, f"the run was interrupted {crashes} times (did it take its worker down?)")
                return None
        try:
            user = None
            if c.user_id is not None and c.user_id != ANONYMOUS:
                user = await self.store.get("User", c.user_id)
                if user is None:
                    raise RunError(f"the user {c.user_id} this run was scheduled for no longer exists")
            args = await convert_args(wf, {k: J.decode(v) for k, v in c.args.items()}, store=self.store)
        except RunError as e:  # a thing or user deleted meanwhile: the run cannot start; not retried
            await self._fail(c, attempt, e.message, getattr(e, "status", None))
            return None
        conc = ""
        flow = wf.flow
        if flow.concurrency_limit is not None:
            conc = self.queue.key("conc", wf.name, await self._key(wf, flow.concurrency_key, args))
            deadline = now_ms() + (flow.timeout.total_seconds() + 10) * 1000
            if not await self.queue.acquire(conc, c.id, flow.concurrency_limit, deadline):
                return Again(now_ms() + WAIT_FOR_SLOT_MS * (0.5 + random.random()), attempt, False)
        try:
            if flow.rate_count is not None and flow.rate_period is not None:
                period = flow.rate_period.total_seconds() * 1000
                interval = period / flow.rate_count
                key = self.queue.key("rate", wf.name, await self._key(wf, flow.rate_key, args))
                at = await self.queue.rate(key, c.id, interval, period - interval)
                if at > 0:  # not its turn yet: deferred until it is (nothing is dropped)
                    return Again(at, attempt, False)
            record = await self._execute(wf, c, args, user, attempt, fresh=job_try == 1 and attempt == 1)
        finally:
            if conc:
                with contextlib.suppress(Exception):
                    await self.queue.release(conc, c.id)
        wait = retry_after(flow, record, attempt)
        if wait is not None:
            return Again(now_ms() + wait * 1000, attempt + 1, True)
        return None

    async def _execute(
        self, wf: Workflow, c: Claim, args: dict[str, Any], user: Any, attempt: int, *, fresh: bool
    ) -> RunRecord:
        if fresh:
            self.journal.fresh.add(c.id)
        self.journal.held.add(c.id)  # kept until the record is saved: a crash before resumes it
        try:
            record = await self.executor.run(
                wf,
                args,
                user=user,
                admin=c.user_id is None,  # an anonymous caller's run stays anonymous (docs/language.md §7)
                run_id=c.id,
                chain=c.chain,
                trigger=c.kind,
                resumed=not fresh,
            )
        finally:
            self.journal.held.discard(c.id)
            self.journal.fresh.discard(c.id)
        record.attempt = attempt
        record.origin = c.origin
        await self._save(record)
        return record

    async def _save(self, record: RunRecord) -> None:
        database = watch(DATABASE)
        try:
            await self.saver.save(record)
        except Exception as e:
            if unreachable(e):  # logged once for the outage, with how many records wait
                self.unsaved.add(record.id)
                database.failed(e, run_records=len(self.unsaved))
            else:
                log.exception("saving the record of run %s failed: it runs again", record.id)
            raise Retry(defer=SAVE_RETRY_S) from None
        if database.down:  # back: what waited is being saved again, each by its own job
            self.unsaved.clear()
        self.unsaved.discard(record.id)
        database.ok()
        self.stats.finished += 1

    async def _key(self, wf: Workflow, c: Any, args: dict[str, Any]) -> str:
        return await key_of(c, admin_frame(self.services, wf.name, {p.name: args.get(p.name) for p in wf.params}))

    async def _fail(self, c: Claim, attempt: int, message: str, status: str | None = None) -> None:
        now = V.now()
        user = None if c.user_id == ANONYMOUS else c.user_id
        record = RunRecord(c.id, c.workflow, c.kind, now, V.redact(c.args), user, c.chain)
        record.status, record.finished_at, record.duration_ms = "failed", now, 0.0
        record.error = {"message": message, "line": None}
        if status:
            record.error["status"] = status
        record.attempt = attempt
        await self._save(record)
