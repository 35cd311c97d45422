"""Who is calling: an admin token, a user token (from `log_in`), or nobody (docs/http.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sanic import Request
from wfkit.core.context import RunInfo
from wfkit.core.store import Store
from wfkit.core.things import Thing

from .errors import unauthorized


@dataclass(frozen=True, slots=True)
class Caller:
    admin: bool = False
    user: Thing | None = None

    @property
    def anonymous(self) -> bool:
        return not self.admin and self.user is None

    def run_info(self, run_id: str = "-", workflow: str = "-") -> RunInfo:
        """How the store sees this caller (privacy applies unless admin)."""
        return RunInfo(run_id, workflow, user=self.user, admin=self.admin, ignore_privacy=self.admin)


ANONYMOUS = Caller()


def token_of(request: Request) -> str | None:
    header = str(request.headers.get("authorization") or "")
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise unauthorized("the Authorization header must be `Bearer TOKEN`")
        return value.strip()
    token = request.args.get("api_token") if request.query_string else None
    return str(token) if token else None


async def identify(request: Request, store: Store) -> Caller:
    """The caller of this request; a token that is given must be valid (401 otherwise)."""
    token = token_of(request)
    return ANONYMOUS if token is None else await caller_for(token, store)


async def caller_for(token: str, store: Store) -> Caller:
    """Whose token this is: an admin's or a user's (401 when neither)."""
    if await store.users.verify_admin_token(token):
        return Caller(admin=True)
    user = await store.users.verify_user_token(token)
    if user is None:
        raise unauthorized("the token is not valid, or it has expired")
    return Caller(user=user)
