"""Frames for expressions the queue evaluates outside a run: trigger conditions and arguments,
recurring events' arguments, flow-control keys. They run as admin."""

from __future__ import annotations

from typing import Any

from wfkit.core import values as V
from wfkit.core.app import CExpr
from wfkit.core.context import RunInfo
from wfkit.core.frame import Frame, RunState
from wfkit.core.runs import RunRecord
from wfkit.core.scheduler import new_id
from wfkit.core.services import Services


def admin_frame(services: Services, workflow: str, vars: dict[str, Any]) -> Frame:
    run = RunInfo(new_id(), workflow, None, admin=True, ignore_privacy=True)
    record = RunRecord(run.id, workflow, "trigger", V.now(), {})
    return Frame(vars, run, services, RunState(record))


async def evaluate(c: CExpr, f: Frame) -> Any:
    return await c.fn(f) if c.is_async else c.fn(f)
