"""AST → `App`: names, types, actions and workflow references resolved; every error collected.

The compiler never stops at the first error: each problem becomes a `Diagnostic` with its span,
and a broken expression compiles to a stand-in so the rest is still checked. `Compiler` drives the
whole app and compiles its declarations (types, privacy rules, workflows' headers, triggers); a
workflow's body is `statements.BodyCompiler`'s, its decorators `decorators.compile_decorators`'.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wfkit.dsl import ast as A
from wfkit.dsl.errors import Diagnostic

from ..app import (
    App,
    CExpr,
    DbTrigger,
    FieldInfo,
    ParamInfo,
    PrivacyInfo,
    PrivacyRuleInfo,
    Recurring,
    TypeInfo,
    Workflow,
)
from ..symbols import Symbol, Symbols, Use, last_name_span, name_span
from ..types import BUILTIN_FIELD_TYPES, PRIMITIVES, TEXT, ThingType, WfType, assignable
from .decorators import compile_decorators
from .expressions import ExprCompiler
from .scope import Scope, all_fields, id_for_thing, suggest, type_from_ref
from .search import CondCompiler, sub_nodes
from .statements import BodyCompiler
from .suspension import mark_suspending

if TYPE_CHECKING:
    from ..actions import Registry


def compile_modules(
    modules: Sequence[A.Module], registry: Registry, sources: dict[str, str] | None = None, *, symbols: bool = False
) -> tuple[App, list[Diagnostic]]:
    """Compile parsed files into one app; return it with every diagnostic (errors and warnings).
    With `symbols`, the app's `symbols` tell editors where each name is declared and used."""
    c = Compiler(registry, sources or {}, symbols=symbols)
    app = c.compile(modules)
    return app, c.diagnostics


