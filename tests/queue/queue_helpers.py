"""Helpers for the queue tests (imported by name: the test folders are not packages)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from processes import free_port, wait_until_healthy, wf_command
from wfkit.server.queue import Background, WorkerSettings


def fast_settings(**kw: Any) -> WorkerSettings:
    return WorkerSettings(**{"poll_delay": 0.05, "grace": 2.0, **kw})


Start = Callable[..., Awaitable[Background]]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0, what: str = "") -> None:
    """Wait until `check()` holds (polling); fail after `timeout` seconds (a bound, not a speed test)."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


async def runs_of(bg: Background, workflow: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await bg.store.runs.recent(workflow=workflow, status=status, limit=500)
    return rows


class SlowHTTP:
    """A tiny HTTP server on 127.0.0.1: `GET /NAME?delay=S` answers `{"ok": true}` after S seconds;
    counts hits per path and the most requests in flight at once, per path."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.inflight: dict[str, int] = {}
        self.max_inflight: dict[str, int] = {}
        self.starts: dict[str, list[float]] = {}
        self.delays: dict[str, float] = {}  # per path, instead of the query's delay
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> SlowHTTP:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def url(self, path: str, delay: float = 0.0) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?delay={delay}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            target = line.split(" ")[1]
            path, _, query = target.partition("?")
            delay = float(dict(p.split("=") for p in query.split("&") if "=" in p).get("delay", "0"))
            delay = self.delays.get(path, delay)
            self.hits[path] = self.hits.get(path, 0) + 1
            self.starts.setdefault(path, []).append(time.monotonic())
            self.inflight[path] = self.inflight.get(path, 0) + 1
            self.max_inflight[path] = max(self.max_inflight.get(path, 0), self.inflight[path])
            try:
                await asyncio.sleep(delay)
            finally:
                self.inflight[path] -= 1
            body = b'{"ok": true}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def slow_http() -> AsyncIterator[SlowHTTP]:
    async with SlowHTTP() as server:
        yield server


# ------------------------------------------------------------------ real processes: `wf worker`, `wf serve`


class Workers:
    """`wf worker` subprocesses in one folder, killed at the end of the test whatever happens."""

    def __init__(self, folder: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.env = env
        self.args = args  # after `wf worker app.wf`
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            wf_command("worker", "app.wf", *self.args),
            cwd=self.folder,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def logs(self) -> str:
        return "\n".join(f.read_text(errors="replace") for f in sorted(self.folder.glob("worker-*.log")))


@contextmanager
def serving(folder: Path, env: dict[str, str], *args: str) -> Iterator[str]:
    """`wf serve app.wf` in `folder` on 127.0.0.1 and a free port (its output in `serve.log`), in a
    process group of its own; yields its URL once `/healthz` answers. Stopped with SIGTERM (its
    embedded Redis with it); SIGKILL to its group if it does not stop within 15 s."""
    port = free_port()
    log = folder / "serve.log"
    with log.open("wb") as out:  # the child keeps its own copy of the file
        proc = subprocess.Popen(
            wf_command("serve", "app.wf", "--host", "127.0.0.1", "--port", str(port), "--no-access-log", *args),
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, proc, log, 40)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its worker processes too
            proc.wait()
