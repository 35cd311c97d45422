"""A compiled app: its types, privacy rules, triggers and workflows as typed action graphs.

A workflow's body is a graph of `Step`s: a `Block` is a sequence (sequence edges), `IfStep` holds
branch edges, `ForEachStep` a loop edge back to its body. Expressions are compiled once into
closures (`CExpr`); running a workflow never looks at the AST again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from wfkit.dsl.ast import Span
from wfkit.dsl.errors import Diagnostic

from .types import Prim, WfType
from .values import is_secret_name

if TYPE_CHECKING:
    from .actions import ActionSpec
    from .frame import Frame
    from .symbols import Symbols


@dataclass(frozen=True, slots=True)
class CExpr:
    """A compiled expression: `fn(frame)` gives the value, or an awaitable of it when `is_async`
    (reading a reference loads a thing; `search` asks the store)."""

    fn: Callable[[Frame], Any]
    type: WfType
    is_async: bool = False
    const: bool = False  # fn ignores the frame (literals, folded constants)
    names: tuple[str, ...] = ()  # the names it reads, shown when a `when` skips a statement
    shape: tuple[tuple[str, WfType], ...] | None = None  # an object literal's keys and their types


@dataclass(frozen=True, slots=True)
class CondPlan:
    """A compiled search condition: `build(frame)` → a `Cond` of plain values."""

    build: Callable[[Frame], Any]  # → Cond, or an awaitable of it when is_async
    is_async: bool = False


# --------------------------------------------------------------------------- steps


@dataclass(eq=False, kw_only=True)
class Step:
    id: int
    kind: str
    span: Span
    label: str  # a short text for records and graphs: `create Order`, `let total`, `if amount <= 0`
    when: CExpr | None = None

    @property
    def line(self) -> int:
        return self.span.line


Block = list[Step]


@dataclass(eq=False, kw_only=True)
class ActionStep(Step):
    spec: ActionSpec
    target: CExpr | None
    args: list[tuple[str, CExpr]]
    bind: str | None = None
    secret_args: frozenset[str] = frozenset()


@dataclass(eq=False, kw_only=True)
class LetStep(Step):
    name: str
    value: CExpr


@dataclass(eq=False, kw_only=True)
class IfStep(Step):
    branches: list[tuple[CExpr, Block]]
    else_body: Block | None


@dataclass(eq=False, kw_only=True)
class ForEachStep(Step):
    var: str
    iterable: CExpr
    body: Block


@dataclass(eq=False, kw_only=True)
class ScheduleStep(Step):
    workflow: str
    args: list[tuple[str, CExpr]]
    at: CExpr | None = None
    in_: CExpr | None = None
    each_var: str | None = None
    each_list: CExpr | None = None
    every: CExpr | None = None
    bind: str | None = None


@dataclass(eq=False, kw_only=True)
class CallStep(Step):
    workflow: str
    args: list[tuple[str, CExpr]]
    bind: str | None = None


@dataclass(eq=False, kw_only=True)
class CancelStep(Step):
    target: CExpr


@dataclass(eq=False, kw_only=True)
class ReturnStep(Step):
    value: CExpr | None


@dataclass(eq=False, kw_only=True)
class TerminateStep(Step):
    pass


@dataclass(eq=False, kw_only=True)
class FailStep(Step):
    message: CExpr


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    type: WfType
    default: CExpr | None = None
    span: Span | None = None


@dataclass(slots=True)
class TypeInfo:
    name: str
    fields: dict[str, FieldInfo]
    builtin: bool = False


@dataclass(frozen=True, slots=True)
class PrivacyRuleInfo:
    name: str
    cond: CondPlan | None  # None for `everyone`
    view_all: bool
    view: frozenset[str]
    search: bool
    change: bool
    delete: bool


@dataclass(slots=True)
class PrivacyInfo:
    type_name: str
    rules: list[PrivacyRuleInfo]


@dataclass(frozen=True, slots=True)
class ParamInfo:
    name: str
    type: WfType
    required: bool
    default: CExpr | None = None
    optional: bool = False  # declared `T?`
    secret: bool = field(init=False, default=False)  # its name says so: redacted in records and logs

    def __post_init__(self) -> None:
        object.__setattr__(self, "secret", is_secret_name(self.name))


def walk(block: Block) -> Iterator[Step]:
    """Every statement of `block`, nested ones included, in source order."""
    for step in block:
        yield step
        if isinstance(step, IfStep):
            for _, body in step.branches:
                yield from walk(body)
            if step.else_body:
                yield from walk(step.else_body)
        elif isinstance(step, ForEachStep):
            yield from walk(step.body)


Auth = Literal["user", "admin", "none"]


@dataclass(frozen=True, slots=True)
class Webhook:
    secret: CExpr
    scheme: Literal["standard", "stripe", "github", "hmac-sha256"]
    header: str | None = None


@dataclass(frozen=True, slots=True)
class FlowControl:
    """The flow-control decorators of a workflow (docs/language.md §6)."""

    retry_attempts: int = 0
    retry_backoff: timedelta = timedelta(seconds=1)
    concurrency_limit: int | None = None
    concurrency_key: CExpr | None = None
    rate_count: float | None = None
    rate_period: timedelta | None = None
    rate_key: CExpr | None = None
    debounce: timedelta | None = None
    debounce_key: CExpr | None = None
    timeout: timedelta = timedelta(minutes=5)

    @property
    def once_unlimited(self) -> bool:
        """One attempt, no rate or concurrency limit (most workflows)."""
        return self.rate_count is None and self.concurrency_limit is None and self.retry_attempts <= 1


JSON_PRIMITIVES = frozenset(("text", "number", "boolean"))


@dataclass(eq=False, slots=True)
class Workflow:
    name: str
    params: list[ParamInfo]
    body: Block
    span: Span
    exposed: Auth | None = None  # None: not callable over HTTP with a token
    webhook: Webhook | None = None
    ignore_privacy: bool = False
    flow: FlowControl = field(default_factory=FlowControl)
    step_count: int = 0
    suspends: bool = True  # may wait on something (an action, a search, a read); else @timeout needs no timer
    # what its `return` statements give, key by key (None: a return that is not an object literal);
    # the OpenAPI document types the 200 answer from it
    returns: dict[str, WfType] | None = field(default_factory=dict)
    plain_params: bool = field(init=False, default=True)  # every parameter of a primitive type
    # every parameter text, a number or yes/no, none secret: its values need no redacting for a record
    json_params: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.plain_params = all(type(p.type) is Prim for p in self.params)
        self.json_params = all(
            type(p.type) is Prim and p.type.name in JSON_PRIMITIVES and not p.secret for p in self.params
        )

    @property
    def public(self) -> bool:
        """Served at /api/1.1/wf/NAME."""
        return self.exposed is not None or self.webhook is not None

    def param(self, name: str) -> ParamInfo | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


def every_text(amount: int | float, unit: str, at: tuple[int, int] | None, zone: str) -> str:
    """How a recurring event reads: `every 1 day at 09:00 Europe/Paris`, `every 15 minutes`."""
    n = int(amount) if float(amount).is_integer() else amount
    text = f"every {n} {unit}{'' if n == 1 else 's'}"
    return text + (f" at {at[0]:02d}:{at[1]:02d} {zone}" if at is not None else "")


@dataclass(frozen=True, slots=True)
class Recurring:
    """`every N UNIT [at "HH:MM Zone"] run WF(args)`."""

    amount: int | float
    unit: str
    at: tuple[int, int] | None  # hour, minute
    zone: str  # IANA name, "UTC" by default
    workflow: str
    args: list[tuple[str, CExpr]]
    span: Span


@dataclass(frozen=True, slots=True)
class DbTrigger:
    """`on create|change|delete T [when COND] run WF(args)`; `this`/`before` are in scope."""

    event: Literal["create", "change", "delete"]
    type_name: str
    cond: CExpr | None
    workflow: str
    args: list[tuple[str, CExpr]]
    span: Span


@dataclass(eq=False)
class App:
    types: dict[str, TypeInfo]
    workflows: dict[str, Workflow]
    privacy: dict[str, PrivacyInfo] = field(default_factory=dict)
    recurring: list[Recurring] = field(default_factory=list)
    triggers: list[DbTrigger] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    symbols: Symbols | None = None  # where names are declared and used, for editors (compiled with symbols=True)

    def type_named(self, name: str) -> TypeInfo | None:
        """A type by its declared name or in lower case (as Bubble's Data API paths write it)."""
        t = self.types.get(name)
        if t is not None:
            return t
        low = name.lower()
        for t in self.types.values():
            if t.name.lower() == low:
                return t
        return None
