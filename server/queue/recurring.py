"""Recurring events (`every N UNIT [at "HH:MM Zone"] run WF(args)`): when they fire, and the ticker.

Without `at`, seconds, minutes and hours fire on multiples of the period since the Unix epoch
(`every 15 minutes`: :00, :15, :30, :45, the same on every machine); days, weeks and months fire at
midnight in the zone. With `at`, at that wall-clock time in the zone, so 03:00 Europe/Paris stays
03:00 across daylight-saving changes; a time that does not exist that day (the spring gap) fires
at the same instant one hour later on the wall clock, and one that exists twice (autumn) fires once,
at the first. `every N days` fires on days whose count since 1970-01-01 divides by N; weeks start
on Monday; months on the 1st.

Every process with a ticker computes the same instants; a tick is one arq job whose id is made of
the event and the instant (the same in every process), and a Redis key per tick (`SET NX`) makes
one of them submit it, so several workers fire each tick once. A tick missed while no ticker ran is run once
when one starts again (only the latest missed tick).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from wfkit.core import values as V
from wfkit.core.app import App, Recurring, every_text
from wfkit.core.scheduler import ScheduledRun
from wfkit.core.services import Services

from .. import tasks
from ..outage import REDIS, watch
from .frames import admin_frame, evaluate
from .queue import Queue, from_ms, to_ms

log = logging.getLogger("wfkit.queue")


class Cadence(Protocol):
    """When an event fires: every `amount` `unit`s [at `at` in `zone`] (a `Recurring`, or an `Every`)."""

    @property
    def amount(self) -> int | float: ...
    @property
    def unit(self) -> str: ...
    @property
    def at(self) -> tuple[int, int] | None: ...
    @property
    def zone(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Every:
    """A recurring event as the queue publishes it for commands that have no app (`wf scheduled`)."""

    workflow: str
    amount: int | float
    unit: str
    at: tuple[int, int] | None
    zone: str

    @classmethod
    def of(cls, r: Recurring) -> Every:
        return cls(r.workflow, r.amount, r.unit, r.at, r.zone)

    def to_json(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "amount": self.amount, "unit": self.unit, "at": self.at, "zone": self.zone}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Every:
        at = d.get("at")
        return cls(d["workflow"], d["amount"], d["unit"], (at[0], at[1]) if at else None, d["zone"])

    def describe(self) -> str:
        """`every 1 day at 09:00 Europe/Paris`"""
        return every_text(self.amount, self.unit, self.at, self.zone)


EPOCH_MONDAY = date(1970, 1, 5)
MAX_SLEEP_S = 30.0  # wake at least this often (a clock that jumps)


def _local(r: Cadence, day: date) -> datetime:
    h, m = r.at or (0, 0)
    return datetime(day.year, day.month, day.day, h, m, tzinfo=ZoneInfo(r.zone)).astimezone(UTC)


def _every(r: Cadence) -> int:
    return max(1, int(r.amount))


def _candidates(r: Cadence, around: datetime, forward: bool) -> list[datetime]:
    """Fire instants of a calendar unit near `around`, in order (forward) or reverse order."""
    n = _every(r)
    local_day = around.astimezone(ZoneInfo(r.zone)).date()
    out: list[datetime] = []
    if r.unit == "month":
        base = local_day.year * 12 + local_day.month - 1
        for k in range(-1, 12 * n + 2):
            mm = base + (k if forward else -k)
            if (mm - 1970 * 12) % n == 0:
                yy, mo = divmod(mm, 12)
                out.append(_local(r, date(yy, mo + 1, 1)))
        return out
    span = 7 if r.unit == "week" else 1
    start = local_day - timedelta(days=local_day.weekday()) if r.unit == "week" else local_day
    for k in range(-1, (n + 2) * 2):
        d = start + timedelta(days=span * (k if forward else -k))
        index = (d - EPOCH_MONDAY).days // 7 if r.unit == "week" else (d - date(1970, 1, 1)).days
        if index % n == 0:
            out.append(_local(r, d))
    return out


def next_fire(r: Cadence, after: datetime) -> datetime:
    """The first instant this event fires strictly after `after`."""
    if r.unit in ("second", "minute", "hour"):
        period = r.amount * V.UNIT_SECONDS[r.unit]
        k = int(after.timestamp() // period) + 1
        return datetime.fromtimestamp(k * period, UTC)
    return min(t for t in _candidates(r, after, True) if t > after)


def prev_fire(r: Cadence, at: datetime) -> datetime:
    """The last instant this event fired at or before `at`."""
    if r.unit in ("second", "minute", "hour"):
        period = r.amount * V.UNIT_SECONDS[r.unit]
        return datetime.fromtimestamp((at.timestamp() // period) * period, UTC)
    return max(t for t in _candidates(r, at, False) if t <= at)


def signature(i: int, r: Recurring) -> str:
    at = f"{r.at[0]:02d}{r.at[1]:02d}" if r.at else "-"
    return f"{i}:{r.workflow}:{r.amount}{r.unit}:{at}:{r.zone}"


def tick_id(sig: str, at: datetime) -> str:
    """The run id (and arq job id) of the tick of event `sig` at `at`: 32 hex digits like any run
    id, time first, the same in every process."""
    return f"{int(to_ms(at)):012x}{hashlib.sha1(sig.encode()).hexdigest()[:20]}"


class Ticker:
    """Submits a run of each recurring event at each of its instants."""

    def __init__(self, app: App, queue: Queue, services: Services) -> None:
        self.app = app
        self.queue = queue
        self.services = services
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.app.recurring:
            self._task = asyncio.create_task(self._run(), name="wfkit-recurring")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None

    async def fire(self, i: int, r: Recurring, at: datetime) -> bool:
        """Submit the run of tick `at` unless another ticker did; True when this one did."""
        f = admin_frame(self.services, r.workflow, {})
        args = {name: V.to_json(await evaluate(c, f)) for name, c in r.args}
        sig = signature(i, r)
        run = ScheduledRun(tick_id(sig, at), r.workflow, args, at, 1, None, None)
        added = await self.queue.submit([run], kind="recurring", once=f"{sig}:{int(to_ms(at))}")
        await self.queue.redis.set(self.queue.key("rec", sig), int(to_ms(at)))
        return added > 0

    async def _run(self) -> None:
        now = V.now()
        upcoming: dict[int, datetime] = {}
        for i, r in enumerate(self.app.recurring):
            last = await self.queue.redis.get(self.queue.key("rec", signature(i, r)))
            if last is not None:
                missed = prev_fire(r, now)
                if to_ms(missed) > float(last):
                    await self._fire_logged(i, r, missed)
            else:
                await self.queue.redis.set(self.queue.key("rec", signature(i, r)), int(to_ms(now)))
            upcoming[i] = next_fire(r, now)
        while True:
            wait = min(upcoming.values()) - V.now()
            await asyncio.sleep(min(max(wait.total_seconds(), 0.0), MAX_SLEEP_S))
            now = V.now()
            for i, at in list(upcoming.items()):
                if at <= now:
                    r = self.app.recurring[i]
                    await self._fire_logged(i, r, at)
                    upcoming[i] = next_fire(r, max(at, now - timedelta(seconds=1)))

    async def _fire_logged(self, i: int, r: Recurring, at: datetime) -> None:
        """Fire; while Redis is unreachable, try again with backoff (the outage is logged once; the
        ticks missed meanwhile become one, as after a stop)."""
        try:
            await watch(REDIS).retry(lambda: self.fire(i, r, at))
        except Exception:  # a failing tick must not stop the others
            log.exception("recurring event %s at %s failed to submit", signature(i, r), from_ms(to_ms(at)))
