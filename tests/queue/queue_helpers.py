"""Helpers for the queue tests (imported by name: the test folders are not packages)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

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
