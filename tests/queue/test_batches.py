"""`schedule … for each … every …` as one compact batch: item ids and times, cancelling items and
whole batches, and a big list stored with a handful of Redis commands, not one per item."""

from __future__ import annotations

from datetime import datetime, timedelta

from queue_helpers import Start, eventually, runs_of
from wfkit.core.executor import Executor

SOURCE = """
workflow one(x: text, tag: text) {
  log "{tag} {x}"
}
workflow fan(items: list of text, gap: number = 0) {
  hs = schedule one(x: item, tag: "t") for each item in items every gap * 1 second
  return { ids: hs }
}
workflow quiet(items: list of number) {
  schedule one(x: text(item), tag: "q") for each item in items in 1 hour
}
workflow self_cancel(items: list of text) {
  hs = schedule one(x: item, tag: "s") for each item in items in 1 hour
  cancel first(hs)
}
"""


async def test_items_run_in_order_spaced_by_every(start_bg: Start) -> None:
    bg = await start_bg(SOURCE)
    record = await Executor(bg.app, bg.services).run("fan", {"items": ["a", "b", "c"], "gap": 0.1}, admin=True)
    assert record.status == "success" and record.scheduled_count == 3
    handles = record.response["ids"]  # type: ignore[index]
    batch = handles[0]["id"].rsplit(".", 1)[0]
    assert [h["id"] for h in handles] == [f"{batch}.{i}" for i in range(3)]
    times = [datetime.fromisoformat(h["run_at"]) for h in handles]
    assert [t - times[0] for t in times] == [timedelta(0), timedelta(seconds=0.1), timedelta(seconds=0.2)]

    async def done() -> bool:
        return len(await runs_of(bg, "one", "success")) == 3

    await eventually(done)
    logs = []
    for h in handles:
        logs += [e["message"] for e in (await bg.store.runs.get(h["id"]))["logs"]]
    assert logs == ["t a", "t b", "t c"]


async def test_cancel_items_and_whole_batches(start_bg: Start) -> None:
    bg = await start_bg(SOURCE, worker=False)
    ex = Executor(bg.app, bg.services)
    record = await ex.run("self_cancel", {"items": ["a", "b", "c"]}, admin=True)
    assert record.scheduled_count == 2  # the run cancelled its own first item
    listed = await bg.list_scheduled()
    assert [x["args"]["x"] for x in listed] == ["b", "c"]
    assert await bg.cancel([listed[0]["id"]]) == 1
    assert await bg.cancel([listed[0]["id"]]) == 0
    assert [x["args"]["x"] for x in await bg.list_scheduled()] == ["c"]
    await ex.run("quiet", {"items": list(range(50))}, admin=True)
    assert len(await bg.list_scheduled("one", limit=10)) == 10
    assert await bg.cancel_workflow("one") == 51
    assert await bg.list_scheduled() == []


async def test_a_big_list_costs_a_handful_of_redis_commands(start_bg: Start) -> None:
    bg = await start_bg(SOURCE, worker=False)
    n = 200_000
    before = int((await bg.redis.info("stats"))["total_commands_processed"])
    record = await Executor(bg.app, bg.services).run("quiet", {"items": list(range(n))}, admin=True)
    after = int((await bg.redis.info("stats"))["total_commands_processed"])
    assert record.status == "success" and record.scheduled_count == n
    assert len(record.scheduled) == 1_000  # the record keeps the first ids only
    assert after - before < 200  # rows pushed in chunks, one script call: not one command per item
    first = await bg.list_scheduled(limit=3)
    assert [x["args"] for x in first] == [{"x": "0", "tag": "q"}, {"x": "1", "tag": "q"}, {"x": "2", "tag": "q"}]
    assert await bg.cancel_workflow("one") == n
