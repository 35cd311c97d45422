"""Runs a compiled workflow: conditions, loops, bindings, the journal, scheduling requests.

Statements run in order. `return` and `terminate` end their workflow's body, `fail` (and a failing
statement) the whole run by raising; what the run scheduled or cancelled is handed to the queue only
when it succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from time import perf_counter
from typing import Any

from . import journal as J
from . import values as V
from .app import (
    ActionStep,
    App,
    Block,
    CallStep,
    CancelStep,
    FailStep,
    ForEachStep,
    IfStep,
    LetStep,
    ParamInfo,
    ReturnStep,
    ScheduleStep,
    Step,
    TerminateStep,
    Workflow,
)
from .context import ActionContext, RunInfo
from .errors import MissingDataError, RateLimitedError, RunError, WfError
from .frame import Frame, RunState
from .runs import TIMED_MS, RunRecord, ms_of
from .scheduler import new_id
from .services import Services
from .things import Thing
from .workflow_steps import WorkflowSteps

logger = logging.getLogger("wfkit.executor")

# An expression is read as `c.fn(f) if not c.is_async else await c.fn(f)`, written out where it is
# needed: most expressions are synchronous, and a helper coroutine around each would cost more than
# evaluating them.


class _End:
    """A `return` or `terminate` ends its workflow's body: handed back up through the enclosing
    blocks (raising it through every frame would cost more than running a short workflow)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value  # what `return` gave; None for `terminate`


_TERMINATED = _End(None)


@dataclass(slots=True)
class _Straight:
    """A body of `let`s (each with its compiled value, its name and whether that name is a secret's)
    and at most a final `return`; the records of its statements but their times, in order."""

    lets: list[tuple[LetStep, Callable[[Frame], Any], str, bool]]
    ret: ReturnStep | None
    entries: list[dict[str, Any]]


def _ran_entry(step: Step) -> dict[str, Any]:
    """The record of a statement that simply ran, as `Executor._record` writes it, but its time."""
    return {"step": step.id, "line": step.span.line, "kind": step.kind, "label": step.label, "status": "ran"}


def _scrub(text: str, secrets: set[str]) -> str:
    for s in secrets:
        if s and s in text:
            text = text.replace(s, V.REDACTED)
    return text


def _remember_secret(state: RunState, name: str, value: Any) -> None:
    if isinstance(value, dict):  # `session = log_in(…)`: its `token` is a secret whatever the name
        for k, v in value.items():
            _remember_secret(state, k, v)
    elif V.is_secret_name(name) and isinstance(value, str | int | float) and not isinstance(value, bool):
        text = V.text(value)
        if len(text) >= 3:  # shorter values would scrub ordinary words
            state.secrets.add(text)


