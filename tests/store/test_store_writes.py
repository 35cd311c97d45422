"""create, change and delete: values checked against declared types, defaults, references,
and the listeners that database triggers will use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from backends import OpenStore
from wfkit.core.context import RunInfo
from wfkit.core.errors import ActionError
from wfkit.core.store import Store
from wfkit.core.things import Thing
from wfkit.testing import compile_source, run_workflow

SOURCE = """
type Order {
  title: text
  amount: number = 10 * 2
  paid: boolean = false
  due: date
  wait: duration
  owner: User
  items: list of Item
  meta: object
  made_by: User = current_user
}
type Item {
  name: text
}
workflow noop() {
  terminate
}
workflow owner_of(order: Order) {
  return { owner: order.owner, email: order.owner.email, gone: order.owner is empty, kept: order.title }
}
"""

APP = compile_source(SOURCE)


async def test_create_checks_types_and_applies_defaults(store: Store) -> None:
    await store.use_app(APP)
    ann = await store.create("User", {"email": "ann@example.com"})
    item = await store.create("Item", {"name": "cup"})
    order = await store.create(
        "Order",
        {
            "title": "Tea",
            "due": "2026-05-01T09:00:00Z",
            "wait": 90,
            "owner": ann,
            "items": [item, item.id],
            "meta": {"a": [1, 2], "at": datetime(2026, 1, 1, tzinfo=UTC)},
        },
        run=RunInfo("r", "w", user=ann),
    )
    assert order.data["amount"] == 20 and order.data["paid"] is False
    assert order.data["due"] == datetime(2026, 5, 1, 9, tzinfo=UTC)
    assert order.data["wait"] == timedelta(seconds=90)
    assert order.data["owner"] == ann.id and order.data["items"] == [item.id, item.id]
    assert order.data["meta"] == {"a": [1, 2], "at": "2026-01-01T00:00:00.000000Z"}
    assert order.data["made_by"] == ann.id and order.created_by == ann.id
    assert order.created_at is not None and order.created_at == order.modified_at
    again = await store.get("Order", order.id)
    assert again is not None and again.data == order.data


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"amount": "lots"}, "Order.amount must be number, got text 'lots'"),
        ({"paid": 3}, "Order.paid must be boolean, got number 3"),
        ({"due": "someday"}, "Order.due must be date, got text 'someday'"),
        ({"items": "cup"}, "Order.items must be list of Item, got text 'cup'"),
        ({"nope": 1}, "Order has no field 'nope'"),
        ({"id": "x"}, "Order.id is set by wfkit"),
        ({"owner": "1x2"}, "there is no User with the id '1x2'"),
    ],
)
async def test_bad_values_are_refused(open_store: OpenStore, values: dict[str, Any], message: str) -> None:
    async with open_store(APP) as store:
        with pytest.raises(ActionError) as e:
            await store.create("Order", values)
        assert message in str(e.value)
        assert await store.count("Order") == 0


async def test_a_thing_of_another_type_is_refused(store: Store) -> None:
    await store.use_app(APP)
    item = await store.create("Item", {"name": "cup"})
    with pytest.raises(ActionError, match=r"Order\.owner must be User, got Item"):
        await store.create("Order", {"owner": item})


async def test_change_and_delete_tell_the_listeners(store: Store) -> None:
    await store.use_app(APP)
    heard: list[tuple[str, str, Thing | None, Thing | None]] = []

    async def listener(event: str, type_name: str, before: Thing | None, after: Thing | None) -> None:
        heard.append((event, type_name, before, after))

    def failing(*args: Any) -> None:
        raise RuntimeError("a broken listener does not undo the change")

    store.listeners.extend([listener, failing])
    order = await store.create("Order", {"title": "Tea"})
    changed = await store.change(order, {"paid": True, "title": "Green tea"})
    assert changed.data["paid"] is True and changed.data["amount"] == 20
    assert changed.modified_at is not None and order.modified_at is not None
    assert changed.modified_at >= order.modified_at and changed.created_at == order.created_at
    assert await store.delete([changed, changed.id], type_name="Order") == 1
    assert await store.get("Order", order.id) is None
    assert await store.delete(order) == 0
    assert [(e, t) for e, t, _, _ in heard] == [("create", "Order"), ("change", "Order"), ("delete", "Order")]
    _, _, before, after = heard[1]
    assert before is not None and after is not None
    assert (before.data["title"], after.data["title"]) == ("Tea", "Green tea")
    assert heard[2][2] is not None and heard[2][2].data["paid"] is True and heard[2][3] is None
    with pytest.raises(ActionError, match="was it deleted"):
        await store.change(order, {"paid": False})


async def test_a_dangling_reference_reads_as_empty(store: Store) -> None:
    await store.use_app(APP)
    ann = await store.create("User", {"email": "ann@example.com"})
    order = await store.create("Order", {"title": "Tea", "owner": ann})
    before = await run_workflow(APP, "owner_of", store=store, order=order.id)
    assert before.response == {"owner": ann.id, "email": "ann@example.com", "gone": False, "kept": "Tea"}
    await store.delete(ann)
    again = await store.get("Order", order.id)
    assert again is not None and again.data["owner"] == ann.id  # the id stays; reading it finds nothing
    after = await run_workflow(APP, "owner_of", store=store, order=order.id)
    assert after.ok, after.error
    assert after.response == {"owner": None, "email": None, "gone": True, "kept": "Tea"}
