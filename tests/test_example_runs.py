"""What newcomers copy runs clean: the example app's workflows that a fresh install reaches without
any setting (no REPORT_TO, no SMTP server, orders made by an admin with no owner) succeed, through
the real command line, in a copy of the app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ORDERS = Path(__file__).resolve().parent.parent / "examples" / "orders"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    shutil.copytree(ORDERS, tmp_path / "orders")
    return tmp_path / "orders"


def wf_run(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WF_") and k != "REPORT_TO"}
    return subprocess.run(
        [sys.executable, "-m", "wfkit.server.cli", "run", ".", *args],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_thank_trigger_succeeds_for_an_order_without_owner(app: Path) -> None:
    made = wf_run(app, "create_order", "title=Desk", "amount=120")
    assert made.returncode == 0, made.stderr
    thanked = wf_run(app, "thank", f"order={json.loads(made.stdout)['id']}")
    assert thanked.returncode == 0, thanked.stdout + thanked.stderr


def test_the_weekly_report_succeeds_without_report_to(app: Path) -> None:
    assert wf_run(app, "create_order", "title=Desk", "amount=120").returncode == 0
    report = wf_run(app, "weekly_report")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "REPORT_TO is not set" in report.stderr + report.stdout
