"""The run journal: results of finished actions, so a run resumed after a crash does not redo them.

Keys are `statement-id[/iteration…]` paths, stable across attempts of one run; values are JSON.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Protocol

from .sealing import MARK, SealError, current
from .things import Thing
from .values import is_secret_name


class Journal(Protocol):
    async def load(self, run_id: str) -> dict[str, Any]:
        """Every result journaled for `run_id` so far, by path."""
        ...

    async def save(self, run_id: str, path: str, result: Any) -> None: ...

    async def forget(self, run_id: str) -> None:
        """Drop a finished run's journal."""
        ...


class MemoryJournal:
    """A journal for one process (the CLI, tests); the queue brings a durable one."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    async def load(self, run_id: str) -> dict[str, Any]:
        return dict(self.entries.get(run_id, {}))

    async def save(self, run_id: str, path: str, result: Any) -> None:
        self.entries.setdefault(run_id, {})[path] = result

    async def forget(self, run_id: str) -> None:
        self.entries.pop(run_id, None)


SAVE_RETRY_DELAYS = (0.05, 0.2, 0.5)  # seconds: rides out a Redis failover, not an outage


async def save_retrying(journal: Journal, run_id: str, path: str, result: Any) -> None:
    """`journal.save`, tried again after each of `SAVE_RETRY_DELAYS`; raises the last error."""
    for delay in SAVE_RETRY_DELAYS:
        try:
            await journal.save(run_id, path, result)
            return
        except Exception:
            await asyncio.sleep(delay)
    await journal.save(run_id, path, result)


# A journaled result is JSON; these keep the values a run can bind (things, dates, durations).
# Values under secret names (a `log_in` result's token) are sealed (sealing.py): the journal
# lives in Redis, whose files keep every write.


def encode(v: Any) -> Any:
    if v is None or isinstance(v, str | bool | int | float):
        return v
    if isinstance(v, list):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {"$obj": {k: sealed(x) if x is not None and is_secret_name(k) else encode(x) for k, x in v.items()}}
    if isinstance(v, datetime):
        return {"$date": v.isoformat()}
    if isinstance(v, timedelta):
        return {"$dur": v.total_seconds()}
    if isinstance(v, Thing):
        return {
            "$thing": v.type,
            "id": v.id,
            "data": encode(v.data),
            "created_at": encode(v.created_at),
            "modified_at": encode(v.modified_at),
            "created_by": v.created_by,
        }
    return str(v)


def readable(entries: dict[str, Any]) -> dict[str, Any]:
    """The entries this process can decode: one sealed with another data folder's key (a worker on
    another machine) is dropped, and its action runs again (store writes replay their effects)."""
    out = {}
    for path, v in entries.items():
        try:
            decode(v)
        except SealError:
            continue
        out[path] = v
    return out


def sealed(v: Any) -> Any:
    """`encode(v)`, sealed: for a value kept under a secret name."""
    return current().seal(encode(v))


def decode(v: Any) -> Any:
    """The value `encode` kept; raises SealError for a value sealed with another data folder's key."""
    if isinstance(v, list):
        return [decode(x) for x in v]
    if not isinstance(v, dict):
        return v
    if MARK in v:
        return decode(current().unseal(v[MARK]))
    if "$obj" in v:
        return {k: decode(x) for k, x in v["$obj"].items()}
    if "$date" in v:
        return datetime.fromisoformat(v["$date"])
    if "$dur" in v:
        return timedelta(seconds=v["$dur"])
    if "$thing" in v:
        return Thing(
            v["$thing"],
            v["id"],
            decode(v["data"]),
            decode(v["created_at"]),
            decode(v["modified_at"]),
            v["created_by"],
        )
    return v
