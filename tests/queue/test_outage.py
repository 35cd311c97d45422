"""Outages, logged quietly (docs/operating.md "When things fail"): a `wf worker` whose Redis stops for
3 s logs one line when it goes and one when it is back, with a timestamp and the process on every
line and no traceback, and the runs that were queued then complete. The run recorder of `wf serve`
keeps records while the database is unreachable and saves them once it answers."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from queue_helpers import Workers, eventually, fast_settings, serving
from tortoise.exceptions import DBConnectionError
from wfkit.core import values as V
from wfkit.core.runs import RunRecord
from wfkit.core.scheduler import ScheduledRun, new_id
from wfkit.core.services import Services
from wfkit.core.store import Store
from wfkit.plugins.manager import get_registry
from wfkit.server import outage
from wfkit.server.queue import Background, EmbeddedRedis, Queue
from wfkit.server.state import RunRecorder
from wfkit.testing import compile_source, open_test_store

APP = """
type Hit {
  n: number
}
workflow hit(n: number) {
  create Hit(n: n)
}
workflow tick() {
  log "tick"
}
every 1 second run tick()
"""

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z worker\[\d+\] (INFO|WARNING|ERROR) [\w.]+: ")


@pytest.fixture(autouse=True)
def no_outage_yet() -> None:
    outage.forget()  # one left over by another test in this process would hide this one's first line


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "app.wf").write_text(APP)
    return tmp_path


async def test_a_redis_outage_is_two_lines_and_the_queued_runs_then_run(folder: Path) -> None:
    redis_server = EmbeddedRedis(folder / "redis").start()
    database = f"sqlite://{folder / 'data.sqlite3'}"
    workers = Workers(
        folder, dict(os.environ, PYTHONUNBUFFERED="1", WF_REDIS_URL=redis_server.url, WF_DATABASE_URL=database)
    )
    try:
        workers.start()

        async def connected() -> bool:
            return "wf worker: app.wf" in workers.logs()

        await eventually(connected, 30, "the worker to start")
        q = Queue(aioredis.from_url(redis_server.url))  # type: ignore[no-untyped-call]
        due = V.now() + timedelta(seconds=1)  # due while Redis is down
        runs = [ScheduledRun(new_id(), "hit", {"n": n}, due + timedelta(milliseconds=10 * n)) for n in range(20)]
        await q.submit(runs)
        await q.redis.aclose()

        assert redis_server.process is not None
        pid = redis_server.process.pid
        redis_server.stop()  # SIGTERM to its pid: it writes its append-only file and exits
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        await asyncio.sleep(3.0)
        redis_server = EmbeddedRedis(folder / "redis").start()  # the same folder, so the same socket
        restarted = V.now()

        async with await Store.open(database, compile_source(APP)) as store:

            async def all_ran() -> bool:
                return len(await store.runs.recent(workflow="hit", limit=100)) == 20

            await eventually(all_ran, 40, f"the 20 queued runs; logs:\n{workers.logs()}")
            hits = await store.search("Hit", limit=100)
            assert sorted(h.data["n"] for h in hits) == list(range(20))

            async def ticking() -> bool:  # the recurring event fires again (the ticker waited it out)
                ticks = await store.runs.recent(workflow="tick", limit=100)
                return any(t["started_at"] > V.iso(restarted) for t in ticks)

            await eventually(ticking, 10, f"a tick after the outage; logs:\n{workers.logs()}")
    finally:
        workers.stop_all()
        redis_server.stop()
    log = workers.logs()
    lines = log.splitlines()
    assert sum("the queue's Redis is unreachable" in line for line in lines) == 1, log
    assert sum("the queue's Redis is back after" in line for line in lines) == 1, log
    assert "Traceback" not in log, log
    assert all(LINE.match(line) for line in lines), log
    assert lines[-1].endswith("wf worker: stopped")


class FlakyRuns:
    """`store.runs` whose saves fail as an unreachable database would, until `up`."""

    def __init__(self) -> None:
        self.up = False
        self.saved: list[str] = []
        self.tries = 0

    async def save(self, records: list[RunRecord]) -> None:
        self.tries += 1
        if not self.up:
            raise DBConnectionError("connection refused")
        self.saved += [r.id for r in records]


class FlakyStore:
    def __init__(self) -> None:
        self.runs = FlakyRuns()


async def test_run_records_wait_out_a_database_outage(caplog: pytest.LogCaptureFixture) -> None:
    store: Any = FlakyStore()
    recorder = RunRecorder(store, interval=0.01)
    caplog.set_level(logging.INFO, logger="wfkit")
    records = [RunRecord(new_id(), "w", "api", V.now(), {}, None, 1) for _ in range(5)]
    for r in records[:3]:
        recorder.add(r)
    await asyncio.sleep(1.0)  # tries at 0.2, 0.4, 0.8 s: backoff, not every 10 ms
    assert 2 <= store.runs.tries <= 5
    for r in records[3:]:
        recorder.add(r)
    store.runs.up = True
    deadline = time.monotonic() + 10
    while len(store.runs.saved) < 5 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await recorder.close()
    assert store.runs.saved == [r.id for r in records]  # in order, none lost
    messages = [r.getMessage() for r in caplog.records if r.name == "wfkit.outage"]
    assert len(messages) == 2, messages
    assert messages[0].startswith("the database is unreachable (DBConnectionError: connection refused)")
    assert re.match(r"the database is back after \d+\.\d s \(\d+ failed tries; 5 run records waited\)", messages[1])
    assert not outage.watch(outage.DATABASE).down


TRIGGERS = """
type Order {
  title: text
}
type Audit {
  what: text
}
workflow created(title: text) {
  create Audit(what: title)
}
on create Order run created(title: this.title)
"""


async def test_triggered_runs_wait_out_a_redis_outage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, db_url: str
) -> None:
    """Things created while Redis is down: their triggered runs wait in the process, are submitted
    once it is back, and run; the outage is one line each way, with how many runs waited."""
    caplog.set_level(logging.INFO, logger="wfkit")
    redis_server = EmbeddedRedis(tmp_path / "redis").start()
    app = compile_source(TRIGGERS)
    async with open_test_store(app, url=db_url) as store:
        services = Services(store=store, hooks=get_registry())
        bg = await Background.start(app, store, redis_url=redis_server.url, services=services, settings=fast_settings())
        try:
            redis_server.stop()
            for i in range(5):  # committed in the database; their runs cannot be queued yet
                await store.create("Order", {"title": f"order {i}"})
            assert len(bg.listener.waiting) == 5
            await asyncio.sleep(1.0)
            redis_server = EmbeddedRedis(tmp_path / "redis").start()

            async def audited() -> bool:
                return len(await store.search("Audit")) == 5

            await eventually(audited, 20, "the 5 triggered runs")
            assert sorted(a.data["what"] for a in await store.search("Audit")) == [f"order {i}" for i in range(5)]
        finally:
            await bg.stop()
            redis_server.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "wfkit.outage"]
    assert sum("the queue's Redis is unreachable" in m for m in messages) == 1, messages
    back = [m for m in messages if "the queue's Redis is back" in m]
    assert len(back) == 1 and "5 triggered runs waited" in back[0], messages
    assert not [r for r in caplog.records if r.exc_info], "no traceback"


PLANNER = """
@exposed(auth: none)
workflow plan() {
  h = schedule later() in 1 hour
  return { id: h.id }
}
workflow later() {
  log "later"
}
"""


def test_healthz_answers_503_naming_the_queue_while_redis_is_down(tmp_path: Path) -> None:
    """docs/http.md: /healthz answers 200 while the server, the database and the queue are
    reachable, 503 otherwise; docs/operating.md: a call that fails only because Redis is unreachable
    answers 503 SERVICE_UNAVAILABLE with Retry-After: 1."""
    (tmp_path / "app.wf").write_text(PLANNER)
    redis_server = EmbeddedRedis(tmp_path / "redis").start()
    env = dict(os.environ, WF_REDIS_URL=redis_server.url, WF_DATABASE_URL=f"sqlite://{tmp_path / 'data.sqlite3'}")
    try:
        with serving(tmp_path, env) as url, httpx.Client(base_url=url, timeout=10) as c:
            assert c.get("/healthz").json() == {"status": "ok", "database": "ok", "queue": "ok"}
            assert c.post("/api/1.1/wf/plan").status_code == 200
            redis_server.stop()
            down = _until(lambda: c.get("/healthz"), lambda r: r.status_code != 200)
            assert down.status_code == 503, down.text
            assert down.json() == {"status": "unavailable", "database": "ok", "queue": "unreachable"}
            refused = c.post("/api/1.1/wf/plan")
            assert refused.status_code == 503, refused.text
            assert refused.json()["body"]["status"] == "SERVICE_UNAVAILABLE"
            assert refused.headers["Retry-After"] == "1"
            redis_server = EmbeddedRedis(tmp_path / "redis").start()  # the same socket
            up = _until(lambda: c.get("/healthz"), lambda r: r.status_code == 200)
            assert up.json() == {"status": "ok", "database": "ok", "queue": "ok"}
            assert c.post("/api/1.1/wf/plan").status_code == 200
    finally:
        redis_server.stop()


def _until(get: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool]) -> httpx.Response:
    """`get()` again until `done` holds for its answer (at most 15 s)."""
    deadline = time.monotonic() + 15
    while not done(r := get()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return r
