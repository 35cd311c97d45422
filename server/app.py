"""The Sanic application: built by a factory so each server worker process can build its own
(Sanic's loader re-creates the app in every worker)."""

from __future__ import annotations

import gc
import logging
import os
from functools import partial
from pathlib import Path
from typing import Any

from sanic import HTTPResponse, Request, Sanic
from sanic.exceptions import BadRequest, MethodNotAllowed, NotFound, PayloadTooLarge, SanicException
from wfkit.core import sealing
from wfkit.core.app import App
from wfkit.core.errors import ConfigError, WfError
from wfkit.core.executor import Executor
from wfkit.core.services import Services
from wfkit.core.store import Store
from wfkit.core.store.runs import keep_from_env
from wfkit.plugins.loader import load_app
from wfkit.plugins.manager import get_registry

from . import dashboard, data_api, log_secrets, meta_api, metrics, reload, wf_api
from .answers import finish_answer
from .errors import HttpError, error_response
from .outage import unreachable, watch, which
from .state import RunPruner, RunRecorder, ServerState
from .stopping import Server

log = logging.getLogger("wfkit.server")

DEFAULT_MAX_BODY = 10 * 1024 * 1024
GC_YOUNG_OBJECTS = 10_000  # new objects between two collections of the young ones (Python: 700)
APP_ENV = "WF_APP"  # the app's path, for server worker processes


def max_body_bytes() -> int:
    raw = os.environ.get("WF_MAX_BODY_BYTES", "")
    try:
        return int(raw) if raw else DEFAULT_MAX_BODY
    except ValueError:
        raise ConfigError(f"WF_MAX_BODY_BYTES must be a number of bytes, got {raw!r}") from None


def create_app(app_path: str | None = None, compiled: App | None = None, *, queue: bool = True) -> Server:
    """A Sanic app serving the wfkit app at `app_path` (default: $WF_APP)."""
    path = app_path or os.environ.get(APP_ENV)
    if compiled is None:
        if not path:
            raise ConfigError(f"no app to serve: give a path or set {APP_ENV}")
        compiled = load_app(path)
    server = Server("wfkit")
    server.config.REQUEST_MAX_SIZE = max_body_bytes()
    server.config.GRACEFUL_SHUTDOWN_TIMEOUT = 3.0  # SIGINT/SIGTERM stop within 5 s
    server.config.FALLBACK_ERROR_FORMAT = "json"
    server.config.MOTD = False
    server.config.REAL_IP_HEADER = None
    server.ctx.compiled = compiled
    server.ctx.data_dir = Path(os.environ.get("WF_DATA_DIR", ".wf")).resolve()
    wf_api.add_static_routes(server, compiled)
    server.blueprint(wf_api.bp)
    server.blueprint(data_api.bp)
    server.blueprint(meta_api.bp)
    server.blueprint(meta_api.health)
    server.error_handler.add(Exception, on_error)
    server.blueprint(metrics.bp)
    server.blueprint(dashboard.bp)
    server.register_middleware(finish_answer, "response")  # errors, 404s and 405s included
    log_secrets.install()
    server.before_server_start(_open)
    server.after_server_start(_started)
    server.after_server_stop(_close)
    server.ctx.queue = queue
    return server


async def _started(server: Sanic[Any, Any]) -> None:
    state: ServerState | None = getattr(server.ctx, "state", None)
    if state is not None and state.pruner is not None:
        state.pruner.start()
    snapshot = reload.snapshot_file()
    if state is not None and snapshot is not None:  # `wf serve --reload`
        generation = getattr(server.ctx, "reload_generation", 0)
        server.ctx.follower = reload.Follower(snapshot, generation, partial(swap_app, server)).start()


async def swap_app(server: Sanic[Any, Any], app: App) -> None:
    """Serve `app` from now on in this process, without dropping a connection (`wf serve --reload`)."""
    state: ServerState = server.ctx.state
    await state.swap(app)
    server.ctx.compiled = app
    # the old app was frozen with the rest at the start (see `_open`): let the collector free it
    gc.unfreeze()
    gc.collect()
    gc.freeze()


