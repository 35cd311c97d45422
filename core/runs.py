"""The record a run leaves: every statement ran, skipped (with the values its `when` saw) or
failed; timings, logs, the response or the error. Secrets never reach it in clear text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from . import values as V

Status = Literal["running", "success", "failed"]
TIMED_MS = 0.1  # a statement that simply ran in less is kept without its time (core/store/runs.py)


def ms_of(ms: float) -> float:
    """A time in milliseconds as records keep it: to the microsecond (`round(ms, 3)`, but a third
    of its cost: it runs a few times a run)."""
    return int(ms * 1000 + 0.5) / 1000


@dataclass(eq=False, slots=True)
class RunRecord:
    id: str
    workflow: str
    trigger: str  # "http", "schedule", "cli", "recurring", "trigger", "test"
    started_at: datetime
    params: dict[str, Any]  # as JSON, secrets redacted
    user_id: str | None = None
    chain: int = 1
    status: Status = "running"
    finished_at: datetime | None = None
    duration_ms: float | None = None
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # {"message", "line"}
    _steps: list[dict[str, Any]] = field(default_factory=list)  # (read and written as `steps`)
    steps_dropped: int = 0  # steps past the recording limit, counted only
    logs: list[dict[str, Any]] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)  # ids released to the queue
    scheduled_count: int = 0  # how many; a large list form keeps only the first ids
    attempt: int = 1  # a background run retried (@retry, or after a crash) keeps its id: the attempt
    origin: str | None = None  # the run that scheduled this one (a background run's), when known
    # every statement of the workflow's body simply ran, in order, each in under 0.1 ms: a record
    # that needs no steps kept (core/store/runs.py); False says nothing
    went_straight: bool = False
    # A straight body's statements that simply ran: their records without a time (shared by every
    # run of the workflow) and their times in seconds. Made into `steps` when something reads them:
    # for most calls nothing ever does (core/store/runs.py keeps no steps for them).
    _ran: tuple[list[dict[str, Any]], list[float]] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Every statement's record, in the order they ran: `step`, `line`, `kind`, `label`,
        `status`, `ms`, and what else the statement recorded."""
        if self._ran is not None:
            entries, seconds = self._ran
            self._ran = None
            made = []
            for entry, s in zip(entries, seconds, strict=False):  # (a failed body ran some of them)
                done = entry.copy()
                done["ms"] = ms_of(s * 1000)
                made.append(done)
            self._steps[:0] = made
        return self._steps

    @steps.setter
    def steps(self, steps: list[dict[str, Any]]) -> None:
        self._ran = None
        self._steps = steps

    @property
    def step_count(self) -> int:
        """`len(steps)`, without making the records of a straight body."""
        return len(self._steps) + (len(self._ran[1]) if self._ran is not None else 0)

    def ran_straight(self, entries: list[dict[str, Any]], seconds: list[float]) -> None:
        """The statements of a straight body simply ran, in `seconds` each (`entries`: their
        records without a time, in order; the first `len(seconds)` of them ran)."""
        self._ran = (entries, seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow": self.workflow,
            "trigger": self.trigger,
            "status": self.status,
            "started_at": V.iso(self.started_at),
            "finished_at": V.iso(self.finished_at) if self.finished_at else None,
            "duration_ms": self.duration_ms,
            "user_id": self.user_id,
            "chain": self.chain,
            "params": self.params,
            "response": self.response,
            "error": self.error,
            "steps": self.steps,
            "steps_dropped": self.steps_dropped,
            "logs": self.logs,
            "scheduled": self.scheduled,
            "scheduled_count": self.scheduled_count,
            "attempt": self.attempt,
            "origin": self.origin,
        }
