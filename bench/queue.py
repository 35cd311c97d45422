"""Background runs against bare arq, in one process and one run, on one embedded Redis (unix socket):

1. no-op jobs/s: bare arq (max_jobs=1000) vs wfkit scheduled no-op runs (records saved) on one worker;
2. scheduling a list: `schedule noop(n: item) for each item in items every …` over --list items
   vs bare arq enqueueing the same count (100 at a time);
3. lateness (start - due) of runs due at --rate runs/s: p50 / p99;
4. peak RSS.

    python bench/queue.py [--jobs 10000] [--list 1000000] [--rate 1000] [--seconds 5]

Targets (issue 5): wfkit runs/s ≥ bare arq's; 1,000,000 items listed in < 10 s; lateness p99 ≤ 25 ms.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file is named queue.py: keep the bench folder off sys.path, or it hides the standard library's `queue`
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import gc
import resource
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

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


async def arq_runs(settings: RedisSettings, jobs: int, poll_delay: float) -> float:
    pool = await create_pool(settings)
    await pool.flushdb()
    for i in range(0, jobs, 100):
        await asyncio.gather(*(pool.enqueue_job("noop", n) for n in range(i, min(i + 100, jobs))))
    worker = ArqWorker(
        functions=[noop],  # type: ignore[list-item]
        redis_settings=settings,
        max_jobs=1000,
        burst=True,
        handle_signals=False,
        keep_result=0,
        poll_delay=poll_delay,
    )
    t0 = time.perf_counter()
    await worker.async_run()
    elapsed = time.perf_counter() - t0
    await worker.close()
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
    app = compile_source(SOURCE)
    async with open_test_store(app) as store:
        settings = WorkerSettings(max_jobs=1000, claim_batch=500, poll_delay=0.01)
        bg = await Background.start(app, store, redis_url=url, prefix="bench", settings=settings, recurring=False)
        await bg.redis.flushdb()
        await bg.pause()
        now = V.now()
        runs = [ScheduledRun(new_id(), "noop", {"n": n}, now) for n in range(jobs)]
        await bg.queue.submit(runs)
        assert bg.worker is not None
        t0 = time.perf_counter()
        await bg.resume()
        while bg.worker.stats.finished < jobs:
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - t0
        saved = len(await store.runs.recent(workflow="noop", limit=10))
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
        settings = WorkerSettings(max_jobs=1000, poll_delay=0.01, track_lateness=True)
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


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="wfkit-bench-"))
    server = EmbeddedRedis(folder / "redis").start()
    settings = RedisSettings(unix_socket_path=str(server.socket))
    try:
        print(f"Redis {server.url}; {psutil.cpu_count()} cores; Python {sys.version.split()[0]}")
        print(f"\n1. no-op runs on one worker ({args.jobs:,} each)")
        arq_default = await arq_runs(settings, args.jobs, 0.5)
        arq_tuned = await arq_runs(settings, args.jobs, 0.01)
        ours = await wfkit_runs(server.url, args.jobs)
        print(f"   bare arq, max_jobs=1000, poll_delay=0.5 : {arq_default:9,.0f} jobs/s")
        print(f"   bare arq, max_jobs=1000, poll_delay=0.01: {arq_tuned:9,.0f} jobs/s")
        print(f"   wfkit scheduled runs (records saved)    : {ours:9,.0f} runs/s  ({ours / arq_default:.2f}x, ")
        print(f"                                             {ours / arq_tuned:.2f}x the tuned arq)")

        print(f"\n2. scheduling a list of {args.list:,} items")
        took, grown = await wfkit_list(server.url, args.list)
        print(f"   wfkit `schedule … for each … every`     : {took:7.2f} s  (RSS +{grown:.0f} MB during the run)")
        if args.arq_list:
            arq_took = await arq_enqueue(settings, args.arq_list)
            scaled = arq_took * args.list / args.arq_list
            note = "" if args.arq_list == args.list else f" (measured on {args.arq_list:,}, scaled)"
            print(f"   bare arq enqueue_job, 100 at a time     : {scaled:7.2f} s{note}  ({scaled / took:.0f}x slower)")

        print(f"\n3. lateness of runs due at {args.rate:,} runs/s for {args.seconds:g} s")
        late = await lateness(server.url, args.rate, args.seconds)
        print(
            f"   p50 {pct(late, 0.5):.2f} ms   p99 {pct(late, 0.99):.2f} ms   max {max(late):.2f} ms   "
            f"(mean {statistics.fmean(late):.2f} ms, {len(late):,} runs)"
        )
        print(f"\n4. peak RSS of this process: {peak_mb():.0f} MB")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--list", type=int, default=1_000_000)
    parser.add_argument("--arq-list", type=int, default=1_000_000, help="items bare arq enqueues (0: skip)")
    parser.add_argument("--rate", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    asyncio.run(main(parser.parse_args()))
