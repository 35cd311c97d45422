"""The example apps: examples/orders compiles clean and uses every construct of the language;
examples/hello.wf runs from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_docs import Compiled, assert_clean, compile_app
from wfkit.core.app import ActionStep, App, Block, ForEachStep, IfStep, Step
from wfkit.plugins.loader import load_app, read_sources

ROOT = Path(__file__).resolve().parent.parent
ORDERS = ROOT / "examples" / "orders"
HELLO = ROOT / "examples" / "hello.wf"


@pytest.fixture(scope="module")
def orders() -> Compiled:
    return compile_app(read_sources(ORDERS))


def test_orders_is_a_folder_of_several_files() -> None:
    names = sorted(p.name for p in ORDERS.glob("*.wf"))
    assert len(names) >= 5, names


def test_orders_compiles_clean(orders: Compiled) -> None:
    assert_clean(orders, read_sources(ORDERS))
    load_app(ORDERS)  # what `wf check` and `wf serve` do; raises on errors


def walk(block: Block) -> list[Step]:
    out: list[Step] = []
    for s in block:
        out.append(s)
        if isinstance(s, IfStep):
            for _, body in s.branches:
                out.extend(walk(body))
            if s.else_body:
                out.extend(walk(s.else_body))
        elif isinstance(s, ForEachStep):
            out.extend(walk(s.body))
    return out


def test_orders_uses_every_construct(orders: Compiled) -> None:
    assert not [d for d in orders.diagnostics if d.severity == "error"]
    app: App = orders.app
    sources = "\n".join(read_sources(ORDERS).values())
    workflows = list(app.workflows.values())
    steps = [s for w in workflows for s in walk(w.body)]
    kinds = {s.kind for s in steps}
    assert kinds >= {"let", "action", "if", "for_each", "schedule", "call", "cancel", "return", "terminate", "fail"}
    verbs = {s.spec.verb for s in steps if isinstance(s, ActionStep)}
    assert verbs >= {"create", "change", "delete", "sign_up", "log_in", "send_email", "log", "http_request"}
    assert any(s.when is not None for s in steps)
    assert any(isinstance(s, IfStep) and len(s.branches) > 1 and s.else_body for s in steps)  # else if … else
    schedules = [s for s in steps if s.kind == "schedule"]
    assert any(s.at is not None for s in schedules) and any(s.in_ is not None for s in schedules)  # type: ignore[attr-defined]
    assert any(s.each_var is not None and s.every is not None for s in schedules)  # type: ignore[attr-defined]
    assert any(s.bind is not None for s in schedules)  # type: ignore[attr-defined]

    assert {w.exposed for w in workflows} >= {"user", "admin", "none"}
    assert any(w.ignore_privacy for w in workflows)
    hooks = {(w.webhook.scheme, w.webhook.header) for w in workflows if w.webhook}
    assert ("stripe", None) in hooks and any(h for _, h in hooks)
    flows = [w.flow for w in workflows]
    assert any(f.retry_attempts for f in flows)
    assert any(f.concurrency_limit for f in flows) and any(f.concurrency_key for f in flows)
    assert any(f.rate_count for f in flows) and any(f.rate_key for f in flows)
    assert any(f.debounce for f in flows) and any(f.debounce_key for f in flows)
    assert any(f.timeout.total_seconds() != 300 for f in flows)
    assert any(p.optional for w in workflows for p in w.params)
    assert any(p.default is not None for w in workflows for p in w.params)

    assert {(r.unit, r.zone != "UTC", r.at is not None) for r in app.recurring} >= {
        ("day", False, True),
        ("week", True, True),
        ("month", False, False),
    }
    assert {t.event for t in app.triggers} == {"create", "change", "delete"}
    assert all(name in app.privacy for name in ("Order",))
    assert "User" in app.types and len(app.types["User"].fields) > 1  # User extended

    # what the compiled app does not keep: written forms
    for construct in ('"""', " is empty", " is not empty", " in ", "[0]", " desc limit ", 'env("', "search "):
        assert construct in sources, construct
    assert "else if" in sources and "list of" in sources and "object" in sources


# ---------------------------------------------------------------- hello.wf from the command line


def wf(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed `wf` console script, else the module it points to, in a clean subprocess."""
    script = Path(sys.executable).with_name("wf")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "wfkit.server.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)


def test_hello_checks_clean() -> None:
    done = wf("check", "examples/hello.wf")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("examples/hello.wf: ok — 1 workflow (1 exposed)")


def test_hello_runs_and_prints_its_response() -> None:
    done = wf("run", "examples/hello.wf", "hello", "name= Ada ", "shout=yes")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"greeting": "HELLO, ADA!", "words": 2}


def test_hello_failure_is_bubbles_error_shape() -> None:
    done = wf("run", "examples/hello.wf", "hello", "name=")
    assert done.returncode == 1
    error = json.loads(done.stderr)
    assert error["statusCode"] == 400
    assert error["body"]["status"] == "WORKFLOW_ERROR"
    assert error["body"]["message"] == "name must not be blank"
    assert error["body"]["line"] == 9
