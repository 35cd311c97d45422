"""`wf serve --workers N` replaces a worker process that dies (docs/operating.md "When things fail").

Sanic's worker manager notices a dead worker (its monitor marks it FAILED or COMPLETED every
0.1 s) but starts no other: a `kill -9` or an out-of-memory kill would leave the server one worker
short for good (and one killed before it reported ready stops the whole server 30 s later). This
hooks that same check, and the wait for the workers to be ready: a server worker found dead while
the server is not stopping is logged (which, its pid, its exit code or signal) and started again,
as gunicorn does.
A worker that dies again soon after it was started is restarted after a growing pause (1 s, 2 s,
… 30 s) rather than in a tight loop.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from sanic import Sanic
from sanic.worker.constants import ProcessState

from .logs import serve_process_name

log = logging.getLogger("wfkit.server")

QUICK_DEATH_S = 10.0  # a worker dying this soon after it started counts towards a crash loop
FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 30.0
DEAD = (ProcessState.FAILED, ProcessState.COMPLETED)


def why(exitcode: int | None) -> str:
    if exitcode is None:
        return "exited"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


@dataclass
class Respawner:
    manager: Any  # sanic.worker.manager.WorkerManager (its types are loose)
    started: dict[str, float] = field(default_factory=dict)  # process name → when it (re)started
    streak: dict[str, int] = field(default_factory=dict)  # quick deaths in a row
    due: dict[str, float] = field(default_factory=dict)  # dead ones waiting out their pause

    def check(self) -> None:
        now = time.monotonic()
        for process in list(self.manager.transient_processes):
            if not process.name.startswith("Sanic-Server") or getattr(self.manager, "_shutting_down", True):
                continue
            self.started.setdefault(process.name, now)
            if process.state not in DEAD or process.is_alive():
                continue
            if process.name not in self.due:
                self._died(process, now)
            if now >= self.due[process.name] and not self.manager._shutting_down:
                del self.due[process.name]
                self.started[process.name] = time.monotonic()  # a failed start is a quick death too
                try:
                    process.restart()
                except Exception:  # the monitor must go on: it is also what stops the server
                    log.exception("could not start %s again", serve_process_name(process.name))
                    process.set_state(ProcessState.FAILED, force=True)  # tried again after a pause
                    continue
                log.info("%s started again as pid %s", serve_process_name(process.name), process.pid)

    def _died(self, process: Any, now: float) -> None:
        quick = now - self.started.get(process.name, now) < QUICK_DEATH_S
        streak = self.streak[process.name] = self.streak.get(process.name, 0) + 1 if quick else 0
        pause = 0.0 if streak <= 1 else min(MAX_PAUSE_S, FIRST_PAUSE_S * 2 ** (streak - 2))
        self.due[process.name] = now + pause
        when = (
            "now"
            if pause == 0
            else f"in {pause:.0f} s (it died {streak} times in a row within {QUICK_DEATH_S:.0f} s of starting)"
        )
        log.error(
            "%s (pid %s) died: %s; starting a new one %s",
            serve_process_name(process.name),
            process.pid,
            why(process.exitcode),
            when,
        )


def respawn_dead_workers(server: Sanic[Any, Any]) -> None:
    """A `main_process_ready` listener: hook the respawn check into the manager's monitor loop."""
    manager = server.manager
    sync = getattr(manager, "_sync_states", None)
    if sync is None:  # a Sanic without this detail: no respawning
        return
    respawner = Respawner(manager)

    def sync_then_respawn() -> None:
        sync()  # marks the dead FAILED (exit code ≠ 0) or COMPLETED
        respawner.check()

    manager._sync_states = sync_then_respawn  # type: ignore[method-assign]
    all_ready = getattr(manager, "_all_workers_ack", None)
    if all_ready is not None:  # also while the workers start: else one killed then stops the server 30 s later

        def respawn_then_ask() -> bool:
            sync_then_respawn()
            return bool(all_ready())

        manager._all_workers_ack = respawn_then_ask  # type: ignore[method-assign]
