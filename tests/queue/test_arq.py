"""Scheduled runs are arq jobs that arq's own tools see: a run alone is one job (id = run id,
deferred to its time), a list is a few slice jobs, cancelling deletes the job (arq: `not_found`),
a recurring tick is one job with a per-tick id; the worker wakes on a submission and sleeps while
paused, and a slice waiting for its next item holds no worker slot."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.jobs import Job, JobStatus
from queue_helpers import Start, eventually, fast_settings, runs_of
from wfkit.core import values as V
from wfkit.core.executor import Executor
from wfkit.core.scheduler import ScheduledRun, new_id
from wfkit.server.queue import Background, Queue
from wfkit.server.queue.recurring import Ticker

SOURCE = """
workflow later(n: number) {
  log "later {n}"
}
workflow main(n: number, delay: number = 0) {
  h = schedule later(n: n) in delay * 1 second
  return { id: h.id }
}
workflow fan(items: list of number, gap: number = 0) {
  hs = schedule later(n: item) for each item in items every gap * 1 second
  return { ids: hs }
}
workflow quiet(items: list of number) {
  schedule later(n: item) for each item in items in 1 hour
}
every 1 hour run later(n: 0)
"""


def arq(bg: Background) -> ArqRedis:
    return ArqRedis(bg.redis.connection_pool, default_queue_name=bg.queue.name)


async def status(bg: Background, job_id: str) -> JobStatus:
    return await Job(job_id, arq(bg), _queue_name=bg.queue.name).status()


async def test_a_run_scheduled_alone_is_one_deferred_arq_job(start_bg: Start) -> None:
    bg = await start_bg(SOURCE, worker=False)
    record = await Executor(bg.app, bg.services).run("main", {"n": 1, "delay": 3600}, admin=True)
    run_id = record.response["id"]  # type: ignore[index]
    (job,) = await arq(bg).queued_jobs(queue_name=bg.queue.name)
    assert (job.job_id, job.function) == (run_id, "run")
    assert job.args[0]["w"] == "later" and job.args[0]["a"] == {"n": 1}
    assert abs(job.score / 1000 - (time.time() + 3600)) < 5  # deferred to its time
    assert await status(bg, run_id) == JobStatus.deferred
    assert await bg.cancel([run_id]) == 1
    assert await status(bg, run_id) == JobStatus.not_found
    assert await arq(bg).queued_jobs(queue_name=bg.queue.name) == []


async def test_a_list_is_a_few_slice_jobs_and_items_cancel(start_bg: Start) -> None:
    bg = await start_bg(SOURCE, worker=False)
    await Executor(bg.app, bg.services).run("quiet", {"items": list(range(25_000))}, admin=True)
    jobs = await arq(bg).queued_jobs(queue_name=bg.queue.name)
    assert [j.function for j in jobs] == ["slice"] * 3  # 10,000 items a slice
    listed = await bg.list_scheduled(limit=2)
    assert await bg.cancel([listed[1]["id"]]) == 1  # one item
    assert [x["args"]["n"] for x in await bg.list_scheduled(limit=2)] == [0, 2]
    assert await bg.cancel_workflow("later") == 25_000 - 1
    for j in jobs:
        assert await status(bg, j.job_id) == JobStatus.not_found


async def test_a_slice_waiting_for_its_next_item_holds_no_worker_slot(start_bg: Start) -> None:
    bg = await start_bg(SOURCE)
    record = await Executor(bg.app, bg.services).run("fan", {"items": [1, 2, 3], "gap": 1.5}, admin=True)
    ids = [h["id"] for h in record.response["ids"]]  # type: ignore[index]

    async def first_ran() -> bool:
        return len(await runs_of(bg, "later")) == 1

    await eventually(first_ran, what="the first item")
    await asyncio.sleep(0.2)
    (job,) = await arq(bg).queued_jobs(queue_name=bg.queue.name)  # the rest, re-deferred
    assert job.function == "slice" and job.args[0]["s"] == 1
    assert await status(bg, job.job_id) == JobStatus.deferred
    assert bg.worker is not None and all(t.done() for t in bg.worker.tasks.values())
    assert await bg.cancel([ids[2]]) == 1

    async def second_ran() -> bool:
        return len(await runs_of(bg, "later")) == 2

    await eventually(second_ran, what="the second item")
    await asyncio.sleep(1.8)
    assert {r["id"] for r in await runs_of(bg, "later")} == set(ids[:2])
    assert await bg.list_scheduled() == []


async def test_a_recurring_tick_is_one_job_whatever_the_tickers(start_bg: Start) -> None:
    bg = await start_bg(SOURCE, worker=False)
    r = bg.app.recurring[0]
    at = V.now() + timedelta(hours=2)
    other = Ticker(bg.app, bg.queue, bg.services)
    results = await asyncio.gather(bg.ticker.fire(0, r, at), other.fire(0, r, at))
    assert sorted(results) == [False, True]
    (job,) = await arq(bg).queued_jobs(queue_name=bg.queue.name)
    assert job.job_id.startswith(f"{int(at.timestamp() * 1000):012x}")


async def test_the_worker_wakes_when_another_process_submits(start_bg: Start) -> None:
    bg = await start_bg(SOURCE)
    await asyncio.sleep(0.3)  # asleep: nothing is due
    other = Queue(bg.redis, bg.queue.prefix)  # as `wf serve` in another process: no in-process wake
    run = ScheduledRun(new_id(), "later", {"n": 5}, V.now())
    t0 = time.monotonic()
    await other.submit([run])

    async def ran() -> bool:
        return await bg.store.runs.get(run.id) is not None

    await eventually(ran, 5)
    assert time.monotonic() - t0 < 1.0  # not a poll of several seconds


async def test_a_paused_worker_starts_nothing(start_bg: Start) -> None:
    bg = await start_bg(SOURCE)
    other = Queue(bg.redis, bg.queue.prefix)
    await other.pause()  # from another process
    run = ScheduledRun(new_id(), "later", {"n": 5}, V.now())
    await other.submit([run])
    await asyncio.sleep(0.5)
    assert await status(bg, run.id) == JobStatus.queued
    assert await bg.store.runs.get(run.id) is None
    await other.resume()

    async def ran() -> bool:
        return await bg.store.runs.get(run.id) is not None

    await eventually(ran, 5)


async def test_slices_take_only_the_room_a_worker_has(start_bg: Start) -> None:
    """Three lists due at once on a worker with room for 4 runs: each slice job takes what room
    there is and defers the rest (a slice job lasts no longer than its runs, as arq expects)."""
    bg = await start_bg(SOURCE, settings=fast_settings(max_jobs=4))
    ex = Executor(bg.app, bg.services)
    for k in range(3):
        await ex.run("fan", {"items": list(range(k * 100, k * 100 + 30))}, admin=True)

    async def all_ran() -> bool:
        return len(await runs_of(bg, "later")) == 90

    await eventually(all_ran, 30)
    assert bg.worker is not None
    worker = bg.worker

    async def done_with_every_slice() -> bool:  # a run's record is saved before its slice job ends
        return worker.runner.active == 0 and await arq(bg).queued_jobs(queue_name=bg.queue.name) == []

    await eventually(done_with_every_slice, 10)
    assert worker.stats.most_at_once <= 4


async def test_the_worker_is_an_arq_worker_with_its_health_check(start_bg: Start) -> None:
    from arq.worker import Worker as ArqWorker

    bg = await start_bg(SOURCE)
    assert isinstance(bg.worker, ArqWorker)
    assert bg.worker.queue_name == bg.queue.name and bg.worker.health_check_key == f"{bg.queue.name}:health-check"

    async def healthy() -> bool:
        return bool(await bg.redis.exists(f"{bg.queue.name}:health-check"))

    await eventually(healthy, 5)
    assert Queue(bg.redis).name == "wfkit"  # the queue's name outside tests, and its health check's prefix


async def watches(bg: Background) -> int:
    stats = await bg.redis.info("commandstats")
    return int(stats.get("cmdstat_watch", {}).get("calls", 0))


async def test_due_jobs_start_together_and_one_started_elsewhere_is_left_to_it(start_bg: Start) -> None:
    """Twenty runs due at once start under one WATCH (arq's check and in-progress mark, for the
    batch), except the one another worker marked in progress: it is left to that worker, and runs
    here once its mark is gone (as a job of a worker that died)."""
    bg = await start_bg(SOURCE)
    await bg.pause()
    runs = [ScheduledRun(new_id(), "later", {"n": n}, V.now()) for n in range(20)]
    await bg.queue.submit(runs)
    elsewhere = runs[7].id
    await bg.redis.psetex(in_progress_key_prefix + elsewhere, 60_000, b"1")
    before = await watches(bg)
    await bg.resume()

    async def others_ran() -> bool:
        return len(await runs_of(bg, "later")) == 19

    await eventually(others_ran, 10)
    assert await watches(bg) - before <= 3  # one a batch (arq alone: one a job)
    assert await bg.store.runs.get(elsewhere) is None
    await bg.redis.delete(in_progress_key_prefix + elsewhere)

    async def all_ran() -> bool:
        return len(await runs_of(bg, "later")) == 20

    await eventually(all_ran, 10)


async def test_a_batch_another_worker_touched_meanwhile_starts_one_job_at_a_time(start_bg: Start) -> None:
    """Another worker marks one of the batch in progress between the batch's WATCH and its EXEC:
    the batch's marks are not written, and arq's own start (one job at a time) leaves that job to
    the other worker and starts the rest."""
    bg = await start_bg(SOURCE)
    await bg.pause()
    runs = [ScheduledRun(new_id(), "later", {"n": n}, V.now()) for n in range(10)]
    await bg.queue.submit(runs)
    elsewhere = runs[3].id
    assert bg.worker is not None
    pool = bg.worker.pool
    make_pipeline = pool.pipeline

    def pipeline_meeting_another_worker(*args: Any, **kwargs: Any) -> Any:
        pipe = make_pipeline(*args, **kwargs)
        zmscore = pipe.zmscore

        async def then_another_worker_starts_one(*a: Any) -> Any:  # after the WATCH, before the EXEC
            await bg.redis.psetex(in_progress_key_prefix + elsewhere, 60_000, b"1")
            return await zmscore(*a)

        pipe.zmscore = then_another_worker_starts_one
        return pipe

    pool.pipeline = pipeline_meeting_another_worker  # type: ignore[method-assign]
    await bg.resume()

    async def others_ran() -> bool:
        return len(await runs_of(bg, "later")) == 9

    await eventually(others_ran, 10)
    assert await bg.store.runs.get(elsewhere) is None
    pool.pipeline = make_pipeline  # type: ignore[method-assign]
    await bg.redis.delete(in_progress_key_prefix + elsewhere)

    async def all_ran() -> bool:
        return len(await runs_of(bg, "later")) == 10

    await eventually(all_ran, 10)
