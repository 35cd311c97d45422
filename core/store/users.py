"""Users and tokens: argon2 password hashes, user tokens from `log_in`, admin tokens for the CLI.

Passwords are hashed with argon2id (argon2-cffi) in a worker thread (hashing is slow on purpose)
and live only in the `users` table, never in a thing's data. Tokens are 256 random bits; only
their sha256 is stored (a random token needs no slow hash), looked up by hash and compared in
constant time. A user token lasts 24 hours, or a year with `keep`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from wfkit.core.context import RunInfo
from wfkit.core.errors import ActionError, ConfigError
from wfkit.core.things import Thing

from .codec import iso, normalize_email, parse_iso
from .effects import Effect
from .logins import LoginThrottle
from .models import new_thing_id
from .writes import ThingWriter

MIN_PASSWORD = 8
USER_TOKEN_TTL = timedelta(hours=24)
KEPT_TOKEN_TTL = timedelta(days=365)
USER_PREFIX = "wfu_"
ADMIN_PREFIX = "wfa_"

_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class AdminToken:
    """An admin token as `wf token list` shows it (the token itself is never kept)."""

    id: str
    name: str
    created_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: Any) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ActionError(f"the password must be at least {MIN_PASSWORD} characters long")
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(hash or _DUMMY_HASH, password) and hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


class Users:
    """Sign up, log in and out, passwords; user and admin tokens (`store.users`)."""

    def __init__(self, store: ThingWriter) -> None:
        self.store = store
        self.throttle = LoginThrottle(store)

    async def sign_up(
        self,
        email: Any,
        password: Any,
        fields: Mapping[str, Any] | None = None,
        *,
        run: RunInfo | None = None,
        effect: Effect | None = None,
    ) -> Thing:
        """A new User with this email (stored lower-case; refused when taken) and password (at
        least 8 characters), and any of the app's User fields."""
        if (replayed := await self.store.replay(effect, run)) is not None:
            return replayed  # before the check of the email: the earlier attempt took it
        if effect is not None:
            effect.look = False  # looked for already
        address = normalize_email(email)
        secret = _check_password(password)
        store = self.store
        if await store.query(f'SELECT "id" FROM "users" WHERE "email" = {store.dialect.param(1)}', [address]):
            raise ActionError(f"the email {address} is already taken")
        values = {k: v for k, v in (fields or {}).items() if k not in ("email", "password")}
        return await store.create(
            "User", {**values, "email": address}, run=run, password_hash=await hash_password(secret), effect=effect
        )

    async def log_in(
        self, email: Any, password: Any, *, keep: bool = False, effect: Effect | None = None
    ) -> dict[str, Any]:
        """`{token, user_id, expires}` (seconds) for the right email and password; one message and
        one argon2 verification for a wrong email and a wrong password, so callers cannot tell which
        addresses exist. Throttled per email (logins.py).

        With an `effect`, the token's id is recorded with it. The token itself is never stored, so
        a resumed run cannot replay it: the earlier attempt's token is revoked and a new one issued,
        in one transaction, so the statement leaves exactly one token."""
        wrong = ActionError("wrong email or password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise wrong
        await self.throttle.check(email)  # before the password: a throttled email learns nothing
        rows = await self.store.query(
            f'SELECT "id", "password_hash" FROM "users" WHERE "email" = {self.store.dialect.param(1)}',
            [email.strip().lower()],
        )
        row = rows[0] if rows else None
        if not await verify_password(row["password_hash"] if row else None, password) or row is None:
            await self.throttle.failed(email)
            raise wrong
        await self.throttle.succeeded(email)
        if _hasher.check_needs_rehash(row["password_hash"]):
            await self._store_hash(row["id"], await hash_password(password))
        ttl = KEPT_TOKEN_TTL if keep else USER_TOKEN_TTL
        token = USER_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        effects = self.store.effects
        earlier = await effects.find(effect)  # {"token": id} of the earlier attempt's token
        async with self.store.transaction() as tx:
            if earlier is not None:
                d = self.store.dialect
                await self.store.execute(f'DELETE FROM "tokens" WHERE "id" = {d.param(1)}', [earlier["token"]], on=tx)
            id = await self._insert_token("user", token, user_id=row["id"], now=now, expires=now + ttl, on=tx)
            if effect is not None:
                done = effects.row(effect, {"token": id})
                await (effects.replace(tx, done) if earlier is not None else effects.insert(tx, [done]))
                effect.replayed = False  # a new token: the statement ran
        return {"token": token, "user_id": row["id"], "expires": int(ttl.total_seconds())}

    async def log_out(self, token: str) -> bool:
        """The user token is no longer valid; whether it was known."""
        n = await self.store.execute(
            f'DELETE FROM "tokens" WHERE "hash" = {self.store.dialect.param(1)} AND "kind" = \'user\'',
            [token_hash(token)],
        )
        return n > 0

    async def set_password(self, user: Thing | str, password: Any) -> None:
        user_id = user.id if isinstance(user, Thing) else user
        await self._store_hash(user_id, await hash_password(_check_password(password)))

    async def verify_user_token(self, token: str | None) -> Thing | None:
        """The User a token from `log_in` belongs to, or None (unknown, expired, or the user is gone)."""
        row = await self._find_token("user", token)
        if row is None:
            return None
        return await self.store.get("User", row["user_id"], None)

    async def create_admin_token(self, name: str | None = None) -> str:
        """A new admin token, returned once: only its hash is kept. Names are unique (`token-N` when
        none is given)."""
        store = self.store
        if name is None:
            rows = await store.query('SELECT COUNT(*) AS "n" FROM "tokens" WHERE "kind" = \'admin\'')
            name = f"token-{int(rows[0]['n']) + 1}"
            while await store.query(
                f'SELECT 1 AS "x" FROM "tokens" WHERE "kind" = \'admin\' AND "name" = {store.dialect.param(1)}', [name]
            ):
                name = f"token-{secrets.token_hex(3)}"
        name = name.strip()
        if not name or len(name) > 100:
            raise ConfigError("an admin token's name must be 1 to 100 characters")
        token = ADMIN_PREFIX + secrets.token_urlsafe(32)
        try:
            await self._insert_token("admin", token, name=name, now=datetime.now(UTC))
        except IntegrityError:
            raise ConfigError(f"there is already an admin token named {name!r}") from None
        return token

    async def list_admin_tokens(self) -> list[AdminToken]:
        rows = await self.store.query(
            'SELECT "id", "name", "created_at" FROM "tokens" WHERE "kind" = \'admin\' ORDER BY "created_at", "id"'
        )
        return [AdminToken(r["id"], r["name"], parse_iso(r["created_at"])) for r in rows]

    async def revoke_admin_token(self, name_or_id: str) -> bool:
        """Revoke the admin token with this name (or id); whether there was one."""
        p1 = self.store.dialect.param(1)
        n = await self.store.execute(
            f'DELETE FROM "tokens" WHERE "kind" = \'admin\' AND ("name" = {p1} OR "id" = {p1})', [name_or_id]
        )
        return n > 0

    async def verify_admin_token(self, token: str | None) -> bool:
        return await self._find_token("admin", token) is not None

    async def admin_token_id(self, token: str | None) -> str | None:
        """The id of the admin token's row (as `list_admin_tokens` shows it) when `token` is one."""
        row = await self._find_token("admin", token)
        return str(row["id"]) if row is not None else None

    async def _store_hash(self, user_id: str, hash: str) -> None:
        d = self.store.dialect
        n = await self.store.execute(
            f'UPDATE "users" SET "password_hash" = {d.param(1)} WHERE "id" = {d.param(2)}', [hash, user_id]
        )
        if not n:
            raise ActionError(f"there is no User with the id {user_id!r}")

    async def _insert_token(
        self,
        kind: str,
        token: str,
        *,
        now: datetime,
        user_id: str | None = None,
        name: str | None = None,
        expires: datetime | None = None,
        on: BaseDBAsyncClient | None = None,
    ) -> str:
        id = new_thing_id()
        ps = ", ".join(self.store.dialect.param(i) for i in range(1, 8))
        await self.store.execute(
            f'INSERT INTO "tokens" ("id", "kind", "hash", "name", "user_id", "created_at", "expires_at") VALUES ({ps})',
            [id, kind, token_hash(token), name, user_id, iso(now), iso(expires) if expires else None],
            on=on,
        )
        return id

    async def _find_token(self, kind: str, token: str | None) -> dict[str, Any] | None:
        """The token's row when it is valid: known, of this kind, not expired."""
        prefix = USER_PREFIX if kind == "user" else ADMIN_PREFIX
        if not isinstance(token, str) or not token.startswith(prefix) or len(token) > 200:
            return None
        digest = token_hash(token)
        d = self.store.dialect
        rows = await self.store.query(
            'SELECT "id", "hash", "user_id", "expires_at" FROM "tokens" '
            f'WHERE "hash" = {d.param(1)} AND "kind" = {d.param(2)}',
            [digest, kind],
        )
        if not rows or not hmac.compare_digest(rows[0]["hash"], digest):
            return None
        row = rows[0]
        expires = row["expires_at"]
        if expires is not None and parse_iso(expires) <= datetime.now(UTC):
            await self.store.execute(f'DELETE FROM "tokens" WHERE "id" = {d.param(1)}', [row["id"]])
            return None
        return row
