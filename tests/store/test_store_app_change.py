"""An app that changes (a new field, a new type, a new default) starts on an existing database and
keeps its data."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from wfkit.core import query as Q
from wfkit.core.app import App
from wfkit.core.store import Store
from wfkit.testing import compile_source, run_workflow

V1 = """
type Order {
  title: text
  amount: number
  legacy: text
}
workflow noop() {
  terminate
}
"""

V2 = """
type Order {
  title: text
  amount: number = 1
  priority: number = 3
  status: text = "new"
  tags: list of text
}
type Invoice {
  order: Order
  total: number
}
workflow urgent() {
  let found = search Order where priority == 3 and status == "new" order by title
  i = create Invoice(order: first(found), total: 10)
  return { titles: found.title, invoice_order: i.order.title }
}
"""


OpenStore = Callable[[App | None], AbstractAsyncContextManager[Store]]


async def test_a_field_added_to_an_existing_database(db_url: str, open_store: OpenStore) -> None:
    async with open_store(None):
        pass  # an empty database (an SQLite file, or the PostgreSQL test database emptied)
    url = db_url
    v1 = compile_source(V1)
    async with await Store.open(url, v1) as store:
        await store.create("Order", {"title": "old one", "legacy": "kept"})
        await store.create("Order", {"title": "old two", "amount": 9})

    v2 = compile_source(V2)
    async with await Store.open(url, v2) as store:
        old = await store.search("Order", order_by="title")
        assert [o.data["title"] for o in old] == ["old one", "old two"]
        # a new field with a default: the things from before get it; no default: empty
        assert [o.data["priority"] for o in old] == [3, 3]
        assert [o.data["status"] for o in old] == ["new", "new"]
        assert [o.data["tags"] for o in old] == [None, None]
        # a new default on a field that existed applies to new things only
        assert [o.data["amount"] for o in old] == [None, 9]
        assert "legacy" not in old[0].data
        assert await store.count("Order", Q.Cmp("priority", "==", 3)) == 2
        new = await store.create("Order", {"title": "new one", "priority": 1})
        assert new.data["amount"] == 1 and new.data["status"] == "new"
        record = await run_workflow(v2, "urgent", store=store)
        assert record.ok, record.error
        assert record.response == {"titles": ["old one", "old two"], "invoice_order": "old one"}

    # back to v1: the field that v2 dropped was kept all along
    async with await Store.open(url, v1) as store:
        first = (await store.search("Order", Q.Cmp("title", "==", "old one")))[0]
        assert first.data["legacy"] == "kept"
