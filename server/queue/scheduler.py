"""The core `Scheduler` (what a successful run hands over) on the durable queue, with @debounce."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from wfkit.core import journal as J
from wfkit.core.app import App
from wfkit.core.convert import convert_args
from wfkit.core.flow import key_of
from wfkit.core.scheduler import Scheduled, ScheduledBatch, ScheduledRun
from wfkit.core.services import Services

from .frames import admin_frame
from .queue import Queue


class QueueScheduler:
    """`submit(runs)` / `cancel(ids)` for the executor; runs of a @debounce workflow replace the
    pending run of their key (a burst becomes one run, with the last arguments)."""

    def __init__(self, app: App, queue: Queue, services: Services) -> None:
        self.app = app
        self.queue = queue
        self.services = services

    async def submit(self, runs: Sequence[Scheduled], *, kind: str = "schedule", repeatable: bool = True) -> None:
        plain: list[Scheduled] = []
        debounced: list[ScheduledRun] = []
        for r in runs:
            wf = self.app.workflows.get(r.workflow)
            if wf is not None and wf.flow.debounce is not None:
                debounced.extend(r.runs() if isinstance(r, ScheduledBatch) else [r])
            else:
                plain.append(r)
        if plain:
            origins = {r.origin for r in plain}
            # one run's release is submitted once: remembered (a key for 7 days) when that run may
            # run again with its id; an HTTP call without @retry cannot, and a key per call would
            # grow Redis by about 100 bytes a call
            origin = origins.pop() if len(origins) == 1 and repeatable else None
            await self.queue.submit(plain, kind=kind, origin=origin)
        for run in debounced:
            key = await self.debounce_key(run)
            wait = self.app.workflows[run.workflow].flow.debounce
            assert wait is not None
            await self.queue.debounce(run, f"{run.workflow}:{key}", wait.total_seconds() * 1000, kind=kind)

    async def cancel(self, ids: Sequence[str]) -> int:
        return await self.queue.cancel(list(ids))

    async def debounce_key(self, run: ScheduledRun) -> str:
        wf = self.app.workflows[run.workflow]
        c = wf.flow.debounce_key
        if c is None:
            return "-"
        raw = {k: J.decode(v) for k, v in run.args.items()}
        try:
            args = await convert_args(wf, raw, store=self.services.store)
        except Exception:  # the run will fail on its own when it starts; debounce it by its raw arguments
            return orjson.dumps(run.args).decode()
        vars: dict[str, Any] = {p.name: args.get(p.name) for p in wf.params}
        return await key_of(c, admin_frame(self.services, wf.name, vars))
