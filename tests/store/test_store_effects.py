"""Store writes of resumable runs happen once across the database and the journal: a crash (or a
journal that cannot be written) after the write's commit, then the same run resumed, finds the
write's recorded effect and replays it. And a journal failure is reported as what it is."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import pytest
from store_helpers import record_sql
from wfkit.core import journal as J
from wfkit.core.app import App
from wfkit.core.executor import Executor
from wfkit.core.journal import MemoryJournal
from wfkit.core.runs import RunRecord
from wfkit.core.services import Services
from wfkit.core.store import Store
from wfkit.core.store import effects as E
from wfkit.core.things import Thing
from wfkit.testing import compile_source

OpenStore = Callable[[App | None], AbstractAsyncContextManager[Store]]  # the `open_store` fixture

APP = compile_source("""
type Item {
  n: number
}

type User {
  name: text
}

workflow make(n: number) {
  it = create Item(n: n)
  return { id: it.id, n: it.n }
}

workflow bump(item: Item) {
  it = change item(n: item.n + 1)
  return { n: it.n }
}

workflow bump_all(items: list of Item) {
  them = change items(n: 100)
  return { ids: them }
}

workflow drop(item: Item) {
  delete item
}

workflow join(email: text) {
  u = sign_up(email: email, password: "a long password", name: "Ann")
  t = log_in(email: email, password: "a long password")
  return { id: u.id, token: t.token }
}
""")


class BrokenJournal(MemoryJournal):
    """Redis is down: every save fails, after `ok` that succeed."""

    def __init__(self, ok: int = 0) -> None:
        super().__init__()
        self.ok, self.tries = ok, 0

    async def save(self, run_id: str, path: str, result: Any) -> None:
        self.tries += 1
        if self.tries > self.ok:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")
        await super().save(run_id, path, result)


class HangingJournal(MemoryJournal):
    """The process dies between the database's commit and the journal's write: saves never end."""

    async def save(self, run_id: str, path: str, result: Any) -> None:
        await asyncio.Event().wait()


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(J, "SAVE_RETRY_DELAYS", (0.0, 0.0))
    monkeypatch.setattr(E, "FORGET_BATCH", 1)  # a finished run's rows go at once


def action_steps(record: RunRecord) -> list[str]:
    return [s["status"] for s in record.steps if s["kind"] == "action"]


async def items(store: Store) -> list[Thing]:
    return (await store.page("Item", limit=1000)).results


async def effects(store: Store) -> int:
    rows = await store.query('SELECT COUNT(*) AS "n" FROM "effects"')
    return int(rows[0]["n"])


async def crash_after_commit(store: Store, runs: list[Any], wait_for: Callable[[], Any]) -> None:
    """Start `runs` (coroutines whose journal hangs), wait until `wait_for()` is true (their writes
    are committed), then cancel them: the process died before their journal was written."""
    tasks = [asyncio.ensure_future(r) for r in runs]
    for _ in range(500):
        if await wait_for():
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the writes were never committed")
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_create_lost_by_the_journal_is_replayed_not_repeated(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        broken = BrokenJournal()
        first = await Executor(APP, Services(store=store, journal=broken)).run(
            "make", {"n": 1}, run_id="run-1", resumed=False
        )
        assert broken.tries == 1 + len(J.SAVE_RETRY_DELAYS)  # tried again before giving up
        # truthful: the create succeeded, the journal did not
        assert first.status == "failed" and first.error is not None
        assert "journal" in first.error["message"] and "Error 111" in first.error["message"]
        assert not first.error["message"].startswith("create failed")
        assert action_steps(first) == ["ran"] and first.error["line"] == first.steps[0]["line"]
        made = await items(store)
        assert len(made) == 1
        # the run resumed (a @retry, a worker's re-run): the create is replayed from the database
        again = await Executor(APP, Services(store=store)).run("make", {"n": 1}, run_id="run-1")
        assert again.status == "success", again.error
        assert action_steps(again) == ["replayed"]
        assert again.response == {"id": made[0].id, "n": 1}
        assert [t.id for t in await items(store)] == [made[0].id]
        assert await effects(store) == 0  # forgotten with the journal once the run succeeded


async def test_a_crash_right_after_the_commit_does_not_repeat_a_create(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        hanging = Executor(APP, Services(store=store, journal=HangingJournal()))

        async def committed() -> bool:
            return len(await items(store)) == 1

        await crash_after_commit(store, [hanging.run("make", {"n": 7}, run_id="run-7", resumed=False)], committed)
        [made] = await items(store)
        again = await Executor(APP, Services(store=store)).run("make", {"n": 7}, run_id="run-7")
        assert action_steps(again) == ["replayed"] and again.response == {"id": made.id, "n": 7}
        assert len(await items(store)) == 1


async def test_group_committed_creates_keep_their_effects(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_store(APP) as store:
        statements = record_sql(store, monkeypatch)
        hanging = Executor(APP, Services(store=store, journal=HangingJournal()))
        runs = [hanging.run("make", {"n": i}, run_id=f"run-{i}", resumed=False) for i in range(40)]

        async def committed() -> bool:
            return len(await items(store)) == 40

        await crash_after_commit(store, runs, committed)
        inserts = [s for s in statements if s.startswith('INSERT INTO "things"')]
        assert 1 <= len(inserts) < 40  # grouped into multi-row inserts, effects and all
        first = {t.data["n"]: t.id for t in await items(store)}
        assert await effects(store) == 40
        executor = Executor(APP, Services(store=store))
        again = await asyncio.gather(*(executor.run("make", {"n": i}, run_id=f"run-{i}") for i in range(40)))
        assert all(action_steps(r) == ["replayed"] for r in again)
        assert {r.response["n"]: r.response["id"] for r in again if r.response} == first
        assert len(await items(store)) == 40
        assert await effects(store) == 0


async def test_a_change_lost_by_the_journal_is_replayed_not_repeated(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        item = await store.create("Item", {"n": 1})
        first = await Executor(APP, Services(store=store, journal=BrokenJournal())).run(
            "bump", {"item": item}, run_id="run-c", resumed=False
        )
        assert first.status == "failed" and "journal" in first.error["message"]  # type: ignore[index]
        assert (await store.get("Item", item.id)).data["n"] == 2  # type: ignore[union-attr]
        again = await Executor(APP, Services(store=store)).run("bump", {"item": item}, run_id="run-c")
        assert action_steps(again) == ["replayed"] and again.response == {"n": 2}
        assert (await store.get("Item", item.id)).data["n"] == 2  # type: ignore[union-attr]  # not 3


async def test_a_change_of_a_list_is_replayed_thing_by_thing(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        made = [await store.create("Item", {"n": i}) for i in range(3)]
        await Executor(APP, Services(store=store, journal=BrokenJournal())).run(
            "bump_all", {"items": made}, run_id="run-l", resumed=False
        )
        await store.change(made[0], {"n": 5})  # someone else changes one meanwhile
        again = await Executor(APP, Services(store=store)).run("bump_all", {"items": made}, run_id="run-l")
        assert action_steps(again) == ["replayed"]
        assert sorted(t.data["n"] for t in await items(store)) == [5, 100, 100]  # not changed back


async def test_a_crash_after_a_delete_replays_it(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        item = await store.create("Item", {"n": 1})
        hanging = Executor(APP, Services(store=store, journal=HangingJournal()))

        async def committed() -> bool:
            return not await items(store)

        await crash_after_commit(store, [hanging.run("drop", {"item": item}, run_id="run-d", resumed=False)], committed)
        again = await Executor(APP, Services(store=store)).run("drop", {"item": item}, run_id="run-d")
        assert again.status == "success" and action_steps(again) == ["replayed"]


async def test_sign_up_is_replayed_and_log_in_leaves_one_token(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        first = await Executor(APP, Services(store=store, journal=BrokenJournal(ok=1))).run(
            "join", {"email": "ann@example.com"}, run_id="run-u", resumed=False
        )
        assert action_steps(first) == ["ran", "ran"] and "journal" in first.error["message"]  # type: ignore[index]
        again = await Executor(APP, Services(store=store)).run("join", {"email": "ann@example.com"}, run_id="run-u")
        assert again.status == "success", again.error
        assert action_steps(again) == ["replayed", "ran"]  # the token is issued anew (none is stored)
        assert again.response is not None
        assert await store.users.verify_user_token(again.response["token"]) is not None
        assert await store.count("User") == 1
        tokens = await store.query('SELECT COUNT(*) AS "n" FROM "tokens" WHERE "kind" = \'user\'')
        assert tokens[0]["n"] == 1  # the first attempt's token, never handed out, is revoked


async def test_a_journal_that_recovers_in_time_is_no_failure(open_store: OpenStore) -> None:
    class Flaky(MemoryJournal):
        fails = 2

        async def save(self, run_id: str, path: str, result: Any) -> None:
            self.fails -= 1
            if self.fails >= 0:
                raise ConnectionError("Redis is restarting")
            await super().save(run_id, path, result)

    async with open_store(APP) as store:
        record = await Executor(APP, Services(store=store, journal=Flaky())).run("make", {"n": 3})
        assert record.status == "success" and action_steps(record) == ["ran"]
        assert len(await items(store)) == 1


async def test_only_resumable_runs_record_effects_and_only_resumed_ones_look(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_store(APP) as store:
        queries = record_sql(store, monkeypatch, "query")
        executor = Executor(APP, Services(store=store, journal=BrokenJournal()))
        await executor.run("make", {"n": 1}, durable=False)  # an HTTP call nobody resumes
        await executor.run("make", {"n": 2}, run_id="run-2", resumed=False)  # durable, a first attempt
        assert not [q for q in queries if q.startswith("SELECT") and '"effects"' in q]
        assert await effects(store) == 1  # the durable one only (it failed on the journal: kept)


async def test_effects_of_runs_that_never_finish_are_pruned(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        await Executor(APP, Services(store=store, journal=BrokenJournal())).run("make", {"n": 1}, run_id="run-p")
        assert await store.effects.prune() == 0  # recent: kept for a resume
        assert await store.effects.prune(older_than=timedelta(0)) == 1
        assert await effects(store) == 0


async def test_rows_of_finished_runs_go_in_batches_and_when_the_store_closes(
    open_store: OpenStore, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(E, "FORGET_BATCH", 3)
    async with open_store(APP) as store:
        executor = Executor(APP, Services(store=store))
        await store.effects.flush()  # the first flush also prunes; the next one is an hour away
        for i in range(2):
            assert (await executor.run("make", {"n": i})).status == "success"
        assert await effects(store) == 2  # kept a moment: nothing resumes a finished run
        await executor.run("make", {"n": 2})
        assert await effects(store) == 0  # one statement for three runs
        await executor.run("make", {"n": 3})
        assert store.effects.finished and await effects(store) == 1
        await store.close()  # deletes them on the way out
    async with await Store.open(db_url) as reopened:
        assert await effects(reopened) == 0
