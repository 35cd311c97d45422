"""`wf serve --reload` as a user runs it: a save is served over the connections already open, a
save with errors is printed once and the last good app keeps answering, scheduled runs stay, and
with `--workers 2` every process swaps (no process is restarted)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from processes import free_port, wait_until_healthy, wf, wf_command

T = TypeVar("T")

WAIT_S = 30.0  # a bound, never a speed: a reload takes about a second

PLAN = """\
@exposed(auth: none)
workflow plan() {
  schedule later() in 1 day
}
"""

APP = """\
@exposed(auth: none)
workflow answer() {
  return { n: ANSWER }
}

PLAN

workflow later() {
  log "a day later"
}
"""

BROKEN = """
workflow broken() {
  let x = nope
}
"""

EVENTS = """
type Note {
  text: text
}

@exposed(auth: none)
@ignore_privacy
workflow note(text: text) {
  n = create Note(text: text)
  return { id: n.id }
}

on create Note run noted(note: this)

workflow noted(note: Note) {
  log "noted {note.text}"
}

every 1 second run tick()

workflow tick() {
  log "tick"
}
"""

ADDED = """
@exposed(auth: none)
workflow hello(name: text = "you") {
  return { hello: name }
}
"""


def app_text(answer: int) -> str:
    return APP.replace("ANSWER", str(answer)).replace("PLAN\n", PLAN)


def env() -> dict[str, str]:
    e = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("WF_DATABASE_URL", "WF_REDIS_URL", "WF_DATA_DIR"):
        e.pop(name, None)
    return e


class Server:
    def __init__(self, folder: Path, app: str, *args: str) -> None:
        self.folder = folder
        self.log = folder / "serve.log"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                wf_command("serve", app, "--port", str(port), "--reload", *args),
                cwd=folder,
                env=env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its worker processes and Redis in one group, for the cleanup
            )
        try:
            wait_until_healthy(self.url, self.proc, self.log, WAIT_S)
        except BaseException:
            self.kill()
            raise

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def scheduled(self) -> list[str]:
        """The ids `wf scheduled` lists (run in the app's folder, as a user does)."""
        done = wf("scheduled", "--json", cwd=self.folder, env=env())
        return [row["id"] for row in json.loads(done.stdout)]

    def runs(self, workflow: str) -> list[str] | None:
        """The statuses of `workflow`'s runs (`wf runs`), or None while it has none."""
        done = wf("runs", "--workflow", workflow, "--json", cwd=self.folder, env=env())
        return [row["status"] for row in json.loads(done.stdout)] or None

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("wf serve --reload did not stop on SIGTERM") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(app: str, *args: str) -> Server:
        s = Server(tmp_path, app, *args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


def eventually(check: Callable[[], T | None], what: str, log: Server) -> T:
    """`check()`'s first answer that is not None, polled until `WAIT_S` passes."""
    deadline = time.monotonic() + WAIT_S
    while True:
        got = check()
        if got is not None:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_S:.0f} s for {what}; the server's log:\n{log.text()}")
        time.sleep(0.1)


def local_port(r: httpx.Response) -> int:
    """The client-side port of the connection that carried `r` (the same port: the same connection)."""
    return int(r.extensions["network_stream"].get_extra_info("client_addr")[1])


def answer(client: httpx.Client) -> tuple[int, int]:
    """`answer`'s n, and the local port of the connection it came over."""
    r = client.post("/api/1.1/wf/answer")
    assert r.status_code == 200, r.text
    return r.json()["response"]["n"], local_port(r)


def answers(client: httpx.Client, n: int, port: int) -> bool | None:
    got, over = answer(client)
    assert over == port, "the keep-alive connection was dropped"
    return True if got == n else None


def worker_of(s: Server, port: int) -> str | None:
    """The worker process whose access log line shows a call from `port`."""
    m = re.search(rf"(serve-worker-\d)\[\d+\] INFO sanic\.access: 127\.0\.0\.1:{port} ", s.text())
    return m.group(1) if m else None


def ready_pids(s: Server) -> set[str]:
    return set(re.findall(r"serve-worker-\d\[(\d+)\] INFO sanic\.server: Worker ready", s.text()))


def test_a_save_is_served_over_the_open_connection_and_errors_keep_the_last_good_app(
    tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    app = tmp_path / "app.wf"
    app.write_text(app_text(1))
    s = server_factory("app.wf")
    with httpx.Client(base_url=s.url, timeout=10) as client:
        n, port = answer(client)
        assert n == 1
        assert client.post("/api/1.1/wf/plan").status_code == 200
        before = s.scheduled()
        assert len(before) == 1  # `later`, in a day

        app.write_text(app_text(2))
        eventually(lambda: answers(client, 2, port), "the saved answer over the same connection", s)
        assert "reloaded app.wf: 3 workflows" in s.text()

        app.write_text(app_text(2) + BROKEN)  # `nope` is on line 16, column 11
        eventually(lambda: "still serving the last good app" in s.text() or None, "the errors", s)
        text = s.text()
        assert "app.wf:16:11: unknown name 'nope'" in text and "    let x = nope\n" in text  # as `wf check` shows it
        assert "1 error in app.wf: still serving the last good app" in text
        assert answer(client) == (2, port)  # the last good app answers

        app.write_text(app_text(3) + ADDED)
        eventually(lambda: answers(client, 3, port), "the fixed app", s)
        r = client.post("/api/1.1/wf/hello", json={"name": "Ada"})
        assert r.json() == {"status": "success", "response": {"hello": "Ada"}} and local_port(r) == port
        assert client.post("/api/1.1/wf/broken").status_code == 404  # never served

        # `plan` had a route of its own from the start (server/wf_api.py: add_static_routes): removed,
        # it answers as a name that was never there
        app.write_text(app_text(4).replace(PLAN, "") + ADDED)
        eventually(lambda: answers(client, 4, port), "the app without plan", s)
        r = client.post("/api/1.1/wf/plan")
        assert r.status_code == 404 and "Workflow not found: plan" in r.json()["body"]["message"]

    assert s.scheduled() == before  # the queue and its run in a day stayed
    assert s.text().count("unknown name 'nope'") == 1  # once for the change
    s.stop()


def test_every_worker_process_swaps_and_keeps_its_connections(
    tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    app = tmp_path / "app.wf"
    app.write_text(app_text(1))
    s = server_factory("app.wf", "--workers", "2")
    pids = eventually(lambda: ready_pids(s) if len(ready_pids(s)) == 2 else None, "both workers", s)

    # one keep-alive connection to each worker process (the access log tells which answered)
    kept: dict[str, tuple[httpx.Client, int]] = {}
    opened: list[httpx.Client] = []
    try:
        for _ in range(40):
            client = httpx.Client(base_url=s.url, timeout=10)
            opened.append(client)
            n, port = answer(client)
            assert n == 1
            kept.setdefault(eventually(partial(worker_of, s, port), "the access log line", s), (client, port))
            if len(kept) == 2:
                break
        assert len(kept) == 2, "the calls never reached both worker processes"

        app.write_text(app_text(2) + BROKEN)
        eventually(lambda: "still serving the last good app" in s.text() or None, "the errors", s)
        app.write_text(app_text(3) + ADDED)
        for client, port in kept.values():
            eventually(partial(answers, client, 3, port), "the new app in each process", s)
            assert client.post("/api/1.1/wf/hello").json()["response"] == {"hello": "you"}
    finally:
        for client in opened:
            client.close()

    text = s.text()
    assert text.count("unknown name 'nope'") == 1  # printed by the main process, not by each worker
    assert text.count("reloaded app.wf") == 1 and "reloaded app.wf: 4 workflows" in text
    assert "died" not in text and ready_pids(s) == pids  # the same two processes: none was restarted
    s.stop()


def test_a_file_added_to_or_removed_from_a_folder_app(tmp_path: Path, server_factory: Callable[..., Server]) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "main.wf").write_text(app_text(1))
    s = server_factory("app")
    with httpx.Client(base_url=s.url, timeout=10) as client:
        assert client.post("/api/1.1/wf/hello").status_code == 404
        (folder / "sub").mkdir()
        (folder / "sub" / "hello.wf").write_text(ADDED)
        eventually(lambda: client.post("/api/1.1/wf/hello").status_code == 200 or None, "the added file", s)
        (folder / "sub" / "hello.wf").unlink()
        eventually(lambda: client.post("/api/1.1/wf/hello").status_code == 404 or None, "the removed file", s)
        assert answer(client)[0] == 1
    assert s.text().count("reloaded app: 4 workflows") == 1 and s.text().count("reloaded app: 3 workflows") == 1
    s.stop()


def test_a_reload_brings_its_types_triggers_and_recurring_events(
    tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    app = tmp_path / "app.wf"
    app.write_text(app_text(1))
    s = server_factory("app.wf")
    app.write_text(app_text(1) + EVENTS)
    with httpx.Client(base_url=s.url, timeout=10) as client:
        # 404 until reloaded; then a thing of a type the store did not know at the start
        eventually(
            lambda: client.post("/api/1.1/wf/note", json={"text": "hi"}).status_code == 200 or None,
            "the new workflow",
            s,
        )
    assert "success" in eventually(partial(s.runs, "noted"), "the run of the new trigger", s)
    assert "success" in eventually(partial(s.runs, "tick"), "a run of the new recurring event", s)
    s.stop()
