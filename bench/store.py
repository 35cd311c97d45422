"""Store throughput: workflows that `create` and `search` through wfkit, against bare tortoise doing
the same inserts and the same query on the same database in the same run.

    python bench/store.py [--url sqlite:///tmp/bench.sqlite3 | postgres://…] [--rounds 3]
                          [--creates 1000] [--rows 20000] [--searches 100]

wfkit's side is a compiled workflow run by the executor (arguments converted, type checks, the
privacy lookup, the run's record built in memory) and the store's SQL. The record is not saved:
`wf serve` saves records in batches beside the requests, which bench/http.py measures. The bare
side is tortoise's model API (`ThingRow.create`) and a queryset with a `RawSQL` annotation, also
with `.values()` (no model objects).

Each measure runs --rounds times, the sides taking turns to go first (creates) or rotating
(searches); every round is printed, then the median of the rounds' ratios. Both sides search once
before the clock starts (the first wfkit search makes the expression index the bare query uses).
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
import statistics
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


async def rounds(
    title: str, rounds: int, n: int, sides: list[tuple[str, Callable[[int], Awaitable[Any]]]]
) -> dict[str, list[float]]:
    """`rounds` rounds of `n` calls of each side, the order rotating each round; every round printed
    with each side's ratio to the first (wfkit), then the medians."""
    got: dict[str, list[float]] = {name: [] for name, _ in sides}
    print(f"{title} ({n:,} calls per side per round)")
    for r in range(rounds):
        order = sides[r % len(sides) :] + sides[: r % len(sides)]
        for name, fn in order:
            got[name].append(await timed(n, lambda i, fn=fn, r=r: fn(r * n + i)))
        wf = got[sides[0][0]][-1]
        parts = [f"{name} {got[name][-1]:8,.0f} /s" for name, _ in sides]
        ratios = [f"wfkit/{name} {wf / got[name][-1]:.2f}" for name, _ in sides[1:]]
        print(f"  round {r + 1} ({order[0][0]} first): " + "   ".join(parts) + "   " + "   ".join(ratios))
    wf_runs = got[sides[0][0]]
    for name, _ in sides[1:]:
        ratio = statistics.median(a / b for a, b in zip(wf_runs, got[name], strict=True))
        print(
            f"  median wfkit/{name}: {ratio:.2f}   (medians: wfkit {statistics.median(wf_runs):,.0f} /s, "
            f"{name} {statistics.median(got[name]):,.0f} /s)"
        )
    return got


async def main(url: str, n_rounds: int, creates: int, rows: int, searches: int) -> None:
    app = compile_source(SOURCE)
    services = Services()  # one, shared by the store and the executor, as in a server process
    store = await Store.open(url, app, services=services)
    try:
        for table in ("things", "users", "tokens", "outbox"):
            await store.execute(f'DELETE FROM "{table}"')
        executor = Executor(app, services)
        rng = random.Random(7)
        amounts = [rng.randint(1, 1000) for _ in range(max(creates * n_rounds, rows))]

        async def wf_create(i: int) -> None:
            record = await executor.run("add", {"t": f"order {i}", "a": amounts[i], "p": i % 2 == 0})
            assert record.ok, record.error

        async def bare_create(i: int) -> None:
            now = iso(datetime.now(UTC))
            data = {"title": f"order {i}", "amount": amounts[i], "paid": i % 2 == 0}
            await ThingRow.create(id=new_thing_id(), type="Order", data=data, created_at=now, modified_at=now)

        print(f"database: {store.dialect.name}")
        ctx = store.tortoise_context
        with ctx:
            await rounds(
                "create one Order", n_rounds, creates, [("wfkit workflow", wf_create), ("bare tortoise", bare_create)]
            )
            # fill up to `rows` Orders for the search (in one transaction: only the data matters here)
            missing = rows - 2 * creates * n_rounds
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
            # the first wfkit search makes the expression index; the bare query uses the same expression
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

            for warm_up in (wf_search, bare_search, bare_search_values):  # every side once, untimed
                await warm_up(0)
            await rounds(
                f"search 100 of {total:,} Orders (where paid == false and amount > N order by amount desc)",
                n_rounds,
                searches,
                [
                    ("wfkit workflow", wf_search),
                    ("bare models", bare_search),
                    ("bare .values()", bare_search_values),
                ],
            )
    finally:
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="a database URL (default: a new SQLite file)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--creates", type=int, default=1000, help="per side per round")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--searches", type=int, default=100, help="per side per round")
    ns = parser.parse_args()
    folder = None
    url = ns.url
    if url is None:
        folder = tempfile.mkdtemp(prefix="wfkit-bench-")
        url = f"sqlite://{os.path.join(folder, 'bench.sqlite3')}"
    try:
        asyncio.run(main(url, ns.rounds, ns.creates, ns.rows, ns.searches))
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
