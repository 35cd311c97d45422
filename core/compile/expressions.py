"""Expressions → typed closures (`CExpr`), compiled once per app.

Each AST node becomes a small function of the frame. A node whose subtree reads a reference
(loads a thing) or searches is async; everything else stays a plain call, so pure arithmetic and
interpolation cost a few function calls per node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from wfkit.dsl import ast as A

from .. import values as V
from ..app import CExpr
from ..errors import FunctionError, RunError
from ..symbols import Use, last_name_span, name_span
from ..types import (
    ANY,
    BOOLEAN,
    BUILTIN_FIELD_TYPES,
    DATE,
    DURATION,
    NOTHING,
    NUMBER,
    OBJECT,
    TEXT,
    USER,
    ListType,
    NothingType,
    ThingType,
    WfType,
    assignable,
    join,
    parse_type,
)
from .operators import ARITH, COMPARE, arith_type, comparable
from .reads import load_ref, read_index
from .scope import Scope, field_type, is_known, suggest
from .search import compile_search

if TYPE_CHECKING:
    from ..actions import FunctionSpec, ResultType
    from ..frame import Frame

Fn = Callable[["Frame"], Any]


def const(value: Any, type_: WfType) -> CExpr:
    return CExpr(lambda f: value, type_, const=True)


BROKEN = CExpr(lambda f: None, ANY)  # stands in for an expression with an error; never run


def is_ref_type(t: WfType) -> bool:
    return isinstance(t, ThingType) or (isinstance(t, ListType) and isinstance(t.item, ThingType))


# --------------------------------------------------------------------------- closure builders


def gather(parts: Sequence[CExpr]) -> Callable[[Frame], Awaitable[list[Any]]]:
    fns = [(p.fn, p.is_async) for p in parts]

    async def run(f: Frame) -> list[Any]:
        return [await fn(f) if a else fn(f) for fn, a in fns]

    return run


def combine(parts: Sequence[CExpr], op: Callable[..., Any], type_: WfType, names: tuple[str, ...]) -> CExpr:
    """A node whose value is `op(*values of parts)`, sync when every part is."""
    if any(p.is_async for p in parts):
        values = gather(parts)

        async def run_async(f: Frame) -> Any:
            return op(*(await values(f)))

        return CExpr(run_async, type_, True, names=names)
    if len(parts) == 1:
        a = parts[0].fn
        return CExpr(lambda f: op(a(f)), type_, names=names)
    if len(parts) == 2:
        a, b = parts[0].fn, parts[1].fn
        return CExpr(lambda f: op(a(f), b(f)), type_, names=names)
    fns = [p.fn for p in parts]
    return CExpr(lambda f: op(*[fn(f) for fn in fns]), type_, names=names)


def then(part: CExpr, op: Callable[[Frame, Any], Awaitable[Any]], type_: WfType) -> CExpr:
    """A node that awaits `op(frame, value of part)` (loading a reference)."""
    fn, is_async = part.fn, part.is_async

    async def run(f: Frame) -> Any:
        v = await fn(f) if is_async else fn(f)
        return await op(f, v)

    return CExpr(run, type_, True, names=part.names)


def names_of(*parts: CExpr) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for p in parts:
        for n in p.names:
            seen[n] = None
    return tuple(seen)


# --------------------------------------------------------------------------- the compiler


class ExprCompiler:
    """Compiles expressions in a `Scope`; reports every error it finds and keeps going."""

    def __init__(self, scope: Scope):
        self.scope = scope

    def at(self, scope: Scope) -> ExprCompiler:
        return ExprCompiler(scope)

    def error(self, span: A.Span, message: str) -> CExpr:
        self.scope.error(span, message)
        return BROKEN

    def compile(self, e: A.Expr) -> CExpr:
        match e:
            case A.Name():
                return self._name(e)
            case A.Literal():
                return self._literal(e)
            case A.Binary():
                return self._binary(e)
            case A.FieldAccess():
                return self._field_access(e)
            case A.Interpolated():
                return self._interpolated(e)
            case A.Call():
                return self._call(e)
            case A.Unary():
                return self._unary(e)
            case A.IsEmpty():
                return self._is_empty(e)
            case A.Index():
                return self._index(e)
            case A.ObjectLit():
                return self._object_lit(e)
            case A.ListLit():
                return self._list_lit(e)
            case A.DurationLit():
                return self._duration_lit(e)
            case A.Search():
                return compile_search(self, e)
            case _:  # pragma: no cover - every AST expression has a case
                return self.error(e.span, f"cannot compile {type(e).__name__}")

    def condition(self, e: A.Expr, what: str = "condition") -> CExpr:
        """An expression used as yes/no (`if`, `when`, `and`): a boolean, or something unknown."""
        c = self.compile(e)
        if is_known(c.type) and c.type != BOOLEAN:
            self.scope.error(
                e.span,
                f"a {what} must be a boolean, got {c.type}"
                + (" (use `is empty` or `is not empty` to test a value)" if c.type != NUMBER else ""),
            )
        return c

    # ---- leaves

    def _literal(self, e: A.Literal) -> CExpr:
        v = e.value
        if v is None:
            return const(None, NOTHING)
        if isinstance(v, bool):
            return const(v, BOOLEAN)
        if isinstance(v, int | float):
            return const(v, NUMBER)
        return const(v, TEXT)

    def _duration_lit(self, e: A.DurationLit) -> CExpr:
        if e.unit == "month":
            return self.error(e.span, "months are only a unit of `every` triggers; use days or weeks")
        return const(timedelta(seconds=e.amount * V.UNIT_SECONDS[e.unit]), DURATION)

    def _interpolated(self, e: A.Interpolated) -> CExpr:
        parts: list[str | CExpr] = [p if isinstance(p, str) else self.compile(p) for p in e.parts]
        exprs = [p for p in parts if not isinstance(p, str)]
        names = names_of(*exprs)
        text = V.text
        if any(p.is_async for p in exprs):
            plan = [(p, None) if isinstance(p, str) else ("", p) for p in parts]

            async def run_async(f: Frame) -> str:
                out = []
                for s, c in plan:
                    if c is None:
                        out.append(s)
                    else:
                        out.append(text(await c.fn(f) if c.is_async else c.fn(f)))
                return "".join(out)

            return CExpr(run_async, TEXT, True, names=names)
        steps: list[tuple[str, Fn | None]] = [(p, None) if isinstance(p, str) else ("", p.fn) for p in parts]

        def run(f: Frame) -> str:
            return "".join([s if fn is None else text(fn(f)) for s, fn in steps])

        return CExpr(run, TEXT, names=names)

    def _name(self, e: A.Name) -> CExpr:
        c = self._resolve_name(e)
        sc = self.scope
        if sc.symbols is not None:
            known = e.name in sc.names or e.name in sc.globals_
            options = None if known else (*sc.names, *sc.globals_)
            t = c.type if known else None
            sc.symbols.use(Use("name", e.name, e.span, sc.declared.get(e.name), t, options=options))
        return c

    def _resolve_name(self, e: A.Name) -> CExpr:
        n = e.name
        sc = self.scope
        if sc.search_fields is not None and n in sc.search_fields:
            return self.error(e.span, f"the field '{n}' can only be compared with a value here (field {n} OP value)")
        if n in sc.names:
            return CExpr(lambda f: f.vars.get(n), sc.names[n], names=(n,))
        if n in sc.globals_:
            if n == "current_user":
                return CExpr(lambda f: f.run.user, USER, names=(n,))
            if n == "now":
                return CExpr(lambda f: V.now(), DATE)
            if n == "today":
                return CExpr(lambda f: V.today(), DATE)
            if n == "request":
                return CExpr(lambda f: f.request_value(), OBJECT)
        if n in sc.types:
            return self.error(e.span, f"'{n}' is a type, not a value")
        if n in ("this", "before"):
            return self.error(e.span, f"'{n}' is only known in privacy rules and database triggers")
        options = [*sc.names, *sc.globals_]
        return self.error(e.span, f"unknown name '{n}'{suggest(n, options)}")

    # ---- literals

    def _list_lit(self, e: A.ListLit) -> CExpr:
        items = [self.compile(i) for i in e.items]
        t: WfType = NOTHING
        for i in items:
            t = join(t, i.type)
        list_type = ListType(ANY if isinstance(t, NothingType) else t)
        return (
            combine(items, lambda *xs: list(xs), list_type, names_of(*items))
            if items
            else (CExpr(lambda f: [], list_type))
        )

    def _object_lit(self, e: A.ObjectLit) -> CExpr:
        keys: list[str] = []
        for entry in e.entries:
            if entry.key in keys:
                self.scope.error(entry.span, f"the key '{entry.key}' is given twice")
            keys.append(entry.key)
        vals = [self.compile(entry.value) for entry in e.entries]
        if not vals:
            return CExpr(lambda f: {}, OBJECT, shape=())
        whole = combine(vals, lambda *xs: dict(zip(keys, xs, strict=True)), OBJECT, names_of(*vals))
        return replace(whole, shape=tuple((k, v.type) for k, v in zip(keys, vals, strict=True)))

    # ---- operators

    def _unary(self, e: A.Unary) -> CExpr:
        if e.op == "not":
            c = self.condition(e.operand)
            return combine([c], lambda x: not V.truthy(x), BOOLEAN, c.names)
        c = self.compile(e.operand)
        if is_known(c.type) and c.type not in (NUMBER, DURATION):
            return self.error(e.span, f"cannot negate {c.type}")
        return combine([c], V.neg, c.type if is_known(c.type) else ANY, c.names)

    def _binary(self, e: A.Binary) -> CExpr:
        op = e.op
        if op in ("and", "or"):
            return self._logic(e)
        left, right = self.compile(e.left), self.compile(e.right)
        names = names_of(left, right)
        if op in ARITH:
            t = arith_type(op, left.type, right.type)
            if t is None:
                return self.error(e.span, f"cannot use {op} on {left.type} and {right.type}")
            return combine([left, right], ARITH[op], t, names)
        if op == "in":
            if is_known(right.type) and not isinstance(right.type, ListType) and right.type != TEXT:
                return self.error(e.right.span, f"`in` needs a list or a text on its right, got {right.type}")
            return combine([left, right], lambda a, b: V.contains(b, a), BOOLEAN, names)
        if not comparable(left.type, right.type):
            return self.error(e.span, f"cannot compare {left.type} {op} {right.type}")
        if op in ("<", "<=", ">", ">=") and (isinstance(left.type, ThingType | ListType) or left.type == BOOLEAN):
            return self.error(e.span, f"{left.type} values have no order; {op} needs numbers, texts or dates")
        return combine([left, right], COMPARE[op], BOOLEAN, names)

    def _logic(self, e: A.Binary) -> CExpr:
        a, b = self.condition(e.left), self.condition(e.right)
        names = names_of(a, b)
        truthy = V.truthy
        if a.is_async or b.is_async:
            fa, aa, fb, ab = a.fn, a.is_async, b.fn, b.is_async
            is_and = e.op == "and"

            async def run_async(f: Frame) -> bool:
                x = truthy(await fa(f) if aa else fa(f))
                if x != is_and:
                    return x
                return truthy(await fb(f) if ab else fb(f))

            return CExpr(run_async, BOOLEAN, True, names=names)
        fa, fb = a.fn, b.fn
        if e.op == "and":
            return CExpr(lambda f: truthy(fa(f)) and truthy(fb(f)), BOOLEAN, names=names)
        return CExpr(lambda f: truthy(fa(f)) or truthy(fb(f)), BOOLEAN, names=names)

    def _is_empty(self, e: A.IsEmpty) -> CExpr:
        c = self.compile(e.operand)
        neg = e.negated
        return combine([c], lambda v: V.is_empty(v) != neg, BOOLEAN, c.names)

    # ---- postfix

    def _field_access(self, e: A.FieldAccess) -> CExpr:
        base = self.compile(e.obj)
        name = e.name
        t = base.type
        item = t.item if isinstance(t, ListType) else None
        thing = t if isinstance(t, ThingType) else item if isinstance(item, ThingType) else None
        if thing is not None:
            if name == "password" and thing.name == "User":
                return self.error(e.span, "a user's password is never readable")
            ft = field_type(self.scope.types, thing.name, name)
            symbols = self.scope.symbols
            if symbols is not None:
                options = None if ft is not None else (*BUILTIN_FIELD_TYPES, *self.scope.types[thing.name].fields)
                symbols.use(Use("field", name, last_name_span(e.span, name), None, ft, thing.name, options))
            if ft is None:
                fields = [*BUILTIN_FIELD_TYPES, *self.scope.types[thing.name].fields]
                return self.error(e.span, f"{thing.name} has no field '{name}'{suggest(name, fields)}")
            result_t: WfType = ft if item is None else (ft if isinstance(ft, ListType) else ListType(ft))
            plain = combine([base], lambda v: V.read_field(v, name), result_t, base.names)
            if is_ref_type(ft):
                ref = ft.item if isinstance(ft, ListType) else ft
                assert isinstance(ref, ThingType)
                ref_name = ref.name

                async def load(f: Frame, v: Any) -> Any:
                    return await load_ref(f, ref_name, v)

                return then(plain, load, result_t)
            return plain
        if is_known(t) and not isinstance(t, ListType):
            return self.error(e.span, f"{t} has no fields (cannot read .{name})")
        return combine([base], lambda v: V.read_field(v, name), ANY, base.names)

    def _index(self, e: A.Index) -> CExpr:
        base, idx = self.compile(e.obj), self.compile(e.index)
        t = base.type
        if isinstance(t, ListType):
            if is_known(idx.type) and idx.type != NUMBER:
                return self.error(e.index.span, f"a list index must be a number, got {idx.type}")
            rt: WfType = t.item
        elif is_known(t) and t != TEXT:
            return self.error(e.span, f"cannot index {t}")
        else:
            rt = TEXT if t == TEXT else ANY
        return combine([base, idx], read_index, rt, names_of(base, idx))

    def _call(self, e: A.Call) -> CExpr:
        reg = self.scope.registry
        spec = reg.functions.get(e.func)
        symbols = self.scope.symbols
        if symbols is not None:
            options = None if spec is not None else tuple(reg.functions)
            symbols.use(Use("function", e.func, name_span(e.span, e.func), options=options))
        if spec is None:
            hint = suggest(e.func, list(reg.functions))
            if e.func in self.scope.names:
                hint = f" ('{e.func}' is a value, not a function)"
            return self.error(e.span, f"unknown function '{e.func}'{hint}")
        args = [self.compile(a) for a in e.args]
        kwargs: dict[str, CExpr] = {}
        self._check_args(e, spec, args)
        allowed = {p.name: p for p in spec.kwargs}
        for kw in e.kwargs:
            if symbols is not None:
                known = kw.name in allowed
                kw_t = parse_type(allowed[kw.name].type) if known else None
                options = None if known else tuple(allowed)
                symbols.use(
                    Use("argument", kw.name, name_span(kw.span, kw.name), None, kw_t, f"function {e.func}", options)
                )
            if kw.name not in allowed:
                names = ", ".join(allowed) or "none"
                self.scope.error(kw.span, f"{spec.name}() has no named argument '{kw.name}' (it takes: {names})")
            elif kw.name in kwargs:
                self.scope.error(kw.span, f"the argument '{kw.name}' is given twice")
            kwargs[kw.name] = self.compile(kw.value)
        rtype = self.result_type(spec.result, [a.type for a in args])
        impl = spec.impl
        fname = spec.name
        kw_names = list(kwargs)
        parts = [*args, *kwargs.values()]
        npos = len(args)

        def run_function(*vals: Any) -> Any:
            try:
                if kw_names:
                    return impl(*vals[:npos], **dict(zip(kw_names, vals[npos:], strict=True)))
                return impl(*vals)
            except RunError:
                raise
            except (TypeError, ValueError, ArithmeticError, KeyError, IndexError, AttributeError) as exc:
                raise FunctionError(f"{fname}: {exc}") from exc

        if not parts:
            return CExpr(lambda f: run_function(), rtype)
        return combine(parts, run_function, rtype, names_of(*parts))

    def _check_args(self, e: A.Call, spec: FunctionSpec, args: list[CExpr]) -> None:
        params = spec.params
        required = sum(1 for p in params if p.required)
        most = None if spec.variadic else len(params)
        n = len(args)
        if n < required or (most is not None and n > most):
            want = f"{required}" if most == required else f"{required} to {most}" if most else f"{required}+"
            self.scope.error(e.span, f"{spec.name}() takes {want} argument(s), got {n}")
            return
        for i, a in enumerate(args):
            p = params[min(i, len(params) - 1)] if params else None
            if p is None:
                continue
            want_t = parse_type(p.type)
            if not assignable(a.type, want_t) and not (isinstance(want_t, ListType) and isinstance(a.type, ListType)):
                self.scope.error(e.args[i].span, f"{spec.name}(): argument '{p.name}' must be {want_t}, got {a.type}")

    def result_type(self, result: ResultType, arg_types: list[WfType]) -> WfType:
        if callable(result):
            return result(arg_types)
        return parse_type(result)
