"""A stop asked for while a server process starts is carried out once it serves (server/stopping.py):
with Sanic alone, `app.stop()` during the start ends that start step's loop, and the process then
serves for good — `wf serve` would wait for it forever."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import free_port

SCRIPT = """
import asyncio, os, signal, sys
from sanic import Sanic, text
from wfkit.server.stopping import Server

app = Server("stops")

@app.before_server_start
async def asked_to_stop_half_way(app: Sanic) -> None:
    if sys.argv[2] == "signal":
        os.kill(os.getpid(), signal.SIGTERM)
    else:
        app.stop(terminate=False)
    await asyncio.sleep(0.3)  # the rest of the start (opening the database, the queue…)
    print("start finished", flush=True)

@app.get("/")
async def hello(request):
    return text("hello")

app.run(host="127.0.0.1", port=int(sys.argv[1]), single_process=True, motd=False, access_log=False)
print("stopped", flush=True)
"""


@pytest.mark.parametrize("how", ["signal", "stop()"])
def test_a_stop_during_the_start_is_carried_out_once_serving(tmp_path: Path, how: str) -> None:
    script = tmp_path / "stops.py"
    script.write_text(SCRIPT)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(free_port()), how],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError("the server went on serving after it was told to stop:\n" + out) from None
    assert proc.returncode == 0, out
    assert out.index("start finished") < out.index("Worker ready") < out.index("Stopping worker"), out
    assert out.rstrip().endswith("stopped"), out
    assert time.monotonic() - t0 < 15
