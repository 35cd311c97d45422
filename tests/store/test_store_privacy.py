"""Privacy rules (docs/language.md §5) with two users: what each finds, which fields each sees."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from wfkit.core import query as Q
from wfkit.core.app import App
from wfkit.core.context import RunInfo
from wfkit.core.store import Store
from wfkit.core.things import Thing
from wfkit.testing import compile_source, run_workflow

OpenStore = Callable[[App | None], AbstractAsyncContextManager[Store]]

SOURCE = """
type Order {
  title: text
  amount: number = 0
  owner: User
  note: text
}

type Secret {
  code: text
}

type Item {
  owner: User
  open: boolean = false
}

privacy Order {
  rule mine when this.owner == current_user {
    view all
    search
  }
  rule big when this.amount > 100 {
    view title, amount
    search
  }
  everyone {
    view title
  }
}

privacy Item {
  rule mine when this.owner == current_user {
    view all
    change
  }
  rule editors when this.open {
    view all
    delete
  }
}

privacy Secret {
  rule nobody when this.code == "never" {
    view all
  }
}

workflow mine() {
  let found = search Order order by amount
  return { titles: found.title, amounts: found.amount, notes: found.note }
}

workflow read(order: Order) {
  return { title: order.title, amount: order.amount, note: order.note }
}

@ignore_privacy
workflow everything() {
  let found = search Order order by amount
  return { titles: found.title, amounts: found.amount }
}
"""

APP = compile_source(SOURCE)


def as_user(user: Thing | None) -> RunInfo:
    return RunInfo("run", "test", user=user)


async def seed(store: Store) -> tuple[Thing, Thing, dict[str, Thing]]:
    ann = await store.create("User", {"email": "ann@example.com"})
    bob = await store.create("User", {"email": "bob@example.com"})
    orders = {
        "ann-small": await store.create("Order", {"title": "ann-small", "amount": 5, "owner": ann, "note": "a1"}),
        "ann-big": await store.create("Order", {"title": "ann-big", "amount": 500, "owner": ann, "note": "a2"}),
        "bob-small": await store.create("Order", {"title": "bob-small", "amount": 7, "owner": bob, "note": "b1"}),
        "nobody": await store.create("Order", {"title": "nobody", "amount": 1}),
    }
    return ann, bob, orders


async def test_search_shows_what_rules_grant(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        ann, bob, _ = await seed(store)
        for_ann = await store.search("Order", order_by="amount", run=as_user(ann))
        assert [t.data["title"] for t in for_ann] == ["ann-small", "ann-big"]
        assert all(not t.hidden for t in for_ann)
        for_bob = await store.search("Order", order_by="amount", run=as_user(bob))
        assert [t.data["title"] for t in for_bob] == ["bob-small", "ann-big"]
        big = for_bob[1]
        assert big.hidden == frozenset({"owner", "note"})
        assert "note" not in big.data and big.data["amount"] == 500
        anonymous = await store.search("Order", order_by="amount", run=as_user(None))
        assert [t.data["title"] for t in anonymous] == ["ann-big"]
        assert await store.count("Order", run=as_user(bob)) == 2
        # admin runs and @ignore_privacy see everything
        assert len(await store.search("Order", run=None)) == 4
        assert len(await store.search("Order", run=RunInfo("r", "w", ignore_privacy=True))) == 4


async def test_a_condition_on_a_hidden_field_sees_it_empty(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        _, bob, orders = await seed(store)
        # bob finds ann-big but may not view its note: searching by the note must not reveal it
        assert await store.search("Order", Q.Cmp("note", "==", "a2"), run=as_user(bob)) == []
        assert [t.id for t in await store.search("Order", Q.Empty("note"), run=as_user(bob))] == [orders["ann-big"].id]
        assert len(await store.search("Order", Q.Cmp("note", "==", "a2"), run=None)) == 1


async def test_get_under_privacy(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        ann, bob, orders = await seed(store)
        small = orders["ann-small"]
        seen_by_bob = await store.get("Order", small.id, as_user(bob))
        assert seen_by_bob is not None
        assert seen_by_bob.data == {"title": "ann-small"}
        assert seen_by_bob.hidden == frozenset({"amount", "owner", "note"})
        full = await store.get("Order", small.id, as_user(ann))
        assert full is not None and full.data["note"] == "a1" and not full.hidden
        secret = await store.create("Secret", {"code": "1234"})
        assert await store.get("Secret", secret.id, as_user(ann)) is None  # no rule lets anyone see it
        assert await store.get("Secret", secret.id, None) is not None
        assert await store.search("Secret", run=as_user(ann)) == []


async def test_workflows_see_through_the_callers_eyes(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        _, bob, orders = await seed(store)
        record = await run_workflow(APP, "mine", store=store, user=bob)
        assert record.ok, record.error
        assert record.response == {"titles": ["bob-small", "ann-big"], "amounts": [7, 500], "notes": ["b1", None]}
        record = await run_workflow(APP, "read", store=store, user=bob, order=orders["ann-small"].id)
        assert record.ok, record.error
        assert record.response == {"title": "ann-small", "amount": None, "note": None}
        record = await run_workflow(APP, "everything", store=store, user=bob)
        assert record.ok, record.error
        assert record.response is not None and len(record.response["titles"]) == 4
        record = await run_workflow(APP, "mine", store=store)  # admin
        assert record.response is not None and record.response["notes"] == [None, "a1", "b1", "a2"]


async def test_writes_are_not_blocked_but_results_are_masked(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        ann, bob, orders = await seed(store)
        changed = await store.change(orders["ann-small"], {"note": "by bob"}, run=as_user(bob))
        assert changed.data == {"title": "ann-small"} and "note" in changed.hidden
        stored = await store.get("Order", orders["ann-small"].id, None)
        assert stored is not None and stored.data["note"] == "by bob"
        secret = await store.create("Secret", {"code": "x"}, run=as_user(ann))
        assert secret.id and secret.data == {} and secret.hidden == frozenset({"code"})


async def test_change_and_delete_grants_for_the_data_api(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        ann, bob, _ = await seed(store)
        item = await store.create("Item", {"owner": ann})
        assert await store.allowed(item, "change", as_user(ann))
        assert not await store.allowed(item, "delete", as_user(ann))
        assert not await store.allowed(item, "change", as_user(bob))
        opened = await store.change(item, {"open": True})
        assert await store.allowed(opened, "delete", as_user(bob))
        assert await store.allowed(opened, "delete", None)  # admin
