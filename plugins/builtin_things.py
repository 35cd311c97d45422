"""The built-in `create`, `change` and `delete` actions: things in the data store (docs/language.md §11).

A workflow's own writes are trusted code: privacy rules do not block them (docs/language.md §5); what
`create` and `change` give back is the thing as the run may see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wfkit.core.actions import ActionSpec
from wfkit.core.errors import ActionError
from wfkit.core.things import Thing

from . import hookimpl

if TYPE_CHECKING:
    from wfkit.core.context import ActionContext
    from wfkit.core.store import Store


def store_of(ctx: ActionContext, verb: str) -> Store:
    if ctx.store is None:
        raise ActionError(f"{verb}: no data store is configured")
    store: Store = ctx.store
    return store


def things_of(target: Any, verb: str) -> list[Thing]:
    """The thing or the things an action was given; empty items are skipped."""
    if target is None:
        return []
    items = target if isinstance(target, list) else [target]
    for item in items:
        if item is not None and not isinstance(item, Thing):
            raise ActionError(f"{verb} needs a thing or a list of things, got {item!r}")
    return [t for t in items if t is not None]


async def create(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Thing:
    return await store_of(ctx, "create").create(str(target), args, run=ctx.run)


async def change(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Thing | list[Thing] | None:
    store = store_of(ctx, "change")
    things = things_of(target, "change")
    changed = [await store.change(t, args, run=ctx.run) for t in things]
    if isinstance(target, list):
        return changed
    return changed[0] if changed else None


async def delete(ctx: ActionContext, target: Any, args: dict[str, Any]) -> None:
    things = things_of(target, "delete")
    if things:
        await store_of(ctx, "delete").delete(things, run=ctx.run)


@hookimpl
def register_actions() -> list[ActionSpec]:
    return [
        ActionSpec(
            verb="create",
            run=create,
            target="type",
            fields_args="target",
            result="target",
            doc="Create a thing: `order = create Order(title: t, amount: 5)`; other fields get their default.",
        ),
        ActionSpec(
            verb="change",
            run=change,
            target="thing",
            fields_args="target",
            result="target",
            doc="Change fields of a thing or of each thing of a list: `change order(paid: true)`.",
        ),
        ActionSpec(
            verb="delete",
            run=delete,
            target="thing",
            result="nothing",
            doc="Delete a thing or a list of things: `delete order`, `delete (search Order where paid)`.",
        ),
    ]
