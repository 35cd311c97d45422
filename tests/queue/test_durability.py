"""Durability with real processes: `wf worker` killed with SIGKILL mid-run (arq runs its job again
once its in-progress mark expires, and the run resumes from its journal), the process that owns
the embedded Redis killed (runs survive in the append-only file), two workers sharing the queue
(no run twice). All on 127.0.0.1 / unix sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from backends import BACKENDS, database_url
from queue_helpers import Start, Workers, eventually, fast_settings, slow_http
from wfkit.core import values as V
from wfkit.core.scheduler import ScheduledBatch, ScheduledRun, new_id
from wfkit.core.store import Store
from wfkit.server.queue import EmbeddedRedis, Queue
from wfkit.testing import compile_source, open_test_store

# The longest @timeout in the app is 3 s: arq re-runs a killed worker's job 3 + 10 s after it started.
APP = """
type Hit {
  n: number
  by: text
}
@timeout(3 seconds)
workflow job(a: text, slow: text) {
  http_request(method: "GET", url: a)
  http_request(method: "GET", url: slow)
  log "done"
}
@timeout(3 seconds)
workflow hit(n: number) {
  create Hit(n: n, by: env("WF_TEST_WORKER"))
}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "app.wf").write_text(APP)
    return tmp_path


@pytest.fixture
def workers(folder: Path) -> Iterator[Workers]:
    env = dict(os.environ)
    env.pop("WF_REDIS_URL", None)
    env.update(WF_DATABASE_URL=f"sqlite://{folder / 'data.sqlite3'}")
    w = Workers(folder, env)
    try:
        yield w
    finally:
        w.stop_all()


