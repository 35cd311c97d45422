"""Database triggers (`on create|change|delete T [when COND] run WF(args)`): a store listener.

The store calls it after each change is committed, whatever made the change (a workflow, the Data
API, a plugin). Conditions and arguments see `this` (empty on delete) and `before` (empty on
create) and are evaluated as admin; the run is queued to start now, as admin, with trigger
"trigger". A thing that a delete trigger passes on is gone by the time the run starts: it is
handed over as a snapshot of the thing as it was, instead of its id.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from wfkit.core import journal as J
from wfkit.core import values as V
from wfkit.core.app import App, DbTrigger
from wfkit.core.scheduler import ScheduledRun, new_id
from wfkit.core.services import Services
from wfkit.core.things import Thing

from .. import tasks
from ..outage import REDIS, backoff, unreachable, watch
from .frames import admin_frame, evaluate

log = logging.getLogger("wfkit.queue")


class TriggerListener:
    """Registered in `store.listeners`; `submit` is the scheduler's (debounce included). While Redis
    is unreachable the runs wait here, in order, and are submitted again with backoff (their ids
    make a second submission of one harmless); the outage is logged once (docs/operating.md)."""

    def __init__(self, app: App, services: Services, submit: Any) -> None:
        self.services = services
        self.submit = submit
        self.use(app)
        self.waiting: list[ScheduledRun] = []
        self._resubmitting: asyncio.Task[None] | None = None

    def use(self, app: App) -> None:
        """Listen for `app`'s triggers from now on (`wf serve --reload`)."""
        by_event: dict[tuple[str, str], list[DbTrigger]] = {}
        for t in app.triggers:
            by_event.setdefault((t.event, t.type_name), []).append(t)
        self.by_event = by_event

    async def __call__(self, event: str, type_name: str, before: Thing | None, after: Thing | None) -> None:
        triggers = self.by_event.get((event, type_name))
        if not triggers:
            return
        runs: list[ScheduledRun] = []
        for t in triggers:
            f = admin_frame(self.services, t.workflow, {"this": after, "before": before})
            try:
                if t.cond is not None and not V.truthy(await evaluate(t.cond, f)):
                    continue
                args: dict[str, Any] = {}
                for name, c in t.args:
                    value = await evaluate(c, f)
                    gone = event == "delete" and isinstance(value, Thing)
                    args[name] = J.encode(value) if gone else V.to_json(value)
            except Exception:  # a condition that fails on this thing: the change stands, no run
                log.exception("on %s %s (line %d): the trigger failed", event, type_name, t.span.line)
                continue
            runs.append(ScheduledRun(new_id(), t.workflow, args, V.now(), 1, None, None))
        if not runs:
            return
        if self.waiting:  # Redis is down: behind those that wait
            self.waiting += runs
            return
        try:
            await self.submit(runs, kind="trigger")
        except Exception as e:
            if not unreachable(e):
                raise
            self.waiting += runs
            watch(REDIS).failed(e, triggered_runs=len(self.waiting))
            self._resubmitting = asyncio.create_task(self._resubmit(), name="wfkit-trigger-resubmit")

    async def _resubmit(self) -> None:
        redis, tries = watch(REDIS), 0
        while self.waiting:
            tries += 1
            await asyncio.sleep(backoff(tries))
            batch = list(self.waiting)
            try:
                await self.submit(batch, kind="trigger")
            except Exception as e:
                if not unreachable(e):  # not an outage: these runs cannot be submitted at all
                    log.exception("%d triggered run(s) could not be submitted", len(batch))
                    del self.waiting[: len(batch)]
                    continue
                redis.failed(e, triggered_runs=len(self.waiting))
                continue
            del self.waiting[: len(batch)]
            redis.ok(triggered_runs=len(batch))

    async def close(self) -> None:
        await tasks.cancel(self._resubmitting)
        self._resubmitting = None
        if self.waiting:
            log.error("%d triggered run(s) not submitted: %s is unreachable", len(self.waiting), REDIS)
            self.waiting = []
