"""How the dashboard shows things: the Jinja2 templates (autoescaped), their filters, and what a
workflow's page reads from the app's source (its decorators and triggers, as written)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from wfkit.core import values as V
from wfkit.core.app import App, DbTrigger, Recurring, Workflow

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATUSES = ("running", "success", "failed")


def milliseconds(ms: float | None) -> str:
    """A duration as people read it: `<0.1 ms`, `4.8 ms`, `1.25 s`, `3 min 5 s`."""
    if ms is None:
        return "<0.1 ms"
    if ms < 1000:
        return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def moment(value: str | datetime | None) -> str:
    """An instant in UTC, to the second: `2026-12-02 12:18:50`."""
    if value is None:
        return ""
    d = V.parse_date(value) if isinstance(value, str) else value
    return d.strftime("%Y-%m-%d %H:%M:%S")


def place(file: str) -> str:
    """A source file as the operator knows it: relative to where the server was started."""
    relative = os.path.relpath(file) if os.path.isabs(file) else file
    return file if relative.startswith("..") else relative


def pretty_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def short_json(value: Any) -> str:
    """A value on one line, as a `when` saw it."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelled name in a template fails its test, not silently
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(ms=milliseconds, moment=moment, pretty=pretty_json, short=short_json, place=place)


def render(name: str, **context: Any) -> str:
    return templates.get_template(name).render(**context)


def _source_lines(app: App, file: str) -> list[str]:
    source = app.sources.get(file)
    return source.splitlines() if source is not None else []


def decorators(app: App, wf: Workflow) -> list[str]:
    """The workflow's decorators as its source writes them (a workflow's span starts at its first
    decorator), one per entry; a decorator whose arguments span lines is joined on one."""
    found: list[str] = []
    for raw in _source_lines(app, wf.span.file)[wf.span.line - 1 :]:
        text = raw.strip()
        if text.startswith("workflow"):
            break
        if not text or text.startswith("#"):
            continue
        if text.startswith("@") or not found:
            found.append(text)
        else:
            found[-1] += " " + text  # a continuation inside the decorator's parentheses
    return found


def triggers(app: App, name: str) -> list[dict[str, Any]]:
    """What starts this workflow by itself: its recurring events and database triggers, each as
    its source line writes it, with its place."""
    out: list[dict[str, Any]] = []
    every: list[Recurring | DbTrigger] = [*app.recurring, *app.triggers]
    for t in every:
        if t.workflow != name:
            continue
        lines = _source_lines(app, t.span.file)
        text = lines[t.span.line - 1].strip() if 0 < t.span.line <= len(lines) else ""
        kind = "recurring" if isinstance(t, Recurring) else f"on {t.event}"
        out.append({"kind": kind, "text": text, "file": t.span.file, "line": t.span.line})
    return out
