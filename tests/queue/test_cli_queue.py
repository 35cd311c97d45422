"""`wf scheduled`, `wf cancel` (ids, --workflow) and `wf scheduler pause|resume|status` on the queue
that a later process sees (the embedded Redis under .wf/), also with a real `wf worker` running
(`--concurrency N`, a paused worker starting nothing, a run that started is not cancelled)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from queue_helpers import Workers
from upstream import Upstream, upstream
from wfkit.server.cli import main

APP = """
workflow later(n: number) {
  log n
}
workflow one(n: number) {
  h = schedule later(n: n) in 1 day
  return { id: h.id }
}
workflow many(items: list of number) {
  schedule later(n: item) for each item in items in 1 day
}
workflow slow(url: text) {
  http_request(method: "GET", url: url)
}
workflow fan(url: text, items: list of number) {
  schedule slow(url: url) for each item in items
}
workflow plan(url: text) {
  h = schedule slow(url: url)
  return { id: h.id }
}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (its database and embedded Redis under .wf/) as the current directory."""
    for name in ("WF_DATABASE_URL", "WF_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.wf").write_text(APP)
    return tmp_path


@pytest.mark.usefixtures("project")
def test_scheduled_cancel_and_pause_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "app.wf", "one", "n=1"]) == 0
    first = json.loads(capsys.readouterr().out)["id"]
    assert main(["run", "app.wf", "many", "items=2", "items=3", "items=4"]) == 0
    capsys.readouterr()
    assert main(["scheduled", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["args"]["n"] for r in listed] == [1, 2, 3, 4]

    assert main(["cancel", first]) == 0
    assert "cancelled 1 of 1" in capsys.readouterr().out
    assert main(["cancel", first]) == 1  # not pending any more
    capsys.readouterr()

    assert main(["scheduler", "pause"]) == 0
    capsys.readouterr()
    assert main(["scheduler", "status"]) == 0
    assert capsys.readouterr().out.startswith("paused")
    assert main(["scheduler", "resume"]) == 0
    capsys.readouterr()
    assert main(["scheduler", "status"]) == 0
    assert capsys.readouterr().out.startswith("running")

    assert main(["cancel", "--workflow", "later"]) == 0
    assert "cancelled 3 scheduled run(s) of later" in capsys.readouterr().out
    assert main(["scheduled", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.fixture
def worker_of(project: Path) -> Iterator[Callable[..., Workers]]:
    """`worker_of("--concurrency", "2")`: a `wf worker app.wf …` in the project (it starts the
    embedded Redis under .wf/redis), ready; stopped after the test."""
    started: list[Workers] = []
    env = {k: v for k, v in os.environ.items() if k not in ("WF_DATABASE_URL", "WF_REDIS_URL")}

    def start(*args: str) -> Workers:
        workers = Workers(project, env, args)
        workers.start()
        started.append(workers)
        until(lambda: "runs at once" in workers.logs(), f"the worker to start; logs:\n{workers.logs()}", 40)
        return workers

    yield start
    for w in started:
        w.stop_all()


@pytest.fixture
def up() -> Iterator[Upstream]:
    with upstream() as u:
        yield u


def until(check: Callable[[], Any], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def runs(capsys: pytest.CaptureFixture[str], workflow: str) -> list[dict[str, Any]]:
    assert main(["runs", "--workflow", workflow, "--json"]) == 0
    found: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return found


def test_worker_concurrency_caps_the_runs_at_once(
    worker_of: Callable[..., Workers], up: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    workers = worker_of("--concurrency", "2")
    assert "up to 2 runs at once" in workers.logs()
    assert main(["run", "app.wf", "fan", f"url={up.url('c', 0.4)}", *[f"items={i}" for i in range(6)]]) == 0
    capsys.readouterr()
    until(lambda: len([r for r in runs(capsys, "slow") if r["status"] == "success"]) == 6, "6 runs", 30)
    assert up.hits == {"/c": 6} and up.max_inflight == {"/c": 2}  # two at a time, never more


def test_a_paused_scheduler_starts_nothing_and_a_started_run_is_not_cancelled(
    worker_of: Callable[..., Workers], up: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    worker_of()
    assert main(["scheduler", "pause"]) == 0
    capsys.readouterr()
    assert main(["run", "app.wf", "plan", f"url={up.url('paused')}"]) == 0
    waiting = json.loads(capsys.readouterr().out)["id"]
    time.sleep(1.5)  # due at once, and the worker is awake: paused, it starts nothing
    assert up.hits == {}
    assert main(["scheduler", "status"]) == 0
    status = capsys.readouterr().out
    assert status.startswith("paused") and "1 waiting" in status, status
    assert main(["scheduler", "resume"]) == 0
    capsys.readouterr()
    until(lambda: up.hits == {"/paused": 1}, "the run that waited")  # due meanwhile: it starts at once
    until(lambda: [r["id"] for r in runs(capsys, "slow")] == [waiting], "its record")
    assert main(["scheduler", "status"]) == 0
    status = capsys.readouterr().out
    assert status.startswith("running") and "0 waiting" in status, status

    assert main(["cancel", waiting]) == 1  # it finished: not cancelled
    assert "cancelled 0 of 1" in capsys.readouterr().out
    assert main(["run", "app.wf", "plan", f"url={up.url('running', 2)}"]) == 0
    running = json.loads(capsys.readouterr().out)["id"]
    until(lambda: up.hits.get("/running") == 1, "the second run to start")
    assert main(["cancel", running]) == 1  # it started: not cancelled, it finishes
    assert "cancelled 0 of 1" in capsys.readouterr().out
    until(lambda: {r["id"]: r["status"] for r in runs(capsys, "slow")}.get(running) == "success", "the second run")
