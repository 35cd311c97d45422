"""`wf serve` as a user starts it: refuses a broken app, serves with several workers, logs access
unless told not to, and stops within 5 seconds of SIGTERM."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from processes import free_port

APP = """
@exposed(auth: none)
workflow ping(n: number = 1) {
  return { pong: n }
}
"""


def env() -> dict[str, str]:
    e = {**os.environ, "PYTHONUNBUFFERED": "1"}
    e.pop("WF_DATABASE_URL", None)
    e.pop("WF_REDIS_URL", None)
    return e


def launch(tmp_path: Path, port: int, *args: str) -> tuple[subprocess.Popen[str], Path]:
    """`wf serve` in a process group of its own, so that a test can see that none is left."""
    log = tmp_path / "serve.log"
    with log.open("w") as out:  # the child keeps its own copy of the file
        proc = subprocess.Popen(
            [sys.executable, "-m", "wfkit.server.cli", "serve", "app.wf", "--port", str(port), *args],
            cwd=tmp_path,
            env=env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    return proc, log


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str, Path]:
    port = free_port()
    proc, log = launch(tmp_path, port, *args)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url, log
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("wf serve did not start:\n" + log.read_text())


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, log: Path | None = None) -> float:
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its worker processes too: no test leaves one behind
        proc.wait()
        said = log.read_text() if log is not None else ""
        raise AssertionError("wf serve did not stop within 5 s:\n" + said) from None
    return time.monotonic() - t0


def test_refuses_to_start_on_compile_errors(tmp_path: Path) -> None:
    (tmp_path / "app.wf").write_text("workflow w() {\n  let x = nope\n  log y\n}\n")
    done = subprocess.run(
        [sys.executable, "-m", "wfkit.server.cli", "serve", "app.wf", "--port", str(free_port())],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "app.wf:2:11: unknown name 'nope'" in done.stderr and "app.wf:3:7: unknown name 'y'" in done.stderr
    assert "2 errors in app.wf: not started" in done.stderr


def test_two_workers_serve_and_sigterm_stops_them(tmp_path: Path) -> None:
    (tmp_path / "app.wf").write_text(APP)
    proc, url, log = start(tmp_path, "--workers", "2")
    with httpx.Client(base_url=url, timeout=10) as c:
        answers = [c.post("/api/1.1/wf/ping", json={"n": i}).json() for i in range(20)]
    assert answers == [{"status": "success", "response": {"pong": i}} for i in range(20)]
    assert stop(proc, log=log) < 5
    text = log.read_text()
    assert "(2 worker processes)" in text and "/api/1.1/wf/ping" in text  # the banner
    assert "POST http" in text  # access log on by default


def test_no_access_log_and_sigint(tmp_path: Path) -> None:
    (tmp_path / "app.wf").write_text(APP)
    proc, url, log = start(tmp_path, "--no-access-log")
    assert httpx.post(url + "/api/1.1/wf/ping", json={}).json()["response"] == {"pong": 1}
    assert stop(proc, signal.SIGINT, log=log) < 5
    assert "POST http" not in log.read_text()
    assert (tmp_path / ".wf" / "data.sqlite3").exists()  # the embedded database lives under .wf/


def processes_left(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("moment", ["workers starting", "first answer"])
def test_a_signal_during_start_up_stops_every_process(tmp_path: Path, moment: str) -> None:
    """Signalled while its worker processes start (one may already answer while another is still
    opening the database), `wf serve --workers 2` still stops within 5 s and leaves no process."""
    (tmp_path / "app.wf").write_text(APP)
    port = free_port()
    proc, log = launch(tmp_path, port, "--workers", "2")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and proc.poll() is None:
        if moment == "workers starting" and "Starting worker" in log.read_text():
            break
        try:
            if moment == "first answer" and httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    assert proc.poll() is None, log.read_text()
    assert stop(proc, log=log) < 5, log.read_text()
    none_left(proc, log)


def none_left(proc: subprocess.Popen[str], log: Path) -> None:
    """No process of `wf serve`'s group outlives it by more than a moment (the embedded Redis)."""
    deadline = time.monotonic() + 5
    while processes_left(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if processes_left(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("a worker process outlived wf serve:\n" + log.read_text())


def test_a_worker_wedged_while_starting_is_killed_at_the_stop(tmp_path: Path) -> None:
    """A worker that cannot act on the stop (here stopped with SIGSTOP before it serves: it never
    sees its SIGINT) does not keep `wf serve` alive: it is killed a few seconds into the stop, and
    the log says which."""
    (tmp_path / "app.wf").write_text(APP)
    proc, log = launch(tmp_path, free_port(), "--workers", "2")
    wedged = first_worker_starting(log)
    os.kill(wedged, signal.SIGSTOP)
    try:
        assert f"Worker ready [{wedged}]" not in log.read_text(), "it served before it was stopped"
        deadline = time.monotonic() + 40  # the other worker serves: the server is up
        while "Worker ready" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.02)
        assert stop(proc, log=log) < 5, log.read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(wedged, signal.SIGCONT)
    said = log.read_text()
    assert re.search(rf"serve-worker-\d \(pid {wedged}\) did not stop within 3 s of the stop: killed", said), said
    none_left(proc, log)


def serving_workers(proc: subprocess.Popen[str], port: int) -> set[int]:
    """The pids of `wf serve`'s worker processes: its children that listen on its port (the others
    are Sanic's state manager, the resource tracker and the embedded Redis)."""
    import psutil

    found = set()
    for child in psutil.Process(proc.pid).children():
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in child.net_connections("tcp")):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def first_worker_starting(log: Path) -> int:
    """The pid of the first worker process that says it is starting (it is not ready yet, mostly)."""
    deadline = time.monotonic() + 40
    while (m := re.search(r"Starting worker \[(\d+)\]", log.read_text())) is None:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.005)
    return int(m.group(1))


