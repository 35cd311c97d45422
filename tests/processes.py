"""Running the real `wf` command line from tests: a free port on 127.0.0.1, one `wf …` command, and
waiting until a started server answers `/healthz`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wf_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "wfkit.server.cli", *args]


def wf(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `wf ARGS…` to its end; raises when it fails."""
    done = subprocess.run(wf_command(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise AssertionError(f"wf {' '.join(args)} exited with {done.returncode}:\n{done.stderr}{done.stdout}")
    return done


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes] | subprocess.Popen[str], log: Path, seconds: float
) -> None:
    """Until `url/healthz` answers 200; raises, with the server's log, when the process ends first or
    `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("wf serve did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.1)
