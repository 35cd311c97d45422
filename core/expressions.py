"""Expressions → typed closures (`CExpr`), compiled once per app.

Each AST node becomes a small function of the frame. A node whose subtree reads a reference
(loads a thing) or searches is async; everything else stays a plain call, so pure arithmetic and
interpolation cost a few function calls per node.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from wfkit.dsl import ast as A
from wfkit.dsl.errors import Diagnostic

from . import query as Q
from . import values as V
from .app import CExpr, CondPlan, FieldInfo, TypeInfo
from .errors import FunctionError, RunError
from .things import Thing
from .types import (
    ANY,
    BOOLEAN,
    DATE,
    DURATION,
    NOTHING,
    NUMBER,
    OBJECT,
    PRIMITIVES,
    TEXT,
    USER,
    AnyType,
    ListType,
    NothingType,
    ThingType,
    WfType,
    assignable,
    join,
    parse_type,
)

if TYPE_CHECKING:
    from wfkit.plugins.manager import Registry
    from wfkit.plugins.spec import FunctionSpec, ResultType

    from .frame import Frame

BUILTIN_FIELD_TYPES: dict[str, WfType] = {
    "id": TEXT,
    "created_at": DATE,
    "modified_at": DATE,
    "created_by": USER,
}

Fn = Callable[["Frame"], Any]


@dataclass(slots=True)
class Scope:
    """What names mean where an expression stands, and where its errors go."""

    types: dict[str, TypeInfo]
    registry: Registry
    errors: list[Diagnostic]
    names: dict[str, WfType] = field(default_factory=dict)  # frame variables and their types
    search_fields: dict[str, FieldInfo] | None = None  # inside `where`: the searched type's fields
    globals_: frozenset[str] = frozenset({"current_user", "now", "today", "request"})

    def error(self, span: A.Span, message: str) -> None:
        self.errors.append(Diagnostic(span, message))

    def child(self, **changes: Any) -> Scope:
        s = Scope(self.types, self.registry, self.errors, dict(self.names), self.search_fields, self.globals_)
        for k, v in changes.items():
            setattr(s, k, v)
        return s


def suggest(name: str, options: Sequence[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def const(value: Any, type_: WfType) -> CExpr:
    return CExpr(lambda f: value, type_, const=True)


BROKEN = CExpr(lambda f: None, ANY)  # stands in for an expression with an error; never run


def field_type(types: dict[str, TypeInfo], type_name: str, name: str) -> WfType | None:
    if name in BUILTIN_FIELD_TYPES:
        return BUILTIN_FIELD_TYPES[name]
    info = types.get(type_name)
    if info is None or name not in info.fields:
        return None
    return info.fields[name].type


def is_ref_type(t: WfType) -> bool:
    return isinstance(t, ThingType) or (isinstance(t, ListType) and isinstance(t.item, ThingType))


# --------------------------------------------------------------------------- run-time helpers


async def load_ref(f: Frame, type_name: str, value: Any) -> Any:
    """A reference's value: a thing (loaded through the store under the run's privacy)."""
    if value is None or isinstance(value, Thing):
        return value
    if isinstance(value, list):
        return [await load_ref(f, type_name, v) for v in value]
    store = f.services.store
    if store is None:
        raise RunError(f"cannot read a {type_name}: no data store is configured")
    return await store.get(type_name, str(value), f.run)


def read_index(v: Any, i: Any) -> Any:
    """`[i]`: a list item (from 0; negative from the end) or an object's key; empty when absent."""
    if v is None or i is None:
        return None
    if isinstance(v, list | str):
        if isinstance(i, bool) or not isinstance(i, int | float) or int(i) != i:
            raise RunError(f"a list index must be a whole number, got {V.text(i)!r}")
        try:
            return v[int(i)]
        except IndexError:
            return None
    if isinstance(v, dict):
        return v.get(i if isinstance(i, str) else V.text(i))
    raise RunError(f"cannot index {V.type_name(v)}")


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


