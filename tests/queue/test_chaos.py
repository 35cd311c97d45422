"""Chaos: issue 17's scenario at a size CI can afford. A real `wf serve --workers 2` (owning the
embedded Redis) and two `wf worker`s share one Redis and one database; concurrent HTTP calls of
`fan` schedule thousands of `work` runs, each creating one Item, and one `wf worker` is killed with
SIGKILL while they run. Its jobs come back once arq's in-progress marks expire (the longest
@timeout, 2 s, + 10 s) and resume. Then every item exists exactly once (rows == distinct == items:
an effect committed before the kill is replayed, never repeated) and every run record is truthful
(one per run, success, its step `ran` or `replayed`). On SQLite, and on PostgreSQL with
WF_TEST_POSTGRES_URL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import pytest
from backends import BACKENDS, database_url
from processes import wf
from queue_helpers import Workers, eventually, serving
from wfkit.core import values as V
from wfkit.core.store import Store
from wfkit.server.queue import EmbeddedRedis
from wfkit.testing import compile_source, open_test_store

# Every workflow has a short @timeout: a killed worker's jobs run again 2 + 10 s after they started.
APP = """
type Item {
  n: number
}
@exposed(auth: admin)
@timeout(2 seconds)
workflow fan(items: list of number) {
  schedule work(n: i) for each i in items every 0.005 seconds
}
@timeout(2 seconds)
workflow work(n: number) {
  create Item(n: n)
}
"""

FANS = 10  # concurrent `fan` calls
PER_FAN = 400  # items each: 4,000 runs, 2,000 a second for 2 s
SPACING_S = 0.005
KILL_AT = 0.5  # the worker dies this far into the runs' span (while they run)
RECOVERY_S = 45.0  # a bound on the wait for every record (12 s of in-progress expiry, and slack)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _tally(store: Store) -> dict[str, Any]:
    """What the database holds: the Items' numbers and the `work` runs' records."""
    items = [
        orjson.loads(r["data"]) if isinstance(r["data"], str | bytes) else r["data"]
        for r in await store.query('SELECT "data" FROM "things" WHERE "type" = \'Item\'', [])
    ]
    rows = await store.query('SELECT * FROM "runs" WHERE "workflow" = \'work\'', [])
    runs = [{**row, "record": store.runs.decode(row)} for row in rows]  # every step, as the meta API shows it
    fans = await store.query(
        'SELECT "status", COUNT(*) AS "n" FROM "runs" WHERE "workflow" = \'fan\' GROUP BY "status"', []
    )
    return {"ns": Counter(d["n"] for d in items), "runs": runs, "fans": [(f["status"], int(f["n"])) for f in fans]}


async def _records(store: Store) -> int:
    rows = await store.query('SELECT COUNT(*) AS "n" FROM "runs" WHERE "workflow" = \'work\'', [])
    return int(rows[0]["n"])


async def test_a_worker_killed_under_load_repeats_no_effect_and_every_record_tells_the_truth(
    tmp_path: Path, backend: str
) -> None:
    began = time.monotonic()
    (tmp_path / "app.wf").write_text(APP)
    db_url = database_url(backend, tmp_path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WF_DATABASE_URL": db_url}
    env.pop("WF_REDIS_URL", None)  # `wf serve` starts the embedded Redis under .wf/redis
    env.pop("WF_REDIS_PORT", None)
    items = FANS * PER_FAN
    async with open_test_store(compile_source(APP), url=db_url) as store:  # empty (PostgreSQL's is shared)
        token = await asyncio.to_thread(_admin_token, tmp_path, env)
        workers = Workers(tmp_path, {**env, "WF_REDIS_URL": EmbeddedRedis(tmp_path / ".wf" / "redis").url})
        with serving(tmp_path, env, "--workers", "2") as url:
            try:  # the `wf worker`s stop before the server, whose process owns the Redis they use
                pair = [workers.start(), workers.start()]  # on the server's Redis, after it started it

                async def up() -> bool:
                    if any(w.poll() is not None for w in pair):
                        raise AssertionError(f"a worker did not start:\n{workers.logs()}")
                    return workers.logs().count("wf worker: app.wf") == 2  # (printed once connected)

                try:
                    await eventually(up, 30, "the workers")
                except AssertionError as e:
                    raise AssertionError(f"{e}\n{_logs(tmp_path, workers)}") from None
                headers = {"Authorization": f"Bearer {token}"}
                async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
                    calls = [
                        http.post("/api/1.1/wf/fan", json={"items": list(range(k * PER_FAN, (k + 1) * PER_FAN))})
                        for k in range(FANS)
                    ]
                    t0 = time.monotonic()
                    answers = await asyncio.gather(*calls)
                assert [a.status_code for a in answers] == [200] * FANS, [a.text for a in answers]
                victim = await _busy_one(pair, t0 + KILL_AT * PER_FAN * SPACING_S)
                assert victim.poll() is None, f"the worker died by itself:\n{workers.logs()}"
                workers.kill(victim)
                killed_wall = V.now()
                killed_after = time.monotonic() - t0
                at_kill = await _records(store)
                assert at_kill < items, "the kill came after every run: it tested nothing"

                async def all_recorded() -> bool:
                    return await _records(store) >= items

                try:
                    await eventually(all_recorded, RECOVERY_S, f"{items} run records")
                except AssertionError as e:
                    raise AssertionError(f"{e} ({await _records(store)})\n{_logs(tmp_path, workers)}") from None
                recovered = time.monotonic() - t0 - killed_after
                await asyncio.sleep(0.5)  # (any late duplicate would have landed by now)
                tally = await _tally(store)
            finally:
                workers.stop_all()

    ns: Counter[Any] = tally["ns"]
    runs: list[dict[str, Any]] = tally["runs"]
    fans: list[tuple[str, int]] = tally["fans"]
    steps: Counter[str] = Counter()
    bad: list[str] = []
    late = killed_wall + timedelta(seconds=5)  # the killed worker's runs ran again 10 s after its death
    again = 0
    for r in runs:
        record = r["record"]
        st = [s["status"] for s in record["steps"]]
        steps.update(st)
        rerun = V.parse_date(r["started_at"]) > late
        again += rerun
        if r["status"] != "success" or record.get("error") or st not in (["ran"], ["replayed"]):
            bad.append(f"{r['id']}: {r['status']} {st} {record.get('error')}")
        elif st == ["replayed"] and not rerun:  # only a run that was interrupted has anything to replay
            bad.append(f"{r['id']}: replayed, but started at {r['started_at']}, before it could be run again")
    twice = {n: k for n, k in ns.items() if k > 1}
    print(
        f"\nchaos[{backend}]: items={items} rows={sum(ns.values())} distinct={len(ns)} runs={len(runs)} "
        f"distinct_runs={len({r['id'] for r in runs})} replayed={steps['replayed']} ran={steps['ran']} "
        f"run_again={again} records_at_kill={at_kill} killed_at={killed_after:.2f}s "
        f"all_recorded_after_kill={recovered:.1f}s took={time.monotonic() - began:.1f}s"
    )
    assert not twice, f"{len(twice)} items exist more than once: {sorted(twice.items())[:20]}"
    assert sorted(ns) == list(range(items))  # rows == distinct == items: none lost, none twice
    assert len(runs) == len({r["id"] for r in runs}) == items  # one record per run
    assert not bad, f"{len(bad)} untruthful records: {bad[:10]}"  # each a success: its one step ran or replayed
    assert fans == [("success", FANS)], fans  # the HTTP runs that scheduled them


def _logs(folder: Path, workers: Workers) -> str:
    return f"wf worker:\n{workers.logs()}\nwf serve:\n{(folder / 'serve.log').read_text(errors='replace')}"


def _cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


async def _busy_one(pair: list[subprocess.Popen[bytes]], at: float) -> subprocess.Popen[bytes]:
    """From `at` (monotonic) on, the first of the workers seen running runs (over a third of a core
    in the last 50 ms): the one to kill while it has runs in flight. The busier one after 0.5 s."""
    before = {p.pid: _cpu(p.pid) for p in pair}
    await asyncio.sleep(max(0.05, at - time.monotonic()))
    while True:
        used = {p.pid: _cpu(p.pid) - before[p.pid] for p in pair}
        busiest = max(pair, key=lambda p: used[p.pid])
        if used[busiest.pid] > 0.017 or time.monotonic() > at + 0.5:
            return busiest
        before = {p.pid: _cpu(p.pid) for p in pair}
        await asyncio.sleep(0.05)


def _admin_token(folder: Path, env: dict[str, str]) -> str:
    return wf("token", "create", "--name", "chaos", cwd=folder, env=env).stdout.strip()
