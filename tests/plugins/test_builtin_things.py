"""The built-in create, change and delete actions, run by the executor on a real store."""

from __future__ import annotations

from backends import OpenStore
from wfkit.core import query as Q
from wfkit.testing import compile_source, run_workflow

SOURCE = """
type Order {
  title: text
  amount: number = 0
  paid: boolean = false
  owner: User
  tags: list of text
}

type User {
  name: text
}

workflow make(t: text, a: number) {
  if a <= 0 {
    fail "amount must be positive, got {a}"
  }
  order = create Order(title: t, amount: a, owner: current_user)
  return { id: order.id, title: order.title, paid: order.paid, owner: order.owner.name }
}

workflow close_unpaid() {
  let stale = search Order where paid == false order by amount
  changed = change stale(tags: ["closed"])
  one = change (first(stale))(paid: true)
  return { n: count(changed), tags: changed.tags, first_paid: one.paid }
}

workflow tag(order: Order, tag: text) {
  o = change order(tags: order.tags + [tag])
  return { tags: o.tags }
}

workflow remove_small(max: number) {
  delete (search Order where amount < max)
  return { left: count(search Order) }
}

workflow bad() {
  let raw = { amount: "lots" }
  create Order(amount: raw.amount)
}
"""

APP = compile_source(SOURCE)


async def test_create_change_delete_in_workflows(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        ann = await store.create("User", {"email": "ann@example.com", "name": "Ann"})
        for title, amount in (("tea", "4"), ("cake", "12"), ("jam", "7")):
            record = await run_workflow(APP, "make", store=store, user=ann, t=title, a=amount)
            assert record.ok, record.error
        assert record.response is not None
        assert record.response["title"] == "jam" and record.response["paid"] is False
        assert record.response["owner"] == "Ann"
        jam = await store.get("Order", record.response["id"])
        assert jam is not None and jam.created_by == ann.id and jam.data["owner"] == ann.id

        record = await run_workflow(APP, "tag", store=store, order=jam.id, tag="gift")
        assert record.ok, record.error
        assert record.response == {"tags": ["gift"]}

        record = await run_workflow(APP, "close_unpaid", store=store)
        assert record.ok, record.error
        assert record.response == {"n": 3, "tags": [["closed"]] * 3, "first_paid": True}
        assert await store.count("Order", Q.Cmp("tags", "contains", "closed")) == 3
        assert await store.count("Order", Q.Cmp("paid", "==", True)) == 1

        record = await run_workflow(APP, "remove_small", store=store, max=10)
        assert record.ok, record.error
        assert record.response == {"left": 1}


async def test_a_failing_write_fails_the_run_with_its_line(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        record = await run_workflow(APP, "bad", store=store)
        assert record.status == "failed" and record.error is not None
        assert "Order.amount must be number, got text 'lots'" in record.error["message"]
        assert record.error["line"] == SOURCE.splitlines().index("  create Order(amount: raw.amount)") + 1
        record = await run_workflow(APP, "make", store=store, t="x", a=-1)
        assert record.error is not None and record.error["message"] == "amount must be positive, got -1"


async def test_without_a_store_the_action_says_so() -> None:
    record = await run_workflow(APP, "bad")
    assert record.error is not None and "no data store is configured" in record.error["message"]
