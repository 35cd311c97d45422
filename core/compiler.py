"""AST → `App`: names, types, actions and workflow references resolved; every error collected.

The compiler never stops at the first error: each problem becomes a `Diagnostic` with its span,
and a broken expression compiles to a stand-in so the rest is still checked.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from wfkit.dsl import ast as A
from wfkit.dsl.errors import Diagnostic

from . import values as V
from .app import (
    ActionStep,
    App,
    Block,
    CallStep,
    CancelStep,
    CExpr,
    DbTrigger,
    FailStep,
    FieldInfo,
    FlowControl,
    ForEachStep,
    IfStep,
    LetStep,
    ParamInfo,
    PrivacyInfo,
    PrivacyRuleInfo,
    Recurring,
    ReturnStep,
    ScheduleStep,
    Step,
    TerminateStep,
    TypeInfo,
    Webhook,
    Workflow,
)
from .expressions import (
    BUILTIN_FIELD_TYPES,
    CondCompiler,
    ExprCompiler,
    Scope,
    _known,
    suggest,
    type_from_ref,
)
from .types import (
    ANY,
    DATE,
    DURATION,
    NOTHING,
    OBJECT,
    PRIMITIVES,
    TEXT,
    ListType,
    ThingType,
    WfType,
    assignable,
    join,
    parse_type,
)

if TYPE_CHECKING:
    from wfkit.plugins.manager import Registry
    from wfkit.plugins.spec import ActionSpec

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
ENDING = (A.Return, A.Terminate, A.Fail)
SCHEDULE_HANDLE = OBJECT  # `.id` and `.run_at`


def compile_modules(
    modules: Sequence[A.Module], registry: Registry, sources: dict[str, str] | None = None
) -> tuple[App, list[Diagnostic]]:
    """Compile parsed files into one app; return it with every diagnostic (errors and warnings)."""
    c = Compiler(registry, sources or {})
    app = c.compile(modules)
    return app, c.diagnostics


class Compiler:
    def __init__(self, registry: Registry, sources: dict[str, str]):
        self.registry = registry
        self.sources = sources
        self.lines: dict[str, list[str]] = {}  # each file split once, for statement labels
        self.diagnostics: list[Diagnostic] = []
        self.types: dict[str, TypeInfo] = {"User": TypeInfo("User", {"email": FieldInfo("email", TEXT)}, True)}
        self.signatures: dict[str, tuple[A.WorkflowDecl, list[ParamInfo]]] = {}

    # ---- helpers

    def error(self, span: A.Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(span, message))

    def warn(self, span: A.Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(span, message, "warning"))

    def scope(self, names: dict[str, WfType] | None = None) -> Scope:
        return Scope(self.types, self.registry, self.diagnostics, dict(names or {}))

    def label(self, span: A.Span) -> str:
        lines = self.lines.get(span.file)
        if lines is None:
            text = self.sources.get(span.file)
            if text is None:
                return ""
            lines = self.lines[span.file] = text.splitlines()
        if not 0 < span.line <= len(lines):
            return ""
        line = lines[span.line - 1][span.column - 1 :].strip().rstrip("{").strip()
        return line if len(line) <= 60 else line[:57] + "..."

    # ---- the app

    def compile(self, modules: Sequence[A.Module]) -> App:
        decls = [d for m in modules for d in m.decls]
        type_decls = [d for d in decls if isinstance(d, A.TypeDecl)]
        self.declare_types(type_decls)
        for td in type_decls:
            self.compile_fields(td)
        workflows_decls = [d for d in decls if isinstance(d, A.WorkflowDecl)]
        for wd in workflows_decls:
            self.declare_workflow(wd)
        app = App(self.types, {}, sources=dict(self.sources))
        for d in decls:
            if isinstance(d, A.PrivacyDecl):
                self.compile_privacy(d, app)
        for wd in workflows_decls:
            if self.signatures.get(wd.name, (None,))[0] is wd:
                app.workflows[wd.name] = self.compile_workflow(wd)
        mark_suspending(app.workflows)
        for d in decls:
            if isinstance(d, A.EveryTrigger):
                r = self.compile_every(d)
                if r is not None:
                    app.recurring.append(r)
            elif isinstance(d, A.DbTrigger):
                t = self.compile_db_trigger(d)
                if t is not None:
                    app.triggers.append(t)
        app.warnings = [d for d in self.diagnostics if d.severity == "warning"]
        return app

    # ---- types

    def declare_types(self, decls: list[A.TypeDecl]) -> None:
        seen: dict[str, A.TypeDecl] = {}
        for d in decls:
            if d.name in PRIMITIVES or d.name in ("list", "any", "nothing"):
                self.error(d.span, f"'{d.name}' is a built-in type and cannot be declared")
                continue
            if d.name in seen:
                first = seen[d.name].span
                self.error(d.span, f"the type '{d.name}' is declared twice (first at {first})")
                continue
            seen[d.name] = d
            if d.name not in self.types:
                self.types[d.name] = TypeInfo(d.name, {})

    def compile_fields(self, d: A.TypeDecl) -> None:
        info = self.types.get(d.name)
        if info is None:
            return
        for fd in d.fields:
            if fd.name in BUILTIN_FIELD_TYPES or (d.name == "User" and fd.name in ("email", "password")):
                self.error(fd.span, f"'{fd.name}' is a built-in field of every {d.name}")
                continue
            if fd.name in info.fields and info.fields[fd.name].span is not None:
                self.error(fd.span, f"the field '{fd.name}' is declared twice in {d.name}")
                continue
            t = type_from_ref(fd.type, self.types, self.diagnostics)
            default = None
            if fd.default is not None:
                default = self.constant_expr(fd.default, t, f"the default of {d.name}.{fd.name}")
            info.fields[fd.name] = FieldInfo(fd.name, t, default, fd.span)

    def constant_expr(self, e: A.Expr, want: WfType, what: str) -> CExpr:
        c = ExprCompiler(self.scope()).compile(e)
        if c.is_async:
            self.error(e.span, f"{what} cannot read things or search")
        if not assignable(c.type, want):
            self.error(e.span, f"{what} must be {want}, got {c.type}")
        return c

    # ---- privacy

    def compile_privacy(self, d: A.PrivacyDecl, app: App) -> None:
        info = self.types.get(d.type_name)
        if info is None:
            self.error(d.span, f"unknown type '{d.type_name}'{suggest(d.type_name, list(self.types))}")
            return
        if d.type_name in app.privacy:
            self.error(d.span, f"the type '{d.type_name}' has two privacy blocks; merge them")
            return
        fields = {**{n: FieldInfo(n, t) for n, t in BUILTIN_FIELD_TYPES.items()}, **info.fields}
        this = ThingType(d.type_name)
        values = ExprCompiler(self.scope({"this": this}))

        def field_of(e: A.Expr) -> str | None:
            if isinstance(e, A.Name) and e.name == "this":
                return "id"
            if isinstance(e, A.FieldAccess) and isinstance(e.obj, A.Name) and e.obj.name == "this":
                return e.name  # an unknown one is reported by _check_this_fields
            return None

        rules: list[PrivacyRuleInfo] = []
        names: set[str] = set()
        for r in d.rules:
            if r.name in names:
                self.error(r.span, f"the rule '{r.name}' is declared twice")
            names.add(r.name)
            cond = None
            if r.cond is not None:
                self._check_this_fields(r.cond, d.type_name, fields)
                cond = CondCompiler(values, field_of, fields).compile(r.cond)
            view: set[str] = set()
            kinds: set[str] = set()
            for g in r.grants:
                kinds.add(g.kind)
                for fname in g.fields:
                    if fname not in fields:
                        self.error(g.span, f"{d.type_name} has no field '{fname}'{suggest(fname, list(fields))}")
                    view.add(fname)
            rules.append(
                PrivacyRuleInfo(
                    r.name,
                    cond,
                    "view_all" in kinds,
                    frozenset(view),
                    "search" in kinds,
                    "change" in kinds,
                    "delete" in kinds,
                )
            )
        app.privacy[d.type_name] = PrivacyInfo(d.type_name, rules)

    def _check_this_fields(self, e: A.Expr, type_name: str, fields: dict[str, FieldInfo]) -> None:
        """`this.nofield` in a rule: the condition compiler treats it as a value, so name it here."""
        if isinstance(e, A.FieldAccess) and isinstance(e.obj, A.Name) and e.obj.name == "this":
            if e.name not in fields:
                self.error(e.span, f"{type_name} has no field '{e.name}'{suggest(e.name, list(fields))}")
            return
        for name in getattr(e, "__dataclass_fields__", {}):
            child = getattr(e, name)
            for k in child if isinstance(child, tuple) else (child,):
                if isinstance(k, A.Expr):
                    self._check_this_fields(k, type_name, fields)

    # ---- workflows

    def declare_workflow(self, wd: A.WorkflowDecl) -> None:
        if wd.name in self.signatures:
            first = self.signatures[wd.name][0].span
            self.error(wd.name_span or wd.span, f"the workflow '{wd.name}' is declared twice (first at {first})")
            return
        params: list[ParamInfo] = []
        seen: set[str] = set()
        for p in wd.params:
            if p.name in seen:
                self.error(p.span, f"the parameter '{p.name}' is declared twice")
                continue
            seen.add(p.name)
            t = type_from_ref(p.type, self.types, self.diagnostics)
            default = None
            if p.default is not None:
                default = self.constant_expr(p.default, t, f"the default of '{p.name}'")
            required = default is None and not p.type.optional
            params.append(ParamInfo(p.name, t, required, default, p.type.optional))
        self.signatures[wd.name] = (wd, params)

    def compile_workflow(self, wd: A.WorkflowDecl) -> Workflow:
        params = self.signatures[wd.name][1]
        wf = Workflow(wd.name, params, [], wd.span)
        self.compile_decorators(wd, wf)
        body = BodyCompiler(self, wd.name, {p.name: p.type for p in params})
        wf.body = body.block(wd.body)
        wf.step_count = body.next_id
        return wf

    def compile_decorators(self, wd: A.WorkflowDecl, wf: Workflow) -> None:
        seen: set[str] = set()
        param_scope = self.scope({p.name: p.type for p in wf.params})
        flow: dict[str, Any] = {}
        for d in wd.decorators:
            if d.name not in DECORATORS:
                self.error(d.span, f"unknown decorator '@{d.name}'{suggest(d.name, DECORATORS, '@')}")
                continue
            if d.name in seen:
                self.error(d.span, f"@{d.name} is given twice")
                continue
            seen.add(d.name)
            args = DecoratorArgs(self, d)
            if d.name == "exposed":
                auth = args.word("auth", ("user", "admin", "none"), "user")
                wf.exposed = auth  # type: ignore[assignment]
            elif d.name == "ignore_privacy":
                wf.ignore_privacy = True
            elif d.name == "webhook":
                secret = args.expr("secret", param_scope.child(names={}), required=True)
                scheme = args.text("scheme", SCHEMES, "standard")
                header = args.text("header", None, None)
                if scheme == "hmac-sha256" and header is None:
                    self.error(
                        d.span,
                        '@webhook(scheme: "hmac-sha256") needs header: "X-…" naming the signature header',
                    )
                wf.webhook = Webhook(secret or CExpr(lambda f: None, TEXT), scheme, header)  # type: ignore[arg-type]
            elif d.name == "retry":
                flow["retry_attempts"] = args.number("attempts", required=True, whole=True)
                backoff = args.duration("backoff")
                if backoff is not None:
                    flow["retry_backoff"] = backoff
            elif d.name == "concurrency":
                flow["concurrency_limit"] = args.number("limit", required=True, whole=True)
                flow["concurrency_key"] = args.expr("key", param_scope)
            elif d.name == "rate_limit":
                rate = args.rate()
                if rate is not None:
                    flow["rate_count"] = rate.count
                    flow["rate_period"] = timedelta(seconds=V.UNIT_SECONDS[rate.unit])
                flow["rate_key"] = args.expr("key", param_scope)
            elif d.name == "debounce":
                flow["debounce"] = args.duration(None, required=True)
                flow["debounce_key"] = args.expr("key", param_scope)
            elif d.name == "timeout":
                flow["timeout"] = args.duration(None, required=True)
            args.finish()
        if wf.exposed is not None and wf.webhook is not None:
            self.error(wd.span, "a workflow is either @exposed or a @webhook, not both")
        wf.flow = FlowControl(**{k: v for k, v in flow.items() if v is not None})

    # ---- triggers

    def check_call(
        self, workflow: str, span: A.Span, args: Sequence[A.Arg], scope: Scope, what: str
    ) -> list[tuple[str, CExpr]]:
        """Arguments for a run of `workflow`, checked against its parameters."""
        values = ExprCompiler(scope)
        sig = self.signatures.get(workflow)
        compiled: list[tuple[str, CExpr]] = []
        if sig is None:
            self.error(span, f"unknown workflow '{workflow}'{suggest(workflow, list(self.signatures))}")
            for a in args:
                values.compile(a.value)
            return compiled
        params = {p.name: p for p in sig[1]}
        given: set[str] = set()
        for a in args:
            c = values.compile(a.value)
            p = params.get(a.name)
            if a.name in given:
                self.error(a.span, f"the argument '{a.name}' is given twice")
                continue
            given.add(a.name)
            if p is None:
                self.error(
                    a.span,
                    f"{what} {workflow}: it has no parameter '{a.name}'"
                    f"{suggest(a.name, list(params)) or ' (parameters: ' + ', '.join(params) + ')'}",
                )
                continue
            if not assignable(c.type, p.type) and not _id_for_thing(c.type, p.type):
                self.error(a.value.span, f"'{a.name}' of {workflow} must be {p.type}, got {c.type}")
            compiled.append((a.name, c))
        missing = [p.name for p in sig[1] if p.required and p.name not in given]
        if missing:
            self.error(span, f"{what} {workflow}: missing argument(s) {', '.join(missing)}")
        return compiled

    def compile_every(self, d: A.EveryTrigger) -> Recurring | None:
        ok = True
        if d.amount <= 0:
            self.error(d.span, "the interval of `every` must be more than 0")
            ok = False
        at: tuple[int, int] | None = None
        zone = "UTC"
        if d.at is not None:
            span = d.at_span or d.span
            parts = d.at.split()
            if d.unit not in ("day", "week", "month"):
                self.error(span, f"`at` needs a unit of days, weeks or months, not {d.unit}s")
                ok = False
            try:
                hh, mm = parts[0].split(":")
                at = (int(hh), int(mm))
                if not (0 <= at[0] < 24 and 0 <= at[1] < 60) or len(parts) > 2:
                    raise ValueError
            except (ValueError, IndexError):
                self.error(span, f'`at` takes "HH:MM" or "HH:MM Area/City", got "{d.at}"')
                ok = False
            if len(parts) == 2:
                zone = parts[1]
                try:
                    zoneinfo.ZoneInfo(zone)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    self.error(span, f"unknown time zone '{zone}' (use an IANA name such as Europe/Paris)")
                    ok = False
        args = self.check_call(d.run.workflow, d.run.span, d.run.args, self.scope(), "every … run")
        if not ok or d.run.workflow not in self.signatures:
            return None
        return Recurring(d.amount, d.unit, at, zone, d.run.workflow, args, d.span)

    def compile_db_trigger(self, d: A.DbTrigger) -> DbTrigger | None:
        if d.type_name not in self.types:
            self.error(d.span, f"unknown type '{d.type_name}'{suggest(d.type_name, list(self.types))}")
            return None
        t = ThingType(d.type_name)
        scope = self.scope({"this": t, "before": t})
        cond = ExprCompiler(scope).condition(d.cond, "trigger condition") if d.cond is not None else None
        args = self.check_call(d.run.workflow, d.run.span, d.run.args, scope, f"on {d.event} … run")
        if d.run.workflow not in self.signatures:
            return None
        return DbTrigger(d.event, d.type_name, cond, d.run.workflow, args, d.span)


def _steps(block: Block) -> Iterator[Step]:
    for step in block:
        yield step
        if isinstance(step, IfStep):
            for _, body in step.branches:
                yield from _steps(body)
            if step.else_body:
                yield from _steps(step.else_body)
        elif isinstance(step, ForEachStep):
            yield from _steps(step.body)


def _exprs(step: Step) -> Iterator[CExpr]:
    for name in ("when", "value", "target", "iterable", "message", "at", "in_", "each_list", "every"):
        c = getattr(step, name, None)
        if isinstance(c, CExpr):
            yield c
    for _, c in getattr(step, "args", ()):
        yield c
    if isinstance(step, IfStep):
        yield from (cond for cond, _ in step.branches)


def mark_suspending(workflows: dict[str, Workflow]) -> None:
    """`Workflow.suspends`: whether a run of it can ever wait (an action, a search, a read of a
    reference, or a `call` of a workflow that can). One that cannot is never interrupted by a
    timer, so the executor sets none for it."""
    calls: dict[str, set[str]] = {}
    for wf in workflows.values():
        steps = list(_steps(wf.body))
        wf.suspends = any(isinstance(s, ActionStep) or any(c.is_async for c in _exprs(s)) for s in steps)
        wf.suspends = wf.suspends or any(p.default is not None and p.default.is_async for p in wf.params)
        calls[wf.name] = {s.workflow for s in steps if isinstance(s, CallStep)}
    changed = True
    while changed:  # a workflow that calls one that suspends suspends too
        changed = False
        for wf in workflows.values():
            if not wf.suspends and any(workflows[c].suspends for c in calls[wf.name] if c in workflows):
                wf.suspends = changed = True


def _id_for_thing(src: WfType, dst: WfType) -> bool:
    """A text id where a thing is expected is converted when the run starts."""
    return src == TEXT and isinstance(dst, ThingType)


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


class BodyCompiler:
    """Compiles one workflow's statements into steps; names bound anywhere live on after."""

    def __init__(self, c: Compiler, workflow: str, names: dict[str, WfType]):
        self.c = c
        self.workflow = workflow
        self.scope = c.scope(names)
        self.values = ExprCompiler(self.scope)
        self.next_id = 0

    def bind(self, name: str, t: WfType) -> None:
        old = self.scope.names.get(name)
        self.scope.names[name] = t if old is None else join(old, t)

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
        method = getattr(self, "_" + type(s).__name__)
        step: Step | None = method(s)
        return step

    def _Let(self, s: A.Let) -> Step:
        base = self.step_base(s, "let")
        value = self.values.compile(s.value)
        self.bind(s.name, value.type)
        return LetStep(**base, name=s.name, value=value)

    def _If(self, s: A.If) -> Step:
        base = self.step_base(s, "if")
        branches = [(self.values.condition(b.cond, "`if` condition"), self.block(b.body)) for b in s.branches]
        else_body = self.block(s.else_body) if s.else_body is not None else None
        return IfStep(**base, branches=branches, else_body=else_body)

    def loop_list(self, e: A.Expr, var: str) -> CExpr:
        """The list a `for each` walks; `var` is bound to its item type."""
        it = self.values.compile(e)
        item: WfType = ANY
        if isinstance(it.type, ListType):
            item = it.type.item
        elif _known(it.type):
            self.c.error(e.span, f"`for each` needs a list, got {it.type}")
        self.bind(var, item)
        return it

    def _ForEach(self, s: A.ForEach) -> Step:
        base = self.step_base(s, "for_each")
        it = self.loop_list(s.iterable, s.var)
        body = self.block(s.body)
        return ForEachStep(**base, var=s.var, iterable=it, body=body)

    def _Action(self, s: A.Action) -> Step | None:
        spec = self.c.registry.actions.get(s.verb)
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
            self.bind(s.bind, result)
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
            if _known(t) and not ok:
                self.c.error(s.target.span, f"{s.verb} needs a thing or a list of things, got {t}")
        return c, c.type

    def action_args(self, s: A.Action, spec: ActionSpec, target_type: WfType | None) -> list[tuple[str, CExpr]]:
        params = {p.name: parse_type(p.type) for p in spec.params}
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
            if want is None:
                loose = spec.fields_args == "target" and fields_type is None  # target type unknown here
                if not loose:
                    what = f"{fields_type} has no field" if fields_type else f"{s.verb} has no argument"
                    self.c.error(a.span, f"{what} '{a.name}'{suggest(a.name, list(params)) or _listing(params)}")
                    continue
            elif not assignable(c.type, want) and not _id_for_thing(c.type, want):
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

    def _Schedule(self, s: A.Schedule) -> Step:
        base = self.step_base(s, "schedule")
        each_list = None
        if s.each_var is not None and s.each_list is not None:
            each_list = self.loop_list(s.each_list, s.each_var)
        args = self.c.check_call(s.workflow, s.workflow_span or s.span, s.args, self.scope, "schedule")
        at = self._typed(s.at, DATE, "`at`")
        in_ = self._typed(s.in_, DURATION, "`in`")
        every = self._typed(s.every, DURATION, "`every`")
        if s.every is not None and s.each_var is None:
            self.c.error(s.every.span, "`every` spaces the runs of `schedule … for each`")
        if s.bind is not None:
            self.bind(s.bind, ListType(SCHEDULE_HANDLE) if s.each_var else SCHEDULE_HANDLE)
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
        if _known(c.type) and c.type != want:
            self.c.error(e.span, f"{what} takes a {want}, got {c.type}")
        return c

    def _CallWorkflow(self, s: A.CallWorkflow) -> Step:
        base = self.step_base(s, "call")
        args = self.c.check_call(s.workflow, s.workflow_span or s.span, s.args, self.scope, "call")
        if s.bind is not None:
            self.bind(s.bind, OBJECT)
        return CallStep(**base, workflow=s.workflow, args=args, bind=s.bind)

    def _Cancel(self, s: A.Cancel) -> Step:
        base = self.step_base(s, "cancel")
        target = self.values.compile(s.target)
        ok = (TEXT, SCHEDULE_HANDLE, ListType(TEXT), ListType(SCHEDULE_HANDLE), ListType(ANY))
        if _known(target.type) and target.type not in ok:
            self.c.error(s.target.span, f"cancel takes a scheduled run's handle or id (or a list), got {target.type}")
        return CancelStep(**base, target=target)

    def _Return(self, s: A.Return) -> Step:
        base = self.step_base(s, "return")
        value = self.values.compile(s.value) if s.value is not None else None
        if value is not None and _known(value.type) and value.type != OBJECT:
            self.c.error(
                s.value.span if s.value else s.span,
                f"return takes an object {{ key: value }}, got {value.type}",
            )
        return ReturnStep(**base, value=value)

    def _Terminate(self, s: A.Terminate) -> Step:
        return TerminateStep(**self.step_base(s, "terminate"))

    def _Fail(self, s: A.Fail) -> Step:
        base = self.step_base(s, "fail")
        return FailStep(**base, message=self.values.compile(s.message))


def _listing(params: dict[str, WfType]) -> str:
    return f" (it takes: {', '.join(params)})" if params else " (it takes none)"
