"""Scheduled runs as arq jobs on the queue named by the prefix (`wfkit`), and the small wfkit keys
next to arq's (the whole layout is in `docs/operating.md`).

A run scheduled alone is one arq job `run` whose id is the run id, deferred to its time. A list
(`schedule … for each`) is carried by slice jobs `slice`, each holding up to `SLICE` items (job id
`BATCH:START:END`); a slice job runs the items that are due and re-defers the rest as a new slice
job. Jobs are written as arq's `enqueue_job` writes them (the job key, then the queue's sorted
set), but many in one pipeline; the job key has no expiry, so a paused queue keeps its runs.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.jobs import serialize_job
from wfkit.core.scheduler import ScheduledBatch, ScheduledRun

from . import scripts

ORIGIN_TTL_S = 7 * 86400  # how long a submission is remembered (a retried run submits nothing again)
SLICE = 10_000  # items of a list per slice job
PIPELINE_JOBS = 1_000  # jobs written per pipeline (a pipeline holds its commands in memory)
CANCEL_CHUNK = 2_000
RUN = "run"  # the arq function of a single run
SLICE_FN = "slice"  # the arq function of a slice of a list


def now_ms() -> float:
    return time.time() * 1000.0


def to_ms(d: datetime) -> float:
    return d.timestamp() * 1000.0


def from_ms(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, UTC)


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@dataclass(frozen=True, slots=True)
class Claim:
    """A run to start: from a `run` job, or an item of a `slice` job. `attempt`: the attempt its job
    was written for (a run re-enqueued for `@retry` carries its next attempt)."""

    id: str
    workflow: str
    args: dict[str, Any]
    run_at: float  # ms
    chain: int
    user_id: str | None
    origin: str | None
    kind: str  # the run record's trigger: "schedule", "recurring", "trigger"
    attempt: int = 1
    resumed: bool = False  # delivered before (a worker may have started it): look for its record

    def payload(self, attempt: int | None = None) -> dict[str, Any]:
        return {
            "w": self.workflow,
            "a": self.args,
            "t": self.run_at,
            "c": self.chain,
            "u": self.user_id,
            "o": self.origin,
            "k": self.kind,
            "n": attempt or self.attempt,
            "x": self.resumed,
        }


def claim_of(run_id: str, d: dict[str, Any]) -> Claim:
    attempt, resumed = int(d.get("n", 1)), bool(d.get("x"))
    return Claim(run_id, d["w"], d["a"], float(d["t"]), int(d["c"]), d["u"], d["o"], d["k"], attempt, resumed)


def run_payload(r: ScheduledRun, kind: str) -> dict[str, Any]:
    return {"w": r.workflow, "a": r.args, "t": to_ms(r.run_at), "c": r.chain, "u": r.user_id, "o": r.origin, "k": kind}


def slice_id(bid: str, start: int, end: int) -> str:
    return f"{bid}:{start}:{end}"


def slice_items(d: dict[str, Any]) -> Iterable[tuple[int, Claim]]:
    """The items of a slice payload, as (index, claim)."""
    cols: list[str] = d["cols"]
    for k, row in enumerate(d["rows"] if cols else [None] * (d["e"] - d["s"])):
        i = d["s"] + k
        args = dict(d["a"])
        if len(cols) == 1:
            args[cols[0]] = row
        elif cols:
            args.update(zip(cols, row, strict=True))
        at = float(d["t"]) + float(d["ev"]) * i
        yield i, Claim(f"{d['b']}.{i}", d["w"], args, at, int(d["c"]), d["u"], d["o"], d["k"])


def item_due(d: dict[str, Any], i: int) -> float:
    return float(d["t"]) + float(d["ev"]) * i


def job_bytes(function: str, payload: dict[str, Any]) -> bytes:
    return serialize_job(function, (payload,), {}, None, int(now_ms()))


class Queue:
    """Submit, cancel, list and pause scheduled runs; the counters of flow control."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "wfkit") -> None:
        self.redis: Any = redis  # redis-py's asyncio types are sync|async unions
        self.prefix = prefix
        self.name = prefix  # arq's queue: a sorted set, job id → due time (ms)
        self._cancel = redis.register_script(scripts.CANCEL)
        self._acquire = redis.register_script(scripts.ACQUIRE)
        self._rate = redis.register_script(scripts.RATE)
        self.on_submit: Callable[[float], None] | None = None  # told the earliest due time submitted

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    @property
    def wake_channel(self) -> str:
        return self.key("wake")

    # ------------------------------------------------------------------ submitting

    async def submit(
        self,
        runs: Sequence[ScheduledRun | ScheduledBatch],
        *,
        kind: str = "schedule",
        origin: str | None = None,
        once: str | None = None,
    ) -> int:
        """Enqueue runs and lists; returns how many runs were added. `origin`: the run that
        scheduled them, so a retry of that run adds nothing again; `once`: a key submitted at most once."""
        if not any(isinstance(r, ScheduledRun) or r.count > 0 for r in runs):
            return 0
        guards = [self.key(g) for g in (f"origin:{origin}" if origin else "", f"once:{once}" if once else "") if g]
        for n, guard in enumerate(guards):
            if not await self.redis.set(guard, "1", nx=True, ex=ORIGIN_TTL_S):
                if n:
                    await self.redis.delete(*guards[:n])
                return 0  # submitted before (a retried run, or a tick another ticker took)
        try:
            return await self._submit(runs, kind)
        except BaseException:
            if guards:  # not submitted: a retry may submit them
                await self.redis.delete(*guards)
            raise

    async def _submit(self, runs: Sequence[ScheduledRun | ScheduledBatch], kind: str) -> int:
        added, earliest = 0, float("inf")
        pipe = self.redis.pipeline(transaction=False)
        singles: list[int] = []  # positions of single runs' SET NX replies in the pipeline
        for r in runs:
            if isinstance(r, ScheduledRun):
                due = to_ms(r.run_at)
                singles.append(len(pipe))
                self._enqueue(pipe, r.id, RUN, run_payload(r, kind), due, r.workflow)
                earliest = min(earliest, due)
            else:
                if r.count == 0:
                    continue
                added += r.size
                earliest = min(earliest, to_ms(r.start))
                self._batch(pipe, r, kind)
            if len(pipe) >= 3 * PIPELINE_JOBS:
                added += await self._execute(pipe, singles)
                pipe, singles = self.redis.pipeline(transaction=False), []
        pipe.publish(self.wake_channel, str(earliest))
        added += await self._execute(pipe, singles)
        if self.on_submit is not None:
            self.on_submit(earliest)
        return added

    async def _execute(self, pipe: Any, singles: list[int]) -> int:
        replies = await pipe.execute()
        return sum(1 for i in singles if replies[i])

    def _enqueue(self, pipe: Any, job_id: str, function: str, payload: dict[str, Any], due: float, wf: str) -> None:
        """What arq's `enqueue_job(function, payload, _job_id=job_id, _defer_until=due)` writes."""
        pipe.set(job_key_prefix + job_id, job_bytes(function, payload), nx=True)
        pipe.zadd(self.name, {job_id: int(due)}, nx=True)
        pipe.sadd(self.key("idx", wf), job_id)

    def _batch(self, pipe: Any, b: ScheduledBatch, kind: str) -> None:
        bkey = self.key("batch", b.id)
        pipe.hset(bkey, mapping={"n": b.count, "wf": b.workflow})
        if b.skip:
            pipe.sadd(bkey + ":skip", *sorted(b.skip))
        cols = list(b.columns)
        columns = list(b.columns.values())
        base = {
            "b": b.id,
            "w": b.workflow,
            "a": b.args,
            "cols": cols,
            "t": to_ms(b.start),
            "ev": b.every.total_seconds() * 1000.0,
            "c": b.chain,
            "u": b.user_id,
            "o": b.origin,
            "k": kind,
        }
        for s in range(0, b.count, SLICE):
            e = min(s + SLICE, b.count)
            if len(columns) == 1:
                rows: list[Any] = columns[0][s:e]
            elif columns:
                rows = [list(vals) for vals in zip(*(c[s:e] for c in columns), strict=True)]
            else:
                rows = []
            sid = slice_id(b.id, s, e)
            self._enqueue(pipe, sid, SLICE_FN, {**base, "rows": rows, "s": s, "e": e}, item_due(base, s), b.workflow)
            pipe.zadd(bkey + ":slices", {sid: s})

    async def enqueue_run(self, c: Claim, due_ms: float, attempt: int, *, resumed: bool = False) -> None:
        """A run of its own (an item of a slice that must wait or be tried again)."""
        payload = {**c.payload(attempt), "x": c.resumed or resumed}
        pipe = self.redis.pipeline(transaction=False)
        self._enqueue(pipe, c.id, RUN, payload, due_ms, c.workflow)
        pipe.publish(self.wake_channel, str(due_ms))
        await pipe.execute()
        if self.on_submit is not None:
            self.on_submit(due_ms)

    async def split(self, job_id: str, d: dict[str, Any], upto: int) -> tuple[int, set[int]]:
        """Start the items [start, upto) of a slice job: the rest becomes a new slice job deferred to
        its first item's time, in one transaction. A slice run again (its worker died) keeps the
        split it made. Returns (upto, the cancelled indexes)."""
        bid, s, e = d["b"], int(d["s"]), int(d["e"])
        bkey = self.key("batch", bid)
        mark = self.key("batch", bid, "split", str(s))
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(mark)  # only this slice's own job writes it: no contention
            done = await pipe.get(mark)
            if done is not None:
                upto = int(done)
            pipe.multi()
            if done is None:
                pipe.set(mark, upto, ex=ORIGIN_TTL_S)
                pipe.zrem(bkey + ":slices", job_id)
                if upto < e:
                    rest = {**d, "s": upto, "rows": d["rows"][upto - s :] if d["cols"] else []}
                    sid = slice_id(bid, upto, e)
                    self._enqueue(pipe, sid, SLICE_FN, rest, item_due(d, upto), d["w"])
                    pipe.zadd(bkey + ":slices", {sid: upto})
                    pipe.publish(self.wake_channel, str(item_due(d, upto)))
            pipe.smembers(bkey + ":skip")
            replies = await pipe.execute()
        skip = {int(x) for x in replies[-1]}
        return upto, {i for i in skip if s <= i < upto}

    async def slice_done(self, job_id: str, d: dict[str, Any], finished: Sequence[str]) -> None:
        """A slice job finished its items: the batch goes once no slice is left (the split mark
        stays until it expires, so a slice that arq runs again does not split again)."""
        bkey = self.key("batch", d["b"])
        pipe = self.redis.pipeline(transaction=False)
        for i in range(0, len(finished), 1_000):  # the items' journals and rate-limit passes
            part = finished[i : i + 1_000]
            pipe.delete(*(self.key("journal", run_id) for run_id in part))
            pipe.hdel(self.key("ratepass"), *part)
        pipe.srem(self.key("idx", d["w"]), job_id)
        pipe.zcard(bkey + ":slices")
        *_, left = await pipe.execute()
        if not left:
            await self.redis.delete(bkey, bkey + ":skip", bkey + ":slices")

    async def debounce(self, run: ScheduledRun, key: str, wait_ms: float, *, kind: str) -> bool:
        """Submit `run` after `wait_ms`, cancelling the run still pending under `key`; True when it did."""
        due = max(to_ms(run.run_at), now_ms()) + wait_ms
        run = ScheduledRun(run.id, run.workflow, run.args, from_ms(due), run.chain, run.user_id, run.origin)
        await self.submit([run], kind=kind)
        old = await self.redis.set(self.key("deb", key), run.id, px=int(wait_ms) + 86_400_000, get=True)
        return old is not None and await self.cancel([_text(old)]) > 0

    # ------------------------------------------------------------------ flow control

    async def acquire(self, key: str, run_id: str, limit: int, deadline_ms: float) -> bool:
        return bool(await self._acquire(keys=[key], args=[run_id, limit, now_ms(), deadline_ms]))

    async def release(self, key: str, run_id: str) -> None:
        await self.redis.zrem(key, run_id)

    async def rate(self, key: str, run_id: str, interval_ms: float, burst_ms: float) -> float:
        """0 to start now, else the time (ms) this run's turn comes."""
        ttl = int(interval_ms + burst_ms) + 60_000
        at = await self._rate(keys=[key, self.key("ratepass")], args=[run_id, now_ms(), interval_ms, burst_ms, ttl])
        return float(at)

    # ------------------------------------------------------------------ operating

    async def cancel(self, ids: Sequence[str]) -> int:
        n = 0
        for i in range(0, len(ids), CANCEL_CHUNK):
            chunk = [str(x) for x in ids[i : i + CANCEL_CHUNK]]
            if chunk:
                n += int(await self._cancel(keys=[self.name], args=[self.prefix, *chunk]))
        return n

    async def members(self, workflow: str) -> list[str]:
        """Jobs of one workflow not finished yet (runs and slices); stale entries are dropped."""
        idx = self.key("idx", workflow)
        members = [_text(m) async for m in self.redis.sscan_iter(idx, count=1_000)]
        if not members:
            return []
        scores = await self.redis.zmscore(self.name, members)
        stale = [m for m, s in zip(members, scores, strict=True) if s is None]
        if stale:
            await self.redis.srem(idx, *stale)
        return [m for m, s in zip(members, scores, strict=True) if s is not None]

    async def cancel_workflow(self, workflow: str) -> int:
        n = await self.cancel(await self.members(workflow))
        await self.members(workflow)
        return n

    async def pending(self, workflow: str | None = None, limit: int = 1_000) -> list[dict[str, Any]]:
        """Runs not started yet, earliest first (items of lists included, up to `limit`)."""
        if workflow is not None:
            members = await self.members(workflow)
            scores = await self.redis.zmscore(self.name, members) if members else []
            due = sorted(((m, float(s)) for m, s in zip(members, scores, strict=True) if s is not None), key=_second)
        else:
            raw = await self.redis.zrange(self.name, 0, limit - 1, withscores=True)
            due = [(_text(m), float(s)) for m, s in raw]
        out: list[dict[str, Any]] = []
        for start in range(0, len(due), 50):  # (a slice job is up to 10,000 items: read few at once)
            part = due[start : start + 50]
            pipe = self.redis.pipeline(transaction=False)
            for m, _ in part:
                pipe.get(job_key_prefix + m)
                pipe.exists(in_progress_key_prefix + m)
            replies = await pipe.execute()
            for k, (m, score) in enumerate(part):
                if len(out) >= limit:  # enough: stop once the rest cannot come earlier
                    out.sort(key=_run_at)
                    del out[limit:]
                    if score > out[-1]["run_at"]:
                        break
                raw_job, running = replies[2 * k], replies[2 * k + 1]
                if raw_job is None or running:
                    continue
                d = pickle.loads(raw_job)["a"][0]
                if "b" in d:
                    out.extend(await self._pending_items(d, limit))
                else:
                    out.append({"id": m, "workflow": d["w"], "run_at": score, "args": d["a"]})
            if len(out) >= limit:
                out.sort(key=_run_at)
                del out[limit:]
                if part[-1][1] > out[-1]["run_at"]:
                    break
        out.sort(key=_run_at)
        return out[:limit]

    async def _pending_items(self, d: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        skip = {int(x) for x in await self.redis.smembers(self.key("batch", d["b"], "skip"))}
        out: list[dict[str, Any]] = []
        for i, c in slice_items(d):
            if len(out) >= limit:
                break
            if i not in skip:
                out.append({"id": c.id, "workflow": c.workflow, "run_at": c.run_at, "args": c.args})
        return out

    async def count_pending(self) -> int:
        """Jobs in the queue (a slice job counts once)."""
        return int(await self.redis.zcard(self.name))

    async def pause(self) -> None:
        await self.redis.set(self.key("paused"), "1")
        await self.redis.publish(self.wake_channel, "pause")

    async def resume(self) -> None:
        await self.redis.delete(self.key("paused"))
        await self.redis.publish(self.wake_channel, str(now_ms()))
        if self.on_submit is not None:
            self.on_submit(now_ms())

    async def is_paused(self) -> bool:
        return bool(await self.redis.exists(self.key("paused")))


def _second(x: tuple[str, float]) -> float:
    return x[1]


def _run_at(x: dict[str, Any]) -> float:
    return float(x["run_at"])
