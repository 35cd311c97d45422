"""The dashboard's pages and the actions they offer (docs/dashboard.md). Every page reads through
the meta API's own data functions and the queue's `QueueControl`, so the two never disagree.

Any path under /dashboard/ shows the sign-in form until the browser has a session; the static
files (scripts, styles) need none."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

from sanic import Blueprint, HTTPResponse, Request, html, redirect
from wfkit.core.graph import mermaid

from .. import meta_api
from ..errors import HttpError
from ..headers import PAGE_BLUEPRINTS, PAGE_HEADERS
from ..state import ServerState
from . import sessions, views
from .sessions import Session

bp = Blueprint("dashboard", url_prefix="/dashboard")
bp.static("/static", views.STATIC, name="static")
PAGE_BLUEPRINTS.append(bp)  # content security policy, no referrer (server/headers.py)

RUNS_SHOWN = 50
MENU: tuple[tuple[str, str, str], ...] = (
    ("runs", "Runs", "/dashboard/"),
    ("scheduled", "Scheduled", "/dashboard/scheduled"),
    ("workflows", "Workflows", "/dashboard/workflows"),
    ("outbox", "Outbox", "/dashboard/outbox"),
)

Page = Callable[..., Awaitable[HTTPResponse]]
CSP = "Content-Security-Policy"
# Mermaid draws its SVG with inline styles: the graph's page allows them (scripts stay 'self' only)
GRAPH_POLICY = {CSP: PAGE_HEADERS[CSP] + "; style-src 'self' 'unsafe-inline'"}


def state(request: Request) -> ServerState:
    st: ServerState = request.app.ctx.state
    return st


def key(request: Request) -> bytes:
    """This process's session key (derived once from the data folder's key)."""
    ctx = request.app.ctx
    if getattr(ctx, "dashboard_key", None) is None:
        ctx.dashboard_key = sessions.session_key(ctx.data_dir)
    k: bytes = ctx.dashboard_key
    return k


def redis_of(st: ServerState) -> Any:
    return st.background.redis if st.background is not None else None


async def session_of(request: Request) -> Session | None:
    """The request's session, when it has a valid one."""
    session = sessions.parse(request.cookies.get(sessions.COOKIE), key(request))
    if session is None:
        return None
    st = state(request)
    return session if await sessions.still_valid(st.store, session, redis_of(st)) else None


def _local(target: str | None) -> str:
    """Where to go after signing in: a dashboard path of this server, never another site."""
    if target and target.startswith("/dashboard/") and "\\" not in target:
        return target
    return "/dashboard/"


def sign_in_page(request: Request, error: str | None = None, target: str | None = None) -> HTTPResponse:
    if target is None:
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
    body = views.render("sign_in.html", error=error, next=_local(target), menu=())
    return html(body, headers={"Cache-Control": "no-store"})