# --------------------------------------------------------------------------- operators

ARITH = {"+": V.add, "-": V.sub, "*": V.mul, "/": V.div, "%": V.mod}
COMPARE = {"==": V.eq, "!=": V.ne, "<": V.lt, "<=": V.le, ">": V.gt, ">=": V.ge}
FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _known(t: WfType) -> bool:
    return not isinstance(t, AnyType | NothingType) and t != OBJECT


def arith_type(op: str, a: WfType, b: WfType) -> WfType | None:
    """The result type of `a op b`, ANY when unknown, None when it can never work."""
    if not (_known(a) and _known(b)):
        if op == "+" and TEXT in (a, b):
            return TEXT
        if op in "+-" and DATE in (a, b) and DURATION in (a, b):
            return DATE
        return ANY
    if a == NUMBER and b == NUMBER:
        return NUMBER
    if op == "+":
        if TEXT in (a, b):
            return TEXT
        if isinstance(a, ListType):
            return join(a, b) if isinstance(b, ListType) else a
        if {a, b} == {DATE, DURATION}:
            return DATE
        if a == DURATION and b == DURATION:
            return DURATION
    if op == "-":
        if a == DATE and b == DURATION:
            return DATE
        if a == DATE and b == DATE:
            return DURATION
        if a == DURATION and b == DURATION:
            return DURATION
        if isinstance(a, ListType):
            return a
    if op == "*" and {a, b} == {DURATION, NUMBER}:
        return DURATION
    if op == "/" and a == DURATION and b == NUMBER:
        return DURATION
    if op == "/" and a == DURATION and b == DURATION:
        return NUMBER
    return None


