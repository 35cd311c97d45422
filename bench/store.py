"""Store throughput: workflows that `create` and `search` through wfkit, against bare tortoise doing
the same inserts and the same query on the same database in the same run.

    python bench/store.py [--url sqlite:///tmp/bench.sqlite3 | postgres://…] [--creates 2000]
                          [--rows 20000] [--searches 200]

wfkit's side is the whole path: a compiled workflow run by the executor (run record, journal,
type checks, privacy lookup), the store's SQL. The bare side is tortoise's model API
(`ThingRow.create`) and a queryset with a `RawSQL` annotation.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would hide the standard library's `http` from this script's imports: leave the
# bench folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import os
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import RawSQL
from wfkit.core.executor import Executor
from wfkit.core.services import Services
from wfkit.core.store import Store, ThingRow, new_thing_id
from wfkit.core.store.codec import iso
from wfkit.core.store.sql import index_expr
from wfkit.core.types import NUMBER
from wfkit.testing import compile_source

SOURCE = """
type Order {
  title: text
  amount: number = 0
  paid: boolean = false
}

workflow add(t: text, a: number, p: boolean) {
  o = create Order(title: t, amount: a, paid: p)
}

workflow big(min: number) {
  let found = search Order where paid == false and amount > min order by amount desc limit 100
  return { n: count(found) }
}
"""


async def timed(n: int, fn: Callable[[int], Awaitable[Any]]) -> float:
    """Calls per second of `fn(i)` for i in range(n)."""
    start = time.perf_counter()
    for i in range(n):
        await fn(i)
    return n / (time.perf_counter() - start)


async def main(url: str, creates: int, rows: int, searches: int) -> None:
    app = compile_source(SOURCE)
    services = Services()  # one, shared by the store and the executor, as in a server process
    store = await Store.open(url, app, services=services)
    try:
        for table in ("things", "users", "tokens", "outbox"):
            await store.execute(f'DELETE FROM "{table}"')
        executor = Executor(app, services)
        rng = random.Random(7)
        amounts = [rng.randint(1, 1000) for _ in range(max(creates, rows))]

        async def wf_create(i: int) -> None:
            record = await executor.run("add", {"t": f"order {i}", "a": amounts[i], "p": i % 2 == 0})
            assert record.ok, record.error

        async def bare_create(i: int) -> None:
            now = iso(datetime.now(UTC))
            data = {"title": f"order {i}", "amount": amounts[i], "paid": i % 2 == 0}
            await ThingRow.create(id=new_thing_id(), type="Order", data=data, created_at=now, modified_at=now)

        ctx = store.tortoise_context
        with ctx:
            wf_creates = await timed(creates, wf_create)
            bare_creates = await timed(creates, bare_create)
            # fill up to `rows` Orders for the search (in one transaction: only the data matters here)
            missing = rows - 2 * creates
            if missing > 0:
                now = iso(datetime.now(UTC))
                batch = [
                    ThingRow(
                        id=new_thing_id(),
                        type="Order",
                        data={"title": f"filler {i}", "amount": amounts[i % len(amounts)], "paid": i % 3 == 0},
                        created_at=now,
                        modified_at=now,
                        created_by=None,
                    )
                    for i in range(missing)
                ]
                await ThingRow.bulk_create(batch, batch_size=1000)
            total = await store.count("Order")
            # the first search makes the expression index; the bare query uses the same expression
            await executor.run("big", {"min": 10})
            expr = index_expr(store.dialect, "amount", NUMBER) or ""
            amount = RawSQL(expr)
            if store.dialect.name == "postgres":  # tortoise writes DESC without NULLS LAST: its own index
                await store.execute(f'CREATE INDEX IF NOT EXISTS "bench_bare_amount" ON "things" ("type", {expr})')
            paid = "json_extract(\"data\",'$.paid')"
            if store.dialect.name == "postgres":
                paid = "(CASE WHEN jsonb_typeof(\"data\"->'paid')='boolean' THEN (\"data\"->>'paid')::boolean END)"

            async def wf_search(i: int) -> None:
                record = await executor.run("big", {"min": 10 + i % 50})
                assert record.ok and record.response is not None and record.response["n"] == 100, record.error

            def bare_query(i: int) -> Any:
                return (
                    ThingRow.filter(type="Order")
                    .annotate(amount=amount, paid=RawSQL(paid))
                    .filter(paid=False, amount__gt=10 + i % 50)
                    .order_by("-amount", "-id")
                    .limit(100)
                )

            async def bare_search(i: int) -> None:
                assert len(await bare_query(i)) == 100

            async def bare_search_values(i: int) -> None:
                found = await bare_query(i).values("id", "type", "data", "created_at", "modified_at", "created_by")
                assert len(found) == 100

            wf_searches = await timed(searches, wf_search)
            bare_searches = await timed(searches, bare_search)
            bare_values = await timed(searches, bare_search_values)
    finally:
        await store.close()

    print(f"database: {store.dialect.name}, {total:,} Orders for the search")
    print(f"create  wfkit workflow  {wf_creates:10,.0f} /s")
    print(f"create  bare tortoise   {bare_creates:10,.0f} /s   wfkit/bare = {wf_creates / bare_creates:.2f}")
    print(f"search  wfkit workflow  {wf_searches:10,.0f} /s   (limit 100, things hydrated)")
    print(f"search  bare models     {bare_searches:10,.0f} /s   wfkit/bare = {wf_searches / bare_searches:.2f}")
    print(f"search  bare .values()  {bare_values:10,.0f} /s   wfkit/bare = {wf_searches / bare_values:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="a database URL (default: a new SQLite file)")
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--searches", type=int, default=200)
    ns = parser.parse_args()
    folder = None
    url = ns.url
    if url is None:
        folder = tempfile.mkdtemp(prefix="wfkit-bench-")
        url = f"sqlite://{os.path.join(folder, 'bench.sqlite3')}"
    try:
        asyncio.run(main(url, ns.creates, ns.rows, ns.searches))
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
