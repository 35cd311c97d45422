"""A Redis that accepts a connection and never answers (a wedged server, a port some other program
holds) stops a start with an error in bounded time instead of hanging the process: a server worker
that hangs here never tells Sanic it is ready."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import wfkit.server.queue as queue_module
from wfkit.core.errors import ConfigError
from wfkit.server.queue import EmbeddedRedis, connect
from wfkit.server.queue import embedded as embedded_module


def _accept_and_stay_silent(listener: socket.socket, stop: threading.Event) -> None:
    held = []
    listener.settimeout(0.05)
    while not stop.is_set():
        try:
            held.append(listener.accept()[0])  # read nothing, answer nothing
        except TimeoutError:
            continue
    for c in held:
        c.close()
    listener.close()


@contextlib.contextmanager
def _silent(listener: socket.socket) -> Iterator[None]:
    """`listener` accepts connections and never answers, while inside."""
    stop = threading.Event()
    thread = threading.Thread(target=_accept_and_stay_silent, args=(listener, stop), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


@pytest.fixture
def silent_tcp() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    with _silent(listener):
        yield listener.getsockname()[1]


async def test_a_redis_url_that_never_answers_is_an_error_within_the_start_timeout(
    silent_tcp: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_module, "START_TIMEOUT_S", 1.0)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="did not answer within 1 s"):
        await asyncio.wait_for(connect(f"redis://127.0.0.1:{silent_tcp}/0"), 20)
    assert time.monotonic() - started < 10


def test_an_embedded_redis_socket_that_never_answers_is_an_error_within_the_start_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded_module, "START_TIMEOUT_S", 2.0)
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.folder.mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(redis.socket))  # what another process of the project would serve
    listener.listen()
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            redis._wait_for_socket(None)
        except BaseException as e:
            raised.append(e)

    with _silent(listener):
        waiting = threading.Thread(target=wait, daemon=True)  # (a hang fails the test, not the run)
        waiting.start()
        waiting.join(10)
        assert not waiting.is_alive(), "still waiting for an answer after 10 s"
    assert len(raised) == 1 and isinstance(raised[0], ConfigError)
    assert "did not answer within 2 s" in str(raised[0])
