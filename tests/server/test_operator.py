"""The operator's command line (SPEC §4, issue 12): the data folder beside the app and found upwards
like git's, tables with whole ids also when piped, a pipe closed early, a busy port, a workflow that
does not exist, plugin signatures, recurring events' next firings, a description on every `--help`
line, and run records pruned by `wf runs prune` and by the server."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from processes import free_port, wait_until_healthy, wf, wf_command
from wfkit.core import values as V
from wfkit.server.cli import build_parser
from wfkit.server.queue.recurring import Every, next_fire

RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")

APP = """
workflow later(n: number) {
  log "later {n}"
}
workflow plan(n: number) {
  h = schedule later(n: n) in 1 day
  return { id: h.id }
}
@exposed(auth: none)
workflow ping(n: number = 1) {
  return { n: n }
}
every 1 day at "09:00 Europe/Paris" run later(n: 0)
"""


def env(**extra: str) -> dict[str, str]:
    e = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "40", **extra}  # a narrow "terminal"
    for name in ("WF_DATABASE_URL", "WF_REDIS_URL", "WF_DATA_DIR"):
        if name not in extra:
            e.pop(name, None)
    return e


def run(*args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """`wf ARGS…` to its end, whatever its exit code; stdout is a pipe."""
    return subprocess.run(wf_command(*args), cwd=cwd, env=env(**extra), capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """`proj/app.wf` under tmp_path, and nothing else yet."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "app.wf").write_text(APP)
    return folder


# ------------------------------------------------------------------ the data folder


