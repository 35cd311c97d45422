"""The data store (docs/language.md, docs/http.md): things, users, tokens, run records and the
outbox, on SQLite or PostgreSQL.

from wfkit.core.store import Store

store = await Store.open(app=app, services=services)  # WF_DATABASE_URL, else sqlite://.wf/data.sqlite3
try:
    ...
finally:
    await store.close()
"""

from .database import DEFAULT_URL, database_url
from .models import ThingRow, new_thing_id
from .reads import Page
from .runs import RunLog
from .store import Store
from .users import AdminToken, Users
from .writes import Listener

__all__ = [
    "DEFAULT_URL",
    "AdminToken",
    "Listener",
    "Page",
    "RunLog",
    "Store",
    "ThingRow",
    "Users",
    "database_url",
    "new_thing_id",
]
