"""Flow control written once for every path a run takes (an HTTP call, a background worker):
when a failed run is tried again and after how long (`@retry`), and the value of a `key:`
expression (`@concurrency`, `@rate_limit`, `@debounce`). See docs/language.md, "Flow control"."""

from __future__ import annotations

import random
from typing import Any

import orjson

from . import values as V
from .app import CExpr, FlowControl
from .frame import Frame
from .runs import RunRecord

JITTER = 0.2  # a retry waits its delay ± 20 %, so runs that failed together do not retry together


def attempts(flow: FlowControl) -> int:
    """How many times a run of this workflow is tried in all: `@retry(attempts: N)` is N."""
    return max(1, flow.retry_attempts)


def retryable(record: RunRecord) -> bool:
    """A run that failed in an action is tried again; one that ended with `fail` (the workflow's own
    verdict), timed out, or could not start (missing or invalid data) is not."""
    if record.status != "failed" or record.error is None or record.error.get("status") or not record.steps:
        return False
    last = record.steps[-1]
    return last.get("status") == "failed" and last.get("kind") == "action"


def retry_after(flow: FlowControl, record: RunRecord, attempt: int) -> float | None:
    """Seconds to wait before the next attempt after attempt `attempt` (1, 2, …) of a run ended in
    `record`, or None when it is not tried again: the backoff, doubled each attempt, with jitter."""
    if attempt >= attempts(flow) or not retryable(record):
        return None
    base: float = flow.retry_backoff.total_seconds() * 2.0 ** (attempt - 1)
    return base * random.uniform(1 - JITTER, 1 + JITTER)


NO_KEY = "-"  # the key of a limit that has no `key:` expression


async def key_of(c: CExpr | None, frame: Frame) -> str:
    """The value of a `key:` expression in `frame` (the run's parameters bound), as text; NO_KEY
    without one."""
    if c is None:
        return NO_KEY
    value: Any = await c.fn(frame) if c.is_async else c.fn(frame)
    return orjson.dumps(V.to_json(value)).decode()
