"""The durable queue of scheduled runs in Redis (the key layout is in `scripts.py`).

Runs wait in one sorted set by due time; a worker claims the due ones in one atomic step, under a
lease it renews while they run; finishing a run (its record saved) acknowledges it. A worker that
dies leaves its lease to run out, and the next claim puts the run back: at-least-once delivery,
made effectively-once by run ids (a run id is submitted once; a retried run resumes its journal,
and a run whose record says it finished is acknowledged without running again).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from wfkit.core.scheduler import ScheduledBatch, ScheduledRun, split_item_id

from . import scripts

ORIGIN_TTL_S = 7 * 86400  # how long a submission is remembered (a retried run submits nothing again)
SUBMIT_CHUNK = 2_000  # single runs per script call
ROWS_CHUNK = 5_000  # batch rows per RPUSH


def now_ms() -> float:
    return time.time() * 1000.0


def to_ms(d: datetime) -> float:
    return d.timestamp() * 1000.0


def from_ms(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, UTC)


@dataclass(frozen=True, slots=True)
class Claim:
    """A run a worker claimed: its id, payload, and how often it was interrupted or failed before."""

    id: str
    workflow: str
    args: dict[str, Any]
    run_at: float  # ms
    chain: int
    user_id: str | None
    origin: str | None
    kind: str  # the run record's trigger: "schedule", "recurring", "trigger"
    crashes: int
    fails: int


def encode_run(r: ScheduledRun, kind: str) -> bytes:
    return orjson.dumps(
        {
            "w": r.workflow,
            "a": r.args,
            "t": to_ms(r.run_at),
            "c": r.chain,
            "u": r.user_id,
            "o": r.origin,
            "k": kind,
        }
    )


def encode_batch_meta(b: ScheduledBatch, kind: str) -> bytes:
    return orjson.dumps(
        {
            "w": b.workflow,
            "a": b.args,
            "cols": list(b.columns),
            "t": to_ms(b.start),
            "e": b.every.total_seconds() * 1000.0,
            "c": b.chain,
            "u": b.user_id,
            "o": b.origin,
            "k": kind,
        }
    )


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class Queue:
    """The Redis side of scheduling: submit, claim, acknowledge, cancel, list, pause."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "wf") -> None:
        self.redis: Any = redis  # redis-py's asyncio types are sync|async unions
        self.prefix = prefix
        self._submit = redis.register_script(scripts.SUBMIT)
        self._debounce = redis.register_script(scripts.DEBOUNCE)
        self._claim = redis.register_script(scripts.CLAIM)
        self._ack = redis.register_script(scripts.ACK)
        self._requeue = redis.register_script(scripts.REQUEUE)
        self._cancel = redis.register_script(scripts.CANCEL)
        self._cancel_batch = redis.register_script(scripts.CANCEL_BATCH)
        self._acquire = redis.register_script(scripts.ACQUIRE)
        self._rate = redis.register_script(scripts.RATE)
        self._metas: dict[str, dict[str, Any]] = {}  # batch id → meta, for the items a worker claims
        self.on_submit: Callable[[float], None] | None = None  # told the earliest due time submitted

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # ------------------------------------------------------------------ submitting

    async def submit(
        self,
        runs: Sequence[ScheduledRun | ScheduledBatch],
        *,
        kind: str = "schedule",
        origin: str | None = None,
        once: str | None = None,
    ) -> int:
        """Add runs and batches; returns how many runs were added. `origin`: the run that scheduled
        them, so a retry of that run adds nothing again; `once`: a key submitted at most once."""
        singles = [r for r in runs if isinstance(r, ScheduledRun)]
        batches = [b for b in runs if isinstance(b, ScheduledBatch) and b.count > 0]
        if not singles and not batches:
            return 0
        staged = False
        for b in batches:  # the per-item arguments, stored once, before the batch becomes visible
            bkey = self.key("batch", b.id)
            if b.columns:  # one command per chunk (a pipeline would hold every chunk in memory at once)
                columns = list(b.columns.values())
                one = columns[0] if len(columns) == 1 else None
                for start in range(0, b.count, ROWS_CHUNK):
                    stop = min(start + ROWS_CHUNK, b.count)
                    if one is not None:
                        rows = [orjson.dumps(v) for v in one[start:stop]]
                    else:
                        rows = [orjson.dumps([c[i] for c in columns]) for i in range(start, stop)]
                    await self.redis.rpush(bkey + ":rows", *rows)
                    staged = True
            if b.skip:
                await self.redis.sadd(bkey + ":skip", *sorted(b.skip))
                staged = True
        added = 0
        first = True
        chunks = [singles[i : i + SUBMIT_CHUNK] for i in range(0, len(singles), SUBMIT_CHUNK)] or [[]]
        for n, chunk in enumerate(chunks):
            argv: list[Any] = [self.prefix, (origin or "") if first else "", (once or "") if first else ""]
            argv += [ORIGIN_TTL_S, len(chunk)]
            for r in chunk:
                argv += [r.id, to_ms(r.run_at), r.workflow, encode_run(r, kind)]
            if n == len(chunks) - 1:
                for b in batches:
                    every = b.every.total_seconds() * 1000.0
                    argv += [b.id, to_ms(b.start), every, b.count, b.workflow, encode_batch_meta(b, kind)]
            result = int(await self._submit(args=argv))
            if result < 0:  # submitted before (a retried run, or a tick another ticker took)
                if staged:
                    parts = [self.key("batch", b.id, part) for b in batches for part in ("rows", "skip")]
                    await self.redis.delete(*parts)
                return 0
            added += result
            first = False
        if self.on_submit is not None:
            earliest = min([to_ms(r.run_at) for r in singles] + [to_ms(b.start) for b in batches])
            self.on_submit(earliest)
        return added

    async def submit_debounced(self, run: ScheduledRun, key: str, wait_ms: float, *, kind: str) -> bool:
        """Submit `run`, replacing the run still pending under `key`; True when it replaced one."""
        due = max(to_ms(run.run_at), now_ms()) + wait_ms
        replaced = await self._debounce(
            args=[self.prefix, key, int(wait_ms) + 86_400_000, run.id, due, run.workflow, encode_run(run, kind)]
        )
        if self.on_submit is not None:
            self.on_submit(due)
        return bool(replaced)

    # ------------------------------------------------------------------ working

    async def claim(self, limit: int, lease_ms: float) -> tuple[bool, float | None, list[Claim]]:
        """Claim up to `limit` due runs. Returns (paused, the next due time in ms or None, claims)."""
        raw = await self._claim(args=[self.prefix, now_ms(), limit, lease_ms])
        paused, next_due = bool(raw[0]), float(raw[1])
        claims: list[Claim] = []
        for i in range(2, len(raw), 4):
            claim = await self._decode(_text(raw[i]), raw[i + 1], int(raw[i + 2]), int(raw[i + 3]))
            if claim is not None:
                claims.append(claim)
        return paused, (next_due if next_due >= 0 else None), claims

    async def _decode(self, run_id: str, payload: bytes, crashes: int, fails: int) -> Claim | None:
        if payload[:1] == b"@":
            bid, _, row = payload[1:].partition(b"|")
            meta = await self.batch_meta(bid.decode())
            if meta is None:
                return None
            args = dict(meta["a"])
            cols: list[str] = meta["cols"]
            if cols:
                values = orjson.loads(row)
                if len(cols) == 1:
                    args[cols[0]] = values
                else:
                    args.update(zip(cols, values, strict=True))
            item = split_item_id(run_id)
            index = item[1] if item else 0
            run_at = float(meta["t"]) + float(meta["e"]) * index
            d = meta
        else:
            d = orjson.loads(payload)
            args, run_at = d["a"], float(d["t"])
        return Claim(run_id, d["w"], args, run_at, int(d["c"]), d["u"], d["o"], d["k"], crashes, fails)

    async def batch_meta(self, bid: str) -> dict[str, Any] | None:
        meta = self._metas.get(bid)
        if meta is None:
            raw = await self.redis.hget(self.key("batch", bid), "meta")
            if raw is None:
                return None
            meta = orjson.loads(raw)
            if len(self._metas) > 1_000:
                self._metas.clear()
            self._metas[bid] = meta
        return meta

    async def ack(self, done: Iterable[tuple[str, str]]) -> int:
        """Finished runs, as (id, concurrency key or '')."""
        argv: list[Any] = [self.prefix]
        for run_id, conc in done:
            argv += [run_id, conc]
        if len(argv) == 1:
            return 0
        return int(await self._ack(args=argv))

    async def requeue(self, run_id: str, due_ms: float, *, failed: bool, conc_key: str = "") -> bool:
        result = await self._requeue(args=[self.prefix, run_id, due_ms, "1" if failed else "0", conc_key])
        if self.on_submit is not None:
            self.on_submit(due_ms)
        return bool(result)

    async def renew(self, ids: Sequence[str], deadline_ms: float, conc: dict[str, str]) -> None:
        """Extend the leases of runs still running (and their concurrency slots)."""
        if not ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.key("active"), dict.fromkeys(ids, deadline_ms), xx=True)
        for run_id, key in conc.items():
            pipe.zadd(key, {run_id: deadline_ms}, xx=True)
        await pipe.execute()

    async def acquire(self, key: str, run_id: str, limit: int, deadline_ms: float) -> bool:
        return bool(await self._acquire(keys=[key], args=[run_id, limit, now_ms(), deadline_ms]))

    async def rate(self, key: str, run_id: str, interval_ms: float, burst_ms: float) -> float:
        """0 to start now, else the time (ms) this run's turn comes."""
        ttl = int(interval_ms + burst_ms) + 60_000
        at = await self._rate(keys=[key, self.key("ratepass")], args=[run_id, now_ms(), interval_ms, burst_ms, ttl])
        return float(at)

    # ------------------------------------------------------------------ operating

    async def cancel(self, ids: Sequence[str]) -> int:
        n = 0
        for i in range(0, len(ids), SUBMIT_CHUNK):
            chunk = [str(x) for x in ids[i : i + SUBMIT_CHUNK]]
            if chunk:
                n += int(await self._cancel(args=[self.prefix, *chunk]))
        return n

    async def members(self, workflow: str) -> list[str]:
        return [_text(m) async for m in self.redis.sscan_iter(self.key("idx", workflow), count=1_000)]

    async def cancel_members(self, members: Sequence[str]) -> int:
        """Cancel ids and whole batches (`@BATCH`) of one workflow's index."""
        n = await self.cancel([m for m in members if not m.startswith("@")])
        for m in members:
            if m.startswith("@"):
                n += int(await self._cancel_batch(args=[self.prefix, m[1:]]))
        return n

    async def workflows(self) -> list[str]:
        """Workflows with runs not finished yet."""
        prefix = self.key("idx", "")
        return sorted({_text(k)[len(prefix) :] async for k in self.redis.scan_iter(match=prefix + "*", count=1_000)})

    async def pending(self, workflow: str | None = None, limit: int = 1_000) -> list[dict[str, Any]]:
        """Runs not started yet, earliest first (items of batches included, up to `limit`)."""
        out: list[dict[str, Any]] = []
        if workflow is not None:
            members = await self.members(workflow)
            scores = await self.redis.zmscore(self.key("due"), members) if members else []
            due = sorted(((m, s) for m, s in zip(members, scores, strict=True) if s is not None), key=lambda x: x[1])
        else:
            raw = await self.redis.zrange(self.key("due"), 0, limit - 1, withscores=True)
            due = [(_text(m), float(s)) for m, s in raw]
        for member, score in due:
            if len(out) >= limit:
                break
            if member.startswith("@"):
                out.extend(await self._pending_items(member[1:], limit - len(out)))
            else:
                payload = await self.redis.hget(self.key("runs"), member)
                if payload is None:
                    continue
                claim = await self._decode(member, payload, 0, 0)
                if claim is not None:
                    out.append({"id": member, "workflow": claim.workflow, "run_at": score, "args": claim.args})
        out.sort(key=lambda d: d["run_at"])
        return out[:limit]

    async def _pending_items(self, bid: str, limit: int) -> list[dict[str, Any]]:
        bkey = self.key("batch", bid)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(bkey, ["next", "n"])
        pipe.lrange(bkey + ":rows", 0, limit * 2)
        pipe.smembers(bkey + ":skip")
        (nxt_raw, n_raw), rows, skip_raw = await pipe.execute()
        meta = await self.batch_meta(bid)
        if nxt_raw is None or meta is None:
            return []
        nxt, n = int(nxt_raw), int(n_raw)
        skip = {int(x) for x in skip_raw}
        out: list[dict[str, Any]] = []
        for k, i in enumerate(range(nxt, n)):
            if len(out) >= limit:
                break
            if i in skip:
                continue
            args = dict(meta["a"])
            cols: list[str] = meta["cols"]
            if cols and k < len(rows):
                values = orjson.loads(rows[k])
                args.update({cols[0]: values} if len(cols) == 1 else zip(cols, values, strict=True))
            run_at = float(meta["t"]) + float(meta["e"]) * i
            out.append({"id": f"{bid}.{i}", "workflow": meta["w"], "run_at": run_at, "args": args})
        return out

    async def count_pending(self) -> int:
        return int(await self.redis.zcard(self.key("due")))

    async def pause(self) -> None:
        await self.redis.set(self.key("paused"), "1")

    async def resume(self) -> None:
        await self.redis.delete(self.key("paused"))
        if self.on_submit is not None:
            self.on_submit(now_ms())

    async def is_paused(self) -> bool:
        return bool(await self.redis.exists(self.key("paused")))
