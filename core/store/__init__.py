"""The data store (SPEC §2.2, §2.3): things, users, tokens and the outbox, on SQLite or PostgreSQL.

from wfkit.core.store import Store

store = await Store.open(app=app)  # WF_DATABASE_URL, else sqlite://.wf/data.sqlite3
try:
    ...
finally:
    await store.close()
"""

from .models import ThingRow
from .store import DEFAULT_URL, AdminToken, Listener, Page, Store, database_url, new_thing_id

__all__ = ["DEFAULT_URL", "AdminToken", "Listener", "Page", "Store", "ThingRow", "database_url", "new_thing_id"]
