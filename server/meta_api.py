"""`/api/1.1/meta/…` for operators (admin token only), and `/healthz` (docs/http.md)."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, HTTPResponse, Request
from wfkit.core import values as V
from wfkit.core.app import Workflow

from . import openapi
from .auth import identify
from .errors import HttpError, forbidden, not_found, unauthorized
from .jsonio import json_response
from .outage import DATABASE, unreachable, watch
from .state import ServerState

bp = Blueprint("meta", url_prefix="/api/1.1/meta")
health = Blueprint("health")


def _ok(body: Any, status: int = 200) -> HTTPResponse:
    return json_response(body, status=status)


async def admin_state(request: Request) -> ServerState:
    st: ServerState = request.app.ctx.state
    caller = await identify(request, st.store)
    if caller.anonymous:
        raise unauthorized("the meta API needs an admin token")
    if not caller.admin:
        raise forbidden("the meta API needs an admin token")
    return st


def describe(wf: Workflow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": wf.name,
        "exposed": wf.public,
        "auth": "webhook" if wf.webhook is not None else wf.exposed,
        "ignore_privacy": wf.ignore_privacy,
        "params": [
            {"name": p.name, "type": str(p.type), "required": p.required, "optional": p.optional} for p in wf.params
        ],
        "line": wf.span.line,
        "file": wf.span.file,
    }
    if wf.webhook is not None:
        out["webhook"] = {"scheme": wf.webhook.scheme, "header": wf.webhook.header}
    flow = wf.flow
    out["flow"] = {
        "retry_attempts": flow.retry_attempts,
        "concurrency_limit": flow.concurrency_limit,
        "rate_limit": None
        if flow.rate_count is None
        else {"count": flow.rate_count, "period_seconds": V.to_json(flow.rate_period)},
        "debounce_seconds": V.to_json(flow.debounce),
        "timeout_seconds": V.to_json(flow.timeout),
    }
    return out


# What operators read, gathered once for the meta API and the dashboard (server/dashboard) alike.


def workflow_list(st: ServerState) -> list[dict[str, Any]]:
    """Every workflow of the app, described, by name."""
    return [describe(w) for w in sorted(st.app.workflows.values(), key=lambda w: w.name)]


async def recent_runs(
    st: ServerState, workflow: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Summaries of the newest runs, newest first."""
    await st.recorder.flush()  # runs that just finished are listed too
    return await st.store.runs.recent(workflow=workflow, status=status, limit=limit)


async def run_record(st: ServerState, run_id: str) -> dict[str, Any] | None:
    """One run's whole record (every statement, logs, the error), or None."""
    await st.recorder.flush()
    return await st.store.runs.get(run_id)


@bp.get("/workflows")
async def workflows(request: Request) -> HTTPResponse:
    st = await admin_state(request)
    return _ok({"workflows": workflow_list(st)})


@bp.get("/runs")
async def runs(request: Request) -> HTTPResponse:
    st = await admin_state(request)
    try:
        limit = int(request.args.get("limit") or 50)
    except ValueError:
        raise HttpError(400, "BAD_REQUEST", "limit must be a whole number") from None
    found = await recent_runs(st, request.args.get("workflow") or None, request.args.get("status") or None, limit)
    return _ok({"runs": found})


@bp.get("/runs/<run_id>")
async def run(request: Request, run_id: str) -> HTTPResponse:
    st = await admin_state(request)
    record = await run_record(st, run_id)
    if record is None:
        raise not_found(f"Run not found: {run_id}")
    return _ok(record)


@bp.get("/outbox")
async def outbox(request: Request) -> HTTPResponse:
    st = await admin_state(request)
    return _ok({"emails": await st.store.outbox()})


@bp.get("/openapi.json")
async def openapi_json(request: Request) -> HTTPResponse:
    st = await admin_state(request)
    return _ok(openapi.document(st.app, f"{request.scheme}://{request.host}"))


def queue(st: ServerState) -> Any:
    if st.background is None:
        raise HttpError(503, "QUEUE_UNAVAILABLE", "the background queue is not running in this server")
    return st.background


@bp.get("/scheduled")
async def scheduled(request: Request) -> HTTPResponse:
    st = await admin_state(request)
    return _ok({"scheduled": await queue(st).list_scheduled(request.args.get("workflow") or None)})


@bp.delete("/scheduled/<run_id>")
async def cancel_one(request: Request, run_id: str) -> HTTPResponse:
    st = await admin_state(request)
    return _ok({"status": "success", "cancelled": await queue(st).cancel([run_id])})


@bp.delete("/scheduled")
async def cancel_workflow(request: Request) -> HTTPResponse:
    st = await admin_state(request)
    name = request.args.get("workflow")
    if not name:
        raise HttpError(400, "BAD_REQUEST", "DELETE /scheduled needs ?workflow=NAME")
    return _ok({"status": "success", "cancelled": await queue(st).cancel_workflow(name)})


@bp.post("/scheduler/pause")
async def pause(request: Request) -> HTTPResponse:
    st = await admin_state(request)
    await queue(st).pause()
    return _ok({"status": "success", "paused": True})


@bp.post("/scheduler/resume")
async def resume(request: Request) -> HTTPResponse:
    st = await admin_state(request)
    await queue(st).resume()
    return _ok({"status": "success", "paused": False})


@health.get("/healthz")
async def healthz(request: Request) -> HTTPResponse:
    st: ServerState = request.app.ctx.state
    checks: dict[str, str] = {}
    database = watch(DATABASE)  # a health check also tells when an outage ends (docs/operating.md)
    try:
        await st.store.query("SELECT 1")
        checks["database"] = "ok"
        database.ok()
    except Exception as e:
        checks["database"] = f"unreachable: {e}"
        if unreachable(e):
            database.failed(e)
    if st.background is not None:
        checks["queue"] = "ok" if await st.background.healthy() else "unreachable"
    ok = all(v == "ok" for v in checks.values())
    return _ok({"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503)
