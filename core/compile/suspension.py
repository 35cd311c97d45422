"""Which compiled workflows can ever wait (`Workflow.suspends`), decided once the whole app is compiled."""

from __future__ import annotations

from collections.abc import Iterator

from ..app import ActionStep, CallStep, CExpr, IfStep, Step, Workflow, walk


def _exprs(step: Step) -> Iterator[CExpr]:
    for name in ("when", "value", "target", "iterable", "message", "at", "in_", "each_list", "every"):
        c = getattr(step, name, None)
        if isinstance(c, CExpr):
            yield c
    for _, c in getattr(step, "args", ()):
        yield c
    if isinstance(step, IfStep):
        yield from (cond for cond, _ in step.branches)


def mark_suspending(workflows: dict[str, Workflow]) -> None:
    """`Workflow.suspends`: whether a run of it can ever wait (an action, a search, a read of a
    reference, or a `call` of a workflow that can). One that cannot is never interrupted by a
    timer, so the executor sets none for it."""
    calls: dict[str, set[str]] = {}
    for wf in workflows.values():
        steps = list(walk(wf.body))
        wf.suspends = any(isinstance(s, ActionStep) or any(c.is_async for c in _exprs(s)) for s in steps)
        wf.suspends = wf.suspends or any(p.default is not None and p.default.is_async for p in wf.params)
        calls[wf.name] = {s.workflow for s in steps if isinstance(s, CallStep)}
    changed = True
    while changed:  # a workflow that calls one that suspends suspends too
        changed = False
        for wf in workflows.values():
            if not wf.suspends and any(workflows[c].suspends for c in calls[wf.name] if c in workflows):
                wf.suspends = changed = True
