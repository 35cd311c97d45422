"""The plugin contract: what a plugin provides (actions and functions, as plain dataclasses) and the
`Registry` that holds them for the compiler and the executor.

It lives in core because core consumes it; `wfkit.plugins` re-exports it for plugin authors and
loads plugins into a `PluginRegistry` (a `Registry` whose events reach pluggy hooks). Types are
written as text: `text`, `number`, `boolean`, `date`, `duration`, `object`, `list of T`, a thing
type's name, `any`, `nothing` (see docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .context import ActionContext
    from .types import WfType

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

ResultType = str | Callable[[Sequence["WfType"]], "WfType"]
"""A type as text (`"object"`, `"User"`), `"target"` (the target's type: the thing type named by
`create`, or the type of `change`'s expression), or a function of the argument types (generic
functions such as `first`)."""

FunctionImpl = Callable[..., Any]
"""A plain synchronous function: positional arguments, then optional named ones, as declared."""


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter of an action or a function.

    Fields:
    - `name`: how a workflow names it (`send_email(to: ...)`); a name, not a reserved word;
    - `type`: its type as text (`"text"`, `"list of number"`, `"User"`, `"any"`);
    - `required`: whether a call must give it;
    - `doc`: one line for `wf plugins` and the docs.
    """

    name: str
    type: str = "any"
    required: bool = False
    doc: str = ""


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action: a statement verb (`create`, `send_email`, `hello.greet`) and how to run it.

    Fields:
    - `verb`: a name, or dotted names; not a reserved word;
    - `run`: `async def run(ctx, target, args) -> result` (see `ActionRun`);
    - `target`: what may follow the verb (see `TargetKind`);
    - `params`: its named arguments;
    - `fields_args`: whose fields it also accepts as named arguments (see `FieldsArgs`);
    - `result`: the type of its result (see `ResultType`); `"nothing"` when it returns none;
    - `doc`: one line for `wf plugins` and the docs;
    - `target_required`: when `target` is not `"none"`, whether a target must be written.
    """

    verb: str
    run: ActionRun
    target: TargetKind = "none"
    params: tuple[ParamSpec, ...] = ()
    fields_args: FieldsArgs = None
    result: ResultType = "nothing"
    doc: str = ""
    target_required: bool = True

    def signature(self) -> str:
        """How a statement calls it, for `wf plugins`: `create TYPE(…fields of TYPE) → TYPE`."""
        target = {"none": "", "type": " TYPE", "thing": " THING", "value": " VALUE"}[self.target]
        if target and not self.target_required:
            target = f" [{target.strip()}]"
        args = [_param_text(p) for p in self.params]
        if self.fields_args == "User":
            args.append("…fields of User")
        elif self.fields_args == "target":
            args.append("…fields of " + ("TYPE" if self.target == "type" else "its type"))
        result = self.result
        if result == "target":
            result = "TYPE" if self.target == "type" else "THING"
        arrow = "" if result == "nothing" else f" → {_result_text(result)}"
        call = f"({', '.join(args)})" if args or not target else ""
        return f"{self.verb}{target}{call}{arrow}"


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A function usable in expressions (`length(x)`, `hello.shout(name)`): pure and synchronous.

    Fields:
    - `name`: a name; not a reserved word;
    - `impl`: the Python function (see `FunctionImpl`);
    - `params`: its positional parameters, in order; required ones first;
    - `result`: the type of its result (see `ResultType`);
    - `doc`: one line for `wf plugins` and the docs;
    - `variadic`: whether the last positional parameter takes any number of values;
    - `kwargs`: its optional named parameters.
    """

    name: str
    impl: FunctionImpl
    params: tuple[ParamSpec, ...] = ()
    result: ResultType = "any"
    doc: str = ""
    variadic: bool = False
    kwargs: tuple[ParamSpec, ...] = ()

    def signature(self) -> str:
        """How an expression calls it, for `wf plugins`: `round(value: number, [digits: number]) → number`."""
        args = [_param_text(p) for p in self.params]
        if self.variadic and args:
            args[-1] += ", …"
        args += [f"[{p.name}: {p.type}]" for p in self.kwargs]
        return f"{self.name}({', '.join(args)}) → {_result_text(self.result)}"


def _param_text(p: ParamSpec) -> str:
    return f"{p.name}: {p.type}" if p.required else f"[{p.name}: {p.type}]"


def _result_text(result: ResultType) -> str:
    return result if isinstance(result, str) else "(the type of its arguments)"


@dataclass
class Registry:
    """Every action and function the installed plugins provide, and who provides each.

    This one has no event listeners; `wfkit.plugins.manager.load_registry()` returns a
    `PluginRegistry` whose events reach the plugins' hooks.

    Fields:
    - `actions`: verb -> its `ActionSpec`;
    - `functions`: function name -> its `FunctionSpec`;
    - `action_plugins`: verb -> the name of the plugin that provides it;
    - `function_plugins`: function name -> the name of the plugin that provides it.
    """

    actions: dict[str, ActionSpec] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    action_plugins: dict[str, str] = field(default_factory=dict)
    function_plugins: dict[str, str] = field(default_factory=dict)

    def has_listeners(self, event: str) -> bool:
        """Whether anything listens to this event (to skip building records nobody reads)."""
        return False

    async def notify(self, event: str, **kwargs: Any) -> None:
        """Tell the event's listeners, e.g. `await registry.notify("run_started", run=run)`."""
        return None
