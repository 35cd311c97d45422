"""Background runs against bare arq, in one process, on one embedded Redis (unix socket):

1. no-op runs/s on one worker: bare arq, tuned (max_jobs=1000, poll_delay=0.01, keep_result=0, orjson
   serializer) vs wfkit scheduled no-op runs (arq jobs too, and each run's record saved in the
   database). Both sides alike: the worker is started and the jobs are queued first, held (arq's
   `allow_pick_jobs = False`, wfkit's pause); the clock runs from letting the worker take them to
   the last one done. Start-up and enqueueing are timed on neither side.
2. scheduling a list — a comparison of designs, not of the same work: wfkit's one `schedule noop(n:
   item) for each item in items every …` over --list items writes a few slice jobs; arq has no
   list form, so its figure is --list single `enqueue_job` calls (100 at a time; measured on
   --arq-list of them and scaled). Time and memory.
3. lateness (start - due) of runs due at --rate runs/s: p50 / p99;
4. idle CPU of a worker with nothing due (this process and Redis, % of one core);
5. peak RSS.

1 and 2 run --rounds times, the two sides taking turns to go first; every round is printed, then
the median of the rounds' ratios.

    python bench/queue.py [--rounds 3] [--jobs 10000] [--list 1000000] [--arq-list 20000] [--rate 500]
                          [--seconds 5] [--idle 10]

Targets (issue 10): wfkit runs/s ≥ 0.8 x tuned bare arq; 1,000,000 items listed in < 10 s with flat
memory; lateness p99 ≤ 25 ms at 500 runs/s; idle ≤ 1 % of a core, Redis included.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file is named queue.py: keep the bench folder off sys.path, or it hides the standard library's `queue`
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import contextlib
import gc
import resource
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

import orjson
import psutil
from arq import Worker as ArqWorker
from arq.connections import RedisSettings, create_pool
from wfkit.core import values as V
from wfkit.core.executor import Executor
from wfkit.core.scheduler import ScheduledRun, new_id
from wfkit.server.queue import Background, EmbeddedRedis, WorkerSettings
from wfkit.testing import compile_source, open_test_store

SOURCE = """
workflow noop(n: number) {
  let x = n
}
workflow fan(items: list of number, gap: number = 0.001) {
  schedule noop(n: item) for each item in items in 1 day every gap * 1 second
}
"""

PROC = psutil.Process()


def rss_mb() -> float:
    return float(PROC.memory_info().rss) / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


async def noop(ctx: dict[str, Any], n: int) -> None:
    return None


def _loads(b: bytes) -> dict[str, Any]:
    d: dict[str, Any] = orjson.loads(b)
    return d


async def arq_runs(settings: RedisSettings, jobs: int, poll_delay: float) -> float:
    """Jobs/s of a tuned arq worker that is already running, from letting it take the queued jobs
    to the last one done."""
    pool = await create_pool(settings, job_serializer=orjson.dumps, job_deserializer=_loads)
    await pool.flushdb()
    worker = ArqWorker(
        functions=[noop],  # type: ignore[list-item]
        redis_settings=settings,
        max_jobs=1000,
        handle_signals=False,
        keep_result=0,
        poll_delay=poll_delay,
        job_serializer=orjson.dumps,
        job_deserializer=_loads,
        log_results=False,
    )
    worker.allow_pick_jobs = False  # held, as wfkit's side is paused
    task = asyncio.create_task(worker.async_run())
    for i in range(0, jobs, 100):
        await asyncio.gather(*(pool.enqueue_job("noop", n) for n in range(i, min(i + 100, jobs))))
    while worker._pool is None:  # started: connected, polling
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    t0 = time.perf_counter()
    worker.allow_pick_jobs = True
    while worker.jobs_complete + worker.jobs_failed < jobs:
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - t0
    assert worker.jobs_failed == 0
    with contextlib.suppress(asyncio.CancelledError):  # arq's close() may meet a job task it cancelled
        await worker.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await pool.flushdb()
    await pool.aclose()
    return jobs / elapsed


async def arq_enqueue(settings: RedisSettings, count: int) -> float:
    pool = await create_pool(settings)
    await pool.flushdb()
    t0 = time.perf_counter()
    for i in range(0, count, 100):
        await asyncio.gather(*(pool.enqueue_job("noop", n, _defer_by=86400) for n in range(i, min(i + 100, count))))
    elapsed = time.perf_counter() - t0
    await pool.flushdb()
    await pool.aclose()
    return elapsed


async def wfkit_runs(url: str, jobs: int) -> float:
    """Runs/s of a wfkit worker that is already running, from resuming the paused queue that holds
    the runs to the last run's record saved."""
    app = compile_source(SOURCE)
    async with open_test_store(app) as store:
        settings = WorkerSettings(max_jobs=1000, poll_delay=0.01)
        bg = await Background.start(app, store, redis_url=url, prefix="bench", settings=settings, recurring=False)
        await bg.redis.flushdb()
        await bg.pause()
        now = V.now()
        runs = [ScheduledRun(new_id(), "noop", {"n": n}, now) for n in range(jobs)]
        await bg.queue.submit(runs)
        assert bg.worker is not None
        await asyncio.sleep(0.2)  # as long as arq's worker is left to settle
        t0 = time.perf_counter()
        await bg.resume()
        while bg.worker.stats.finished < jobs:
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - t0
        saved = len(await store.runs.recent(workflow="noop", limit=10))
        await bg.redis.flushdb()
        await bg.stop()
    assert saved == 10
    return jobs / elapsed


