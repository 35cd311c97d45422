"""An example wfkit plugin: the function `greeting(name)` and the action `hello.greet(name:, times:)`.

log (greeting(current_user.name))
g = hello.greet(name: "Ann", times: 2)
return { message: g.message }
"""

from __future__ import annotations

from typing import Any

from wfkit.plugins import ActionContext, ActionError, ActionSpec, FunctionError, FunctionSpec, ParamSpec, hookimpl


def greeting(name: Any) -> str:
    if name is None:
        return "Hello, stranger!"
    if not isinstance(name, str):
        raise FunctionError(f"greeting: {name!r} is not a text")
    return f"Hello, {name}!"


async def greet(ctx: ActionContext, target: Any, args: dict[str, Any]) -> dict[str, Any]:
    times = args.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 10:
        raise ActionError(f"hello.greet: times must be a whole number from 1 to 10, got {times!r}")
    message = " ".join([greeting(args.get("name"))] * times)
    ctx.log(f"greeted {args.get('name') or 'a stranger'} {times} time(s)")
    return {"message": message, "run": ctx.run.id}


@hookimpl
def register_functions() -> list[FunctionSpec]:
    name = ParamSpec("name", "text", required=True)
    return [FunctionSpec("greeting", greeting, (name,), "text", doc="A greeting for name.")]


@hookimpl
def register_actions() -> list[ActionSpec]:
    return [
        ActionSpec(
            verb="hello.greet",
            run=greet,
            params=(ParamSpec("name", "text", required=True), ParamSpec("times", "number", doc="1 to 10, default 1")),
            result="object",
            doc="Greet someone, a few times: `{message, run}`.",
        )
    ]
