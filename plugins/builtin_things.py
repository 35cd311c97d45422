"""The built-in `create`, `change` and `delete` actions: things in the data store (docs/language.md §11).

A workflow's own writes are trusted code: privacy rules do not block them (docs/language.md §5); what
`create` and `change` give back is the thing as the run may see it. In a run that can be resumed,
each write records its result under the statement's idempotency key in its own transaction, and a
resumed run replays it instead of writing again (docs/plugins.md, "Effects exactly once").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wfkit.core.actions import ActionSpec
from wfkit.core.errors import ActionError
from wfkit.core.store.effects import Effect
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


def effect_of(ctx: ActionContext, part: str = "") -> Effect | None:
    """Where a store write records its result when the run can be resumed; `part` tells apart the
    writes of one statement (each thing of a list that `change` changes one by one)."""
    if not ctx.durable:
        return None
    return Effect(f"{ctx.idempotency_key}{part}", ctx.run.id, look=ctx.resumed)


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
    effect = effect_of(ctx)
    thing = await store_of(ctx, "create").create(str(target), args, run=ctx.run, effect=effect)
    ctx.replayed = effect is not None and effect.replayed
    return thing


async def change(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Thing | list[Thing] | None:
    store = store_of(ctx, "change")
    things = things_of(target, "change")
    changed, replayed = [], bool(things)
    for t in things:
        # keyed by the thing, not its place: a resumed run's list (a search) may have shifted
        effect = effect_of(ctx, f"#{t.id}" if isinstance(target, list) else "")
        changed.append(await store.change(t, args, run=ctx.run, effect=effect))
        replayed = replayed and effect is not None and effect.replayed
    ctx.replayed = replayed
    if isinstance(target, list):
        return changed
    return changed[0] if changed else None


async def delete(ctx: ActionContext, target: Any, args: dict[str, Any]) -> None:
    things = things_of(target, "delete")
    effect = effect_of(ctx)
    if things or effect is not None:  # nothing to delete is recorded too: a resumed run replays it
        await store_of(ctx, "delete").delete(things, run=ctx.run, effect=effect)
    ctx.replayed = effect is not None and effect.replayed


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
