"""The tables of the data store (tortoise models).

Things of every app type share one table (`things`): the declared fields
live in a JSON `data` column, so adding a type or a field needs no DDL. Dates are fixed-width ISO
8601 text in UTC (`2026-05-01T09:00:00.000000Z`), so text order is time order on every database.
Passwords and token hashes live in their own tables, never in `data`, which runs can read.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator

from tortoise import fields
from tortoise.models import Model

DATE_WIDTH = 27  # len("2026-05-01T09:00:00.000000Z")


def new_thing_id() -> str:
    """A row id as Bubble writes thing ids (`1717171717171x123456789012345678`): milliseconds,
    then 18 random digits; ids sort by creation time."""
    return f"{time.time_ns() // 1_000_000}x{_random_digits():018d}"


# The OS's randomness, read for 256 ids at once: each read lets go of Python's lock, and under load
# the database's thread is waiting for it, so a read an id held a create up ~15 µs (bench/http.py).
_DRAWS_A_READ = 256
_FAIR_BELOW = 2**64 // 10**18 * 10**18  # a draw at or past it is dropped: all 18 digits equally likely
_draws: Iterator[int] = iter(())


def _random_digits() -> int:
    """18 random decimal digits, as `secrets.randbelow(10**18)` gives them, from the same source."""
    global _draws
    while True:
        for n in _draws:
            if n < _FAIR_BELOW:
                return n % 10**18
        _draws = iter(struct.unpack(f"<{_DRAWS_A_READ}Q", os.urandom(8 * _DRAWS_A_READ)))


def _forget_draws() -> None:
    global _draws
    _draws = iter(())  # a forked process draws its own


os.register_at_fork(after_in_child=_forget_draws)


class ThingRow(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    type = fields.CharField(max_length=100)
    data: fields.JSONField[dict[str, object]] = fields.JSONField()
    created_at = fields.CharField(max_length=DATE_WIDTH)
    modified_at = fields.CharField(max_length=DATE_WIDTH)
    created_by = fields.CharField(max_length=40, null=True)

    class Meta:
        table = "things"
        indexes = (("type", "created_at"), ("type", "modified_at"), ("type", "created_by"))


class UserRow(Model):
    """A User's credentials; `id` is the User thing's id, `email` is lower-case and unique."""

    id = fields.CharField(primary_key=True, max_length=40)
    email = fields.CharField(max_length=320, unique=True)
    password_hash = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "users"


class TokenRow(Model):
    """A user token (from `log_in`) or an admin token (from `wf token create`), stored as sha256."""

    id = fields.CharField(primary_key=True, max_length=40)
    kind = fields.CharField(max_length=10)  # "user" or "admin"
    hash = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100, null=True)  # admin tokens
    user_id = fields.CharField(max_length=40, null=True, db_index=True)  # user tokens
    created_at = fields.CharField(max_length=DATE_WIDTH)
    expires_at = fields.CharField(max_length=DATE_WIDTH, null=True)
    last_used_at = fields.CharField(max_length=DATE_WIDTH, null=True)

    class Meta:
        table = "tokens"
        unique_together = (("kind", "name"),)


class LoginFailureRow(Model):
    """Failed `log_in`s for one email in the current window, shared by every server process
    (logins.py): the email is kept as its sha256, the table holds no address."""

    key = fields.CharField(primary_key=True, max_length=64)
    failures = fields.IntField()
    since = fields.CharField(max_length=DATE_WIDTH, db_index=True)  # the window's first failure

    class Meta:
        table = "login_failures"


class OutboxRow(Model):
    """An email kept because no SMTP server is configured (`WF_SMTP_URL`)."""

    id = fields.CharField(primary_key=True, max_length=40)
    key = fields.CharField(max_length=200, unique=True)  # the action's idempotency key
    created_at = fields.CharField(max_length=DATE_WIDTH)
    message: fields.JSONField[dict[str, object]] = fields.JSONField()  # {to, subject, body, html, reply_to, from}

    class Meta:
        table = "outbox"


class MetaRow(Model):
    """What the store knows about the app it last served (the fields of each type)."""

    key = fields.CharField(primary_key=True, max_length=200)
    value: fields.JSONField[dict[str, object]] = fields.JSONField()

    class Meta:
        table = "wf_meta"


class RunRow(Model):
    """A run's record (`wf runs`, `/api/1.1/meta/runs`): the columns one filters by, then the whole
    record as JSON (secrets already redacted by the executor)."""

    id = fields.CharField(primary_key=True, max_length=40)
    workflow = fields.CharField(max_length=200)
    status = fields.CharField(max_length=20)
    trigger = fields.CharField(max_length=20)
    started_at = fields.CharField(max_length=DATE_WIDTH)
    duration_ms = fields.FloatField(null=True)
    record: fields.JSONField[dict[str, object]] = fields.JSONField()

    class Meta:
        table = "runs"
        # One index: newest first, filtered by workflow or status or not, and pruning by age all
        # walk it, and a filter is decided in it, without reading the rows it skips; a second index
        # by workflow would cost each record about 45 bytes more (core/store/runs.py).
        indexes = (("started_at", "workflow", "status"),)


class EffectRow(Model):
    """The result of a store write by a run that can be resumed, written in the write's own
    transaction: the resumed run finds it and replays it instead of writing again (effects.py)."""

    key = fields.CharField(primary_key=True, max_length=255)  # the action's idempotency key
    run_id = fields.CharField(max_length=100, db_index=True)  # dropped when the run succeeds
    result: fields.JSONField[object] = fields.JSONField()  # as the journal encodes it
    created_at = fields.CharField(max_length=DATE_WIDTH, db_index=True)  # pruned after 7 days

    class Meta:
        table = "effects"


class IdempotencyRow(Model):
    """The first answer to a call with an `Idempotency-Key`, or to a webhook delivery, replayed for
    24 hours instead of running the workflow again."""

    key = fields.CharField(primary_key=True, max_length=300)
    workflow = fields.CharField(max_length=200)
    # the SHA-256 of what was asked (workflow, query, body): the same key for another request is refused
    request = fields.CharField(max_length=64, default="")
    status = fields.IntField()  # the HTTP status of the first answer
    body: fields.JSONField[dict[str, object]] = fields.JSONField()
    created_at = fields.CharField(max_length=DATE_WIDTH, db_index=True)

    class Meta:
        table = "idempotency"
