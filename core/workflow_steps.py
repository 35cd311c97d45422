"""The statements that reach other workflows: `call` (run one now, inside this run), `schedule` and
`cancel` (runs for later), and handing what a run scheduled to the queue once it succeeds."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from time import perf_counter
from typing import TYPE_CHECKING, Any

from . import values as V
from .app import App, Block, CallStep, CancelStep, CExpr, ScheduleStep, Step, Workflow
from .context import RunInfo
from .errors import RunError
from .frame import Frame, RunState
from .scheduler import ScheduledBatch, ScheduledRun, caller_id, new_id, split_item_id
from .sealing import current as sealer
from .services import Services

MAX_SCHEDULED_IDS_RECORDED = 1_000


def _arg(name: str, value: Any) -> Any:
    """A scheduled run's argument as the queue keeps it (JSON, read back by `journal.decode`); a
    secret-named one sealed, as the queue lives in Redis."""
    v = V.to_json(value)
    return sealer().seal(v) if v is not None and V.is_secret_name(name) else v


class WorkflowSteps:
    """Mixed into `Executor`, which provides the app, the services, and the methods below."""

    app: App
    services: Services

    if TYPE_CHECKING:

        async def block(self, steps: Block, f: Frame) -> Any: ...

        async def bind_params(self, wf: Workflow, args: dict[str, Any], f: Frame) -> dict[str, Any]: ...

        def _record(
            self, f: Frame, step: Step, status: str, ms: float, extra: dict[str, Any] | None = None
        ) -> None: ...

        def _fail_at(self, step: Step, f: Frame, t0: float, exc: BaseException) -> RunError: ...

    async def release(self, state: RunState) -> None:
        """Hand what the run scheduled and cancelled to the queue (it succeeded)."""
        if state.scheduled:
            await self.services.scheduler.submit(state.scheduled, repeatable=state.durable)
            ids: list[str] = []
            for r in state.scheduled:
                if len(ids) >= MAX_SCHEDULED_IDS_RECORDED:
                    break
                if isinstance(r, ScheduledBatch):
                    items = (r.item_id(i) for i in range(r.count) if i not in r.skip)
                    ids.extend(itertools.islice(items, MAX_SCHEDULED_IDS_RECORDED - len(ids)))
                else:
                    ids.append(r.id)
            state.record.scheduled = ids
            state.record.scheduled_count = sum(r.size if isinstance(r, ScheduledBatch) else 1 for r in state.scheduled)
        if state.cancels:
            await self.services.scheduler.cancel(state.cancels)

    async def _schedule(self, s: ScheduleStep, f: Frame) -> None:
        t0 = perf_counter()
        try:
            chain = f.run.chain + 1
            limit = self.services.limits.max_chain
            if chain > limit:
                raise RunError(
                    f"schedule {s.workflow}: the run would be generation {chain:,} of a chain of runs "
                    f"started by one trigger, more than WF_MAX_CHAIN ({limit:,})"
                )
            start = await self._start_time(s, f)
            user_id = caller_id(f.run)
            if s.each_var is None:
                args = {n: _arg(n, c.fn(f) if not c.is_async else await c.fn(f)) for n, c in s.args}
                run = ScheduledRun(new_id(), s.workflow, args, start, chain, user_id, f.run.id)
                f.state.scheduled.append(run)
                handle: Any = {"id": run.id, "run_at": run.run_at}
                count = 1
            else:
                assert s.each_list is not None
                items = s.each_list.fn(f) if not s.each_list.is_async else await s.each_list.fn(f)
                if items is None:
                    items = []
                if not isinstance(items, list):
                    raise RunError(f"schedule … for each needs a list, got {V.type_name(items)}")
                every = (
                    (s.every.fn(f) if not s.every.is_async else await s.every.fn(f))
                    if s.every is not None
                    else timedelta(0)
                )
                if not isinstance(every, timedelta) or every < timedelta(0):
                    raise RunError("`every` must be a duration of at least 0 seconds")
                batch = await self._batch(s, f, items, start, every, chain, user_id)
                f.state.scheduled.append(batch)
                handle = (
                    [{"id": batch.item_id(i), "run_at": batch.run_at(i)} for i in range(batch.count)]
                    if s.bind
                    else None
                )
                count = batch.count
        except RunError as e:
            raise self._fail_at(s, f, t0, e) from None
        if s.bind is not None:
            f.vars[s.bind] = handle
        self._record(f, s, "ran", (perf_counter() - t0) * 1000, {"scheduled": count})

    async def _batch(
        self,
        s: ScheduleStep,
        f: Frame,
        items: list[Any],
        start: datetime,
        every: timedelta,
        chain: int,
        user_id: str | None,
    ) -> ScheduledBatch:
        """The list form as one compact batch: arguments that do not read the item are evaluated
        once; the others make one column (a list of JSON values), never one object per item."""
        var = s.each_var
        assert var is not None
        fixed: dict[str, Any] = {}
        per_item: list[tuple[str, CExpr]] = []
        for n, c in s.args:
            if c.const or (not c.is_async and var not in c.names):
                fixed[n] = _arg(n, c.fn(f) if not c.is_async else await c.fn(f))
            else:
                per_item.append((n, c))
        columns: dict[str, list[Any]] = {n: [] for n, _ in per_item}
        if per_item:
            for item in items:
                f.vars[var] = item
                for n, c in per_item:
                    columns[n].append(_arg(n, await c.fn(f) if c.is_async else c.fn(f)))
        return ScheduledBatch(new_id(), s.workflow, fixed, columns, len(items), start, every, chain, user_id, f.run.id)

    async def _start_time(self, s: ScheduleStep, f: Frame) -> datetime:
        if s.at is not None:
            at = s.at.fn(f) if not s.at.is_async else await s.at.fn(f)
            if not isinstance(at, datetime):
                raise RunError(f"schedule … at needs a date, got {V.type_name(at)}")
            return at
        now = V.now()
        if s.in_ is not None:
            delay = s.in_.fn(f) if not s.in_.is_async else await s.in_.fn(f)
            if not isinstance(delay, timedelta):
                raise RunError(f"schedule … in needs a duration, got {V.type_name(delay)}")
            return now + delay
        return now

    async def _call(self, s: CallStep, f: Frame) -> None:
        t0 = perf_counter()
        wf = self.app.workflows[s.workflow]
        state = f.state
        if state.depth >= self.services.limits.max_call_depth:
            raise self._fail_at(
                s,
                f,
                t0,
                RunError(
                    f"call {s.workflow}: more than {self.services.limits.max_call_depth} nested calls "
                    "(does a workflow call itself without end?)"
                ),
            )
        try:
            args = {n: (c.fn(f) if not c.is_async else await c.fn(f)) for n, c in s.args}
        except RunError as e:
            raise self._fail_at(s, f, t0, e) from None
        run = f.run
        if run.workflow != wf.name or (wf.ignore_privacy and not run.ignore_privacy):
            run = RunInfo(run.id, wf.name, run.user, run.admin, run.ignore_privacy or wf.ignore_privacy, run.chain)
        inner = Frame({}, run, f.services, state, f.request, f"{f.path}{s.id}>")
        state.depth += 1
        result: Any = None
        try:
            inner.vars = await self.bind_params(wf, args, inner)
            end = await self.block(wf.body, inner)
            if end is not None:
                result = end.value
        finally:
            state.depth -= 1
        if s.bind is not None:
            f.vars[s.bind] = result
        self._record(f, s, "ran", (perf_counter() - t0) * 1000)

    async def _cancel(self, s: CancelStep, f: Frame) -> None:
        t0 = perf_counter()
        try:
            target = s.target.fn(f) if not s.target.is_async else await s.target.fn(f)
            ids = [_run_id(x) for x in (target if isinstance(target, list) else [target]) if x is not None]
        except RunError as e:
            raise self._fail_at(s, f, t0, e) from None
        singles = {r.id for r in f.state.scheduled if isinstance(r, ScheduledRun)}
        batches = {b.id: b for b in f.state.scheduled if isinstance(b, ScheduledBatch)}
        drop: set[str] = set()
        for i in ids:  # scheduled by this very run: never handed to the queue
            item = split_item_id(i) if batches else None
            if i in singles:
                drop.add(i)
            elif item is not None and item[0] in batches and 0 <= item[1] < batches[item[0]].count:
                batches[item[0]].skip.add(item[1])
            else:
                f.state.cancels.append(i)
        if drop:
            f.state.scheduled = [r for r in f.state.scheduled if r.id not in drop]
        self._record(f, s, "ran", (perf_counter() - t0) * 1000, {"cancelled": len(ids)})


def _run_id(x: Any) -> str:
    if isinstance(x, dict) and isinstance(x.get("id"), str):
        return str(x["id"])
    if isinstance(x, str):
        return x
    raise RunError(f"cancel takes a scheduled run's handle or id, got {V.type_name(x)}")