async def wfkit_list(url: str, count: int) -> tuple[float, float]:
    app = compile_source(SOURCE)
    items = list(range(count))
    async with open_test_store(app) as store:
        bg = await Background.start(app, store, redis_url=url, prefix="bench", worker=False, recurring=False)
        await bg.redis.flushdb()
        gc.collect()
        before = rss_mb()
        t0 = time.perf_counter()
        record = await Executor(app, bg.services).run("fan", {"items": items}, admin=True)
        elapsed = time.perf_counter() - t0
        grown = rss_mb() - before
        assert record.status == "success" and record.scheduled_count == count, record.error
        await bg.redis.flushdb()
        await bg.stop()
    return elapsed, grown


async def lateness(url: str, rate: int, seconds: float) -> list[float]:
    app = compile_source(SOURCE)
    async with open_test_store(app) as store:
        settings = WorkerSettings(max_jobs=1000, track_lateness=True)
        bg = await Background.start(app, store, redis_url=url, prefix="bench", settings=settings, recurring=False)
        await bg.redis.flushdb()
        assert bg.worker is not None
        total = int(rate * seconds)
        start = V.now() + timedelta(seconds=1)
        step = timedelta(seconds=1 / rate)
        runs = [ScheduledRun(new_id(), "noop", {"n": i}, start + step * i) for i in range(total)]
        await bg.queue.submit(runs)
        while bg.worker.stats.finished < total:
            await asyncio.sleep(0.01)
        late = list(bg.worker.stats.lateness_ms)
        await bg.stop()
    return late


async def idle_cpu(url: str, redis_pid: int, seconds: float) -> tuple[float, float]:
    """% of one core used by this process (a worker with nothing due) and by Redis, over `seconds`."""
    app = compile_source(SOURCE)
    redis_proc = psutil.Process(redis_pid)
    async with open_test_store(app) as store:
        bg = await Background.start(app, store, redis_url=url, prefix="bench", settings=WorkerSettings())
        await bg.redis.flushdb()
        await asyncio.sleep(1.0)  # settled
        mine, theirs = PROC.cpu_times(), redis_proc.cpu_times()
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - t0
        mine2, theirs2 = PROC.cpu_times(), redis_proc.cpu_times()
        await bg.stop()
    used = (mine2.user + mine2.system - mine.user - mine.system) / elapsed * 100
    redis_used = (theirs2.user + theirs2.system - theirs.user - theirs.system) / elapsed * 100
    return max(0.0, used), max(0.0, redis_used)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="wfkit-bench-"))
    server = EmbeddedRedis(folder / "redis").start()
    settings = RedisSettings(unix_socket_path=str(server.socket))
    try:
        print(f"Redis {server.url}; {psutil.cpu_count()} cores; Python {sys.version.split()[0]}")
        print(f"\n1. no-op runs on one worker already running ({args.jobs:,} queued each, {args.rounds} rounds)")
        print("   bare arq: tuned (max_jobs=1000, poll 0.01, keep_result=0, orjson); wfkit: arq jobs, records saved")
        ratios = []
        for r in range(args.rounds):
            arq_first = r % 2 == 0  # the sides take turns to go first
            if arq_first:
                arq = await arq_runs(settings, args.jobs, 0.01)
            ours = await wfkit_runs(server.url, args.jobs)
            if not arq_first:
                arq = await arq_runs(settings, args.jobs, 0.01)
            ratios.append(ours / arq)
            print(
                f"   round {r + 1} ({'arq' if arq_first else 'wfkit'} first): bare arq {arq:7,.0f} jobs/s   "
                f"wfkit {ours:7,.0f} runs/s   ratio {ratios[-1]:.2f}"
            )
        print(f"   median ratio: {statistics.median(ratios):.2f} x bare arq (target >= 0.8)")

        print(f"\n2. scheduling a list of {args.list:,} items: a comparison of designs, not of the same work")
        scale = "" if args.arq_list == args.list else f", measured on {args.arq_list:,} and scaled"
        print(f"   wfkit: one `schedule … for each … every` (slice jobs); arq: {args.list:,} enqueue_job calls{scale}")
        for r in range(args.rounds):
            arq_first = r % 2 == 1
            arq_took = 0.0
            if arq_first and args.arq_list:
                arq_took = await arq_enqueue(settings, args.arq_list) * args.list / args.arq_list
            took, grown = await wfkit_list(server.url, args.list)
            if not arq_first and args.arq_list:
                arq_took = await arq_enqueue(settings, args.arq_list) * args.list / args.arq_list
            arq_text = f"   bare arq {arq_took:6.2f} s" if args.arq_list else ""
            print(f"   round {r + 1}: wfkit {took:6.2f} s (target < 10), RSS +{grown:.0f} MB{arq_text}")

        print(f"\n3. lateness of runs due at {args.rate:,} runs/s for {args.seconds:g} s")
        late = await lateness(server.url, args.rate, args.seconds)
        print(
            f"   p50 {pct(late, 0.5):.2f} ms   p99 {pct(late, 0.99):.2f} ms (target <= 25)   max {max(late):.2f} ms   "
            f"(mean {statistics.fmean(late):.2f} ms, {len(late):,} runs)"
        )
        assert server.process is not None
        print(f"\n4. idle CPU over {args.idle:g} s, a worker with nothing due")
        mine, theirs = await idle_cpu(server.url, server.process.pid, args.idle)
        print(f"   worker {mine:.2f} % + Redis {theirs:.2f} % = {mine + theirs:.2f} % of a core (target <= 1)")
        print(f"\n5. peak RSS of this process: {peak_mb():.0f} MB")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 1 and 2, the sides taking turns")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--list", type=int, default=1_000_000)
    parser.add_argument("--arq-list", type=int, default=20_000, help="items bare arq enqueues (0: skip)")
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--idle", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
