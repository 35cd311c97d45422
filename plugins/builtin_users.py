"""The built-in `sign_up` and `log_in` actions (docs/language.md §11): accounts and user tokens.

Passwords are hashed with argon2 by the store and never come back; `password` is a secret name,
so run records and errors show it as `[redacted]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wfkit.core.actions import ActionSpec, ParamSpec
from wfkit.core.things import Thing

from . import hookimpl
from .builtin_things import effect_of, store_of

if TYPE_CHECKING:
    from wfkit.core.context import ActionContext


async def sign_up(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Thing:
    fields = {k: v for k, v in args.items() if k not in ("email", "password")}
    effect = effect_of(ctx)
    users = store_of(ctx, "sign_up").users
    user = await users.sign_up(args.get("email"), args.get("password"), fields, run=ctx.run, effect=effect)
    ctx.replayed = effect is not None and effect.replayed
    return user


async def log_in(ctx: ActionContext, target: Any, args: dict[str, Any]) -> dict[str, Any]:
    keep = bool(args.get("keep"))
    users = store_of(ctx, "log_in").users
    return await users.log_in(args.get("email"), args.get("password"), keep=keep, effect=effect_of(ctx))


@hookimpl
def register_actions() -> list[ActionSpec]:
    return [
        ActionSpec(
            verb="sign_up",
            run=sign_up,
            params=(
                ParamSpec("email", "text", required=True, doc="unique; stored lower-case"),
                ParamSpec("password", "text", required=True, doc="at least 8 characters; stored as an argon2 hash"),
            ),
            fields_args="User",
            result="User",
            doc="Create a user account: `user = sign_up(email: e, password: p, name: n)`.",
        ),
        ActionSpec(
            verb="log_in",
            run=log_in,
            params=(
                ParamSpec("email", "text", required=True),
                ParamSpec("password", "text", required=True),
                ParamSpec("keep", "boolean", doc="a token valid a year instead of 24 hours"),
            ),
            result="object",
            doc="A user token for this email and password: `{token, user_id, expires}` (expires in seconds).",
        ),
    ]
