"""Run records of background runs, saved together: a job waits until its record is in the database
(so arq forgets the job only then), and records finishing close together share one transaction."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from wfkit.core import values as V
from wfkit.core.runs import RunRecord

from .. import metrics


class RecordSaver:
    def __init__(self, store: Any, delay: float, size: int) -> None:
        self.store = store
        self.delay = delay  # s: a record waits at most this long for others
        self.size = size  # records saved at once at most
        self._waiting: list[tuple[RunRecord, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def save(self, record: RunRecord) -> None:
        metrics.current().run_ended(record)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((record, done))
        if len(self._waiting) >= self.size:
            self._flush_soon(0.0)
        elif self._timer is None:
            self._flush_soon(self.delay)
        await asyncio.shield(done)  # a cancelled job still has its record saved

    def _flush_soon(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._start_flush)

    def _start_flush(self) -> None:
        self._timer = None
        batch, self._waiting = self._waiting[: self.size], self._waiting[self.size :]
        if self._waiting:
            self._flush_soon(self.delay)
        if batch:
            task = asyncio.ensure_future(self._flush(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush(self, batch: list[tuple[RunRecord, asyncio.Future[None]]]) -> None:
        try:
            await self.store.runs.save([r for r, _ in batch])  # one statement
        except Exception as e:
            for _, f in batch:
                if not f.done():
                    f.set_exception(e)
                    f.exception()  # retrieved here: the job that waits for it reports it
            return
        for _, f in batch:
            if not f.done():
                f.set_result(None)

    async def close(self) -> None:
        """Save what waits now, and wait for saves under way."""
        if self._timer is not None:
            self._timer.cancel()
        while self._waiting:
            self._timer = None
            self._start_flush()
        if self._flushes:
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._flushes, return_exceptions=True)


def record_from(saved: dict[str, Any]) -> RunRecord:
    """A saved record, back as a RunRecord."""
    record = RunRecord(
        saved["id"],
        saved["workflow"],
        saved.get("trigger") or "schedule",
        V.parse_date(saved["started_at"]),
        saved.get("params") or {},
        saved.get("user_id"),
        saved.get("chain") or 1,
    )
    record.status = saved.get("status") or "failed"
    record.finished_at = V.parse_date(saved["finished_at"]) if saved.get("finished_at") else None
    record.duration_ms = saved.get("duration_ms")
    record.response = saved.get("response")
    record.error = saved.get("error")
    record.steps = saved.get("steps") or []
    record.logs = saved.get("logs") or []
    record.scheduled = saved.get("scheduled") or []
    record.scheduled_count = saved.get("scheduled_count") or 0
    record.attempt = saved.get("attempt") or 1
    return record