def test_the_data_folder_is_beside_the_app_and_found_upwards(project: Path, tmp_path: Path) -> None:
    # `wf run` from another folder keeps its data beside the app, not where it was typed
    done = run("run", "proj/app.wf", "plan", "n=3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (project / ".wf" / "data.sqlite3").exists() and not (tmp_path / ".wf").exists()

    deeper = project / "sub" / "deeper"
    deeper.mkdir(parents=True)
    listed = run("runs", cwd=deeper)  # found two folders up, as git finds .git
    assert listed.returncode == 0, listed.stderr
    assert "plan" in listed.stdout

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for command in (["token", "create"], ["runs"], ["scheduled"], ["cancel", "--workflow", "later"]):
        refused = run(*command, cwd=elsewhere)
        assert refused.returncode == 1, (command, refused.stdout, refused.stderr)
        assert "no data folder" in refused.stderr and "Traceback" not in refused.stderr
    assert not (elsewhere / ".wf").exists()  # it never makes a new, empty store

    # WF_DATA_DIR names it from anywhere
    named = run("runs", "--json", cwd=elsewhere, WF_DATA_DIR=str(project / ".wf"))
    assert named.returncode == 0 and '"plan"' in named.stdout


def test_a_folder_app_keeps_its_data_inside_it(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "main.wf").write_text(APP)
    assert run("run", "shop", "ping", cwd=tmp_path).returncode == 0
    assert (folder / ".wf" / "data.sqlite3").exists()


def test_the_readme_second_terminal(project: Path, tmp_path: Path) -> None:
    """`wf serve` in one terminal; in another, in the app's folder, `TOKEN=$(wf token create …)`
    and a call with it."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            wf_command("serve", "proj/app.wf", "--port", str(port)), cwd=tmp_path, env=env(), stdout=out, stderr=out
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, server, log, 30)
        shell = subprocess.run(
            ["bash", "-c", f'TOKEN=$({" ".join(wf_command("token", "create", "--name", "me"))}) && echo "$TOKEN"'],
            cwd=project,
            env=env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        token = shell.stdout.strip()
        assert token.startswith("wfa_"), shell.stderr
        answer = httpx.get(url + "/api/1.1/meta/workflows", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


# ------------------------------------------------------------------ tables, pipes, ports


def test_tables_print_whole_ids_also_when_piped(project: Path) -> None:
    planned = [run("run", "app.wf", "plan", f"n={n}", cwd=project) for n in range(3)]
    assert all(p.returncode == 0 for p in planned)
    scheduled = run("scheduled", cwd=project)  # piped, in a 40-column "terminal"
    ids = RUN_ID.findall(scheduled.stdout)
    assert len(ids) == 3, scheduled.stdout
    runs = run("runs", cwd=project)
    assert len(RUN_ID.findall(runs.stdout)) == 3, runs.stdout
    cancelled = run("cancel", ids[0], cwd=project)  # an id copied from the table works
    assert cancelled.returncode == 0 and "cancelled 1 of 1" in cancelled.stdout
    tokens = run("token", "list", cwd=project)
    assert tokens.returncode == 0


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """`wf plugins | head -1`: the pipe closes before wf writes; no BrokenPipeError traceback."""
    errors = tmp_path / "stderr"
    with errors.open("w") as err:
        process = subprocess.Popen(wf_command("plugins"), stdout=subprocess.PIPE, stderr=err, env=env())
        assert process.stdout is not None
        process.stdout.close()  # the reader is gone before the first line
        code = process.wait(timeout=60)
    text = errors.read_text()
    assert "Traceback" not in text and "BrokenPipe" not in text, text
    assert code == 141


def test_serve_on_a_busy_port_says_so_in_one_line(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("serve", "app.wf", "--port", str(port), cwd=project)
    assert done.returncode != 0
    said = (done.stdout + done.stderr).strip().splitlines()
    assert len(said) == 1 and str(port) in said[0], said
    assert not (project / ".wf").exists()  # nothing started before it


def test_cancel_names_a_workflow_that_does_not_exist(project: Path) -> None:
    assert run("run", "app.wf", "plan", "n=1", cwd=project).returncode == 0  # the app is known to the queue
    refused = run("cancel", "--workflow", "NOSUCH", cwd=project)
    assert refused.returncode == 1
    assert "no workflow 'NOSUCH'" in refused.stderr and "later" in refused.stderr
    done = run("cancel", "--workflow", "later", cwd=project)
    assert done.returncode == 0 and "cancelled 1 scheduled run(s) of later" in done.stdout


def test_plugins_show_each_signature() -> None:
    out = run("plugins", cwd=Path.cwd()).stdout
    for signature in (
        "create TYPE(…fields of TYPE) → TYPE",
        "delete THING",
        "log_in(email: text, password: text, [keep: boolean]) → object",
        "round(x: number, [digits: number]) → number",
        "hello.greet(name: text, [times: number]) → object",  # the example plugin's, installed by CI
    ):
        assert signature in out, signature


def test_scheduled_lists_the_next_firing_of_each_recurring_event(project: Path) -> None:
    assert run("run", "app.wf", "ping", cwd=project).returncode == 0  # publishes the app to the queue
    out = run("scheduled", cwd=project).stdout
    expected = next_fire(Every("later", 1, "day", (9, 0), "Europe/Paris"), V.now())
    assert "every 1 day at 09:00 Europe/Paris" in out
    assert V.iso(expected) in out


def test_every_help_line_has_a_description() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    described = {c.dest: c.help for c in commands._choices_actions}
    for name, sub in commands.choices.items():
        assert described.get(name), f"wf {name} has no description in `wf --help`"
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (
                f"`wf {name} --help`: {'/'.join(action.option_strings) or action.dest} has no description"
            )


# ------------------------------------------------------------------ history kept, then pruned


def _age_every_run(project: Path, days: int) -> None:
    """Make the runs recorded so far look `days` old (as if the clock had moved on)."""
    import sqlite3

    old = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    with sqlite3.connect(project / ".wf" / "data.sqlite3") as db:
        db.execute('UPDATE "runs" SET "started_at" = ?', [old])


def test_wf_runs_prune_deletes_what_is_older_than_wf_runs_keep(project: Path) -> None:
    for _ in range(3):
        assert run("run", "app.wf", "ping", cwd=project).returncode == 0
    _age_every_run(project, 20)
    assert run("run", "app.wf", "ping", cwd=project).returncode == 0  # a new one
    kept_longer = run("runs", "prune", cwd=project, WF_RUNS_KEEP="P30D")
    assert kept_longer.returncode == 0 and "deleted 0 run record(s)" in kept_longer.stdout
    pruned = run("runs", "prune", cwd=project)  # default: 14 days
    assert pruned.returncode == 0 and "deleted 3 run record(s)" in pruned.stdout, pruned.stdout
    assert len(RUN_ID.findall(run("runs", cwd=project).stdout)) == 1
    wrong = run("runs", "prune", cwd=project, WF_RUNS_KEEP="fortnight")
    assert wrong.returncode == 2 and "WF_RUNS_KEEP must be a duration" in wrong.stderr


def test_the_server_prunes_old_records_when_it_starts(project: Path) -> None:
    assert run("run", "app.wf", "ping", cwd=project).returncode == 0
    _age_every_run(project, 2)
    port = free_port()
    log = project / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            wf_command("serve", "app.wf", "--port", str(port)),
            cwd=project,
            env=env(WF_RUNS_KEEP="P1D"),
            stdout=out,
            stderr=out,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server, log, 30)
        deadline = time.monotonic() + 10
        while RUN_ID.findall(wf("runs", cwd=project, env=env()).stdout) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not RUN_ID.findall(wf("runs", cwd=project, env=env()).stdout)
        assert "pruned 1 run record(s)" in log.read_text()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


def test_serve_refuses_a_wrong_wf_runs_keep_in_one_line(project: Path) -> None:
    done = run("serve", "app.wf", "--port", str(free_port()), cwd=project, WF_RUNS_KEEP="-P1D")
    assert done.returncode == 2 and "WF_RUNS_KEEP" in done.stderr and "Traceback" not in done.stderr
