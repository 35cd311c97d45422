"""What a plugin provides: actions and functions, described by plain dataclasses.

A plugin returns these from its `register_actions` / `register_functions` hooks
(see `wfkit.plugins.hookspecs`). Types are written as text: `text`, `number`, `boolean`, `date`,
`duration`, `object`, `list of T`, a thing type's name, `any`, `nothing`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from wfkit.core.context import ActionContext
    from wfkit.core.types import WfType

ActionRun = Callable[["ActionContext", Any, dict[str, Any]], Awaitable[Any]]
"""`async def run(ctx, target, args) -> result`: target is None when the action takes none."""

TargetKind = Literal["none", "type", "thing", "value"]
"""What may follow the verb:
- "none": nothing (`send_email(...)`);
- "type": a thing type's name (`create Order(...)`); the action receives the type's name as text;
- "thing": an expression whose value is a thing or a list of things (`change order(...)`, `delete x`);
- "value": any expression (`log "..."`).
"""

FieldsArgs = Literal[None, "target", "User"]
"""Which thing type's fields the action also accepts as named arguments: none, the target's
(`create`, `change`), or User's (`sign_up`)."""


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    type: str = "any"
    required: bool = False
    doc: str = ""


ResultType = str | Callable[[Sequence["WfType"]], "WfType"]
"""A type as text (`"object"`, `"User"`), `"target"` (the target's type: the thing type named by
`create`, or the type of `change`'s expression), or a function of the argument types (generic
functions such as `first`)."""


@dataclass(frozen=True, slots=True)
class ActionSpec:
    verb: str
    run: ActionRun
    target: TargetKind = "none"
    params: tuple[ParamSpec, ...] = ()
    fields_args: FieldsArgs = None
    result: ResultType = "nothing"
    doc: str = ""
    target_required: bool = True  # when target != "none": must a target be written?


FunctionImpl = Callable[..., Any]
"""A plain synchronous function: positional arguments, then optional named ones, as declared."""


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    impl: FunctionImpl
    params: tuple[ParamSpec, ...] = ()  # positional parameters, in order
    result: ResultType = "any"
    doc: str = ""
    variadic: bool = False  # the last positional parameter takes any number of values
    kwargs: tuple[ParamSpec, ...] = ()  # optional named parameters