class Compiler:
    def __init__(self, registry: Registry, sources: dict[str, str], *, symbols: bool = False):
        self.registry = registry
        self.sources = sources
        self.lines: dict[str, list[str]] = {}  # each file split once, for statement labels
        self.diagnostics: list[Diagnostic] = []
        self.types: dict[str, TypeInfo] = {"User": TypeInfo("User", {"email": FieldInfo("email", TEXT)}, True)}
        self.signatures: dict[str, tuple[A.WorkflowDecl, list[ParamInfo]]] = {}
        self.symbols: Symbols | None = Symbols() if symbols else None

    # ---- helpers

    def error(self, span: A.Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(span, message))

    def warn(self, span: A.Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(span, message, "warning"))

    def scope(self, names: dict[str, WfType] | None = None, declared: dict[str, Symbol] | None = None) -> Scope:
        return Scope(
            self.types,
            self.registry,
            self.diagnostics,
            dict(names or {}),
            symbols=self.symbols,
            declared=declared or {},
        )

    def source_text(self, span: A.Span) -> str:
        """The text a one-line span covers ("" when it is not one line of a known file)."""
        if span.line != span.end_line:
            return ""
        self.label(span)  # splits the file once
        lines = self.lines.get(span.file, [])
        return lines[span.line - 1][span.column - 1 : span.end_column - 1] if 0 < span.line <= len(lines) else ""

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
        app = App(self.types, {}, sources=dict(self.sources), symbols=self.symbols)
        for d in decls:
            if isinstance(d, A.PrivacyDecl):
                self.compile_privacy(d, app)
        for wd in workflows_decls:
            if self.signatures.get(wd.name, (None,))[0] is wd:
                app.workflows[wd.name] = self.compile_workflow(wd, app)
        mark_suspending(app.workflows)
        for d in decls:
            match d:
                case A.EveryTrigger():
                    r = self.compile_every(d)
                    if r is not None:
                        app.recurring.append(r)
                case A.DbTrigger():
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
            if self.symbols is not None:
                self.symbols.declare(Symbol("type", d.name, d.name_span or d.span, extent=d.span))

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
            t = type_from_ref(fd.type, self.types, self.diagnostics, self.symbols)
            default = None
            if fd.default is not None:
                default = self.constant_expr(fd.default, t, f"the default of {d.name}.{fd.name}")
            info.fields[fd.name] = FieldInfo(fd.name, t, default, fd.span)
            if self.symbols is not None:
                detail = f" = {self.source_text(fd.default.span)}" if fd.default is not None else ""
                self.symbols.declare(Symbol("field", fd.name, name_span(fd.span, fd.name), t, d.name, detail=detail))

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
        if self.symbols is not None:
            options = None if info is not None else tuple(self.types)
            t = ThingType(d.type_name) if info is not None else None
            self.symbols.use(Use("type", d.type_name, d.type_span or d.span, type=t, options=options))
        if info is None:
            self.error(d.span, f"unknown type '{d.type_name}'{suggest(d.type_name, list(self.types))}")
            return
        if d.type_name in app.privacy:
            self.error(d.span, f"the type '{d.type_name}' has two privacy blocks; merge them")
            return
        fields = all_fields(info)
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
                for i, fname in enumerate(g.fields):
                    if self.symbols is not None and i < len(g.field_spans):
                        self._field_use(d.type_name, fname, g.field_spans[i], fields)
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
            if self.symbols is not None:
                self.symbols.use(Use("name", "this", e.obj.span, type=ThingType(type_name)))
                self._field_use(type_name, e.name, last_name_span(e.span, e.name), fields)
            if e.name not in fields:
                self.error(e.span, f"{type_name} has no field '{e.name}'{suggest(e.name, list(fields))}")
            return
        for k in sub_nodes(e):
            if isinstance(k, A.Expr):
                self._check_this_fields(k, type_name, fields)

    def _field_use(self, type_name: str, name: str, span: A.Span, fields: dict[str, FieldInfo]) -> None:
        assert self.symbols is not None
        known = fields.get(name)
        options = None if known is not None else tuple(fields)
        self.symbols.use(Use("field", name, span, type=known.type if known else None, owner=type_name, options=options))

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
            t = type_from_ref(p.type, self.types, self.diagnostics, self.symbols)
            default = None
            if p.default is not None:
                default = self.constant_expr(p.default, t, f"the default of '{p.name}'")
            required = default is None and not p.type.optional
            params.append(ParamInfo(p.name, t, required, default, p.type.optional))
            if self.symbols is not None:
                detail = f" = {self.source_text(p.default.span)}" if p.default is not None else ""
                self.symbols.declare(Symbol("param", p.name, name_span(p.span, p.name), t, wd.name, detail=detail))
        self.signatures[wd.name] = (wd, params)
        if self.symbols is not None:
            self.symbols.declare(
                Symbol("workflow", wd.name, wd.name_span or wd.span, extent=wd.span, detail=self.signature(wd, params))
            )

    def signature(self, wd: A.WorkflowDecl, params: list[ParamInfo]) -> str:
        """Its decorators as written, then `workflow NAME(PARAMS)`: what hovering on its name shows."""
        out = [self.source_text(d.span) or f"@{d.name}" for d in wd.decorators]
        written = {p.name: p for p in wd.params}
        shown = []
        for p in params:
            opt = "?" if p.optional else ""
            default = written[p.name].default
            value = f" = {self.source_text(default.span)}" if default is not None else ""
            shown.append(f"{p.name}: {p.type}{opt}{value}")
        out.append(f"workflow {wd.name}({', '.join(shown)})")
        return "\n".join(out)

    def compile_workflow(self, wd: A.WorkflowDecl, app: App) -> Workflow:
        params = self.signatures[wd.name][1]
        wf = Workflow(wd.name, params, [], wd.span)
        compile_decorators(self, wd, wf)
        declared: dict[str, Symbol] = {}
        if self.symbols is not None:
            declared = {p.name: s for p in params if (s := self.symbols.params.get((wd.name, p.name))) is not None}
        body = BodyCompiler(self, wd.name, {p.name: p.type for p in params}, declared)
        wf.body = body.block(wd.body)
        wf.step_count = body.next_id
        wf.returns = body.returns
        if wf.exposed == "none" and not wf.ignore_privacy:
            self.warn_anonymous_searches(body.scope.searched, app)
        return wf

    def warn_anonymous_searches(self, searched: list[tuple[str, A.Span]], app: App) -> None:
        """A workflow anyone may call runs, for an anonymous caller, under the privacy rules as they
        apply to nobody in particular: a search there silently finds less than it does under `wf run`
        (as admin). Say so where the rules keep anyone from searching the type."""
        for type_name, span in searched:
            privacy = app.privacy.get(type_name)
            if privacy is None or any(r.cond is None and r.search for r in privacy.rules):
                continue
            self.warn(
                span,
                f"anyone may call this workflow (auth: none), and no `everyone` rule of {type_name} grants "
                f"search: for an anonymous caller this search finds only what other rules grant without a "
                f"user, while `wf run` (as admin) finds every {type_name}; add @ignore_privacy if it must",
            )

    def check_call(
        self, workflow: str, span: A.Span, args: Sequence[A.Arg], scope: Scope, what: str
    ) -> list[tuple[str, CExpr]]:
        """Arguments for a run of `workflow`, checked against its parameters."""
        values = ExprCompiler(scope)
        sig = self.signatures.get(workflow)
        compiled: list[tuple[str, CExpr]] = []
        if self.symbols is not None:
            options = None if sig is not None else tuple(self.signatures)
            self.symbols.use(Use("workflow", workflow, name_span(span, workflow), options=options))
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
            if self.symbols is not None:
                self.symbols.use(
                    Use(
                        "argument",
                        a.name,
                        name_span(a.span, a.name),
                        type=p.type if p else None,
                        owner=f"workflow {workflow}",
                        options=None if p else tuple(params),
                    )
                )
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
            if not assignable(c.type, p.type) and not id_for_thing(c.type, p.type):
                self.error(a.value.span, f"'{a.name}' of {workflow} must be {p.type}, got {c.type}")
            compiled.append((a.name, c))
        missing = [p.name for p in sig[1] if p.required and p.name not in given]
        if missing:
            self.error(span, f"{what} {workflow}: missing argument(s) {', '.join(missing)}")
        return compiled

    # ---- triggers

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
        known = d.type_name in self.types
        if self.symbols is not None:
            options = None if known else tuple(self.types)
            t_use = ThingType(d.type_name) if known else None
            self.symbols.use(Use("type", d.type_name, d.type_span or d.span, type=t_use, options=options))
        if not known:
            self.error(d.span, f"unknown type '{d.type_name}'{suggest(d.type_name, list(self.types))}")
            return None
        t = ThingType(d.type_name)
        scope = self.scope({"this": t, "before": t})
        cond = ExprCompiler(scope).condition(d.cond, "trigger condition") if d.cond is not None else None
        args = self.check_call(d.run.workflow, d.run.span, d.run.args, scope, f"on {d.event} … run")
        if d.run.workflow not in self.signatures:
            return None
        return DbTrigger(d.event, d.type_name, cond, d.run.workflow, args, d.span)
