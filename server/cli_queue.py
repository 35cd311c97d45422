"""`wf worker`, `wf runs [prune]`, `wf scheduled`, `wf cancel`, `wf scheduler pause|resume`
(docs/operating.md). Those without an APP find their data folder as git finds `.git` (data_folder.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import data_folder
from .cli_common import json_text, load, say, table

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
    folder = data_folder.adopt(data_folder.of_app(args.app))
    settings = settings_from_env()
    if args.concurrency:
        settings.max_jobs = args.concurrency
    services = Services(hooks=get_registry())  # shared by the store, the queue and the worker's runs
    sealing.use_folder(folder)  # reads what `wf serve` sealed in the queue and journals
    store = await Store.open(app=app, services=services)
    try:
        bg = await Background.start(app, store, data_dir=folder, settings=settings, services=services)
    except BaseException:
        await store.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    where = "WF_REDIS_URL" if os.environ.get("WF_REDIS_URL") else f"the embedded Redis under {folder / 'redis'}"
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
        if args.action == "prune":
            from wfkit.core.store.runs import keep_from_env

            keep = keep_from_env()
            pruned = await store.runs.prune(keep)
            say(f"deleted {pruned} run record(s) that started more than {_duration_text(keep)} ago (WF_RUNS_KEEP)")
            return 0
        rows = await store.runs.recent(workflow=args.workflow, status=args.status, limit=args.limit)
    if args.json:
        say(json_text(rows))
        return 0
    cells = []
    for r in rows:
        color = {"success": "green", "failed": "red"}.get(r["status"], "yellow")
        ms = r.get("duration_ms")
        cells.append(
            [
                r["id"],
                r["workflow"],
                f"[{color}]{r['status']}[/{color}]",
                r.get("trigger") or "",
                str(r.get("started_at") or ""),
                f"{ms:.1f}" if isinstance(ms, int | float) else "",
            ]
        )
    table(
        f"{len(rows)} run(s), newest first",
        ("id", "workflow", "status", "trigger", "started", "ms"),
        cells,
        right=("ms",),
    )
    return 0


def _duration_text(d: timedelta) -> str:
    """`14 days`, `12 hours`, `90 seconds`."""
    seconds = d.total_seconds()
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds:g} seconds"


def cmd_runs(args: argparse.Namespace) -> int:
    data_folder.for_store()
    return asyncio.run(_runs(args))


# ------------------------------------------------------------------ wf scheduled


async def _scheduled(args: argparse.Namespace, folder: Path) -> int:
    from .queue import QueueControl

    async with QueueControl.open(folder) as q:
        rows = await q.list_scheduled(args.workflow, limit=args.limit)
        total = await q.count_pending()
        paused = await q.is_paused()
        recurring = [r for r in await q.recurring() if not args.workflow or r["workflow"] == args.workflow]
    if args.json:
        say(json_text(rows))
        return 0
    table(
        f"{len(rows)} scheduled run(s), earliest first",
        ("id", "workflow", "run at", "args"),
        [[r["id"], r["workflow"], r["run_at"], _short(orjson.dumps(r["args"]).decode())] for r in rows],
    )
    if recurring:
        table(
            f"{len(recurring)} recurring event(s), soonest first",
            ("workflow", "every", "next"),
            [[r["workflow"], r["every"], r["next_at"]] for r in recurring],
        )
    console = Console()
    if paused:
        console.print("[yellow]the scheduler is paused[/yellow]: `wf scheduler resume` starts runs again")
    if len(rows) >= args.limit and total > 0:
        console.print(f"(showing the first {args.limit}; --limit N shows more)")
    return 0


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_scheduled(args: argparse.Namespace) -> int:
    return asyncio.run(_scheduled(args, data_folder.for_queue()))


# ------------------------------------------------------------------ wf cancel


async def _cancel(args: argparse.Namespace, folder: Path) -> int:
    from .queue import QueueControl

    async with QueueControl.open(folder) as q:
        if args.workflow:
            served = await q.served_app()
            if served is not None and args.workflow not in served["workflows"]:
                names = ", ".join(served["workflows"]) or "none"
                _err().print(f"no workflow {args.workflow!r} in the app served from {folder} (workflows: {names})")
                return 1
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
    return asyncio.run(_cancel(args, data_folder.for_queue()))


# ------------------------------------------------------------------ wf scheduler pause|resume


async def _scheduler(args: argparse.Namespace, folder: Path) -> int:
    from .queue import QueueControl

    async with QueueControl.open(folder) as q:
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
    return asyncio.run(_scheduler(args, data_folder.for_queue()))


# ------------------------------------------------------------------ the parser


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("worker", help="a background worker alone (WF_REDIS_URL, WF_DATABASE_URL)")
    p.add_argument("app", help="a .wf file or a folder of them (the same app as `wf serve`'s)")
    p.add_argument("--concurrency", type=int, default=0, help="runs at once (default 200, or WF_WORKER_CONCURRENCY)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("runs", help="the newest runs, with their status; `wf runs prune` deletes old records")
    p.add_argument(
        "action", nargs="?", choices=("prune",), help="prune: delete records older than WF_RUNS_KEEP (default P14D)"
    )
    p.add_argument("--workflow", help="only the runs of this workflow")
    p.add_argument("--status", choices=("success", "failed", "running"), help="only runs with this status")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50, up to 500)")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser(
        "scheduled", help="scheduled runs that have not started, and the next firing of each recurring event"
    )
    p.add_argument("--workflow", help="only the runs of this workflow")
    p.add_argument("--limit", type=int, default=100, help="at most this many runs (default 100)")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_scheduled)

    p = sub.add_parser("cancel", help="cancel scheduled runs by id, or all of a workflow")
    p.add_argument("ids", nargs="*", metavar="ID", help="run ids, as `wf scheduled` prints them")
    p.add_argument("--workflow", help="cancel every scheduled run of this workflow")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("scheduler", help="pause or resume starting scheduled runs (status: how it stands)")
    p.add_argument("action", choices=("pause", "resume", "status"), help="pause, resume, or status")
    p.set_defaults(func=cmd_scheduler)
