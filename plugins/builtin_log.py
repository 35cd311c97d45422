"""The built-in `log MESSAGE` action: keeps a message with the run.

A plain plugin module: it provides its action through `register_actions`, like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wfkit.core.actions import ActionSpec

from . import hookimpl
from .values import to_text

if TYPE_CHECKING:
    from wfkit.core.context import ActionContext


async def log(ctx: ActionContext, target: Any, args: dict[str, Any]) -> None:
    ctx.log(to_text(target))  # the same text as `text(x)` and "{x}"


@hookimpl
def register_actions() -> list[ActionSpec]:
    return [
        ActionSpec(
            verb="log",
            run=log,
            target="value",
            result="nothing",
            doc='Keep a message with the run: `log "order {order.id} is unpaid"`.',
        )
    ]
