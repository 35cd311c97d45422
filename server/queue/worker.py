"""The background worker: an arq `Worker` on wfkit's queue, whose loop sleeps until the next due
job instead of polling.

arq's own loop reads the queue every `poll_delay`; polling often enough to start runs on time
(tens of milliseconds) costs a few percent of a core while idle. This loop asks Redis when the
next job is due and sleeps until then, and a submission wakes it early (a message on
`PREFIX:wake`, or directly from a queue in the same process). It starts jobs with arq's own
`start_jobs` and `run_job`, so arq's keys, in-progress marks, retries and health check hold.
A paused queue (`PREFIX:paused`) starts nothing; its jobs wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix
from arq.utils import timestamp_ms, to_ms
from arq.worker import Function, func
from arq.worker import Worker as ArqWorker
from redis.exceptions import WatchError
from wfkit.core.app import App
from wfkit.core.executor import Executor
from wfkit.core.services import Services

from .. import tasks
from ..outage import REDIS, backoff, unreachable, watch
from .journal import RedisJournal
from .queue import RUN, SLICE_FN, Queue, now_ms
from .runner import Runner, Stats, WorkerSettings

log = logging.getLogger("wfkit.queue")

IN_PROGRESS_EXTRA_S = 10.0  # arq's in-progress mark outlives the longest @timeout by this much
JOB_SLACK_S = 5.0  # arq's own timeout of a job, past the run's @timeout (saving its record)
MAX_TRIES = 10_000  # arq's bound on deliveries; wfkit counts attempts and crashes itself


def longest_timeout(app: App) -> float:
    return max((wf.flow.timeout.total_seconds() for wf in app.workflows.values()), default=300.0)


def functions(runner: Runner, app: App) -> list[Function]:
    """arq's functions `run` and `slice`, with a timeout past the longest @timeout of `app`."""
    timeout = longest_timeout(app) + JOB_SLACK_S
    return [
        func(runner.run_job, name=RUN, timeout=timeout, max_tries=MAX_TRIES),
        func(runner.slice_job, name=SLICE_FN, timeout=timeout, max_tries=MAX_TRIES),
    ]


