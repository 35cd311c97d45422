"""A database made by an older wfkit opens with a newer one: columns added since to wfkit's own
tables are added in place, and what the tables held stays."""

from __future__ import annotations

from wfkit.core.store import Store, replies


async def test_a_column_added_since_is_added_to_an_old_table(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        await store.execute('DELETE FROM "idempotency"')
        await store.execute('ALTER TABLE "idempotency" DROP COLUMN "request"')  # as an older wfkit made it
        await store.execute(
            'INSERT INTO "idempotency" ("key", "workflow", "status", "body", "created_at") '
            "VALUES ('old', 'w', 200, '{}', '2999-01-01T00:00:00.000000Z')"
        )
    async with await Store.open(db_url) as store:
        assert await replies.claim(store, "old", "w", "a-request") == (200, {})  # the old row, kept
        assert await replies.claim(store, "new", "w", "a-request") is None  # claimed, with the column
        assert (await replies.claim(store, "new", "w", "another", wait=0))[0] == 422
        await store.execute('DELETE FROM "idempotency"')