async def _open(server: Sanic[Any, Any]) -> None:
    compiled: App = server.ctx.compiled
    services = Services(hooks=get_registry())  # the process's one: the store, the queue and the executor share it
    sealing.use_folder(server.ctx.data_dir)  # secrets in the queue and journals (docs/security.md)
    store = await Store.open(app=compiled, services=services, global_fallback=True)
    background = None
    try:
        if server.ctx.queue:  # the queue sets the services' scheduler and journal to its own
            background = await start_background(compiled, store, services, server.ctx.data_dir)
        state = ServerState(compiled, store, services, Executor(compiled, services), RunRecorder(store))
        state.background = background
        state.pruner = RunPruner(store, keep_from_env())
        # What exists now lives as long as the server: keep it out of the collector's full scans,
        # which otherwise walk every module, table and compiled closure and stall requests for tens of ms.
        gc.collect()
        gc.freeze()
        # What a call makes goes when its last reference does, nearly always: a collection of the young
        # objects every 700 new ones (Python's default) cost about 1 µs a call for little (bench A/B).
        gc.set_threshold(GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])
    except BaseException:  # told to stop while starting: the database's thread would keep the process alive
        if background is not None:
            await background.stop()
        await store.close()
        raise
    server.ctx.state = state


async def start_background(compiled: App, store: Store, services: Services, data_dir: Path) -> Any:
    """The queue (scheduled runs, triggers, recurring events) with an in-process worker."""
    try:
        from .queue import Background
    except ImportError:  # pragma: no cover - the queue ships with wfkit; kept for partial installs
        return None
    return await Background.start(
        compiled, store, services=services, redis_url=os.environ.get("WF_REDIS_URL"), data_dir=data_dir
    )


async def _close(server: Sanic[Any, Any]) -> None:
    follower: reload.Follower | None = getattr(server.ctx, "follower", None)
    if follower is not None:
        await follower.stop()
    state: ServerState | None = getattr(server.ctx, "state", None)
    if state is None:
        return
    if state.pruner is not None:
        await state.pruner.close()
    await state.recorder.close()
    if state.background is not None:
        await state.background.stop()
    await state.store.close()


def _allowed(request: Request) -> str:
    """The methods the path serves (Sanic's router names them only for some routes, and one route
    serves every workflow: a webhook's takes only POST)."""
    name = request.path.removeprefix(wf_api.bp.url_prefix or "").strip("/")
    wf = request.app.ctx.state.app.workflows.get(name) if request.path.startswith("/api/1.1/wf/") else None
    if wf is not None and wf.webhook is not None:
        return "POST"
    methods = []
    for method in ("GET", "POST", "PATCH", "DELETE"):
        try:
            request.app.router.resolve(request.path, method=method)
        except Exception:  # NotFound, NoMethod: this method is not served here
            continue
        methods.append(method)
    return ", ".join(methods)


def on_error(request: Request, exc: Exception) -> HTTPResponse:
    """Every error in Bubble's one shape, with its status."""
    if isinstance(exc, HttpError):
        headers = {}
        if exc.code == 429 and "retry_after" in exc.extra:
            headers["Retry-After"] = str(max(1, round(exc.extra["retry_after"])))
        response = error_response(exc.code, exc.status, exc.message, **exc.extra)
        response.headers.update(headers)
        return response
    if isinstance(exc, NotFound):
        return error_response(404, "NOT_FOUND", f"Not found: {request.path}")
    if isinstance(exc, MethodNotAllowed):
        response = error_response(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}")
        response.headers["Allow"] = _allowed(request)
        return response
    if isinstance(exc, PayloadTooLarge):
        limit = request.app.config.REQUEST_MAX_SIZE
        return error_response(413, "PAYLOAD_TOO_LARGE", f"the body is larger than {limit} bytes")
    if isinstance(exc, BadRequest):
        return error_response(400, "BAD_REQUEST", str(exc))
    if isinstance(exc, SanicException) and exc.status_code < 500:
        return error_response(exc.status_code, "BAD_REQUEST", str(exc))
    if isinstance(exc, WfError):  # a store write refused a value, and the like
        return error_response(400, "BAD_REQUEST", str(exc))
    if unreachable(exc):  # the database or the queue is down: logged once per outage, not per request
        watch(which(exc)).failed(exc)
        response = error_response(503, "SERVICE_UNAVAILABLE", "the database or the queue is unreachable; try again")
        response.headers["Retry-After"] = "1"
        return response
    log.exception("error answering %s %s", request.method, request.path)
    return error_response(500, "INTERNAL_ERROR", "the server failed to answer; see its log")
