"""`/api/1.1/wf/NAME`: call an exposed workflow or deliver a webhook (docs/http.md)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable
from functools import partial
from typing import Any

from sanic import Blueprint, HTTPResponse, Request, Sanic
from sanic.exceptions import MethodNotAllowed
from wfkit.core import values as V
from wfkit.core.app import App, CExpr, Workflow
from wfkit.core.convert import convert_args, convert_plain_args
from wfkit.core.errors import RunError
from wfkit.core.flow import NO_KEY, attempts, key_of, retry_after
from wfkit.core.runs import RunRecord
from wfkit.core.store import replies

from . import webhooks
from .answers import finished_in_handler
from .auth import ANONYMOUS, Caller, caller_for, token_of
from .errors import HttpError, error_body, forbidden, not_found, unauthorized
from .jsonio import json_response
from .metrics import workflow_route
from .params import CallInput, read_input
from .state import ServerState

bp = Blueprint("workflows", url_prefix="/api/1.1/wf")

RETRY_WAIT_CAP = 10.0  # seconds a call may wait between attempts of a @retry workflow


async def call(request: Request, name: str) -> HTTPResponse:
    st: ServerState = request.app.ctx.state
    wf = st.app.workflows.get(name)
    if wf is None or not wf.public:
        raise not_found(f"Workflow not found: {name} (is it @exposed?)")
    if wf.webhook is not None:
        if request.method != "POST":  # a delivery is a POST of the signed body
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}", request.method, ("POST",))
        return await deliver_webhook(request, st, wf)
    token = token_of(request)  # most calls carry none: no coroutine to make for them
    caller = ANONYMOUS if token is None else await caller_for(token, st.store)
    check_access(wf, caller)
    given = read_input(request)
    key = request.headers.get("idempotency-key")
    if not key:
        if wf.plain_params and wf.flow.once_unlimited:  # most calls: run_call's path, a coroutine less
            try:
                args = convert_plain_args(wf, given.params, given.text_keys)
            except RunError as e:
                status, body = refused(e)
            else:
                status, body = answer(st, await run_once(st, wf, caller, given, args))
        else:
            status, body = await run_call(st, wf, caller, given)
        return finished_in_handler(request, json_response(body, status=status), workflow_route(wf.name))
    scope = "admin" if caller.admin else caller.user.id if caller.user else "anonymous"
    asked = hashlib.sha256(b"\0".join((wf.name.encode(), request.query_string.encode(), request.body or b"")))
    return await answer_once(
        st, wf, f"http:{scope}:{key}", caller, given, keep_failures=True, request=asked.hexdigest()
    )


async def answer_once(
    st: ServerState,
    wf: Workflow,
    key: str,
    caller: Caller,
    given: CallInput,
    *,
    keep_failures: bool,
    request: str = "",
) -> HTTPResponse:
    """Run the call once for `key`; a repeat gets the first answer again. A failed answer is kept
    too (`keep_failures`), or given up so that the sender may try again (webhook deliveries).
    `request` fingerprints the call: the same key for another request is refused (422)."""
    kept = await replies.claim(st.store, key, wf.name, request)
    if kept is not None:
        replayed = kept[1].get("body", {}).get("status") != "IDEMPOTENCY_KEY_REUSED"
        return json_response(kept[1], status=kept[0], headers={"Idempotent-Replayed": "true"} if replayed else None)
    try:
        status, body = await run_call(st, wf, caller, given)
    except BaseException:
        await replies.release(st.store, key)
        raise
    if status >= 400 and not keep_failures:
        await replies.release(st.store, key)
    else:
        await replies.finish(st.store, key, status, body)
    return json_response(body, status=status)


bp.add_route(call, "/<name>", methods=["GET", "POST"])


def add_static_routes(server: Sanic[Any, Any], app: App) -> None:
    """A route of its own for each workflow served at the start: Sanic finds a static path by one
    lookup, without matching the pattern above. A workflow a reload adds is served by the pattern; one
    it removes answers 404 from its old route as from the pattern."""
    for wf in app.workflows.values():
        if wf.public:
            handler = partial(call, name=wf.name)
            server.add_route(handler, f"{bp.url_prefix}/{wf.name}", methods=["GET", "POST"], name=f"workflow_{wf.name}")


def check_access(wf: Workflow, caller: Caller) -> None:
    """`@exposed` is user-and-admin; `auth: admin` admin only; `auth: none` anyone."""
    if wf.exposed == "none":
        return
    if caller.anonymous:
        raise unauthorized()
    if wf.exposed == "admin" and not caller.admin:
        raise forbidden(f"the workflow {wf.name} needs an admin token")


async def run_call(st: ServerState, wf: Workflow, caller: Caller, given: CallInput) -> tuple[int, dict[str, Any]]:
    """Run the workflow for this call; the HTTP status and body to answer with."""
    try:
        if wf.plain_params:  # most workflows: no coroutine to make
            args = convert_plain_args(wf, given.params, given.text_keys)
        else:
            args = await convert_args(
                wf, given.params, store=st.store, run=caller.run_info(workflow=wf.name), from_text=given.text_keys
            )
    except RunError as e:
        return refused(e)
    flow = wf.flow
    if flow.once_unlimited:
        record = await run_once(st, wf, caller, given, args)
    elif flow.rate_count is None and flow.concurrency_limit is None:
        record = await run_with_retries(st, wf, args, caller, given.request)
    else:
        async with flow_control(st, wf, args):
            record = await run_with_retries(st, wf, args, caller, given.request)
    return answer(st, record)


def refused(e: RunError) -> tuple[int, dict[str, Any]]:
    """The status and body for arguments the workflow refuses (missing, of the wrong type)."""
    return e.code, error_body(e.code, e.status, e.message)


def run_once(
    st: ServerState, wf: Workflow, caller: Caller, given: CallInput, args: dict[str, Any]
) -> Awaitable[RunRecord]:
    """A call's one attempt (no `@retry`): nobody resumes it, so its journal stays in memory."""
    return st.executor.run(
        wf, args, user=caller.user, admin=caller.admin, request=given.request, trigger="http", durable=False
    )


