"""Database triggers (create/change/delete, `this`/`before`, after commit, as admin, from a workflow
or a direct store write) and recurring events (instants across DST, one submission per tick)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

from queue_helpers import Start, eventually, runs_of
from wfkit.core import values as V
from wfkit.core.app import Recurring
from wfkit.core.executor import Executor
from wfkit.dsl.ast import Span
from wfkit.server.queue.queue import to_ms
from wfkit.server.queue.recurring import Ticker, next_fire, prev_fire, signature, tick_id

SOURCE = """
type Order {
  title: text
  paid: boolean = false
}
type Audit {
  what: text
}
workflow thank(order: Order) {
  create Audit(what: "thanks {order.title}")
}
workflow created(title: text) {
  create Audit(what: "created {title}")
}
workflow gone(order: Order, title: text) {
  create Audit(what: "deleted {title} {order.title}")
}
workflow pay(order: Order) {
  change order(paid: true)
}
on create Order run created(title: this.title)
on change Order when this.paid and not before.paid run thank(order: this)
on delete Order run gone(order: before, title: before.title)
"""


async def audits(bg: object) -> list[str]:
    things = await bg.store.search("Audit")  # type: ignore[attr-defined]
    return sorted(t.data["what"] for t in things)


async def test_triggers_fire_after_changes_from_workflows_and_direct_writes(start_bg: Start) -> None:
    bg = await start_bg(SOURCE)
    store = bg.store
    order = await store.create("Order", {"title": "tea"})  # as the Data API does: a direct write

    async def created() -> bool:
        return await audits(bg) == ["created tea"]

    await eventually(created)
    await store.change(order, {"title": "green tea"})  # not paid: the condition is false
    record = await Executor(bg.app, bg.services).run("pay", {"order": order}, admin=True)  # from a workflow
    assert record.status == "success"

    async def thanked() -> bool:
        return "thanks green tea" in await audits(bg)

    await eventually(thanked)
    await store.change(order, {"title": "still paid"})  # paid before and after: no second thanks
    await store.delete(order)

    async def deleted() -> bool:
        return any(a.startswith("deleted") for a in await audits(bg))

    await eventually(deleted)
    assert await audits(bg) == ["created tea", "deleted still paid still paid", "thanks green tea"]
    rows = await runs_of(bg)
    assert {r["trigger"] for r in rows if r["workflow"] != "pay"} == {"trigger"}
    assert all(r["status"] == "success" for r in rows)


def _rec(amount: int, unit: str, at: tuple[int, int] | None, zone: str = "UTC") -> Recurring:
    return Recurring(amount, unit, at, zone, "wf", [], Span("t.wf", 1, 1, 1, 1))


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_daily_at_a_local_time_across_daylight_saving_changes() -> None:
    r = _rec(1, "day", (3, 0), "Europe/Paris")
    # winter (UTC+1), the night of the spring change (29 March 2026), summer (UTC+2)
    assert next_fire(r, utc(2026, 3, 27, 12)) == utc(2026, 3, 28, 2)
    assert next_fire(r, utc(2026, 3, 28, 2)) == utc(2026, 3, 29, 1)
    assert next_fire(r, utc(2026, 3, 29, 1)) == utc(2026, 3, 30, 1)
    # autumn (25 October 2026): back to UTC+1
    assert next_fire(r, utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 2)
    # 02:30 does not exist on 29 March in Paris: it fires once, an hour later on the wall clock
    gap = _rec(1, "day", (2, 30), "Europe/Paris")
    assert next_fire(gap, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1, 30)
    assert next_fire(gap, utc(2026, 3, 29, 1, 30)) == utc(2026, 3, 30, 0, 30)
    # 02:30 exists twice on 25 October: it fires once, at the first
    twice = _rec(1, "day", (2, 30), "Europe/Paris")
    first = next_fire(twice, utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)
    assert next_fire(twice, first) == utc(2026, 10, 26, 1, 30)


def test_periods_weeks_and_months() -> None:
    assert next_fire(_rec(15, "minute", None), utc(2026, 5, 1, 10, 7)) == utc(2026, 5, 1, 10, 15)
    assert prev_fire(_rec(15, "minute", None), utc(2026, 5, 1, 10, 7)) == utc(2026, 5, 1, 10, 0)
    week = next_fire(_rec(1, "week", (9, 0)), utc(2026, 5, 1, 10))  # a Friday
    assert week == utc(2026, 5, 4, 9) and week.weekday() == 0
    assert next_fire(_rec(1, "month", (3, 0)), utc(2026, 5, 1, 10)) == utc(2026, 6, 1, 3)
    assert next_fire(_rec(1, "month", None), utc(2026, 12, 15)) == utc(2027, 1, 1)
    two_days = _rec(2, "day", None)
    a = next_fire(two_days, utc(2026, 5, 1, 10))
    assert next_fire(two_days, a) - a == (utc(2026, 1, 3) - utc(2026, 1, 1))


_INSTANTS = itertools.count()


async def test_a_tick_is_submitted_once_however_many_tickers(start_bg: Start) -> None:
    src = """