@pytest.fixture
def redis_server(folder: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(folder / "redis").start()
    try:
        yield server
    finally:
        server.stop()


async def _queue(url: str) -> Queue:
    return Queue(aioredis.from_url(url))  # type: ignore[no-untyped-call]


@pytest.fixture
async def store(folder: Path) -> AsyncIterator[Store]:
    s = await Store.open(f"sqlite://{folder / 'data.sqlite3'}", compile_source(APP))
    try:
        yield s
    finally:
        await s.close()


async def _runs(store: Store, workflow: str) -> list[dict[str, object]]:
    return await store.runs.recent(workflow=workflow, limit=500)


async def test_a_run_interrupted_by_kill_9_is_retried_and_resumes(
    workers: Workers, redis_server: EmbeddedRedis, store: Store
) -> None:
    workers.env["WF_REDIS_URL"] = redis_server.url
    q = await _queue(redis_server.url)
    async with slow_http() as http:
        http.delays["/slow"] = 60.0
        first = workers.start()
        run = ScheduledRun(new_id(), "job", {"a": http.url("a"), "slow": http.url("slow")}, V.now())
        await q.submit([run])

        async def in_slow() -> bool:
            return http.hits.get("/slow", 0) == 1

        await eventually(in_slow, 30, "the worker to reach the slow call")
        workers.kill(first)
        http.delays["/slow"] = 0.0
        workers.start()

        async def finished() -> bool:
            return await store.runs.get(run.id) is not None

        await eventually(finished, 45, f"the retried run; logs:\n{workers.logs()}")
        record = await store.runs.get(run.id)
        assert record is not None and record["status"] == "success", record
        assert http.hits == {"/a": 1, "/slow": 2}  # the finished call was not made again
        assert [s["status"] for s in record["steps"]][:2] == ["replayed", "ran"]
    await q.redis.aclose()


async def test_runs_survive_kill_9_of_the_process_owning_the_embedded_redis(
    workers: Workers, folder: Path, store: Store
) -> None:
    owner = workers.start()  # no WF_REDIS_URL: it starts the embedded Redis under .wf/redis
    socket = EmbeddedRedis(folder / ".wf" / "redis").socket

    async def up() -> bool:
        return socket.exists()

    await eventually(up, 30, "the embedded Redis")
    q = await _queue(f"unix://{socket}")
    due = V.now() + timedelta(seconds=3)
    runs = [ScheduledRun(new_id(), "hit", {"n": n}, due) for n in range(20)]
    await q.submit(runs)
    await q.redis.aclose()
    workers.kill(owner)  # its Redis gets SIGTERM (it dies with its parent), writes its AOF, stops

    deadline = time.monotonic() + 10
    while socket.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not socket.exists(), "the embedded Redis outlived the process that started it"
    workers.start()  # a new Redis from the append-only file, and a worker

    async def all_ran() -> bool:
        return len(await _runs(store, "hit")) == 20

    await eventually(all_ran, 40, f"20 runs after the restart; logs:\n{workers.logs()}")
    assert {r["id"] for r in await _runs(store, "hit")} == {r.id for r in runs}
    hits = await store.search("Hit")
    assert sorted(h.data["n"] for h in hits) == list(range(20))


async def test_two_workers_share_the_runs_and_none_runs_twice(
    workers: Workers, redis_server: EmbeddedRedis, store: Store
) -> None:
    workers.env["WF_REDIS_URL"] = redis_server.url
    for name in ("one", "two"):  # each worker's runs say which worker made them (env("WF_TEST_WORKER"))
        workers.env["WF_TEST_WORKER"] = name
        workers.start()

    async def both_ready() -> bool:
        return all("up to" in log.read_text(errors="replace") for log in folder_logs(workers))

    await eventually(both_ready, 40, f"two workers; logs:\n{workers.logs()}")
    q = await _queue(redis_server.url)
    due = V.now() + timedelta(seconds=1)
    runs = [ScheduledRun(new_id(), "hit", {"n": n}, due + timedelta(milliseconds=5 * n)) for n in range(300)]
    await q.submit(runs)
    await q.redis.aclose()

    async def all_ran() -> bool:
        return len(await _runs(store, "hit")) == 300

    await eventually(all_ran, 60, f"300 runs; logs:\n{workers.logs()}")
    hits = await store.search("Hit", limit=1000)
    assert sorted(h.data["n"] for h in hits) == list(range(300))  # each run once: none lost, none twice
    by = Counter(h.data["by"] for h in hits)
    assert set(by) == {"one", "two"} and min(by.values()) >= 10, by  # both workers took a share


def folder_logs(workers: Workers) -> list[Path]:
    return sorted(workers.folder.glob("worker-*.log"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, folder: Path) -> str:
    return database_url(request.param, folder, "list.sqlite3")


async def test_a_listed_thousand_runs_complete_exactly_once_while_a_worker_is_killed(
    workers: Workers, redis_server: EmbeddedRedis, db_url: str
) -> None:
    """Two workers share the slice jobs of a 1,000-item list; one is killed with SIGKILL mid-list:
    its slice job runs again once arq's in-progress mark expires (3 s @timeout + 10 s). Every run
    completes once; an effect is repeated only by a run that was inside that very action when its
    worker died (docs/operating.md: the action running at a crash may run again, with the same
    idempotency key), so at most the killed worker's runs in flight."""
    async with open_test_store(compile_source(APP), url=db_url) as store:
        workers.env.update(WF_REDIS_URL=redis_server.url, WF_DATABASE_URL=db_url, WF_WORKER_CONCURRENCY="50")
        first = workers.start()
        workers.start()
        q = await _queue(redis_server.url)
        start = V.now() + timedelta(seconds=3)
        batch = ScheduledBatch(new_id(), "hit", {}, {"n": list(range(1000))}, 1000, start, timedelta(milliseconds=4))
        assert await q.submit([batch]) == 1000
        await q.redis.aclose()

        async def run_ids() -> list[str]:
            return [r["id"] for r in await store.query('SELECT "id" FROM "runs" WHERE "workflow" = \'hit\'', [])]

        async def some_ran() -> bool:
            return len(await run_ids()) >= 150

        await eventually(some_ran, 40, f"the first runs; logs:\n{workers.logs()}")
        killed_at = V.now()
        workers.kill(first)

        async def all_ran() -> bool:
            return len(await run_ids()) >= 1000

        await eventually(all_ran, 60, f"1,000 runs; logs:\n{workers.logs()}")
        assert sorted(await run_ids()) == sorted(batch.item_id(i) for i in range(1000))
        assert not await store.query('SELECT "id" FROM "runs" WHERE "status" <> \'success\'', [])
        hits = Counter(h.data["n"] for h in await store.search("Hit", limit=2000))
        assert sorted(hits) == list(range(1000))  # none lost
        again = [n for n, k in hits.items() if k > 1]
        assert len(again) <= 50 and all(k == 2 for k in hits.values() if k > 1)
        for n in again:  # repeated by the run that was in its action when the worker died
            record = await store.runs.get(batch.item_id(n))
            assert record is not None and V.parse_date(record["started_at"]) > killed_at


async def test_a_run_interrupted_more_than_5_times_is_failed(start_bg: Start) -> None:
    """Each stop of a worker while the run waits on its slow call interrupts it (a grace of 50 ms,
    then arq puts the job back): deliveries 2 to 6 resume it; the 7th, after a 6th interruption,
    fails the run without running it (docs/operating.md: it probably takes its worker down)."""
    app = compile_source(
        """
@timeout(60 seconds)
workflow stubborn(url: text) {
  http_request(method: "GET", url: url)
}
"""
    )
    settings = fast_settings(grace=0.05)
    async with slow_http() as http:
        http.delays["/slow"] = 30.0
        bg = await start_bg(app, settings=settings)
        prefix, store = bg.queue.prefix, bg.store
        run = ScheduledRun(new_id(), "stubborn", {"url": http.url("slow")}, V.now())
        await bg.queue.submit([run])
        for interruption in range(1, 7):

            async def in_its_call(n: int = interruption) -> bool:
                return http.hits.get("/slow", 0) == n

            await eventually(in_its_call, 15, f"delivery {interruption} of the run")
            await bg.stop()  # the run is interrupted; its job goes back to the queue
            bg = await start_bg(app, settings=settings, prefix=prefix, store=store)

        async def failed() -> bool:
            return await store.runs.get(run.id) is not None

        await eventually(failed, 15, "the run's record")
        record = await store.runs.get(run.id)
        assert record is not None and record["status"] == "failed", record
        assert record["error"]["message"] == "the run was interrupted 6 times (did it take its worker down?)"
        assert http.hits == {"/slow": 6}  # the 7th delivery did not run it


PATIENT = """
@timeout(30 seconds)
workflow patient(url: text) {
  http_request(method: "GET", url: url)
  log "done"
}
"""


async def test_sigterm_gives_running_runs_10_s_and_puts_the_rest_back_at_once(
    workers: Workers, redis_server: EmbeddedRedis, folder: Path
) -> None:
    """docs/operating.md: on SIGTERM a worker stops starting jobs, gives running runs 10 s, and puts
    the rest back in the queue, due at once. A run of 3 s finishes in the grace period; one of 40 s
    goes back and another worker runs it at once (not after its in-progress mark's 30 + 10 s)."""
    (folder / "app.wf").write_text(PATIENT)
    workers.env["WF_REDIS_URL"] = redis_server.url
    first = workers.start()
    q = await _queue(redis_server.url)
    store = await Store.open(f"sqlite://{folder / 'data.sqlite3'}")
    async with contextlib.aclosing(q.redis), store, slow_http() as http:
        http.delays.update({"/short": 3.0, "/long": 40.0})
        short, long = (ScheduledRun(new_id(), "patient", {"url": http.url(p)}, V.now()) for p in ("short", "long"))
        await q.submit([short, long])

        async def both_running() -> bool:
            return http.hits.get("/short") == 1 and http.hits.get("/long") == 1

        await eventually(both_running, 40, f"the two runs to start; logs:\n{workers.logs()}")
        first.send_signal(signal.SIGTERM)
        told = time.monotonic()
        later = ScheduledRun(new_id(), "patient", {"url": http.url("later")}, V.now() + timedelta(seconds=1))
        await q.submit([later])  # due while the worker is stopping: it is not started
        await asyncio.to_thread(first.wait, 30)
        stopped_after = time.monotonic() - told
        assert 9.0 < stopped_after < 15.0, f"stopped {stopped_after:.1f} s after SIGTERM; logs:\n{workers.logs()}"
        record = await store.runs.get(short.id)
        assert record is not None and record["status"] == "success"  # it finished in the grace period
        assert await store.runs.get(long.id) is None and "/later" not in http.hits

        http.delays["/long"] = 0.0
        workers.start()
        restarted = time.monotonic()

        async def all_done() -> bool:
            return all([await store.runs.get(r.id) for r in (long, later)])

        await eventually(all_done, 20, f"the long and the later run; logs:\n{workers.logs()}")
        assert time.monotonic() - restarted < 15  # the long run was due at once, not after 40 s
        for r in (long, later):
            record = await store.runs.get(r.id)
            assert record is not None and record["status"] == "success", record
        assert http.hits == {"/short": 1, "/long": 2, "/later": 1}
