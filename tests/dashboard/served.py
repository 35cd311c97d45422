"""A real `wf serve` of the dashboard's fixture app on 127.0.0.1 (also with `--workers N`), an admin
token made by `wf token create` in the app's folder once it serves, and a browser signed in to it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from processes import free_port, wait_until_healthy, wf, wf_command

APP = Path(__file__).parent / "fixtures" / "shop.wf"


@dataclass
class Dashboard:
    url: str  # the server's root: http://127.0.0.1:PORT
    admin: str  # an admin token
    home: Path  # the app's folder (its data folder .wf/ is here)
    env: dict[str, str]

    def call(self, workflow: str, **params: Any) -> httpx.Response:
        """Call a workflow over HTTP, on a connection of its own (with --workers N, any process)."""
        return httpx.post(f"{self.url}/api/1.1/wf/{workflow}", json=params, timeout=30)

    def meta(self, path: str) -> Any:
        answer = httpx.get(f"{self.url}/api/1.1/meta/{path}", headers={"Authorization": f"Bearer {self.admin}"})
        answer.raise_for_status()
        return answer.json()

    def sign_in(self, page: Any, path: str = "/dashboard/") -> None:
        """Sign `page` in with the admin token, through the form."""
        page.goto(self.url + path)
        page.get_by_label("Admin token").fill(self.admin)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()


@contextmanager
def serving(folder: Path, workers: int = 1) -> Iterator[Dashboard]:
    """`wf serve` of a copy of the fixture app in `folder`; stopped with SIGINT (within 5 s)."""
    shutil.copy(APP, folder / APP.name)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("WF_DATABASE_URL", "WF_REDIS_URL", "WF_DATA_DIR", "WF_SMTP_URL"):
        env.pop(name, None)
    port = free_port()
    log_path = folder / "server.log"
    command = wf_command("serve", APP.name, "--port", str(port), "--workers", str(workers), "--no-access-log")
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log_path, 60)
        admin = wf("token", "create", "--name", "dashboard-tests", cwd=folder, env=env).stdout.strip()
        yield Dashboard(url, admin, folder, env)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)  # open pages' live streams do not hold the server up
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError("wf serve did not stop within 5 s of SIGINT") from None
