"""A workflow's decorators (`@exposed`, `@webhook`, `@retry`, …) → its exposure, webhook and flow control."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from wfkit.dsl import ast as A

from .. import values as V
from ..app import CExpr, FlowControl, Webhook, Workflow
from ..types import TEXT
from .expressions import ExprCompiler
from .scope import Scope, suggest

if TYPE_CHECKING:
    from .declarations import Compiler

DECORATORS = (
    "exposed",
    "ignore_privacy",
    "webhook",
    "retry",
    "concurrency",
    "rate_limit",
    "debounce",
    "timeout",
)
SCHEMES = ("standard", "stripe", "github", "hmac-sha256")


def compile_decorators(c: Compiler, wd: A.WorkflowDecl, wf: Workflow) -> None:
    seen: set[str] = set()
    param_scope = c.scope({p.name: p.type for p in wf.params})
    flow: dict[str, Any] = {}
    for d in wd.decorators:
        if d.name not in DECORATORS:
            c.error(d.span, f"unknown decorator '@{d.name}'{suggest(d.name, DECORATORS, '@')}")
            continue
        if d.name in seen:
            c.error(d.span, f"@{d.name} is given twice")
            continue
        seen.add(d.name)
        args = DecoratorArgs(c, d)
        match d.name:
            case "exposed":
                auth = args.word("auth", ("user", "admin", "none"), "user")
                wf.exposed = auth  # type: ignore[assignment]
            case "ignore_privacy":
                wf.ignore_privacy = True
            case "webhook":
                secret = args.expr("secret", param_scope.child(names={}), required=True)
                scheme = args.text("scheme", SCHEMES, "standard")
                header = args.text("header", None, None)
                if scheme == "hmac-sha256" and header is None:
                    c.error(
                        d.span,
                        '@webhook(scheme: "hmac-sha256") needs header: "X-…" naming the signature header',
                    )
                wf.webhook = Webhook(secret or CExpr(lambda f: None, TEXT), scheme, header)  # type: ignore[arg-type]
            case "retry":
                flow["retry_attempts"] = args.number("attempts", required=True, whole=True)
                backoff = args.duration("backoff")
                if backoff is not None:
                    flow["retry_backoff"] = backoff
            case "concurrency":
                flow["concurrency_limit"] = args.number("limit", required=True, whole=True)
                flow["concurrency_key"] = args.expr("key", param_scope)
            case "rate_limit":
                rate = args.rate()
                if rate is not None:
                    flow["rate_count"] = rate.count
                    flow["rate_period"] = timedelta(seconds=V.UNIT_SECONDS[rate.unit])
                flow["rate_key"] = args.expr("key", param_scope)
            case "debounce":
                flow["debounce"] = args.duration(None, required=True)
                flow["debounce_key"] = args.expr("key", param_scope)
            case "timeout":
                flow["timeout"] = args.duration(None, required=True)
        args.finish()
    if wf.exposed is not None and wf.webhook is not None:
        c.error(wd.span, "a workflow is either @exposed or a @webhook, not both")
    wf.flow = FlowControl(**{k: v for k, v in flow.items() if v is not None})


class DecoratorArgs:
    """Reads a decorator's arguments by name, reporting unknown and ill-typed ones."""

    def __init__(self, c: Compiler, d: A.Decorator):
        self.c, self.d = c, d
        self.named = {a.name: a for a in d.args if a.name is not None}
        self.positional = [a for a in d.args if a.name is None]
        self.used: set[str] = set()
        self.used_positional = 0

    def _take(self, name: str | None) -> A.DecoratorArg | None:
        if name is None:
            if self.used_positional < len(self.positional):
                self.used_positional += 1
                return self.positional[self.used_positional - 1]
            return None
        self.used.add(name)
        return self.named.get(name)

    def _missing(self, name: str | None) -> None:
        self.c.error(self.d.span, f"@{self.d.name} needs {'an argument' if name is None else name + ': …'}")

    def _given(self, name: str | None, required: bool) -> A.DecoratorArg | None:
        """The argument, or None (reported when it is required)."""
        a = self._take(name)
        if a is None and required:
            self._missing(name)
        return a

    def finish(self) -> None:
        for name, a in self.named.items():
            if name not in self.used:
                self.c.error(a.span, f"@{self.d.name} has no argument '{name}'")
        for a in self.positional[self.used_positional :]:
            self.c.error(a.span, f"@{self.d.name} takes no more positional arguments")

    def word(self, name: str, options: tuple[str, ...], default: str) -> str:
        a = self._take(name)
        if a is None:
            return default
        v = a.value
        if isinstance(v, A.Name) and v.name in options:
            return v.name
        self.c.error(a.span, f"{name} must be one of: {', '.join(options)}")
        return default

    def text(self, name: str, options: tuple[str, ...] | None, default: str | None) -> str | None:
        a = self._take(name)
        if a is None:
            return default
        v = a.value
        if isinstance(v, A.Literal) and isinstance(v.value, str) and (options is None or v.value in options):
            return v.value
        want = "one of " + ", ".join(f'"{o}"' for o in options) if options else "a text"
        self.c.error(a.span, f"{name} must be {want}")
        return default

    def number(self, name: str, required: bool = False, whole: bool = False) -> int | float | None:
        a = self._given(name, required)
        if a is None:
            return None
        v = a.value
        is_number = isinstance(v, A.Literal) and isinstance(v.value, int | float) and not isinstance(v.value, bool)
        if is_number:
            n = v.value  # type: ignore[union-attr]
            if n >= (1 if whole else 0) and (not whole or int(n) == n):
                return int(n) if whole else n
        self.c.error(a.span, f"{name} must be a {'whole ' if whole else ''}number of at least {1 if whole else 0}")
        return None

    def duration(self, name: str | None, required: bool = False) -> timedelta | None:
        a = self._given(name, required)
        if a is None:
            return None
        v = a.value
        if isinstance(v, A.DurationLit) and v.unit != "month" and v.amount > 0:
            return timedelta(seconds=v.amount * V.UNIT_SECONDS[v.unit])
        self.c.error(a.span, f"{name or '@' + self.d.name} takes a duration such as 30 seconds")
        return None

    def rate(self) -> A.Rate | None:
        a = self._take(None)
        if a is None or not isinstance(a.value, A.Rate) or a.value.count <= 0:
            self.c.error(a.span if a else self.d.span, f"@{self.d.name} takes a rate such as 100 per minute")
            return None
        return a.value

    def expr(self, name: str, scope: Scope, required: bool = False) -> CExpr | None:
        a = self._given(name, required)
        if a is None:
            return None
        if isinstance(a.value, A.Rate):
            self.c.error(a.span, f"{name} takes an expression")
            return None
        c = ExprCompiler(scope).compile(a.value)
        if c.is_async:
            self.c.error(a.span, f"{name} cannot read things or search")
        return c
