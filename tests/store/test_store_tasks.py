"""One store serves many tasks at once (a server's requests, its triggers, its worker)."""

from __future__ import annotations

import asyncio

from backends import OpenStore


async def test_transactions_in_concurrent_tasks_do_not_trip_over_each_other(open_store: OpenStore) -> None:
    async with open_store(None) as store:

        async def one(n: int) -> int:
            async with store.transaction() as tx:
                await asyncio.sleep(0.005 * (n % 3))  # interleave the tasks inside their transactions
                rows = await store.query(f"SELECT {n} AS n", on=tx)
                return int(rows[0]["n"])

        assert await asyncio.gather(*(one(n) for n in range(8))) == list(range(8))
