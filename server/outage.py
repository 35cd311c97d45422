"""An outage of something a process depends on (the queue's Redis, the database), as that process
sees it: one log line when it stops answering, a capped backoff between tries, one line when it
answers again with how long it was gone, how many tries failed and what waited
(docs/operating.md "When things fail").

Every loop of a process that talks to the same dependency shares its `Outage` (`watch(name)`),
so an outage is reported once per process, not once per loop, and never with a traceback per try.
Errors that are not about reaching it (a bug, a bad value) are not outages: callers log them as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger("wfkit.outage")

T = TypeVar("T")
FIRST_DELAY_S = 0.2
MAX_DELAY_S = 5.0

REDIS = "the queue's Redis"
DATABASE = "the database"


def _unreachable_errors() -> tuple[type[BaseException], ...]:
    """Errors that say the other end cannot be reached (refused, reset, timed out, shutting down,
    still loading), from the clients installed; the clients wrap a missing socket file in theirs."""
    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    with contextlib.suppress(ImportError):
        import redis.exceptions as R

        found += [R.ConnectionError, R.TimeoutError, R.BusyLoadingError]
    with contextlib.suppress(ImportError):
        from tortoise.exceptions import DBConnectionError

        found.append(DBConnectionError)
    with contextlib.suppress(ImportError):
        import asyncpg.exceptions as P  # type: ignore[import-untyped]

        found += [P.PostgresConnectionError, P.OperatorInterventionError]
    return tuple(found)


UNREACHABLE = _unreachable_errors()


def unreachable(error: BaseException) -> bool:
    """Whether `error` (or the error it was raised from: the ORM wraps its drivers') says the other end
    cannot be reached, rather than refusing what was asked of it."""
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        if isinstance(e, UNREACHABLE):
            return True
        seen.add(id(e))
        e = e.__cause__
    return False


def backoff(tries: int) -> float:
    """Seconds to wait after `tries` failed tries in a row: 0.2, 0.4, 0.8 … at most 5."""
    return float(min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** max(0, tries - 1)))


def which(error: BaseException) -> str:
    """REDIS when a Redis client raised `error` (or what it was raised from), else DATABASE."""
    e: BaseException | None = error
    while e is not None:
        if type(e).__module__.startswith("redis."):
            return REDIS
        e = e.__cause__
    return DATABASE


class Outage:
    def __init__(self, name: str) -> None:
        self.name = name
        self.down_since: float | None = None
        self.failures = 0  # failed tries during this outage, every loop counted
        self.waiting: dict[str, int] = {}  # what waited (the most at once): "run records" → 12

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: BaseException, **waiting: int) -> None:
        """A try failed because `name` is unreachable; `waiting`: what waits for it now, by kind
        (`run_records=12`). Logs one line when this starts an outage."""
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.failures, self.waiting = 0, {}
            log.warning(
                "%s is unreachable (%s: %s); trying again with backoff, %.1f s up to %.0f s",
                self.name,
                type(error).__name__,
                str(error).splitlines()[0] if str(error) else "no message",
                FIRST_DELAY_S,
                MAX_DELAY_S,
            )
        self.failures += 1
        self._note(waiting)

    def ok(self, **waited: int) -> None:
        """A try worked: logs one line if this ends an outage (`waited`: what this try took that
        waited for it, by kind, as in `failed`)."""
        if self.down_since is None:
            return
        self._note(waited)
        gone = time.monotonic() - self.down_since
        what = "".join(f"; {n} {kind.replace('_', ' ')} waited" for kind, n in self.waiting.items() if n)
        self.down_since = None
        log.warning("%s is back after %.1f s (%d failed tries%s)", self.name, gone, self.failures, what)

    def _note(self, waiting: dict[str, int]) -> None:
        for kind, n in waiting.items():  # the most that waited at once, by kind
            self.waiting[kind] = max(n, self.waiting.get(kind, 0))

    async def retry(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`await attempt()` until it works, waiting out an outage with backoff; other errors raise."""
        tries = 0
        while True:
            try:
                result = await attempt()
            except Exception as e:
                if not unreachable(e):
                    raise
                tries += 1
                self.failed(e)
                await asyncio.sleep(backoff(tries))
                continue
            self.ok()
            return result


_watched: dict[str, Outage] = {}


def watch(name: str) -> Outage:
    """This process's view of `name` (REDIS, DATABASE), shared by all its loops."""
    outage = _watched.get(name)
    if outage is None:
        outage = _watched[name] = Outage(name)
    return outage


def forget() -> None:
    """Forget every outage seen (for tests that start one of their own)."""
    _watched.clear()
