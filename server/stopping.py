"""A SIGINT or SIGTERM stops `wf serve` within seconds, whenever it arrives — also while the
worker processes start (docs/operating.md, "When things fail").

Sanic leaves three windows where a stop signal is lost or breaks the manager, each seen in CI:

- **The main process** handles the signal by writing the workers' states through a
  `multiprocessing` manager proxy, from inside the signal handler. Arriving while the monitor loop is
  itself half-way through a proxy call, the handler's call reads the other's answer and the manager
  fails. Here the handler only takes note; the shutdown runs at the monitor's next tick (every 0.1 s),
  where no proxy call is under way.
- **The main process** waits up to 30 s for every worker to report ready, even once stopping.
- **A worker** that is told to stop while it starts: `app.stop()` stops the event loop, which ends the
  start-up step under way, not the serving loop that follows — the worker then serves on, and
  `wf serve` waits for it forever. Here (`Server`) a stop asked for before the worker serves waits
  until it does.

Whatever else keeps a worker from stopping (a signal lost in the instant Sanic swaps its handlers,
a process wedged or stopped in its start), the main process waits for it a bounded time: a worker
that had not begun serving gets `STARTING_GRACE_S`, one that served gets its connections' graceful
time and its runs' grace; then it is killed, and the log says which and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any

from sanic import Sanic

from .logs import serve_process_name

log = logging.getLogger("wfkit.server")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
RETRY_S = 0.05
STARTING_GRACE_S = 3.0  # a worker not yet serving has no request to finish: it stops in well under a second
SERVING_SLACK_S = 15.0  # past Sanic's graceful time: the background runs' grace (10 s) and closing the database


def obey_signals_at_safe_points(server: Sanic[Any, Any]) -> None:
    """A `main_process_ready` listener: the manager's shutdown runs at the monitor's next tick."""
    manager = server.manager
    shutdown_signal = manager.shutdown_signal
    sync = getattr(manager, "_sync_states", None)
    if sync is None:  # a Sanic without this detail: leave it be
        return
    pending: list[int] = []

    def take_note(signum: int, frame: Any) -> None:
        if pending or manager._shutting_down:  # a second signal: Sanic kills the workers at once
            shutdown_signal(signum, frame)  # type: ignore[no-untyped-call]
        else:
            pending.append(signum)

    def obey_then_sync() -> None:
        if pending and not manager._shutting_down:
            shutdown_signal(pending[0], None)  # type: ignore[no-untyped-call]
        sync()

    manager._sync_states = obey_then_sync  # type: ignore[method-assign]
    for sig in STOP_SIGNALS:
        signal.signal(sig, take_note)


def stop_waiting_when_told_to_stop(server: Sanic[Any, Any]) -> None:
    """A `main_process_ready` listener: once stopping, the manager waits for no worker's ready
    report and goes on to join the (already signalled) processes."""
    manager = server.manager
    all_ready = getattr(manager, "_all_workers_ack", None)
    if all_ready is None:  # a Sanic without this detail: leave it be
        return
    manager._all_workers_ack = lambda: manager._shutting_down or all_ready()  # type: ignore[method-assign]


def join_within_bounds(server: Sanic[Any, Any]) -> None:
    """A `main_process_ready` listener: the manager's join of its stopping workers kills one that
    outlives its bound (see the module's docstring) instead of waiting for it for ever."""
    manager = server.manager
    join = getattr(manager, "join", None)
    state = getattr(manager, "worker_state", None)
    if join is None or state is None:  # a Sanic without this detail: leave it be
        return
    serving_limit = float(server.config.GRACEFUL_SHUTDOWN_TIMEOUT) + SERVING_SLACK_S

    def serving(name: str) -> bool:
        try:
            return bool(state.get(name, {}).get("serving"))
        except Exception:  # the manager's own process is gone: treat the worker as busy
            return True

    def bounded_join() -> None:
        begun = time.monotonic()
        for process in list(manager.processes):
            child = process._current_process
            for limit in (STARTING_GRACE_S, serving_limit):  # one that began serving meanwhile gets the longer
                child.join(max(0.0, begun + limit - time.monotonic()))
                if not child.is_alive() or not serving(process.name):
                    break
            if child.is_alive():
                log.error(
                    "%s (pid %s) did not stop within %.0f s of the stop: killed",
                    serve_process_name(process.name),
                    child.pid,
                    time.monotonic() - begun,
                )
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
        join()  # Sanic's own, to mark them joined: they have all exited by now

    manager.join = bounded_join  # type: ignore[method-assign]


class Server(Sanic):  # type: ignore[type-arg]
    """wfkit's Sanic app. In a worker, a stop signal, or `stop()`, that comes while the worker starts
    (from `starting()` on) is carried out once it serves: a start interrupted half-way would skip the
    shutdown, and the database's thread would keep the process alive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_server_start(self._begin)  # the first listener: before any other start step

    async def _begin(self, _: Sanic[Any, Any]) -> None:
        self.starting()
        asyncio.get_running_loop().call_soon(self.stop_once_serving)

    def starting(self) -> None:
        """From here on, a stop waits until the worker serves. Called first thing in the start, and
        earlier by the app factory in a worker process (a signal may come while it loads)."""
        self.ctx.starting = True
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:  # until Sanic puts its own handlers, which call stop() too
                signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop(terminate=False)

    def stop(self, terminate: bool = True, unregister: bool = False) -> None:
        if getattr(self.ctx, "starting", False) and not self.state.is_running:
            self.ctx.stop_asked = (terminate, unregister)  # carried out by stop_once_serving
            return
        self.ctx.starting = False
        super().stop(terminate=terminate, unregister=unregister)

    def stop_once_serving(self) -> None:
        """Looks every 50 ms, from the start's first step until the worker serves, whether a stop was
        asked for meanwhile (timers outlive the start's steps: the last fires in the serving loop)."""
        if not self.state.is_running:
            asyncio.get_running_loop().call_later(RETRY_S, self.stop_once_serving)
            return
        self.ctx.starting = False
        asked = getattr(self.ctx, "stop_asked", None)
        if asked is not None:
            super().stop(*asked)