def answer(st: ServerState, record: RunRecord) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body for a finished run (its record goes to the run log)."""
    st.recorder.add(record)
    if record.status == "success":
        return 200, {"status": "success", "response": record.response or {}}
    assert record.error is not None
    status = record.error.get("status", "WORKFLOW_ERROR")
    extra: dict[str, Any] = {"run_id": record.id}
    if record.error.get("code") == 429:  # throttled (log_in): not kept for an Idempotency-Key, try later
        raise HttpError(429, status, record.error["message"], retry_after=record.error["retry_after"], **extra)
    if record.error.get("line"):
        extra["line"] = record.error["line"]
    return 400, error_body(400, status, record.error["message"], **extra)


async def run_with_retries(
    st: ServerState, wf: Workflow, args: dict[str, Any], caller: Caller, request: Any
) -> RunRecord:
    """`@retry(attempts: N, backoff: D)`: N attempts in all, with the same run id (finished actions
    are replayed from the journal), waiting as `core.flow` says (at most `RETRY_WAIT_CAP` here: a
    caller is waiting). A `fail` statement is the workflow's own verdict and is not retried."""
    run_id = None
    durable = attempts(wf.flow) > 1  # only a retried call is ever resumed
    for attempt in range(1, attempts(wf.flow) + 1):
        record = await st.executor.run(
            wf,
            args,
            user=caller.user,
            admin=caller.admin,
            request=request,
            trigger="http",
            run_id=run_id,
            durable=durable,
        )
        record.attempt = attempt
        run_id = record.id
        wait = retry_after(wf.flow, record, attempt)
        if wait is None:
            return record
        await asyncio.sleep(min(wait, RETRY_WAIT_CAP))
    raise AssertionError("unreachable")  # pragma: no cover


async def _key(st: ServerState, key: CExpr | None, args: dict[str, Any]) -> str:
    if key is None:  # most limits have no key: no frame to build for each call
        return NO_KEY
    frame = st.services.frame()
    frame.vars = dict(args)
    return await key_of(key, frame)


@contextlib.asynccontextmanager
async def flow_control(st: ServerState, wf: Workflow, args: dict[str, Any]) -> AsyncIterator[None]:
    """`@rate_limit`: over HTTP the excess is refused with 429 and a Retry-After (the caller waits
    its turn); `@concurrency`: a call waits for a free slot."""
    flow = wf.flow
    if flow.rate_count is not None and flow.rate_period is not None:
        key = await _key(st, flow.rate_key, args)
        wait = st.limiter.retry_after(wf.name, key, flow.rate_count, flow.rate_period.total_seconds())
        if wait:
            raise HttpError(
                429, "RATE_LIMITED", f"too many calls of {wf.name}: retry in {wait:.1f} s", retry_after=round(wait, 3)
            )
    if flow.concurrency_limit is None:
        yield
        return
    async with st.slot(wf.name, await _key(st, flow.concurrency_key, args), flow.concurrency_limit):
        yield


async def deliver_webhook(request: Request, st: ServerState, wf: Workflow) -> HTTPResponse:
    """A signed delivery: verify, answer a repeated delivery with the first answer, else run."""
    assert wf.webhook is not None
    hook = wf.webhook
    secret_value = hook.secret.fn(st.services.frame())
    headers = {k.lower(): v for k, v in request.headers.items()}
    raw = request.body or b""
    delivery = webhooks.verify(hook.scheme, V.text(secret_value), raw, headers, hook.header)
    given = read_input(request, lenient=True)
    admin = Caller(admin=True)  # the signature authenticates the sender; the run is trusted code
    return await answer_once(st, wf, f"webhook:{wf.name}:{delivery}", admin, given, keep_failures=False)