class Executor(WorkflowSteps):
    """Runs workflows of one app with one set of services."""

    def __init__(self, app: App, services: Services | None = None):
        self.app = app
        self.services = services or Services()
        hooks = self.services.hooks
        self._pending_hooks: set[asyncio.Future[Any]] = set()  # step events still being handled
        events = ("run_started", "step_finished", "run_finished")
        self._listening = {e: hooks is not None and hooks.has_listeners(e) for e in events}
        self._step_hook = self._listening["step_finished"]
        self._straights: dict[Workflow, _Straight | None] = {}  # (an executor serves one app)
        self._dispatch: dict[type[Step], Callable[[Any, Frame], Awaitable[_End | None]]] = {
            LetStep: self._let,
            ActionStep: self._action,
            IfStep: self._if,
            ForEachStep: self._for_each,
            ScheduleStep: self._schedule,
            CallStep: self._call,
            CancelStep: self._cancel,
            ReturnStep: self._return,
            TerminateStep: self._terminate,
            FailStep: self._fail,
        }

    # ------------------------------------------------------------------ a run

    async def run(
        self,
        workflow: str | Workflow,
        args: dict[str, Any] | None = None,
        *,
        user: Thing | None = None,
        admin: bool = False,
        request: Any = None,
        run_id: str | None = None,
        chain: int = 1,
        trigger: str = "cli",
        durable: bool = True,
        resumed: bool | None = None,
    ) -> RunRecord:
        """Run `workflow` with converted arguments; never raises for the run's own failures —
        the record says `failed`, with the message and the line.

        `durable`: journal finished actions in the services' journal, so that running the same
        `run_id` again resumes where it failed. A run nobody will resume (an HTTP call without
        `@retry`) keeps its journal in memory and saves the round trips.

        `resumed`: an earlier attempt of this durable run may have done some of its actions, so
        store writes look for their recorded effects first (docs/plugins.md). None: whenever a
        `run_id` is given; a caller that knows this is a first attempt passes False."""
        wf = self.app.workflows[workflow] if isinstance(workflow, str) else workflow
        run = RunInfo(run_id or new_id(), wf.name, user, admin, admin or wf.ignore_privacy, max(chain, 1))
        args = args or {}
        record = RunRecord(
            run.id,
            wf.name,
            trigger,
            V.now(),
            {},  # the parameters are recorded once bound, defaults included
            user.id if user is not None else None,
            run.chain,
        )
        state = RunState(record)
        frame = Frame({}, run, self.services, state, request)
        started = perf_counter()
        if self._listening["run_started"]:
            await self._notify("run_started", run=run)
        try:
            # a workflow that never waits has no default to await: no coroutine to make for it
            frame.vars = await self.bind_params(wf, args, frame) if wf.suspends else self.bind_now(wf, args, frame)
            # what the run saw, defaults included, as JSON without secrets
            record.params = dict(frame.vars) if wf.json_params and V.is_json(frame.vars) else V.redact(frame.vars)
            state.durable = durable
            state.resumed = durable and (run_id is not None if resumed is None else resumed)
            if durable and run_id is not None:  # a new run has nothing journaled yet
                state.journal = J.readable(await self.services.journal.load(run.id))
            if wf.suspends:
                async with asyncio.timeout(wf.flow.timeout.total_seconds()):
                    end = await self.block(wf.body, frame)
            elif (straight := self._straight_of(wf)) is not None:  # most short workflows: no coroutine a step
                end = self._run_straight(straight, frame)
            else:  # it never waits, so a timer could not interrupt it anyway
                end = await self.block(wf.body, frame)
            record.response = V.to_json(end.value) if end is not None and isinstance(end.value, dict) else {}
        except TimeoutError:
            record.error = {
                "message": f"the run took longer than its timeout of {_human(wf.flow.timeout)}",
                "line": None,
            }
        except RunError as e:
            record.error = {"message": _scrub(e.message, state.secrets), "line": e.line}
            if not record.params:  # it failed before its parameters were bound: show what it was given
                record.params = V.redact(args)
            if isinstance(e, MissingDataError):
                record.error["status"] = e.status
            elif isinstance(e, RateLimitedError):  # an HTTP caller gets a 429 with Retry-After
                record.error.update(status=e.status, code=e.code, retry_after=round(e.retry_after, 3))
        if record.error is None:
            try:
                if state.scheduled or state.cancels:
                    await self.release(state)
                record.status = "success"
            except WfError as e:
                record.error = {"message": f"could not schedule: {e}", "line": None}
        if record.error is not None:
            record.status = "failed"
            record.response = None
        record.finished_at = V.now()
        record.duration_ms = ms_of((perf_counter() - started) * 1000)
        if record.status == "success" and state.durable:
            await self._forget(run.id, state, run_id is not None)
        if self._listening["run_finished"]:
            await self._notify("run_finished", run=run, record=record.to_json())
        return record

    def _straight_of(self, wf: Workflow) -> _Straight | None:
        """`wf`'s body as `_Straight` when it is `let`s then at most a `return`, none of them
        conditional or waiting; else None (its body runs through `block`)."""
        try:
            return self._straights[wf]
        except KeyError:
            pass
        body = wf.body
        ret = body[-1] if body and isinstance(body[-1], ReturnStep) else None
        lets = [s for s in body if isinstance(s, LetStep)]
        straight = None
        if (
            not self._step_hook
            and len(lets) + (ret is not None) == len(body)
            and len(body) <= self.services.limits.max_steps_recorded
            and all(s.when is None and not s.value.is_async for s in lets)
            and (ret is None or (ret.when is None and (ret.value is None or not ret.value.is_async)))
        ):
            lets_run = [(s, s.value.fn, s.name, V.is_secret_name(s.name)) for s in lets]
            straight = _Straight(lets_run, ret, [_ran_entry(s) for s in body])
        self._straights[wf] = straight
        return straight

    def _run_straight(self, straight: _Straight, f: Frame) -> _End | None:
        """`block` for a straight body, each statement recorded as `_record` would record it (the
        records are made when read: `RunRecord.steps`)."""
        record, variables = f.state.record, f.vars
        step: Step | None = None
        seconds: list[float] = []
        t0 = perf_counter()
        try:
            for step, fn, name, secret in straight.lets:  # noqa: B007 (`step`: what failed, below)
                value = fn(f)
                variables[name] = value
                if secret or isinstance(value, dict):
                    _remember_secret(f.state, name, value)
                t1 = perf_counter()
                seconds.append(t1 - t0)
                t0 = t1
            step = straight.ret
            end = None if step is None else _End(step.value.fn(f) if step.value is not None else {})
        except RunError as e:
            assert step is not None
            record.ran_straight(straight.entries, seconds)
            raise self._fail_at(step, f, t0, e) from None
        if step is not None:
            seconds.append(perf_counter() - t0)
        record.ran_straight(straight.entries, seconds)
        record.went_straight = not seconds or ms_of(max(seconds) * 1000) < TIMED_MS  # (as each is kept)
        return end

    async def bind_params(self, wf: Workflow, args: dict[str, Any], f: Frame) -> dict[str, Any]:
        """The parameters' values: the arguments given, defaults for the others."""
        bound: dict[str, Any] = {}
        for p in wf.params:
            v = args.get(p.name)
            if v is None and p.default is not None and p.default.is_async:
                v = await p.default.fn(f)
            bound[p.name] = self._bound(wf, p, v, f)
        return bound

    def bind_now(self, wf: Workflow, args: dict[str, Any], f: Frame) -> dict[str, Any]:
        """`bind_params` for a workflow whose defaults need no waiting (`not wf.suspends`)."""
        return {p.name: self._bound(wf, p, args.get(p.name), f) for p in wf.params}

    def _bound(self, wf: Workflow, p: ParamInfo, v: Any, f: Frame) -> Any:
        if v is None and p.default is not None:
            if not p.default.is_async:  # an awaited one was evaluated by `bind_params`
                v = p.default.fn(f)
        elif v is None and p.required:
            raise MissingDataError(f"Missing parameter for workflow {wf.name}: parameter {p.name}")
        if p.secret:
            _remember_secret(f.state, p.name, v)
        return v

    async def _forget(self, run_id: str, state: RunState, given_id: bool) -> None:
        """A run that succeeded needs neither its journal nor its recorded effects any more. Failing
        to drop them does not change the run's outcome (both expire)."""
        if state.journal or given_id:
            try:
                await self.services.journal.forget(run_id)
            except Exception as e:
                logger.warning("could not forget the journal of run %s: %s", run_id, e)
        effects = getattr(self.services.store, "effects", None)
        if effects is not None:
            await effects.forget(run_id, resumed=state.resumed)

    async def _notify(self, event: str, **kwargs: Any) -> None:
        if self.services.hooks is not None:
            await self.services.hooks.notify(event, **kwargs)

    # ------------------------------------------------------------------ statements

    async def block(self, steps: Block, f: Frame) -> _End | None:
        """Run the statements in order; what ended the workflow's body early, if anything did."""
        dispatch = self._dispatch
        for step in steps:
            if step.when is not None and not await self._when(step, f):
                continue
            end = await dispatch[type(step)](step, f)
            if end is not None:
                return end
        return None

    async def _when(self, step: Step, f: Frame) -> bool:
        assert step.when is not None
        if V.truthy(step.when.fn(f) if not step.when.is_async else await step.when.fn(f)):
            return True
        seen: dict[str, Any] = {}
        for n in step.when.names:
            if n == "current_user":
                seen[n] = f.run.user.id if f.run.user else None
            elif n in f.vars:
                v = f.vars[n]
                seen[n] = V.REDACTED if V.is_secret_name(n) and v is not None else _short(V.redact_json(V.to_json(v)))
        self._record(f, step, "skipped", 0.0, {"seen": seen})
        if isinstance(step, ActionStep | ScheduleStep | CallStep) and step.bind is not None:
            f.vars[step.bind] = None  # a skipped `x = … when …` binds empty
        return False

    def _record(self, f: Frame, step: Step, status: str, ms: float, extra: dict[str, Any] | None = None) -> None:
        rec = f.state.record
        if len(rec.steps) >= self.services.limits.max_steps_recorded:
            rec.steps_dropped += 1
            return
        entry = {
            "step": step.id,
            "line": step.span.line,
            "kind": step.kind,
            "label": step.label,
            "status": status,
            "ms": ms_of(ms),
        }
        if f.path:
            entry["path"] = f.path
        if f.run.workflow != rec.workflow:
            entry["workflow"] = f.run.workflow
        if extra:
            entry.update(extra)
        rec.steps.append(entry)
        if self._step_hook:  # handled beside the run: a slow listener must not slow it down
            task = asyncio.ensure_future(self._notify("step_finished", run=f.run, step=entry))
            self._pending_hooks.add(task)
            task.add_done_callback(self._pending_hooks.discard)

    def _fail_at(self, step: Step, f: Frame, t0: float, exc: BaseException) -> RunError:
        """The error a failing statement ends the run with, recorded against the statement."""
        if isinstance(exc, RunError):
            err = exc
            if err.line is None:
                err.line = step.span.line
        else:
            verb = step.spec.verb if isinstance(step, ActionStep) else step.kind
            err = RunError(f"{verb} failed: {exc}", line=step.span.line)
        err.message = _scrub(err.message, f.state.secrets)
        self._record(f, step, "failed", (perf_counter() - t0) * 1000, {"error": err.message})
        return err

    async def _let(self, s: LetStep, f: Frame) -> None:
        t0 = perf_counter()
        try:
            v = s.value.fn(f) if not s.value.is_async else await s.value.fn(f)
        except RunError as e:
            raise self._fail_at(s, f, t0, e) from None
        f.vars[s.name] = v
        _remember_secret(f.state, s.name, v)
        self._record(f, s, "ran", (perf_counter() - t0) * 1000)

    async def _if(self, s: IfStep, f: Frame) -> _End | None:
        t0 = perf_counter()
        chosen: Block | None = s.else_body
        branch = "else" if s.else_body is not None else "none"
        try:
            for i, (cond, body) in enumerate(s.branches):
                if V.truthy(cond.fn(f) if not cond.is_async else await cond.fn(f)):
                    chosen, branch = body, str(i + 1)
                    break
        except RunError as e:
            raise self._fail_at(s, f, t0, e) from None
        self._record(f, s, "ran", (perf_counter() - t0) * 1000, {"branch": branch})
        return await self.block(chosen, f) if chosen else None

    async def _for_each(self, s: ForEachStep, f: Frame) -> _End | None:
        t0 = perf_counter()
        try:
            items = s.iterable.fn(f) if not s.iterable.is_async else await s.iterable.fn(f)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise RunError(f"for each needs a list, got {V.type_name(items)}")
            limit = self.services.limits.max_iterations
            if len(items) > limit:
                raise RunError(f"for each over {len(items):,} items exceeds WF_MAX_ITERATIONS ({limit:,})")
        except RunError as e:
            raise self._fail_at(s, f, t0, e) from None
        self._record(f, s, "ran", (perf_counter() - t0) * 1000, {"items": len(items)})
        outer = f.path
        try:
            for i, item in enumerate(items):
                f.vars[s.var] = item
                f.path = f"{outer}{s.id}.{i}/"
                end = await self.block(s.body, f)
                if end is not None:
                    return end
        finally:
            f.path = outer
        return None

    async def _action(self, s: ActionStep, f: Frame) -> None:
        t0 = perf_counter()
        key = f"{f.path}{s.id}"
        state = f.state
        try:
            if key in state.journal:
                result = J.decode(state.journal[key])
                status = "replayed"
            else:
                target = (
                    (s.target.fn(f) if not s.target.is_async else await s.target.fn(f))
                    if s.target is not None
                    else None
                )
                args = {name: (c.fn(f) if not c.is_async else await c.fn(f)) for name, c in s.args}
                for name in s.secret_args:
                    _remember_secret(state, name, args.get(name))
                ctx = ActionContext(
                    run=f.run,
                    idempotency_key=f"{f.run.id}:{key}",
                    line=s.span.line,
                    log=_Logger(self, f, s),
                    store=self.services.store,
                    services=self.services.extra,
                    durable=state.durable,
                    resumed=state.resumed,
                )
                result = await s.spec.run(ctx, target, args)
                status = "replayed" if ctx.replayed else "ran"
        except Exception as e:  # an action's own failure, or any bug of a plugin's: the run fails here
            raise self._fail_at(s, f, t0, e) from None
        if s.bind is not None:
            f.vars[s.bind] = result
            _remember_secret(state, s.bind, result)
        if state.durable and key not in state.journal:  # a run nobody resumes needs no journal
            encoded = J.sealed(result) if s.bind is not None and V.is_secret_name(s.bind) else J.encode(result)
            try:
                await J.save_retrying(self.services.journal, f.run.id, key, encoded)
            except Exception as e:  # the action succeeded: the run stops, blaming the journal, not it
                self._record(f, s, status, (perf_counter() - t0) * 1000, {"journaled": False})
                raise RunError(
                    f"the run's journal could not be written after {s.spec.verb} succeeded (its effect "
                    f"stands, and a resumed run will not repeat a store write): {e}",
                    line=s.span.line,
                ) from None
            state.journal[key] = encoded
        self._record(f, s, status, (perf_counter() - t0) * 1000)

    def _log(self, f: Frame, s: Step, message: str) -> None:
        f.state.record.logs.append(
            {"at": V.iso(V.now()), "line": s.span.line, "message": _scrub(str(message), f.state.secrets)}
        )

    async def _return(self, s: ReturnStep, f: Frame) -> _End:
        t0 = perf_counter()
        try:
            value = (s.value.fn(f) if not s.value.is_async else await s.value.fn(f)) if s.value is not None else {}
        except RunError as e:
            raise self._fail_at(s, f, t0, e) from None
        self._record(f, s, "ran", (perf_counter() - t0) * 1000)
        return _End(value)

    async def _terminate(self, s: TerminateStep, f: Frame) -> _End:
        self._record(f, s, "ran", 0.0)
        return _TERMINATED

    async def _fail(self, s: FailStep, f: Frame) -> None:
        t0 = perf_counter()
        try:
            message = V.text(s.message.fn(f) if not s.message.is_async else await s.message.fn(f))
        except RunError as e:
            raise self._fail_at(s, f, t0, e) from None
        raise self._fail_at(s, f, t0, RunError(message, line=s.span.line))


class _Logger:
    """`ctx.log(message)` for one statement of one run."""

    __slots__ = ("executor", "frame", "step")

    def __init__(self, executor: Executor, frame: Frame, step: Step):
        self.executor, self.frame, self.step = executor, frame, step

    def __call__(self, message: str) -> None:
        self.executor._log(self.frame, self.step, message)


def _short(v: Any) -> Any:
    if isinstance(v, str) and len(v) > 200:
        return v[:197] + "..."
    if isinstance(v, list) and len(v) > 20:
        return [*v[:20], f"… {len(v) - 20} more"]
    return v


def _human(d: timedelta) -> str:
    seconds = d.total_seconds()
    return f"{V.text(V.normalize_number(seconds))} second{'' if seconds == 1 else 's'}"
