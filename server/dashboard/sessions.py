"""Dashboard sessions and CSRF (docs/dashboard.md, "Sessions").

Signing in with an admin token gives a cookie `wf_session` that holds no token: a random session
id, the id of the admin token's row, and an expiry, signed with HMAC-SHA256 under a key derived
from the data folder's `secret.key`. Every server process (`wf serve --workers N`) shares that
folder, so any of them verifies any session with no lookup of its own; revoking the admin token
(`wf token revoke`) ends its sessions (the row must still exist), and `Sign out` puts the session
id on a list in Redis, shared by every process, until it would have expired.

State-changing requests (POST) need the request's own origin (`Origin`, or `Sec-Fetch-Site:
same-origin`; a cross-site one is refused) and, once signed in, the session's CSRF token in the
form: an HMAC of the session id, so it too needs no storage.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sanic import Request
from sanic.response import BaseHTTPResponse
from wfkit.core import sealing
from wfkit.core.store import Store

COOKIE = "wf_session"
PATH = "/dashboard"
LIFETIME_S = 12 * 3600  # a session ends 12 hours after signing in
ENDED_PREFIX = "wfkit:dashboard:ended:"  # Redis keys of sessions signed out before their expiry
_PURPOSE = b"wfkit dashboard sessions"


def session_key(data_dir: Path) -> bytes:
    """The signing key: the data folder's key, for this purpose only (sealing uses it otherwise)."""
    return hmac.new(sealing.load_key(data_dir), _PURPOSE, hashlib.sha256).digest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    token_id: str  # the admin token's row (tokens.id), never the token
    expires: int  # Unix seconds

    def cookie_value(self, key: bytes) -> str:
        body = f"{self.id}.{self.token_id}.{self.expires}"
        return f"{body}.{_mac(key, body)}"

    def csrf(self, key: bytes) -> str:
        """The token a form of this session carries."""
        return _mac(key, f"csrf.{self.id}")[:32]

    def csrf_ok(self, key: bytes, sent: str) -> bool:
        return hmac.compare_digest(sent.encode(), self.csrf(key).encode())


def parse(value: str | None, key: bytes, now: float | None = None) -> Session | None:
    """The session a cookie value signs, if its signature holds and it has not expired."""
    if not value or len(value) > 300:
        return None
    parts = value.split(".")
    if len(parts) != 4:
        return None
    sid, token_id, expires, mac = parts
    if not hmac.compare_digest(mac, _mac(key, f"{sid}.{token_id}.{expires}")):
        return None
    try:
        until = int(expires)
    except ValueError:
        return None
    if until <= (time.time() if now is None else now):
        return None
    return Session(sid, token_id, until)


async def admin_token_id(store: Store, token: str) -> str | None:
    """The id of the admin token's row when `token` is a valid admin token."""
    return await store.users.admin_token_id(token)  # the row's id: kept in the session


async def still_valid(store: Store, session: Session, redis: Any) -> bool:
    """The admin token is not revoked, and the session was not signed out."""
    if not any(t.id == session.token_id for t in await store.users.list_admin_tokens()):
        return False
    return redis is None or not await redis.exists(ENDED_PREFIX + session.id)


async def end(session: Session, redis: Any) -> None:
    """Sign out: every process refuses this session from now on."""
    if redis is not None:
        await redis.set(ENDED_PREFIX + session.id, "1", ex=max(1, int(session.expires - time.time())))


def new_session(token_id: str) -> Session:
    return Session(secrets.token_urlsafe(18), token_id, int(time.time()) + LIFETIME_S)


def set_cookie(request: Request, response: BaseHTTPResponse, value: str, max_age: int) -> None:
    response.add_cookie(
        COOKIE,
        value,
        path=PATH,
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=request.scheme == "https",
    )


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this server, as far as the browser tells: its
    `Sec-Fetch-Site` is same-origin, and its `Origin`, when it names one, is the server's. (Under
    `Referrer-Policy: no-referrer` browsers send `Origin: null` even for their own forms; a client
    that sends neither header is no browser, and still needs the CSRF token.)"""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == "null" or origin == f"{request.scheme}://{request.host}"