workflow tick(label: text) {
  log label
}
every 1 day at "03:00 Europe/Paris" run tick(label: "nightly")
"""
    bg = await start_bg(src, worker=False)
    other = Ticker(bg.app, bg.queue, bg.services)  # a second process's ticker, on the same queue
    r = bg.app.recurring[0]
    # a tick's id is the event and the instant, and job ids are global in the session's one Redis:
    # another instant each time this test runs (once per database)
    at = next_fire(r, utc(2026, 6, 1) + timedelta(days=next(_INSTANTS)))
    assert await bg.ticker.fire(0, r, at) is True
    assert await other.fire(0, r, at) is False
    assert await bg.ticker.fire(0, r, at) is False
    listed = await bg.list_scheduled()
    assert [(x["workflow"], x["args"]) for x in listed] == [("tick", {"label": "nightly"})]


async def test_recurring_runs_have_their_trigger(start_bg: Start) -> None:
    src = """
workflow tick() {
  log "tick"
}
every 1 second run tick()
"""
    bg = await start_bg(src)

    async def ticked() -> bool:
        return len(await runs_of(bg, "tick")) >= 1

    await eventually(ticked)
    (row, *_) = await runs_of(bg, "tick")
    assert row["trigger"] == "recurring" and row["status"] == "success"


async def test_a_missed_tick_runs_once_when_a_worker_starts_again(start_bg: Start) -> None:
    """docs/operating.md: a tick missed while nothing ran is run once when a server or worker starts
    again (only the latest missed one). Three hours with nothing running are played by setting back
    the last tick the ticker saw, as a ticker stopped three hours ago would have left it."""
    src = """
workflow tick() {
  log "tick"
}
every 1 hour run tick()
"""
    first = await start_bg(src)
    r = first.app.recurring[0]
    last_tick = first.queue.key("rec", signature(0, r))

    async def noted() -> bool:  # a first start notes "now": nothing was missed
        return await first.redis.get(last_tick) is not None

    await eventually(noted)
    prefix = first.queue.prefix
    await first.ticker.stop()
    stopped_at = V.now() - timedelta(hours=3)
    await first.redis.set(last_tick, int(to_ms(stopped_at)))
    assert await runs_of(first, "tick") == []

    again = await start_bg(first.app, prefix=prefix, store=first.store)

    async def ticked() -> bool:
        return len(await runs_of(again, "tick")) >= 1

    await eventually(ticked)
    await asyncio.sleep(0.5)  # and no more: the three missed ticks are one run
    [run] = await runs_of(again, "tick")
    latest_missed = prev_fire(r, V.now())
    assert latest_missed > stopped_at + timedelta(hours=2)
    assert run["id"] == tick_id(signature(0, r), latest_missed) and run["trigger"] == "recurring"
    assert run["status"] == "success"
    assert float(await again.redis.get(last_tick)) == to_ms(latest_missed)
