"""Run records kept in the database, newest first, for `wf runs` and the meta API; pruned after
`WF_RUNS_KEEP`.

A record is kept in a compact form, so that the database grows with what is kept and a pure run
costs under 300 bytes (bench/history.py): what the columns hold (id, workflow, status, trigger,
start, duration) is not repeated in the JSON, nothing at its default is written, a statement that
simply ran is its step number alone (with its time when that was 0.1 ms or more), and a run whose
statements all simply ran, one after the other as the workflow lists them, keeps no steps at all.
Statements' lines, kinds and labels come back from the app being served on reading. Skipped
statements with the values their `when` saw, failures, replays, branches and logs are kept."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

import orjson
from wfkit.core import values as V
from wfkit.core.app import App, Step, walk
from wfkit.core.errors import ConfigError
from wfkit.core.runs import TIMED_MS, RunRecord

from .codec import iso
from .database import Database

MAX_LIST = 500
KEEP_ENV = "WF_RUNS_KEEP"
DEFAULT_KEEP = timedelta(days=14)
PRUNE_ROWS_PER_STATEMENT = 5_000  # a long prune leaves room for other writes between its statements

COLUMNS = '"id", "workflow", "status", "trigger", "started_at", "duration_ms", "record"'
UPSERT = (
    'ON CONFLICT ("id") DO UPDATE SET "status" = excluded."status", "duration_ms" = excluded."duration_ms", '
    '"record" = excluded."record"'
)
# One statement a batch, its rows one JSON array parameter that the database expands: the driver's
# thread binds one value (holding Python's lock) instead of seven a row, and the rows are written
# by one orjson call.
FROM_JSON = {
    "sqlite": f'INSERT INTO "runs" ({COLUMNS}) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, '
    f"value ->> 4, value ->> 5, value -> 6 FROM json_each(?) WHERE true {UPSERT}",  # (WHERE: SQLite's upsert)
    "postgres": f'INSERT INTO "runs" ({COLUMNS}) SELECT r ->> 0, r ->> 1, r ->> 2, r ->> 3, r ->> 4, '
    f"(r ->> 5)::float8, r -> 6 FROM jsonb_array_elements($1::jsonb) AS r {UPSERT}",
}
PLAIN_STEP_KEYS = frozenset(("step", "line", "kind", "label", "status", "ms"))
APP_KNOWS = frozenset(("line", "kind", "label"))
# (field, its default): a field at its default is not written
DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("user_id", None),
    ("chain", 1),
    ("response", None),
    ("error", None),
    ("steps_dropped", 0),
    ("logs", []),
    ("scheduled", []),
    ("scheduled_count", 0),
    ("attempt", 1),
    ("origin", None),
)
# `kept` writes the response itself (without secrets); the other fields are compared at once
OTHER_DEFAULTS = tuple((name, default) for name, default in DEFAULTS if name != "response")
ALL_DEFAULT = tuple(default for _, default in OTHER_DEFAULTS)
_other_fields = attrgetter(*(name for name, _ in OTHER_DEFAULTS))  # a record's, as one tuple


def keep_from_env() -> timedelta:
    """How long run records are kept: `WF_RUNS_KEEP` (seconds or ISO 8601, `P14D`), else 14 days."""
    raw = os.environ.get(KEEP_ENV, "").strip()
    if not raw:
        return DEFAULT_KEEP
    try:
        keep = V.parse_duration(raw)
    except (ValueError, OverflowError):
        raise ConfigError(f"{KEEP_ENV} must be a duration such as P14D or PT12H, got {raw!r}") from None
    if keep <= timedelta(0):
        raise ConfigError(f"{KEEP_ENV} must be longer than zero, got {raw!r}")
    return keep


def _step(entry: dict[str, Any]) -> Any:
    """A step entry as kept: a plain `ran` is its number (and time); otherwise the entry without
    what the app knows (line, kind, label), and without a time under 0.1 ms."""
    if entry["status"] == "ran" and PLAIN_STEP_KEYS.issuperset(entry):
        return [entry["step"], entry["ms"]] if entry["ms"] >= TIMED_MS else entry["step"]
    out = {k: v for k, v in entry.items() if k not in APP_KNOWS}
    if out["ms"] < TIMED_MS:
        del out["ms"]
    return out


def straight_path(app: App | None, workflow: str) -> list[int] | None:
    """The step numbers of `workflow`'s top-level statements, in order: a run that simply ran each
    of them keeps no steps."""
    wf = app.workflows.get(workflow) if app is not None else None
    return [s.id for s in wf.body] if wf is not None else None


def kept(r: RunRecord, straight: list[int] | None = None) -> dict[str, Any]:
    """What the `record` column holds for `r` (see the module's docstring); `straight` is
    `straight_path` of its workflow. Its response is kept without secrets (a `log_in` token given
    back to the caller is not kept with the run)."""
    out: dict[str, Any] = {"params": r.params} if r.params else {}
    fields = _other_fields(r)
    if fields != ALL_DEFAULT:  # (most records: one comparison)
        changed = zip(OTHER_DEFAULTS, fields, strict=True)
        out.update((name, value) for (name, default), value in changed if value != default)
    if r.response is not None:
        out["response"] = V.redact_json(r.response) if r.response else {}
    said = r.went_straight and straight is not None and r.step_count == len(straight)  # (the executor knows)
    if not said and not _went_straight(r.steps, straight):
        steps = [_step(e) for e in r.steps]
        if steps != straight:
            out["steps"] = steps
    return out


def _went_straight(steps: list[dict[str, Any]], straight: list[int] | None) -> bool:
    """Every statement simply ran, in the workflow's order, each in under 0.1 ms (`_step` gives
    `straight` for them)."""
    return (
        straight is not None
        and len(steps) == len(straight)
        and all(
            e["step"] == n and e["status"] == "ran" and len(e) == len(PLAIN_STEP_KEYS) and e["ms"] < TIMED_MS
            for e, n in zip(steps, straight, strict=True)
        )
    )


class RunLog:
    """The `runs` table (`store.runs`): `save` records, list the `recent` ones, `get` one whole,
    `prune` the old ones. `app` gives the app being served (statements' lines and labels)."""

    def __init__(self, db: Database, app: Callable[[], App | None] = lambda: None) -> None:
        self.db = db
        self._app = app

    async def save(self, records: list[RunRecord]) -> None:
        """Insert or update run records in one statement (a retried run keeps its id, so its record
        is updated)."""
        if not records:
            return
        app = self._app()
        paths: dict[str, list[int] | None] = {}
        for r in records:
            if r.workflow not in paths:
                paths[r.workflow] = straight_path(app, r.workflow)
        rows = []
        for r in records:
            at = r.started_at
            started = at if at.microsecond and at.tzinfo is UTC else iso(at)  # (orjson writes such a date as iso)
            rows.append([r.id, r.workflow, r.status, r.trigger, started, r.duration_ms, kept(r, paths[r.workflow])])
        await self.db.execute(FROM_JSON[self.db.dialect.name], [orjson.dumps(rows, option=orjson.OPT_UTC_Z).decode()])

    async def recent(
        self, *, workflow: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Summaries of the newest runs (no steps or logs), filtered by workflow and status."""
        d = self.db.dialect
        where, params = [], []
        for column, value in (("workflow", workflow), ("status", status)):
            if value:
                params.append(value)
                where.append(f'"{column}" = {d.param(len(params))}')
        sql = 'SELECT "id", "workflow", "status", "trigger", "started_at", "duration_ms" FROM "runs"'
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f' ORDER BY "started_at" DESC, "id" DESC LIMIT {max(1, min(int(limit), MAX_LIST))}'
        return await self.db.query(sql, params)

    async def get(self, run_id: str) -> dict[str, Any] | None:
        """The whole record of one run: every statement, timings, logs, the response or the error."""
        rows = await self.db.query(
            f'SELECT {COLUMNS} FROM "runs" WHERE "id" = {self.db.dialect.param(1)}',
            [run_id],
        )
        return self.decode(rows[0]) if rows else None

    def decode(self, row: dict[str, Any]) -> dict[str, Any]:
        """The whole record from a row of the `runs` table (every column selected)."""
        raw = row["record"]
        stored: dict[str, Any] = dict(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)
        if "id" in stored:  # kept whole, by a wfkit before the compact form
            return stored
        return self._whole(row, stored)

    def _whole(self, row: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        started = V.parse_date(row["started_at"]) if isinstance(row["started_at"], str) else row["started_at"]
        duration = row["duration_ms"]
        finished = None
        if duration is not None and row["status"] != "running":
            finished = V.iso(started + timedelta(milliseconds=duration))
        whole: dict[str, Any] = {
            "id": row["id"],
            "workflow": row["workflow"],
            "trigger": row["trigger"],
            "status": row["status"],
            "started_at": V.iso(started),
            "finished_at": finished,
            "duration_ms": duration,
            "params": stored.pop("params", {}),
        }
        for name, default in DEFAULTS:
            whole[name] = stored.pop(name, default)
        whole["steps"] = self._steps(row["workflow"], stored.pop("steps", None))
        whole.update(stored)  # what a later wfkit keeps that this one does not know of
        return whole

    def _steps(self, workflow: str, kept_steps: list[Any] | None) -> list[dict[str, Any]]:
        """The step entries as the executor made them (a time under 0.1 ms reads as null)."""
        app = self._app()
        statements: dict[str, dict[int, Step]] = {}

        def statement(wf_name: str, number: int) -> Step | None:
            if wf_name not in statements:
                wf = app.workflows.get(wf_name) if app is not None else None
                statements[wf_name] = {s.id: s for s in walk(wf.body)} if wf is not None else {}
            return statements[wf_name].get(number)

        if kept_steps is None:  # the straight path
            kept_steps = straight_path(app, workflow) or []
        out = []
        for entry in kept_steps:
            if isinstance(entry, dict):
                whole = {"step": entry["step"], "status": entry["status"], "ms": None, **entry}
            else:
                number, ms = (entry[0], entry[1]) if isinstance(entry, list) else (entry, None)
                whole = {"step": number, "status": "ran", "ms": ms}
            # (a statement of a workflow that the run called names that workflow)
            s = statement(whole.get("workflow", workflow), whole["step"])
            if s is not None:  # else the app changed since: the number and the status are still true
                whole = {"step": s.id, "line": s.span.line, "kind": s.kind, "label": s.label, **whole}
            out.append(whole)
        return out

    async def prune(self, older_than: timedelta | None = None) -> int:
        """Delete the records of runs that started more than `older_than` (default: WF_RUNS_KEEP)
        ago; returns how many. In bounded statements, so other writes go on meanwhile."""
        keep = older_than if older_than is not None else keep_from_env()
        try:
            cutoff = iso(datetime.now(UTC) - keep)
        except OverflowError:  # kept longer than there are dates: nothing is that old
            return 0
        p = self.db.dialect.param(1)
        total = 0
        while True:
            n = await self.db.execute(
                f'DELETE FROM "runs" WHERE "id" IN (SELECT "id" FROM "runs" WHERE "started_at" < {p} '
                f"LIMIT {PRUNE_ROWS_PER_STATEMENT})",
                [cutoff],
            )
            total += n
            if n < PRUNE_ROWS_PER_STATEMENT:
                return total
