"""A real `wf serve` on 127.0.0.1 for the HTTP tests: started once per test module, stopped with
SIGINT (it must stop within 5 seconds)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import Served, free_port, wf

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cwd = tmp_path_factory.mktemp("served")
    shutil.copy(FIXTURES / "api.wf", cwd / "api.wf")
    env = {**os.environ, "WF_MAX_BODY_BYTES": "65536", "PYTHONUNBUFFERED": "1"}
    env.pop("WF_DATABASE_URL", None)
    env.pop("WF_REDIS_URL", None)
    admin = wf("token", "create", "--name", "tests", cwd=cwd, env=env).stdout.strip()
    port = free_port()
    with (cwd / "server.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "wfkit.server.cli", "serve", "api.wf", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError("wf serve did not start:\n" + (cwd / "server.log").read_text())
            time.sleep(0.1)
        yield Served(url, admin, process, cwd, env)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)  # a server stops cleanly on SIGINT within 5 s
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError("wf serve did not stop within 5 s of SIGINT") from None
