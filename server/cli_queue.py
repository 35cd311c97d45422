"""`wf worker`, `wf runs`, `wf scheduled`, `wf cancel`, `wf scheduler pause|resume` (docs/operating.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .cli_common import json_text, load, say

DATA_DIR = Path(".wf")
log = logging.getLogger("wfkit.worker")


def _err() -> Console:
    return Console(stderr=True)


# ------------------------------------------------------------------ wf worker


async def _worker(args: argparse.Namespace) -> int:
    from wfkit.core import sealing
    from wfkit.core.services import Services
    from wfkit.core.store import Store
    from wfkit.plugins.manager import get_registry

    from .queue import Background, settings_from_env

    app = load(args.app)
    settings = settings_from_env()
    if args.concurrency:
        settings.max_jobs = args.concurrency
    services = Services(hooks=get_registry())  # shared by the store, the queue and the worker's runs
    sealing.use_folder(DATA_DIR)  # reads what `wf serve` sealed in the queue and journals
    store = await Store.open(app=app, services=services)
    try:
        bg = await Background.start(app, store, data_dir=DATA_DIR, settings=settings, services=services)
    except BaseException:
        await store.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    where = "WF_REDIS_URL" if os.environ.get("WF_REDIS_URL") else f"the embedded Redis under {DATA_DIR}/redis"
    log.info(
        "wf worker: %s — %d workflows, up to %d runs at once, queue on %s",
        args.app,
        len(app.workflows),
        settings.max_jobs,
        where,
    )
    try:
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, asyncio.create_task(bg.wait())], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        await bg.stop()
        await store.close()
    log.info("wf worker: stopped")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from . import logs

    logs.configure("worker")  # a timestamp and the process on every line, as `wf serve` has
    return asyncio.run(_worker(args))


# ------------------------------------------------------------------ wf runs


async def _runs(args: argparse.Namespace) -> int:
    from wfkit.core.store import Store

    async with await Store.open() as store:
        rows = await store.runs.recent(workflow=args.workflow, status=args.status, limit=args.limit)
    if args.json:
        say(json_text(rows))
        return 0
    table = Table(title=f"{len(rows)} run(s), newest first", title_justify="left")
    for col in ("id", "workflow", "status", "trigger", "started", "ms"):
        table.add_column(col, justify="right" if col == "ms" else "left")
    for r in rows:
        status = r["status"]
        color = {"success": "green", "failed": "red"}.get(status, "yellow")
        ms = r.get("duration_ms")
        table.add_row(
            r["id"],
            r["workflow"],
            f"[{color}]{status}[/{color}]",
            r.get("trigger") or "",
            str(r.get("started_at") or ""),
            f"{ms:.1f}" if isinstance(ms, int | float) else "",
        )
    Console().print(table)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    return asyncio.run(_runs(args))


# ------------------------------------------------------------------ wf scheduled


async def _scheduled(args: argparse.Namespace) -> int:
    from .queue import QueueControl

    async with QueueControl.open(DATA_DIR) as q:
        rows = await q.list_scheduled(args.workflow, limit=args.limit)
        total = await q.count_pending()
        paused = await q.is_paused()
    if args.json:
        say(json_text(rows))
        return 0
    table = Table(title=f"{len(rows)} scheduled run(s), earliest first", title_justify="left")
    for col in ("id", "workflow", "run at", "args"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["workflow"], r["run_at"], orjson.dumps(r["args"]).decode()[:80])
    console = Console()
    console.print(table)
    if paused:
        console.print("[yellow]the scheduler is paused[/yellow]: `wf scheduler resume` starts runs again")
    if len(rows) >= args.limit and total > 0:
        console.print(f"(showing the first {args.limit}; --limit N shows more)")
    return 0


def cmd_scheduled(args: argparse.Namespace) -> int:
    return asyncio.run(_scheduled(args))


# ------------------------------------------------------------------ wf cancel


async def _cancel(args: argparse.Namespace) -> int:
    from .queue import QueueControl

    async with QueueControl.open(DATA_DIR) as q:
        if args.workflow:
            members = await q.members(args.workflow)  # jobs: single runs, and slices of lists
            cancelled = 0
            chunk = 1_000
            with _progress() as progress:
                task = progress.add_task(f"cancelling runs of {args.workflow}", total=len(members))
                for i in range(0, len(members), chunk):
                    part = members[i : i + chunk]
                    cancelled += await q.cancel(part)
                    progress.advance(task, len(part))
            print(f"cancelled {cancelled} scheduled run(s) of {args.workflow}")
            return 0
        cancelled = await q.cancel(args.ids)
    print(f"cancelled {cancelled} of {len(args.ids)} (a run that started or finished is not cancelled)")
    return 0 if cancelled == len(args.ids) else 1


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err(),
        transient=not sys.stderr.isatty(),
    )


def cmd_cancel(args: argparse.Namespace) -> int:
    if bool(args.ids) == bool(args.workflow):
        _err().print("wf cancel takes run ids, or --workflow NAME")
        return 2
    return asyncio.run(_cancel(args))


# ------------------------------------------------------------------ wf scheduler pause|resume


async def _scheduler(args: argparse.Namespace) -> int:
    from .queue import QueueControl

    async with QueueControl.open(DATA_DIR) as q:
        if args.action == "pause":
            await q.pause()
            print("paused: scheduled runs wait (nothing is lost); `wf scheduler resume` starts them again")
        elif args.action == "resume":
            await q.resume()
            print("resumed")
        else:
            paused = await q.is_paused()
            print(f"{'paused' if paused else 'running'}, {await q.count_pending()} waiting")
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    return asyncio.run(_scheduler(args))


# ------------------------------------------------------------------ the parser


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("worker", help="a background worker alone (WF_REDIS_URL, WF_DATABASE_URL)")
    p.add_argument("app")
    p.add_argument("--concurrency", type=int, default=0, help="runs at once (default 200, or WF_WORKER_CONCURRENCY)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("runs", help="the newest runs, with their status")
    p.add_argument("--workflow")
    p.add_argument("--status", choices=("success", "failed", "running"))
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("scheduled", help="scheduled runs that have not started, earliest first")
    p.add_argument("--workflow")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_scheduled)

    p = sub.add_parser("cancel", help="cancel scheduled runs by id, or all of a workflow")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--workflow")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("scheduler", help="pause or resume starting scheduled runs (status: how it stands)")
    p.add_argument("action", choices=("pause", "resume", "status"))
    p.set_defaults(func=cmd_scheduler)
