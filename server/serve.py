"""`wf serve APP`: compile, then serve with N Sanic workers (and the background queue)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from sanic import Sanic
from sanic.worker.loader import AppLoader
from wfkit.core.app import App
from wfkit.core.store import database_url
from wfkit.core.store.runs import keep_from_env

from . import data_folder, logs, metrics, reload, stopping
from .app import APP_ENV, create_app
from .queue.embedded import EmbeddedRedis
from .respawn import respawn_dead_workers


def _safe_url(url: str) -> str:
    """A URL as the banner shows it: no password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def banner(app: App, app_path: str, host: str, port: int, workers: int, queue: str, *, reloading: bool = False) -> None:
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    base = f"http://{host}:{port}"
    console.print(
        f"[bold]wfkit[/bold] serving [bold]{app_path}[/bold] at {base} ({workers} worker process"
        f"{'es' if workers != 1 else ''})"
    )
    console.print(f"  data      {_safe_url(database_url())}")
    console.print(f"  queue     {queue}")
    public = [w for w in app.workflows.values() if w.public]
    for wf in sorted(app.workflows.values(), key=lambda w: w.name):
        if wf.public:
            auth = "webhook" if wf.webhook is not None else f"auth: {wf.exposed}"
            console.print(f"  POST/GET  {base}/api/1.1/wf/{wf.name}  ({auth})")
    if not public:
        console.print("  (no @exposed workflows)")
    console.print(f"  data API  {base}/api/1.1/obj/TYPE    meta  {base}/api/1.1/meta/…    health  {base}/healthz")
    if reloading:
        console.print(f"  reload    on: a save of {app_path} is compiled and served at once")
    console.print("  Ctrl-C stops the server")


def serving_app(app_path: str) -> Sanic[Any, Any]:
    """The app factory of every `wf serve` process (Sanic's loader calls it in each worker): the
    app, and this process's log lines marked with its name. Under `--reload`, the app last reloaded
    (a process started again after a save serves what the others serve)."""
    compiled, generation = reload.last_good(reload.snapshot_file())
    server = create_app(app_path, compiled)
    if os.environ.get("SANIC_WORKER_NAME"):  # a worker process: a stop signal from now on waits until it serves
        server.starting()
    server.ctx.reload_generation = generation
    logs.configure(logs.serve_process_name())  # after Sanic(...), which sets up its own loggers
    return server


def port_taken(host: str, port: int) -> bool:
    """Whether another process listens on `host:port` (asked before anything starts, so that
    `wf serve` on a busy port says so in one line, not with a banner and a traceback)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Sanic binds: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def cmd_serve(args: argparse.Namespace) -> int:
    from .cli_common import load, say

    if port_taken(args.host, args.port):
        say(
            f"wf serve: port {args.port} on {args.host} is taken by another process; choose another with --port",
            sys.stderr,
        )
        return 1
    keep_from_env()  # a bad WF_RUNS_KEEP is one line now, not a worker that fails to start
    watcher = None
    if args.reload:  # it looks at the files before they are compiled: a save meanwhile is seen
        snapshot = data_folder.of_app(args.app) / f"reload-{os.getpid()}.json"
        watcher = reload.Watcher(args.app, snapshot, hand_over=args.workers == 1)
    app = load(args.app)
    os.environ[APP_ENV] = str(Path(args.app).resolve())
    data_dir = data_folder.adopt(data_folder.of_app(args.app))  # the worker processes inherit it
    metrics.prepare(data_dir, args.workers)
    embedded = None
    if os.environ.get("WF_REDIS_URL"):
        queue = _safe_url(os.environ["WF_REDIS_URL"])
    else:  # one embedded Redis for every server process, owned (started and stopped) by this one
        embedded = EmbeddedRedis(data_dir / "redis").start()
        os.environ["WF_REDIS_URL"] = embedded.url
        queue = f"embedded Redis under {data_dir / 'redis'} (append-only file on)"
    try:
        banner(app, args.app, args.host, args.port, args.workers, queue, reloading=watcher is not None)
        if watcher is not None:
            os.environ[reload.SNAPSHOT_ENV] = str(watcher.start().snapshot)
        loader = AppLoader(factory=partial(serving_app, os.environ[APP_ENV]))
        server = loader.load()
        server.prepare(
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=not args.no_access_log,
            single_process=args.workers == 1,
            motd=False,
        )
        if args.workers == 1:
            Sanic.serve_single(primary=server)
        else:
            server.main_process_ready(stopping.obey_signals_at_safe_points)  # before respawn's hook: it wraps this
            server.main_process_ready(stopping.stop_waiting_when_told_to_stop)
            server.main_process_ready(stopping.join_within_bounds)
            server.main_process_ready(respawn_dead_workers)
            Sanic.serve(primary=server, app_loader=loader)
    finally:
        if watcher is not None:
            watcher.stop()
        if embedded is not None:
            embedded.stop()
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="compile APP and serve it over HTTP, with a background worker")
    p.add_argument("app", help="a .wf file or a folder of them")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="the port to listen on (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="server worker processes")
    p.add_argument("--no-access-log", action="store_true", help="do not log every request")
    p.add_argument(
        "--reload",
        action="store_true",
        help="serve each save of APP's .wf files at once, without a restart; "
        "a save with errors prints them and the last good app keeps serving",
    )
    p.set_defaults(func=cmd_serve)
