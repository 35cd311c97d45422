"""A durable run journal: one Redis hash per run (`PREFIX:journal:RUN`, path → JSON result).

A background run's journal is dropped once its record is saved, with its arq job, so a
crash at any point before that resumes it without redoing its finished actions. Journals of runs
that never finish (an HTTP run that failed) expire after `TTL_S`.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

TTL_S = 7 * 86400


class RedisJournal:
    def __init__(self, redis: aioredis.Redis, prefix: str = "wfkit") -> None:
        self.redis: Any = redis  # redis-py's asyncio types are sync|async unions
        self.prefix = prefix
        self.fresh: set[str] = set()  # first attempts: nothing journaled yet, no need to ask
        self.held: set[str] = set()  # runs whose journal goes with their job, not at the end of the run

    def key(self, run_id: str) -> str:
        return f"{self.prefix}:journal:{run_id}"

    async def load(self, run_id: str) -> dict[str, Any]:
        if run_id in self.fresh:
            self.fresh.discard(run_id)
            return {}
        raw = await self.redis.hgetall(self.key(run_id))
        return {(k.decode() if isinstance(k, bytes) else k): orjson.loads(v) for k, v in raw.items()}

    async def save(self, run_id: str, path: str, result: Any) -> None:
        key = self.key(run_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, path, orjson.dumps(result))
        pipe.expire(key, TTL_S)
        await pipe.execute()

    async def forget(self, run_id: str) -> None:
        if run_id in self.held:
            return
        await self.redis.delete(self.key(run_id))
