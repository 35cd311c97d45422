"""Runs, live: Server-Sent Events for the Runs page.

The stream asks the store for the newest runs (the page's filter, the meta API's function) every
`POLL_S` seconds and sends each run that is new or whose status changed, as its table row. Every
server process writes its runs to the same database, so a stream served by any process of
`wf serve --workers N` sees the runs of all of them, with nothing to publish between processes;
an open page costs one small indexed query per poll, and never more than a tenth of the database's
time (a poll that took long waits ten times as long before the next)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
from sanic import HTTPResponse, Request, Sanic

from .. import meta_api
from ..outage import unreachable
from . import sessions, views
from .pages import RUNS_SHOWN, bp, redis_of, run_filters, session_of, sign_in_page, state

POLL_S = 0.3  # a new run shows within a second: its process saves it within ~20 ms, then a poll
SHARE = 10  # a slow poll (a rare workflow's filter over a long history) waits 10 times its own time
KEEPALIVE_S = 15.0  # a comment now and then keeps proxies from closing a quiet stream
RECHECK_S = 10.0  # how often a stream checks that its session still holds (signed out, revoked)

log = logging.getLogger("wfkit.server")


def closing(app: Sanic[Any, Any]) -> asyncio.Event:
    """Set when the server stops: open streams end at once instead of holding the shutdown."""
    event: asyncio.Event | None = getattr(app.ctx, "dashboard_closing", None)
    if event is None:
        event = app.ctx.dashboard_closing = asyncio.Event()
    return event


@bp.before_server_stop
async def _end_streams(app: Sanic[Any, Any]) -> None:
    closing(app).set()


def event(run: dict[str, Any]) -> str:
    data = orjson.dumps({"id": run["id"], "html": views.render("_run_row.html", run=run)}).decode()
    return f"event: run\ndata: {data}\n\n"


@bp.get("/stream/runs")
async def stream_runs(request: Request) -> HTTPResponse | None:
    session = await session_of(request)
    if session is None:  # the form, as on any dashboard path (EventSource gives up on it: not a stream)
        return sign_in_page(request)
    st = state(request)
    chosen = run_filters(request, st)
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8", headers={"Cache-Control": "no-store"}
    )
    loop = asyncio.get_running_loop()
    stop = closing(request.app)
    seen: dict[str, str] = {}  # id → status, of the runs the page shows
    checked = sent = loop.time()
    await response.send("retry: 2000\n\n")
    try:
        while not stop.is_set():
            asked = loop.time()
            rows = await meta_api.recent_runs(st, chosen["workflow"], chosen["status"], RUNS_SHOWN)
            took = loop.time() - asked
            fresh = [r for r in reversed(rows) if seen.get(r["id"]) != r["status"]]  # oldest first
            seen = {r["id"]: r["status"] for r in rows}
            now = loop.time()
            if fresh:
                await response.send("".join(event(r) for r in fresh))
                sent = now
            elif now - sent > KEEPALIVE_S:
                await response.send(": still here\n\n")
                sent = now
            if now - checked > RECHECK_S:
                if session.expires < time.time() or not await sessions.still_valid(st.store, session, redis_of(st)):
                    break
                checked = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(POLL_S, SHARE * took))
    except Exception as e:  # the page's EventSource connects again after `retry`
        if not unreachable(e):
            log.exception("the dashboard's stream of runs failed")
    finally:
        with contextlib.suppress(Exception):
            await response.eof()
    return None
