"""The `wf` command line (README.md "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from wfkit.core.app import App
from wfkit.core.errors import ConfigError, PluginError, RunError, WfError
from wfkit.plugins.loader import compile_sources, read_sources

from . import data_folder
from .cli_common import json_text as _json
from .cli_common import load, table
from .cli_common import plural as _plural
from .cli_common import say as _print

# ------------------------------------------------------------------ commands


def cmd_check(args: argparse.Namespace) -> int:
    sources = read_sources(args.app)
    app, syntax, meaning = compile_sources(sources)
    diagnostics = sorted(syntax + meaning, key=lambda d: (d.span.file, d.span.line, d.span.column))
    for d in diagnostics:
        _print(d.render(sources))
    n_errors = sum(1 for d in diagnostics if d.severity == "error")
    n_warnings = len(diagnostics) - n_errors
    if n_errors:
        _print(f"{_plural(n_errors, 'error')}, {_plural(n_warnings, 'warning')}")
        return 1
    exposed = sum(1 for w in app.workflows.values() if w.public)
    counts = [
        _plural(len(app.workflows), "workflow") + f" ({exposed} exposed)",
        _plural(len(app.types), "type"),
        _plural(len(app.recurring) + len(app.triggers), "trigger"),
    ]
    if n_warnings:
        counts.append(_plural(n_warnings, "warning"))
    _print(f"{args.app}: ok — {', '.join(counts)}")
    return 0


def parse_assignments(pairs: Sequence[str]) -> dict[str, Any]:
    """`name=value …` → {name: value}; a repeated name gives a list (as repeated query keys do)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"arguments are name=value, got {pair!r}")
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


async def _run(app: App, app_path: str, workflow: str, raw: dict[str, Any]) -> int:
    from wfkit.core import sealing
    from wfkit.core.convert import convert_args
    from wfkit.core.executor import Executor
    from wfkit.core.services import Services
    from wfkit.core.store import Store
    from wfkit.plugins.manager import get_registry

    from .queue import Background

    services = Services(hooks=get_registry())  # shared by the store, the queue and the run
    folder = data_folder.adopt(data_folder.of_app(app_path))  # the store and queue `wf serve APP` uses
    sealing.use_folder(folder)  # what it schedules is sealed for the server's worker
    async with await Store.open(app=app, services=services) as store:
        # the durable queue (WF_REDIS_URL, else the embedded Redis in the data folder): what the run
        # schedules, and what its writes trigger, runs when `wf serve` or `wf worker` does
        bg = await Background.start(
            app,
            store,
            services=services,
            redis_url=os.environ.get("WF_REDIS_URL"),
            data_dir=folder,
            worker=False,
            recurring=False,
        )
        try:
            wf = app.workflows[workflow]
            try:
                converted = await convert_args(wf, raw, store=store, from_text=True)
            except RunError as e:
                _print(_json({"statusCode": 400, "body": {"status": e.status, "message": e.message}}), sys.stderr)
                return 1
            record = await Executor(app, services).run(wf, converted, admin=True, trigger="cli")
            await store.runs.save([record])
        finally:
            await bg.stop()
    if record.status != "success":
        assert record.error is not None
        body = {"status": "WORKFLOW_ERROR", "message": record.error["message"], "run_id": record.id}
        if record.error.get("line"):
            body["line"] = record.error["line"]
        _print(_json({"statusCode": 400, "body": body}), sys.stderr)
        return 1
    for entry in record.logs:
        _print(f"log (line {entry['line']}): {entry['message']}", sys.stderr)
    if record.scheduled_count:
        _print(f"scheduled {record.scheduled_count} run(s): they run when `wf serve` or `wf worker` runs", sys.stderr)
    _print(_json(record.response))
    return 0


async def _tokens(args: argparse.Namespace) -> int:
    from wfkit.core.store import Store
    from wfkit.core.values import iso

    async with await Store.open() as store:
        if args.action == "create":
            token = await store.users.create_admin_token(args.name)
            _print(token)
            _print("an admin token: store it now, it is shown only once (the database keeps its hash)", sys.stderr)
        elif args.action == "list":
            tokens = await store.users.list_admin_tokens()
            rows = [[t.id, t.name or "-", iso(t.created_at)] for t in tokens]
            table(f"{len(tokens)} admin token(s)", ("id", "name", "created"), rows)
        elif not await store.users.revoke_admin_token(args.name or ""):
            _print(f"no admin token named or with id {args.name!r}", sys.stderr)
            return 1
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    args.name = args.name or args.name_or_id
    if args.action == "revoke" and not args.name:
        _print("wf token revoke needs --name NAME or an id", sys.stderr)
        return 2
    data_folder.for_store()
    return asyncio.run(_tokens(args))


def cmd_run(args: argparse.Namespace) -> int:
    app = load(args.app)
    if args.workflow not in app.workflows:
        names = ", ".join(sorted(app.workflows)) or "none"
        _print(f"{args.app}: no workflow '{args.workflow}' (workflows: {names})", sys.stderr)
        return 1
    return asyncio.run(_run(app, args.app, args.workflow, parse_assignments(args.values)))


def cmd_graph(args: argparse.Namespace) -> int:
    from wfkit.core.graph import mermaid

    app = load(args.app)
    if args.workflow is not None and args.workflow not in app.workflows:
        _print(f"{args.app}: no workflow '{args.workflow}'", sys.stderr)
        return 1
    sys.stdout.write(mermaid(app, args.workflow))
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from wfkit.plugins.manager import plugins_info

    info = plugins_info()
    if args.json:
        _print(_json(info))
        return 0
    for p in info:
        version = f" {p['version']}" if p.get("version") else ""
        kind = "built-in" if p.get("builtin") else "installed"
        _print(f"{p['name']}{version} ({kind})")
        for title, key in (("actions", "action_signatures"), ("functions", "function_signatures")):
            if p.get(key):
                _print(f"  {title}:")
                for signature in p[key].values():
                    _print(f"    {signature}")
    return 0


# ------------------------------------------------------------------ the parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wf", description="wfkit: backend workflows as code.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .serve import add_command as add_serve

    add_serve(sub)

    p = sub.add_parser("check", help="compile APP and report every error; exit 1 on errors")
    p.add_argument("app", help="a .wf file or a folder of them")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("run", help="run one workflow in-process as admin and print its response JSON")
    p.add_argument("app", help="a .wf file or a folder of them")
    p.add_argument("workflow", help="the workflow's name")
    p.add_argument("values", nargs="*", metavar="name=value", help="parameters, converted to their declared types")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("graph", help="the action graph as a Mermaid flowchart")
    p.add_argument("app", help="a .wf file or a folder of them")
    p.add_argument("workflow", nargs="?", help="only this workflow (default: all, linked)")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("token", help="admin tokens: create (printed once, stored hashed), list, revoke")
    p.add_argument("action", choices=("create", "list", "revoke"), help="create, list, or revoke")
    p.add_argument("name_or_id", nargs="?", help="for revoke: the token's name or id")
    p.add_argument("--name", help="a name to recognise the token by")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("plugins", help="installed plugins and the actions and functions each provides")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_plugins)

    from .lsp import add_command as add_lsp

    add_lsp(sub)

    from .cli_queue import add_commands as add_queue_commands

    add_queue_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, PluginError) as e:
        _print(f"wf: {e}", sys.stderr)
        return 2
    except WfError as e:
        _print(f"wf: {e}", sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `wf runs | head`: the reader has what it wanted
        _quiet_stdout()
        return 141  # as a command killed by SIGPIPE ends
    return code


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