def render(
    request: Request,
    session: Session,
    template: str,
    active: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTTPResponse:
    body = views.render(template, menu=MENU, active=active, csrf=session.csrf(key(request)), **context)
    return html(body, status=status, headers={"Cache-Control": "no-store", **(headers or {})})


def admin_page(handler: Page) -> Page:
    """A page for a signed-in admin (the handler gets the session); the sign-in form otherwise."""

    @wraps(handler)
    async def page(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        session = await session_of(request)
        if session is None:
            return sign_in_page(request)
        return await handler(request, session, *args, **kwargs)

    return page


def refused(why: str) -> HTTPResponse:
    return html(views.render("refused.html", why=why, menu=()), status=403)


def admin_action(handler: Page) -> Page:
    """A state-changing POST: from this server's own pages (same origin), by a signed-in admin,
    with the session's CSRF token."""

    @wraps(handler)
    async def action(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        if not sessions.same_origin(request):
            return refused("This request came from another site.")
        session = await session_of(request)
        if session is None:
            return sign_in_page(request, target="/dashboard/")
        sent = str(request.form.get("csrf") or "") if request.form else ""
        if not session.csrf_ok(key(request), sent):
            return refused("This form is out of date: reload the page and try again.")
        return await handler(request, session, *args, **kwargs)

    return action


def back(request: Request, to: str) -> HTTPResponse:
    """After an action: an htmx request gets an empty answer (its row or panel is swapped), a
    plain form a redirect (POST, then GET)."""
    if request.headers.get("hx-request") == "true":
        return html("")
    return redirect(to, status=303)


# ------------------------------------------------------------------ signing in and out


@bp.post("/sign-in")
async def sign_in(request: Request) -> HTTPResponse:
    if not sessions.same_origin(request):
        return refused("This request came from another site.")
    form: Any = request.form or {}
    token = str(form.get("token") or "").strip()
    target = _local(str(form.get("next") or ""))
    token_id = await sessions.admin_token_id(state(request).store, token) if token else None
    if token_id is None:
        # (200: the form again, as after any mistake in a form; browsers log a 4xx page as an error)
        error = "That is not an admin token of this server. Create one with `wf token create`."
        return sign_in_page(request, error=error, target=target)
    session = sessions.new_session(token_id)
    response = redirect(target, status=303)
    sessions.set_cookie(request, response, session.cookie_value(key(request)), sessions.LIFETIME_S)
    return response


@bp.post("/sign-out")
@admin_action
async def sign_out(request: Request, session: Session) -> HTTPResponse:
    await sessions.end(session, redis_of(state(request)))
    response = redirect("/dashboard/", status=303)
    sessions.set_cookie(request, response, "", 0)
    return response


# ------------------------------------------------------------------ runs


def run_filters(request: Request, st: ServerState) -> dict[str, str | None]:
    workflow = request.args.get("workflow") or None
    status = request.args.get("status") or None
    return {
        "workflow": workflow if workflow in st.app.workflows else None,
        "status": status if status in views.STATUSES else None,
    }


@bp.get("", strict_slashes=True)
async def bare(request: Request) -> HTTPResponse:
    return redirect("/dashboard/", status=308)


@bp.get("/", strict_slashes=True)  # (else the catch-all below would take it)
@admin_page
async def runs(request: Request, session: Session) -> HTTPResponse:
    st = state(request)
    chosen = run_filters(request, st)
    found = await meta_api.recent_runs(st, chosen["workflow"], chosen["status"], RUNS_SHOWN)
    query = urlencode({k: v for k, v in chosen.items() if v})
    return render(
        request,
        session,
        "runs.html",
        "runs",
        runs=found,
        chosen=chosen,
        workflows=sorted(st.app.workflows),
        statuses=views.STATUSES,
        stream="/dashboard/stream/runs" + (f"?{query}" if query else ""),
        shown=RUNS_SHOWN,
    )


@bp.get("/runs/<run_id>")
@admin_page
async def run(request: Request, session: Session, run_id: str) -> HTTPResponse:
    st = state(request)
    record = await meta_api.run_record(st, run_id)
    if record is None:
        pending = None
        if st.background is not None:
            pending = next((p for p in await st.background.list_scheduled() if p["id"] == run_id), None)
        status = 200 if pending is not None else 404  # a run not started yet is known: its page says when
        return render(request, session, "no_run.html", "runs", status=status, run_id=run_id, pending=pending)
    wf = st.app.workflows.get(record["workflow"])
    return render(request, session, "run.html", "runs", run=record, known=wf is not None)


# ------------------------------------------------------------------ the queue


def control(st: ServerState) -> Any:
    """The queue's controls, or None when this server runs without the queue."""
    try:
        return meta_api.queue(st)
    except HttpError:
        return None


@bp.get("/scheduled")
@admin_page
async def scheduled(request: Request, session: Session) -> HTTPResponse:
    st = state(request)
    q = control(st)
    pending = await q.list_scheduled(limit=500) if q is not None else []
    paused = await q.is_paused() if q is not None else False
    recurring = await q.recurring() if q is not None else []
    return render(
        request,
        session,
        "scheduled.html",
        "scheduled",
        pending=pending,
        paused=paused,
        recurring=recurring,
        queue=q is not None,
    )


@bp.post("/scheduled/<run_id>/cancel")
@admin_action
async def cancel(request: Request, session: Session, run_id: str) -> HTTPResponse:
    q = control(state(request))
    if q is not None:
        await q.cancel([run_id])
    return back(request, "/dashboard/scheduled")


@bp.post("/scheduler/<verb:pause|resume>")
@admin_action
async def scheduler(request: Request, session: Session, verb: str) -> HTTPResponse:
    """Pause the scheduler (workers start nothing; scheduled runs wait), or resume it."""
    q = control(state(request))
    if q is not None:
        await (q.pause() if verb == "pause" else q.resume())
    return redirect("/dashboard/scheduled", status=303)


# ------------------------------------------------------------------ the app


@bp.get("/workflows")
@admin_page
async def workflows(request: Request, session: Session) -> HTTPResponse:
    st = state(request)
    rows = [
        {
            **d,
            "decorators": views.decorators(st.app, st.app.workflows[d["name"]]),
            "triggers": views.triggers(st.app, d["name"]),
        }
        for d in meta_api.workflow_list(st)
    ]
    return render(request, session, "workflows.html", "workflows", workflows=rows)


@bp.get("/workflows/<name>")
@admin_page
async def workflow(request: Request, session: Session, name: str) -> HTTPResponse:
    st = state(request)
    wf = st.app.workflows.get(name)
    if wf is None:
        return render(request, session, "missing.html", "workflows", status=404, what=f"There is no workflow {name}.")
    q = control(st)
    upcoming = [r for r in await q.recurring() if r["workflow"] == name] if q is not None else []
    return render(
        request,
        session,
        "workflow.html",
        "workflows",
        headers=GRAPH_POLICY,
        wf=meta_api.describe(wf),
        decorators=views.decorators(st.app, wf),
        triggers=views.triggers(st.app, name),
        upcoming=upcoming,
        graph=mermaid(st.app, name),
        runs=await meta_api.recent_runs(st, name, None, 10),
        link=quote(name),
    )


@bp.get("/outbox")
@admin_page
async def outbox(request: Request, session: Session) -> HTTPResponse:
    emails = await state(request).store.outbox()
    return render(request, session, "outbox.html", "outbox", emails=emails)


@bp.get("/<rest:path>")
@admin_page
async def elsewhere(request: Request, session: Session, rest: str) -> HTTPResponse:
    """Any other dashboard path: the sign-in form for strangers, a page that says so for admins."""
    return render(request, session, "missing.html", "", status=404, what="There is no such page.")