@pytest.mark.parametrize("moment", ["serving", "starting"])
def test_a_worker_killed_with_sigkill_is_replaced(tmp_path: Path, moment: str) -> None:
    """kill -9 of one of two worker processes, once they serve or while they start: the server logs
    which one died and how, starts a new one, and answers all along; SIGINT then stops every process
    within 5 s."""
    (tmp_path / "app.wf").write_text(APP)
    port = free_port()
    proc, log = launch(tmp_path, port, "--workers", "2")
    url = f"http://127.0.0.1:{port}"

    def wait_for(pattern: str, what: str, answering: bool = True) -> re.Match[str]:
        """Until the log has `pattern` (40 s at most: a busy machine), checking that the server
        answers meanwhile, once it has started."""
        deadline = time.monotonic() + 40
        while (found := re.search(pattern, log.read_text())) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what}:\n{log.read_text()}")
            if answering:
                assert httpx.post(url + "/api/1.1/wf/ping", json={"n": 2}, timeout=10).json()["response"] == {"pong": 2}
            time.sleep(0.1)
        return found

    try:
        if moment == "starting":  # before it reports ready (Sanic alone would stop the server 30 s later)
            victim = first_worker_starting(log)
        else:
            wait_for(r"Worker ready \[\d+\][\s\S]*Worker ready \[\d+\]", "two ready workers", answering=False)
            deadline = time.monotonic() + 20
            while len(workers := serving_workers(proc, port)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            victim = min(workers)  # found in the process tree: a child of `wf serve` listening on its port
        os.kill(victim, signal.SIGKILL)
        pattern = rf"serve-main\[\d+\] ERROR wfkit.server: (serve-worker-\d) \(pid {victim}\) died: killed by SIGKILL"
        died = wait_for(pattern, "death line", answering=moment == "serving")
        restarted = wait_for(
            rf"{died.group(1)} started again as pid (\d+)", "restart line", answering=moment == "serving"
        )
        newcomer = int(restarted.group(1))
        wait_for(rf"{died.group(1)}\[{newcomer}\] INFO sanic.server: Worker ready", "ready new worker")
        assert newcomer in serving_workers(proc, port) and victim not in serving_workers(proc, port)
        with httpx.Client(base_url=url, timeout=10) as c:
            answers = [c.post("/api/1.1/wf/ping", json={"n": i}).json()["response"] for i in range(20)]
        assert answers == [{"pong": i} for i in range(20)]
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert stop(proc, signal.SIGINT, log=log) < 5
    text = log.read_text()
    assert text.count("died:") == 1, text
    # past the banner, every line has a timestamp and the process that wrote it (docs/operating.md)
    lines = text.split("Ctrl-C stops the server\n", 1)[1].splitlines()
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z serve-(main|worker-[12])\[\d+\] [A-Z]+ [\w.]+: ")
    assert lines and all(stamp.match(line) for line in lines), text
    none_left(proc, log)