def comparable(a: WfType, b: WfType) -> bool:
    if not (_known(a) and _known(b)):
        return True
    if isinstance(a, ThingType) and isinstance(b, ThingType):
        return a == b
    if isinstance(a, ThingType) or isinstance(b, ThingType):
        return TEXT in (a, b)  # a thing compares with its id
    return assignable(a, b) or assignable(b, a)


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
        method = getattr(self, "_" + type(e).__name__, None)
        if method is None:  # pragma: no cover - every AST node has a method
            return self.error(e.span, f"cannot compile {type(e).__name__}")
        result: CExpr = method(e)
        return result

    def condition(self, e: A.Expr, what: str = "condition") -> CExpr:
        """An expression used as yes/no (`if`, `when`, `and`): a boolean, or something unknown."""
        c = self.compile(e)
        if _known(c.type) and c.type != BOOLEAN:
            self.scope.error(
                e.span,
                f"a {what} must be a boolean, got {c.type}"
                + (" (use `is empty` or `is not empty` to test a value)" if c.type != NUMBER else ""),
            )
        return c

    # ---- leaves

    def _Literal(self, e: A.Literal) -> CExpr:
        v = e.value
        if v is None:
            return const(None, NOTHING)
        if isinstance(v, bool):
            return const(v, BOOLEAN)
        if isinstance(v, int | float):
            return const(v, NUMBER)
        return const(v, TEXT)

    def _DurationLit(self, e: A.DurationLit) -> CExpr:
        if e.unit == "month":
            return self.error(e.span, "months are only a unit of `every` triggers; use days or weeks")
        return const(timedelta(seconds=e.amount * V.UNIT_SECONDS[e.unit]), DURATION)

    def _Interpolated(self, e: A.Interpolated) -> CExpr:
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

    def _Name(self, e: A.Name) -> CExpr:
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

    def _ListLit(self, e: A.ListLit) -> CExpr:
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

    def _ObjectLit(self, e: A.ObjectLit) -> CExpr:
        keys: list[str] = []
        for entry in e.entries:
            if entry.key in keys:
                self.scope.error(entry.span, f"the key '{entry.key}' is given twice")
            keys.append(entry.key)
        vals = [self.compile(entry.value) for entry in e.entries]
        if not vals:
            return CExpr(lambda f: {}, OBJECT)
        return combine(vals, lambda *xs: dict(zip(keys, xs, strict=True)), OBJECT, names_of(*vals))

    # ---- operators

    def _Unary(self, e: A.Unary) -> CExpr:
        if e.op == "not":
            c = self.condition(e.operand)
            return combine([c], lambda x: not V.truthy(x), BOOLEAN, c.names)
        c = self.compile(e.operand)
        if _known(c.type) and c.type not in (NUMBER, DURATION):
            return self.error(e.span, f"cannot negate {c.type}")
        return combine([c], V.neg, c.type if _known(c.type) else ANY, c.names)

    def _Binary(self, e: A.Binary) -> CExpr:
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
            if _known(right.type) and not isinstance(right.type, ListType) and right.type != TEXT:
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

    def _IsEmpty(self, e: A.IsEmpty) -> CExpr:
        c = self.compile(e.operand)
        neg = e.negated
        return combine([c], lambda v: V.is_empty(v) != neg, BOOLEAN, c.names)

    # ---- postfix

    def _FieldAccess(self, e: A.FieldAccess) -> CExpr:
        base = self.compile(e.obj)
        name = e.name
        t = base.type
        item = t.item if isinstance(t, ListType) else None
        thing = t if isinstance(t, ThingType) else item if isinstance(item, ThingType) else None
        if thing is not None:
            if name == "password" and thing.name == "User":
                return self.error(e.span, "a user's password is never readable")
            ft = field_type(self.scope.types, thing.name, name)
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
        if _known(t) and not isinstance(t, ListType):
            return self.error(e.span, f"{t} has no fields (cannot read .{name})")
        return combine([base], lambda v: V.read_field(v, name), ANY, base.names)

    def _Index(self, e: A.Index) -> CExpr:
        base, idx = self.compile(e.obj), self.compile(e.index)
        t = base.type
        if isinstance(t, ListType):
            if _known(idx.type) and idx.type != NUMBER:
                return self.error(e.index.span, f"a list index must be a number, got {idx.type}")
            rt: WfType = t.item
        elif _known(t) and t != TEXT:
            return self.error(e.span, f"cannot index {t}")
        else:
            rt = TEXT if t == TEXT else ANY
        return combine([base, idx], read_index, rt, names_of(base, idx))

    def _Call(self, e: A.Call) -> CExpr:
        reg = self.scope.registry
        spec = reg.functions.get(e.func)
        if spec is None:
            hint = suggest(e.func, list(reg.functions))
            if e.func in self.scope.names:
                hint = f" ('{e.func}' is a value, not a function)"
            return self.error(e.span, f"unknown function '{e.func}'{hint}")
        args = [self.compile(a) for a in e.args]
        kwargs: dict[str, CExpr] = {}
        self._check_call(e, spec, args)
        allowed = {p.name: p for p in spec.kwargs}
        for kw in e.kwargs:
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

        def call(*vals: Any) -> Any:
            try:
                if kw_names:
                    return impl(*vals[:npos], **dict(zip(kw_names, vals[npos:], strict=True)))
                return impl(*vals)
            except RunError:
                raise
            except (TypeError, ValueError, ArithmeticError, KeyError, IndexError, AttributeError) as exc:
                raise FunctionError(f"{fname}: {exc}") from exc

        if not parts:
            return CExpr(lambda f: call(), rtype)
        return combine(parts, call, rtype, names_of(*parts))

    def _check_call(self, e: A.Call, spec: FunctionSpec, args: list[CExpr]) -> None:
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

    # ---- search

    def _Search(self, e: A.Search) -> CExpr:
        sc = self.scope
        info = sc.types.get(e.type_name)
        if info is None:
            return self.error(
                e.type_span or e.span, f"unknown type '{e.type_name}'{suggest(e.type_name, list(sc.types))}"
            )
        fields = {**{n: FieldInfo(n, t) for n, t in BUILTIN_FIELD_TYPES.items()}, **info.fields}
        plan: CondPlan | None = None
        if e.where is not None:
            clash = sorted(set(fields) & set(sc.names) & names_in(e.where))
            if clash:
                sc.error(
                    e.where.span,
                    f"'{clash[0]}' is both a field of {info.name} and a name in this workflow; "
                    f"rename the {clash[0]} binding or parameter",
                )
            inner = sc.child(search_fields=fields)
            plan = CondCompiler(
                self.at(inner),
                lambda x: x.name if isinstance(x, A.Name) and x.name in fields else None,
                fields,
            ).compile(e.where)
        if e.order_by is not None and e.order_by not in fields:
            sc.error(
                e.span,
                f"{info.name} has no field '{e.order_by}' to order by{suggest(e.order_by, list(fields))}",
            )
        order_t = fields[e.order_by].type if e.order_by in fields else None
        if order_t is not None and isinstance(order_t, ListType | ThingType):
            sc.error(e.span, f"cannot order by '{e.order_by}': {order_t} values have no order")
        limit = self.compile(e.limit) if e.limit is not None else None
        if limit is not None and _known(limit.type) and limit.type != NUMBER:
            sc.error(e.limit.span if e.limit else e.span, f"limit must be a number, got {limit.type}")
        type_name, order_by, desc = info.name, e.order_by, e.descending

        async def run(f: Frame) -> Any:
            cond: Q.Cond = Q.TRUE
            if plan is not None:
                cond = await plan.build(f) if plan.is_async else plan.build(f)
            n = None
            if limit is not None:
                raw = await limit.fn(f) if limit.is_async else limit.fn(f)
                if raw is not None:
                    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
                        raise RunError(f"limit must be a number of at least 0, got {V.text(raw)!r}")
                    n = int(raw)
            store = f.services.store
            if store is None:
                raise RunError(f"cannot search {type_name}: no data store is configured")
            return await store.search(
                type_name, Q.simplify(cond), order_by=order_by, descending=desc, limit=n, run=f.run
            )

        return CExpr(run, ListType(ThingType(type_name)), True)


