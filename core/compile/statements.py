"""A workflow's statements → its steps (`Block`), each with its checked expressions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wfkit.dsl import ast as A

from .. import values as V
from ..app import (
    ActionStep,
    Block,
    CallStep,
    CancelStep,
    CExpr,
    FailStep,
    ForEachStep,
    IfStep,
    LetStep,
    ReturnStep,
    ScheduleStep,
    Step,
    TerminateStep,
)
from ..symbols import Symbol, Use, name_span
from ..types import (
    ANY,
    DATE,
    DURATION,
    NOTHING,
    OBJECT,
    TEXT,
    ListType,
    ThingType,
    WfType,
    assignable,
    join,
    parse_type,
)
from .expressions import ExprCompiler
from .scope import id_for_thing, is_known, suggest

if TYPE_CHECKING:
    from ..actions import ActionSpec
    from .declarations import Compiler

ENDING = (A.Return, A.Terminate, A.Fail)
SCHEDULE_HANDLE = OBJECT  # `.id` and `.run_at`


class BodyCompiler:
    """Compiles one workflow's statements into steps; names bound anywhere live on after."""

    def __init__(self, c: Compiler, workflow: str, names: dict[str, WfType], declared: dict[str, Symbol] | None = None):
        self.c = c
        self.workflow = workflow
        self.scope = c.scope(names, declared)
        self.values = ExprCompiler(self.scope)
        self.next_id = 0
        self.returns: dict[str, WfType] | None = {}  # every key a `return` gives (see Workflow.returns)

    def bind(self, name: str, t: WfType, span: A.Span) -> None:
        """`name` takes a value of type `t` at `span` (where the name is written)."""
        old = self.scope.names.get(name)
        self.scope.names[name] = t if old is None else join(old, t)
        symbols = self.scope.symbols
        if symbols is not None:
            first = self.scope.declared.get(name)
            if first is None:
                first = symbols.declare(Symbol("variable", name, span, t, self.workflow))
                self.scope.declared[name] = first
            symbols.use(Use("name", name, span, first, self.scope.names[name]))

    def block(self, stmts: Sequence[A.Stmt]) -> Block:
        out: Block = []
        ended: A.Stmt | None = None
        for s in stmts:
            if ended is not None:
                self.c.warn(
                    s.span,
                    f"this statement never runs: the {type(ended).__name__.lower()} on line "
                    f"{ended.span.line} always ends the run before it",
                )
                ended = None  # one warning per block
            step = self.statement(s)
            if step is not None:
                out.append(step)
            if isinstance(s, ENDING) and s.when is None:
                ended = s
        return out

    def step_base(self, s: A.Stmt, kind: str) -> dict[str, Any]:
        self.next_id += 1
        when = None
        if isinstance(s, A.SimpleStmt) and s.when is not None:
            when = self.values.condition(s.when, "`when` condition")
        return {"id": self.next_id, "kind": kind, "span": s.span, "label": self.c.label(s.span), "when": when}

    def statement(self, s: A.Stmt) -> Step | None:
        match s:
            case A.Let():
                return self._let(s)
            case A.Action():
                return self._action(s)
            case A.If():
                return self._if(s)
            case A.ForEach():
                return self._for_each(s)
            case A.Schedule():
                return self._schedule(s)
            case A.CallWorkflow():
                return self._call_workflow(s)
            case A.Cancel():
                return self._cancel(s)
            case A.Return():
                return self._return(s)
            case A.Terminate():
                return self._terminate(s)
            case A.Fail():
                return self._fail(s)
            case _:  # pragma: no cover - every AST statement has a case
                raise TypeError(f"cannot compile the statement {type(s).__name__}")

    def _let(self, s: A.Let) -> Step:
        base = self.step_base(s, "let")
        value = self.values.compile(s.value)
        self.bind(s.name, value.type, s.name_span or name_span(s.span, s.name))
        return LetStep(**base, name=s.name, value=value)

    def _if(self, s: A.If) -> Step:
        base = self.step_base(s, "if")
        branches = [(self.values.condition(b.cond, "`if` condition"), self.block(b.body)) for b in s.branches]
        else_body = self.block(s.else_body) if s.else_body is not None else None
        return IfStep(**base, branches=branches, else_body=else_body)

    def loop_list(self, e: A.Expr, var: str, var_span: A.Span) -> CExpr:
        """The list a `for each` walks; `var` (written at `var_span`) is bound to its item type."""
        it = self.values.compile(e)
        item: WfType = ANY
        if isinstance(it.type, ListType):
            item = it.type.item
        elif is_known(it.type):
            self.c.error(e.span, f"`for each` needs a list, got {it.type}")
        self.bind(var, item, var_span)
        return it

    def _for_each(self, s: A.ForEach) -> Step:
        base = self.step_base(s, "for_each")
        it = self.loop_list(s.iterable, s.var, s.var_span or s.span)
        body = self.block(s.body)
        return ForEachStep(**base, var=s.var, iterable=it, body=body)

    def _action(self, s: A.Action) -> Step | None:
        spec = self.c.registry.actions.get(s.verb)
        if self.scope.symbols is not None:
            options = None if spec is not None else tuple(self.c.registry.actions)
            verb_span = s.verb_span or name_span(s.span, s.verb)
            self.scope.symbols.use(Use("verb", s.verb, verb_span, options=options))
        if spec is None:
            hint = suggest(s.verb, list(self.c.registry.actions))
            if s.bind is not None and s.target is None and not s.has_parens:
                hint = f" (to bind a value, write `let {s.bind} = {s.verb}`)"
            self.c.error(s.span, f"unknown action '{s.verb}'{hint}")
            if s.target is not None:
                self.values.compile(s.target)
            for a in s.args:
                self.values.compile(a.value)
            return None
        base = self.step_base(s, "action")
        target, target_type = self.action_target(s, spec)
        args = self.action_args(s, spec, target_type)
        result = self.action_result(spec, target_type, [c.type for _, c in args])
        if s.bind is not None:
            if result == NOTHING:
                self.c.error(s.span, f"{s.verb} gives no result to bind to '{s.bind}'")
            self.bind(s.bind, result, name_span(s.span, s.bind))
        secret = frozenset(n for n, _ in args if V.is_secret_name(n))
        return ActionStep(**base, spec=spec, target=target, args=args, bind=s.bind, secret_args=secret)

    def action_target(self, s: A.Action, spec: ActionSpec) -> tuple[CExpr | None, WfType | None]:
        if spec.target == "none":
            if s.target is not None:
                self.c.error(s.target.span, f"{s.verb} takes no target, only named arguments")
            return None, None
        if s.target is None:
            if spec.target_required:
                what = {"type": "a type", "thing": "a thing or a list of things", "value": "a value"}[spec.target]
                self.c.error(s.span, f"{s.verb} needs {what} after it")
            return None, None
        if spec.target == "type":
            symbols = self.scope.symbols
            if symbols is not None and isinstance(s.target, A.Name):
                known = s.target.name in self.c.types
                t_use = ThingType(s.target.name) if known else None
                options = None if known else tuple(self.c.types)
                symbols.use(Use("type", s.target.name, s.target.span, type=t_use, options=options))
            if not isinstance(s.target, A.Name) or s.target.name not in self.c.types:
                name = s.target.name if isinstance(s.target, A.Name) else "?"
                self.c.error(s.target.span, f"unknown type '{name}'{suggest(name, list(self.c.types))}")
                return None, None
            tname = s.target.name
            return CExpr(lambda f: tname, TEXT, const=True), ThingType(tname)
        c = self.values.compile(s.target)
        if spec.target == "thing":
            t = c.type
            ok = isinstance(t, ThingType) or (isinstance(t, ListType) and isinstance(t.item, ThingType | type(ANY)))
            if is_known(t) and not ok:
                self.c.error(s.target.span, f"{s.verb} needs a thing or a list of things, got {t}")
        return c, c.type

    def action_args(self, s: A.Action, spec: ActionSpec, target_type: WfType | None) -> list[tuple[str, CExpr]]:
        params = {p.name: parse_type(p.type) for p in spec.params}
        spec_params = set(params)
        fields_type: str | None = None
        if spec.fields_args == "User":
            fields_type = "User"
        elif spec.fields_args == "target" and target_type is not None:
            t = target_type.item if isinstance(target_type, ListType) else target_type
            if isinstance(t, ThingType):
                fields_type = t.name
        if fields_type is not None and fields_type in self.c.types:
            for name, fi in self.c.types[fields_type].fields.items():
                params.setdefault(name, fi.type)
        out: list[tuple[str, CExpr]] = []
        given: set[str] = set()
        for a in s.args:
            c = self.values.compile(a.value)
            if a.name in given:
                self.c.error(a.span, f"the argument '{a.name}' is given twice")
                continue
            given.add(a.name)
            want = params.get(a.name)
            if self.scope.symbols is not None:
                is_field = fields_type is not None and a.name not in spec_params
                owner = f"type {fields_type}" if is_field else f"action {s.verb}"
                options = None if want is not None else tuple(params)
                self.scope.symbols.use(Use("argument", a.name, name_span(a.span, a.name), None, want, owner, options))
            if want is None:
                loose = spec.fields_args == "target" and fields_type is None  # target type unknown here
                if not loose:
                    what = f"{fields_type} has no field" if fields_type else f"{s.verb} has no argument"
                    self.c.error(a.span, f"{what} '{a.name}'{suggest(a.name, list(params)) or _listing(params)}")
                    continue
            elif not assignable(c.type, want) and not id_for_thing(c.type, want):
                self.c.error(a.value.span, f"'{a.name}' must be {want}, got {c.type}")
            out.append((a.name, c))
        missing = [p.name for p in spec.params if p.required and p.name not in given]
        if missing:
            self.c.error(s.span, f"{s.verb} is missing argument(s): {', '.join(missing)}")
        return out

    def action_result(self, spec: ActionSpec, target_type: WfType | None, arg_types: list[WfType]) -> WfType:
        if spec.result == "target":
            return target_type or ANY
        return self.values.result_type(spec.result, arg_types)

    def _schedule(self, s: A.Schedule) -> Step:
        base = self.step_base(s, "schedule")
        each_list = None
        if s.each_var is not None and s.each_list is not None:
            each_list = self.loop_list(s.each_list, s.each_var, s.each_var_span or s.span)
        args = self.c.check_call(s.workflow, s.workflow_span or s.span, s.args, self.scope, "schedule")
        at = self._typed(s.at, DATE, "`at`")
        in_ = self._typed(s.in_, DURATION, "`in`")
        every = self._typed(s.every, DURATION, "`every`")
        if s.every is not None and s.each_var is None:
            self.c.error(s.every.span, "`every` spaces the runs of `schedule … for each`")
        if s.bind is not None:
            self.bind(s.bind, ListType(SCHEDULE_HANDLE) if s.each_var else SCHEDULE_HANDLE, name_span(s.span, s.bind))
        return ScheduleStep(
            **base,
            workflow=s.workflow,
            args=args,
            at=at,
            in_=in_,
            each_var=s.each_var,
            each_list=each_list,
            every=every,
            bind=s.bind,
        )

    def _typed(self, e: A.Expr | None, want: WfType, what: str) -> CExpr | None:
        if e is None:
            return None
        c = self.values.compile(e)
        if is_known(c.type) and c.type != want:
            self.c.error(e.span, f"{what} takes a {want}, got {c.type}")
        return c

    def _call_workflow(self, s: A.CallWorkflow) -> Step:
        base = self.step_base(s, "call")
        args = self.c.check_call(s.workflow, s.workflow_span or s.span, s.args, self.scope, "call")
        if s.bind is not None:
            self.bind(s.bind, OBJECT, name_span(s.span, s.bind))
        return CallStep(**base, workflow=s.workflow, args=args, bind=s.bind)

    def _cancel(self, s: A.Cancel) -> Step:
        base = self.step_base(s, "cancel")
        target = self.values.compile(s.target)
        ok = (TEXT, SCHEDULE_HANDLE, ListType(TEXT), ListType(SCHEDULE_HANDLE), ListType(ANY))
        if is_known(target.type) and target.type not in ok:
            self.c.error(s.target.span, f"cancel takes a scheduled run's handle or id (or a list), got {target.type}")
        return CancelStep(**base, target=target)

    def _return(self, s: A.Return) -> Step:
        base = self.step_base(s, "return")
        value = self.values.compile(s.value) if s.value is not None else None
        if value is not None and is_known(value.type) and value.type != OBJECT:
            self.c.error(
                s.value.span if s.value else s.span,
                f"return takes an object {{ key: value }}, got {value.type}",
            )
        self._returned(value)
        return ReturnStep(**base, value=value)

    def _returned(self, value: CExpr | None) -> None:
        if self.returns is None:
            return
        shape = () if value is None else value.shape  # a bare `return` gives {}
        if shape is None:
            self.returns = None  # an object made elsewhere: its keys are not known here
            return
        for key, t in shape:
            old = self.returns.get(key)
            self.returns[key] = t if old is None else join(old, t)

    def _terminate(self, s: A.Terminate) -> Step:
        return TerminateStep(**self.step_base(s, "terminate"))

    def _fail(self, s: A.Fail) -> Step:
        base = self.step_base(s, "fail")
        return FailStep(**base, message=self.values.compile(s.message))


def _listing(params: dict[str, WfType]) -> str:
    return f" (it takes: {', '.join(params)})" if params else " (it takes none)"
