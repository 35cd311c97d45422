"""Starting a real `wf serve` on 127.0.0.1 for the HTTP tests (see conftest.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from processes import free_port, wait_until_healthy, wf, wf_command


@dataclass
class Served:
    url: str
    admin: str  # an admin token
    process: subprocess.Popen[str]
    cwd: Path
    env: dict[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def log(self) -> str:
        return (self.cwd / "server.log").read_text()


@contextmanager
def serving(app: Path, cwd: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`wf serve` of a copy of `app` (a .wf file or a folder) in `cwd`, with an admin token; stopped
    with SIGINT, which it must obey within 5 seconds."""
    if app.is_dir():
        shutil.copytree(app, cwd / app.name)
    else:
        shutil.copy(app, cwd / app.name)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    env.pop("WF_DATABASE_URL", None)
    env.pop("WF_REDIS_URL", None)
    port = free_port()
    with (cwd / "server.log").open("w") as log:
        process = subprocess.Popen(
            wf_command("serve", app.name, "--port", str(port)),
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process, cwd / "server.log", 30)
            # in the app's folder, where `wf serve` made the data folder (.wf/ beside the app)
            home = cwd / app.name if app.is_dir() else cwd
            admin = wf("token", "create", "--name", "tests", cwd=home, env=env).stdout.strip()
        except (RuntimeError, subprocess.CalledProcessError):
            process.kill()
            process.wait()
            raise
        yield Served(url, admin, process, cwd, env)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)  # a server stops cleanly on SIGINT within 5 s
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError("wf serve did not stop within 5 s of SIGINT") from None
