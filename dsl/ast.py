"""The abstract syntax tree of a `.wf` file: frozen dataclasses, each node with its `span`.

The parser (`wfkit.dsl.parser`) builds these; the compiler (`wfkit.core.compile`) reads them.
Nothing here knows about Lark: the evaluator never sees a raw parse tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal as L

# --------------------------------------------------------------------------- positions


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node stands in its file: 1-based line and column; `end_*` is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<none>", 0, 0, 0, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    span: Span = field(compare=False)


# --------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeRef(Node):
    """`text`, `Order`, `list of text`, `list of Order?` (then the whole type is optional)."""

    name: str  # "list" for a list type, else the type's name
    item: TypeRef | None = None  # the item type when name == "list"
    optional: bool = False


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True, kw_only=True)
class Expr(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal(Expr):
    """A number (int or float), a plain text, `true`/`false`, or `empty` (None)."""

    value: int | float | str | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Interpolated(Expr):
    """A string with `{expr}` parts: texts and expressions in order (texts already unescaped)."""

    parts: tuple[str | Expr, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DurationLit(Expr):
    """`10 minutes`, `0.5 seconds`; unit is singular: second, minute, hour, day, week, month."""

    amount: int | float
    unit: L["second", "minute", "hour", "day", "week", "month"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Name(Expr):
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectEntry(Node):
    key: str
    value: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectLit(Expr):
    entries: tuple[ObjectEntry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary(Expr):
    op: L["not", "-"]
    operand: Expr


BinaryOp = L["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "%"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Binary(Expr):
    op: BinaryOp
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class IsEmpty(Expr):
    """`x is empty` (negated=False) or `x is not empty` (negated=True)."""

    operand: Expr
    negated: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldAccess(Expr):
    obj: Expr
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Index(Expr):
    obj: Expr
    index: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Arg(Node):
    """A named argument `name: value` (of an action, a function, a workflow)."""

    name: str
    value: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Expr):
    """A function call by name: positional arguments, then optional named ones."""

    func: str
    args: tuple[Expr, ...]
    kwargs: tuple[Arg, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Search(Expr):
    """`search T [where COND] [order by FIELD [desc]] [limit N]`."""

    type_name: str
    where: Expr | None = None
    order_by: str | None = None
    descending: bool = False
    limit: Expr | None = None
    type_span: Span | None = field(default=None, compare=False)  # where the type name stands
    order_span: Span | None = field(default=None, compare=False)  # the field after `order by`


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True, kw_only=True)
class Stmt(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class SimpleStmt(Stmt):
    """A statement that may carry a `when COND` suffix."""

    when: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Action(SimpleStmt):
    """`[bind =] VERB [TARGET] [(name: expr, …)]`; verb may be dotted (`stripe.refund`)."""

    verb: str
    target: Expr | None = None
    args: tuple[Arg, ...] = ()
    bind: str | None = None
    has_parens: bool = False  # whether an argument list `( … )` was written
    verb_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Let(Stmt):
    name: str
    value: Expr
    name_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch(Node):
    cond: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class If(Stmt):
    """`if c { } else if c { } else { }`: branches in order, then the optional else body."""

    branches: tuple[Branch, ...]
    else_body: tuple[Stmt, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ForEach(Stmt):
    var: str
    iterable: Expr
    body: tuple[Stmt, ...]
    var_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule(SimpleStmt):
    """`[bind =] schedule WF(args) [at D | in DUR]` or the list form
    `schedule WF(args) for each ITEM in LIST [at D | in DUR] [every DUR]`."""

    workflow: str
    args: tuple[Arg, ...] = ()
    at: Expr | None = None
    in_: Expr | None = None
    each_var: str | None = None  # the list form's ITEM
    each_list: Expr | None = None  # the list form's LIST
    every: Expr | None = None
    bind: str | None = None
    workflow_span: Span | None = field(default=None, compare=False)
    each_var_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallWorkflow(SimpleStmt):
    """`[bind =] call WF(args)`."""

    workflow: str
    args: tuple[Arg, ...] = ()
    bind: str | None = None
    workflow_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel(SimpleStmt):
    target: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Return(SimpleStmt):
    """`return { … }` (value is an ObjectLit) or a bare `return` (value None)."""

    value: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Terminate(SimpleStmt):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Fail(SimpleStmt):
    message: Expr


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True, kw_only=True)
class Decl(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldDecl(Node):
    name: str
    type: TypeRef
    default: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeDecl(Decl):
    name: str
    fields: tuple[FieldDecl, ...]
    name_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant(Node):
    """One line of a privacy rule: `view all`, `view f1, f2`, `search`, `change`, `delete`."""

    kind: L["view_all", "view", "search", "change", "delete"]
    fields: tuple[str, ...] = ()  # for kind == "view"
    field_spans: tuple[Span, ...] = field(default=(), compare=False)  # where each of `fields` stands


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivacyRule(Node):
    """`rule NAME when COND { grants }`; the `everyone { … }` block has name "everyone", cond None."""

    name: str
    cond: Expr | None
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivacyDecl(Decl):
    type_name: str
    rules: tuple[PrivacyRule, ...]  # the `everyone` block, if any, is the last, with cond None
    type_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate(Node):
    """Decorator syntax `100 per minute`."""

    count: int | float
    unit: L["second", "minute", "hour", "day", "week"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecoratorArg(Node):
    """`name: value` or a positional `value` (name None).

    Bare words such as `none`, `admin` arrive as `Name` expressions; `N per UNIT` as `Rate`."""

    name: str | None
    value: Expr | Rate


@dataclass(frozen=True, slots=True, kw_only=True)
class Decorator(Node):
    name: str  # without the "@"
    args: tuple[DecoratorArg, ...] = ()
    has_parens: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Param(Node):
    """`name: type [= default]`; `type.optional` marks `name: type?`."""

    name: str
    type: TypeRef
    default: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowDecl(Decl):
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    decorators: tuple[Decorator, ...] = ()
    name_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowRef(Node):
    """`WF(args)` in a trigger."""

    workflow: str
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EveryTrigger(Decl):
    """`every N UNIT [at "HH:MM [Area/City]"] run WF(args)`."""

    amount: int | float
    unit: L["second", "minute", "hour", "day", "week", "month"]
    at: str | None
    run: WorkflowRef
    at_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class DbTrigger(Decl):
    """`on create|change|delete T [when COND] run WF(args)`."""

    event: L["create", "change", "delete"]
    type_name: str
    cond: Expr | None
    run: WorkflowRef
    type_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Module(Node):
    """One parsed file: the declarations that parsed (a broken one is left out, its error reported)."""

    file: str
    decls: tuple[Decl, ...]
