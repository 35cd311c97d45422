"""`wf scheduled`, `wf cancel` (ids, --workflow) and `wf scheduler pause|resume|status` on the queue
that a later process sees (the embedded Redis under .wf/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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
