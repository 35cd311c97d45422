"""Database triggers (`on create|change|delete T [when COND] run WF(args)`): a store listener.

The store calls it after each change is committed, whatever made the change (a workflow, the Data
API, a plugin). Conditions and arguments see `this` (empty on delete) and `before` (empty on
create) and are evaluated as admin; the run is queued to start now, as admin, with trigger
"trigger". A thing that a delete trigger passes on is gone by the time the run starts: it is
handed over as a snapshot of the thing as it was, instead of its id.
"""

from __future__ import annotations

import logging
from typing import Any

from wfkit.core import journal as J
from wfkit.core import values as V
from wfkit.core.app import App, DbTrigger
from wfkit.core.scheduler import ScheduledRun, new_id
from wfkit.core.services import Services
from wfkit.core.things import Thing

from .frames import admin_frame, evaluate

log = logging.getLogger("wfkit.queue")


class TriggerListener:
    """Registered in `store.listeners`; `submit` is the scheduler's (debounce included)."""

    def __init__(self, app: App, services: Services, submit: Any) -> None:
        self.services = services
        self.submit = submit
        self.by_event: dict[tuple[str, str], list[DbTrigger]] = {}
        for t in app.triggers:
            self.by_event.setdefault((t.event, t.type_name), []).append(t)

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
        if runs:
            await self.submit(runs, kind="trigger")