class Worker(ArqWorker):
    """`await worker.async_run()` (or `start()`) in a running loop; `await worker.close()`."""

    def __init__(
        self,
        app: App,
        services: Services,
        queue: Queue,
        journal: RedisJournal,
        settings: WorkerSettings | None = None,
    ) -> None:
        s = settings or WorkerSettings()
        self.settings = s
        self.queue = queue
        self.runner = Runner(app, services, queue, journal, s)
        super().__init__(
            functions(self.runner, app),
            queue_name=queue.name,
            redis_pool=ArqRedis(queue.redis.connection_pool, default_queue_name=queue.name),
            handle_signals=False,  # `wf worker` and `wf serve` handle signals and call close()
            max_jobs=s.max_jobs,
            keep_result=0,  # results are run records, in the database
            poll_delay=s.poll_delay,
            max_tries=MAX_TRIES,
            health_check_interval=s.health_check_interval,
            log_results=False,
        )
        # a worker killed mid-run leaves its job to any worker this long after it started
        self.in_progress_timeout_s = longest_timeout(app) + IN_PROGRESS_EXTRA_S
        self.paused = False
        self._wake = asyncio.Event()
        self._sleep_until = 0.0
        self._closing = False
        self._refill_at = self.max_jobs - max(1, self.max_jobs // 10)
        self._held: dict[bytes, float] = {}  # due jobs another worker runs → when to look at them again
        self._task: asyncio.Task[None] | None = None
        queue.on_submit = self.submitted

    @property
    def stats(self) -> Stats:
        return self.runner.stats

    def use_app(self, app: App) -> None:
        """Run jobs on `app` from now on (`wf serve --reload`); those running finish on theirs."""
        self.runner.app, self.runner.executor = app, Executor(app, self.runner.services)
        self.functions.update((f.name, f) for f in functions(self.runner, app))
        self.in_progress_timeout_s = longest_timeout(app) + IN_PROGRESS_EXTRA_S

    def start(self) -> asyncio.Task[None]:
        """Run in the background of the running loop."""
        self._task = asyncio.create_task(self.async_run(), name="wfkit-worker")
        return self._task

    def submitted(self, due_ms: float) -> None:
        """A job due at `due_ms` was submitted: wake up if sleeping past it."""
        if due_ms < self._sleep_until:
            self._wake.set()

    # ------------------------------------------------------------------ the loop

    async def main(self) -> None:
        self.ctx["redis"] = self.pool
        listener = asyncio.create_task(self._listen(), name="wfkit-wake")
        redis, tries = watch(REDIS), 0
        try:
            while not self._closing:
                self._wake.clear()
                self._sleep_until = float("inf")  # a submission while reading: look again at once
                try:
                    delay = await self._iteration()
                    redis.ok()
                    tries = 0
                except Exception as e:
                    tries += 1
                    if unreachable(e):  # logged once for the outage, with the runs that wait on it
                        redis.failed(e, runs_in_progress=len(self.tasks))
                    else:
                        log.exception("reading the queue failed; trying again")
                    delay = backoff(tries)
                await self._sleep(delay)
        finally:
            await tasks.cancel(listener)

    async def _iteration(self) -> float:
        """Start the due jobs; how long to sleep (s) before looking again."""
        now = timestamp_ms()
        # enough ids to find a job for every free slot past those running here or held elsewhere
        # (they stay in the queue while they run), not the whole backlog each time
        want = min(self.queue_read_limit, self.max_jobs - self.job_counter + len(self.tasks) + len(self._held))
        pipe = self.pool.pipeline(transaction=False)
        pipe.exists(self.queue.key("paused"))
        pipe.zrangebyscore(self.queue_name, "-inf", now, start=0, num=max(1, want))
        pipe.zrangebyscore(self.queue_name, f"({now}", "+inf", start=0, num=1, withscores=True)
        paused, due, upcoming = await pipe.execute()
        self.paused = bool(paused)
        clock = time.monotonic()
        self._held = {j: until for j, until in self._held.items() if until > clock}
        fresh = [j for j in due if j.decode() not in self.tasks and j not in self._held]
        if fresh and not self.paused and self.allow_pick_jobs:
            await self.start_jobs(fresh)
            if self.job_counter < self.max_jobs:  # it had room: those it did not start run elsewhere
                for j in fresh:
                    if j.decode() not in self.tasks:
                        self._held[j] = clock + self.poll_delay_s
        for job_id, t in list(self.tasks.items()):
            if t.done():
                del self.tasks[job_id]
                error = None if t.cancelled() else t.exception()
                # errors in arq's run_job are bugs: let them show; but Redis answered just now, so a
                # job that ended as it went away is old news (its mark expires, and it runs again)
                if error is not None and not unreachable(error):
                    raise error
        await self.heart_beat()
        # wake for the next health check too (arq writes it from the loop; its key outlives it by 1 s)
        health = max(0.01, self._last_health_check + self.health_check_interval - time.time())
        if self.paused:
            return min(self.settings.max_sleep, health)
        delay = (float(upcoming[0][1]) - now) / 1000 if upcoming else self.settings.max_sleep
        waiting = [j for j in due if j.decode() not in self.tasks]  # held elsewhere, or no room here
        if waiting:
            if self.job_counter >= self.max_jobs:
                return min(self.settings.max_sleep, health)  # woken when a run finishes
            if len(due) >= want and len(waiting) < len(fresh):
                return 0.0  # more may be due behind those read
            delay = min(delay, self.poll_delay_s)  # held by another worker, or its worker died
        return max(0.0, min(delay, self.settings.max_sleep, health))

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's `start_jobs` for many jobs at once: the same check (not in progress, still queued,
        due) and the same in-progress mark, for the whole batch under one WATCH — four round trips
        a batch instead of four a job. A batch another worker touched meanwhile is started by arq's
        own, one job at a time."""
        take = job_ids[: max(0, self.max_jobs - self.job_counter)]
        if len(take) < 2:
            return await super().start_jobs(take)
        ids = [j.decode() for j in take]
        marks = [in_progress_key_prefix + i for i in ids]
        try:
            async with self.pool.pipeline(transaction=True) as pipe:
                await pipe.watch(*marks)
                running = await pipe.mget(marks)
                scores = await pipe.zmscore(self.queue_name, ids)
                now = timestamp_ms()
                claimed = [
                    (i, int(score))
                    for i, mark, score in zip(ids, running, scores, strict=True)
                    if mark is None and score and score <= now
                ]
                if not claimed:
                    return None
                pipe.multi()  # type: ignore[no-untyped-call]
                for i, _ in claimed:
                    pipe.psetex(in_progress_key_prefix + i, int(self.in_progress_timeout_s * 1000), b"1")
                await pipe.execute()
        except WatchError:  # another worker started one of them meanwhile: each on its own
            return await super().start_jobs(take)
        for i, score in claimed:
            await self.sem.acquire()  # free (arq keeps it one above job_counter): it does not wait
            self.job_counter += 1
            t = self.loop.create_task(self.run_job(i, score))
            t.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[i] = t
        return None

    async def _sleep(self, delay: float) -> None:
        if delay <= 0 or self._closing or self._wake.is_set():
            await asyncio.sleep(0)
            return
        self._sleep_until = now_ms() + delay * 1000
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
        finally:
            self._sleep_until = 0.0

    async def _listen(self) -> None:
        """Wake messages from other processes (submissions, pause and resume)."""
        redis, tries = watch(REDIS), 0
        while True:
            pubsub = self.pool.pubsub()
            try:
                await pubsub.subscribe(self.queue.wake_channel)
                redis.ok()
                tries = 0
                async for msg in pubsub.listen():
                    if msg.get("type") != "message":
                        continue
                    try:
                        due = float(msg["data"])
                    except ValueError:
                        due = 0.0
                    self.submitted(due)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                tries += 1
                if unreachable(e):
                    redis.failed(e)
                else:
                    log.exception("the wake channel failed; listening again")
                await asyncio.sleep(backoff(tries))
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def finish_job(
        self,
        job_id: str,
        finish: bool,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
    ) -> None:
        """arq's `finish_job` (the same transaction), plus what wfkit keeps for a run until its job
        is done: its journal, its rate-limit pass, its entry in its workflow's index."""
        workflow = self.runner.finishing.pop(job_id, None)
        async with self.pool.pipeline(transaction=True) as tr:
            delete_keys = []
            in_progress_key = in_progress_key_prefix + job_id
            if keep_in_progress is None:
                delete_keys += [in_progress_key]
            else:
                tr.pexpire(in_progress_key, to_ms(keep_in_progress))
            if finish:
                if result_data:
                    expire = None if keep_result_forever else result_timeout_s
                    tr.set(result_key_prefix + job_id, result_data, px=to_ms(expire))
                delete_keys += [retry_key_prefix + job_id, job_key_prefix + job_id]
                tr.zrem(abort_jobs_ss, job_id)
                tr.zrem(self.queue_name, job_id)
                if workflow is not None:
                    delete_keys.append(self.queue.key("journal", job_id))
                    tr.hdel(self.queue.key("ratepass"), job_id)
                    tr.srem(self.queue.key("idx", workflow), job_id)
            elif incr_score:
                tr.zincrby(self.queue_name, incr_score, job_id)
            if delete_keys:
                tr.delete(*delete_keys)
            await tr.execute()
        if not finish:  # deferred again (a retry, a wait) or put back: its new time may come first
            self._wake.set()

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        if self.job_counter == self._refill_at:
            self._wake.set()  # it was full, and a tenth of its slots are free again: start more

    # ------------------------------------------------------------------ stopping

    async def close(self) -> None:
        """Stop starting jobs; running ones get `grace` to finish, the others go back to the queue
        (arq re-queues a cancelled job at once). The Redis connection stays open (it is shared)."""
        if self._closing:
            return
        self._closing = True
        self.allow_pick_jobs = False
        self._wake.set()
        running = [t for t in self.tasks.values() if not t.done()]
        if running:
            _, pending = await asyncio.wait(running, timeout=self.settings.grace)
            for t in pending:
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if self.main_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.main_task
        await self.runner.saver.close()
        with contextlib.suppress(Exception):
            await self.pool.delete(self.health_check_key)

    async def wait(self) -> None:
        if self._task is not None:
            await self._task


__all__ = ["Stats", "Worker", "WorkerSettings"]