class CondCompiler:
    """A condition on one thing's fields → a `CondPlan` (for `where` and privacy rules).

    `field_of(expr)` names the field an expression stands for (`amount` in a `where`,
    `this.amount` in a rule), or None when it is a value."""

    def __init__(self, values: ExprCompiler, field_of: Callable[[A.Expr], str | None], fields: dict[str, FieldInfo]):
        self.values = values
        self.field_of = field_of
        self.fields = fields

    def error(self, span: A.Span, message: str) -> CondPlan:
        self.values.scope.error(span, message)
        return CondPlan(lambda f: Q.TRUE)

    def _mentions_field(self, e: A.Expr) -> bool:
        if self.field_of(e) is not None:
            return True
        for name in getattr(e, "__dataclass_fields__", {}):
            child = getattr(e, name)
            kids = child if isinstance(child, tuple) else (child,)
            for k in kids:
                if isinstance(k, A.Expr) and not isinstance(k, A.Search) and self._mentions_field(k):
                    return True
                if isinstance(k, A.Arg | A.ObjectEntry) and self._mentions_field(k.value):
                    return True
        return False

    def compile(self, e: A.Expr) -> CondPlan:
        if isinstance(e, A.Binary) and e.op in ("and", "or"):
            parts = [self.compile(e.left), self.compile(e.right)]
            ctor = Q.And if e.op == "and" else Q.Or
            return self._combine(parts, lambda *cs: ctor(tuple(cs)))
        if isinstance(e, A.Unary) and e.op == "not":
            inner = self.compile(e.operand)
            return self._combine([inner], Q.Not)
        if not self._mentions_field(e):
            c = self.values.condition(e)
            return self._value(c, lambda v: Q.Const(V.truthy(v)))
        field = self.field_of(e)
        if field is not None:  # a boolean field alone: `where paid`
            t = self.field_type(field)
            if _known(t) and t != BOOLEAN:
                return self.error(e.span, f"the field '{field}' is {t}, not a condition; compare it with a value")
            return CondPlan(lambda f: Q.Cmp(field, "==", True))
        if isinstance(e, A.IsEmpty):
            fe = self.field_of(e.operand)
            if fe is None:
                return self.error(e.span, "`is empty` in a search condition must test a field")
            neg = e.negated
            return CondPlan(lambda f: Q.Empty(fe, neg))
        if isinstance(e, A.Binary) and (e.op in COMPARE or e.op == "in"):
            lf, rf = self.field_of(e.left), self.field_of(e.right)
            if lf is not None and rf is not None:
                return self.error(e.span, "a search condition compares a field with a value, not two fields")
            if lf is None and rf is None:
                return self.error(e.span, "a field may only stand alone on one side of a comparison here")
            fname = lf if lf is not None else rf
            assert fname is not None
            other = e.right if lf is not None else e.left
            if self._mentions_field(other):
                return self.error(other.span, "a field may only stand alone on one side of a comparison here")
            value = self.values.compile(other)
            ft = self.field_type(fname)
            op: str = e.op
            if op == "in":
                if lf is not None:  # field in LIST
                    if _known(value.type) and not isinstance(value.type, ListType):
                        return self.error(other.span, f"`in` needs a list on its right, got {value.type}")
                else:  # value in list-field
                    if _known(ft) and not isinstance(ft, ListType) and ft != TEXT:
                        return self.error(e.span, f"the field '{fname}' is {ft}, not a list")
                    op = "contains"
            else:
                if not comparable(ft, value.type):
                    return self.error(e.span, f"cannot compare the field '{fname}' ({ft}) with {value.type}")
                if rf is not None:
                    op = FLIP[op]
            final_op = op
            return self._value(value, lambda v: Q.Cmp(fname, final_op, v))
        return self.error(e.span, "a search condition must compare fields with values (field OP value)")

    def field_type(self, name: str) -> WfType:
        info = self.fields.get(name)
        return info.type if info is not None else ANY  # an unknown field was reported where it was named

    def _value(self, c: CExpr, make: Callable[[Any], Q.Cond]) -> CondPlan:
        fn = c.fn
        if c.is_async:

            async def run(f: Frame) -> Q.Cond:
                return make(await fn(f))

            return CondPlan(run, True)
        return CondPlan(lambda f: make(fn(f)))

    def _combine(self, parts: list[CondPlan], make: Callable[..., Q.Cond]) -> CondPlan:
        if any(p.is_async for p in parts):

            async def run(f: Frame) -> Q.Cond:
                return make(*[await p.build(f) if p.is_async else p.build(f) for p in parts])

            return CondPlan(run, True)
        builds = [p.build for p in parts]
        return CondPlan(lambda f: make(*[b(f) for b in builds]))


def names_in(e: A.Node) -> set[str]:
    """Every bare name an expression mentions (not field names after a dot)."""
    if isinstance(e, A.Name):
        return {e.name}
    found: set[str] = set()
    for name in getattr(e, "__dataclass_fields__", {}):
        child = getattr(e, name)
        for k in child if isinstance(child, tuple) else (child,):
            if isinstance(k, A.Expr | A.Arg | A.ObjectEntry):
                found |= names_in(k)
    return found


def type_from_ref(ref: A.TypeRef, types: dict[str, TypeInfo], errors: list[Diagnostic]) -> WfType:
    """A written type (`list of Order?`) as a WfType, reporting an unknown type name."""
    if ref.name == "list":
        assert ref.item is not None
        return ListType(type_from_ref(ref.item, types, errors))
    if ref.name in ("text", "number", "boolean", "date", "duration", "object"):
        return parse_type(ref.name)
    if ref.name in types:
        return ThingType(ref.name)
    errors.append(
        Diagnostic(
            ref.span,
            f"unknown type '{ref.name}'{suggest(ref.name, [*types, *PRIMITIVES])}",
        )
    )
    return ANY
