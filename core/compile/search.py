"""Search conditions → the condition tree (`query.Cond`) the store turns into SQL: the `where` of a
`search` expression and the conditions of privacy rules, both compiled to a `CondPlan`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from wfkit.dsl import ast as A

from .. import query as Q
from .. import values as V
from ..app import CExpr, CondPlan, FieldInfo
from ..errors import RunError
from ..symbols import Use
from ..types import ANY, BOOLEAN, NUMBER, TEXT, ListType, ThingType, WfType
from .operators import COMPARE, FLIP, comparable
from .scope import all_fields, is_known, suggest

if TYPE_CHECKING:
    from ..frame import Frame
    from .expressions import ExprCompiler


SEARCH_LIMIT_CAP = 2**62  # past it SQL's LIMIT overflows; no search finds that many things anyway


def compile_search(values: ExprCompiler, e: A.Search) -> CExpr:
    """`search T where … order by … limit …`: an async expression whose value is a list of T."""
    sc = values.scope
    info = sc.types.get(e.type_name)
    if sc.symbols is not None:
        options = None if info is not None else tuple(sc.types)
        t = ThingType(info.name) if info is not None else None
        sc.symbols.use(Use("type", e.type_name, e.type_span or e.span, type=t, options=options))
    if info is None:
        return values.error(
            e.type_span or e.span, f"unknown type '{e.type_name}'{suggest(e.type_name, list(sc.types))}"
        )
    sc.searched.append((info.name, e.span))
    fields = all_fields(info)
    if sc.symbols is not None:
        if e.where is not None:
            for name in field_names_in(e.where, fields):
                sc.symbols.use(Use("field", name.name, name.span, type=fields[name.name].type, owner=info.name))
        if e.order_by is not None:
            known = fields.get(e.order_by)
            sc.symbols.use(
                Use(
                    "field",
                    e.order_by,
                    e.order_span or e.span,
                    type=known.type if known else None,
                    owner=info.name,
                    options=None if known else tuple(fields),
                )
            )
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
            values.at(inner),
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
    limit = values.compile(e.limit) if e.limit is not None else None
    if limit is not None and is_known(limit.type) and limit.type != NUMBER:
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
                n = int(min(raw, SEARCH_LIMIT_CAP))
        store = f.services.store
        if store is None:
            raise RunError(f"cannot search {type_name}: no data store is configured")
        return await store.search(type_name, Q.simplify(cond), order_by=order_by, descending=desc, limit=n, run=f.run)

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
        for k in sub_nodes(e):
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
            if is_known(t) and t != BOOLEAN:
                return self.error(e.span, f"the field '{field}' is {t}, not a condition; compare it with a value")
            return CondPlan(lambda f: Q.Cmp(field, "==", True))
        if isinstance(e, A.IsEmpty):
            fe = self.field_of(e.operand)
            if fe is None:
                return self.error(e.span, "`is empty` in a search condition must test a field")
            neg = e.negated
            return CondPlan(lambda f: Q.Empty(fe, neg))
        if isinstance(e, A.Binary) and (e.op in COMPARE or e.op == "in"):
            return self._comparison(e)
        return self.error(e.span, "a search condition must compare fields with values (field OP value)")

    def _comparison(self, e: A.Binary) -> CondPlan:
        """`field OP value`, `value OP field`, `field in LIST`, `value in list-field`."""
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
                if is_known(value.type) and not isinstance(value.type, ListType):
                    return self.error(other.span, f"`in` needs a list on its right, got {value.type}")
            else:  # value in list-field
                if is_known(ft) and not isinstance(ft, ListType) and ft != TEXT:
                    return self.error(e.span, f"the field '{fname}' is {ft}, not a list")
                op = "contains"
        else:
            if not comparable(ft, value.type):
                return self.error(e.span, f"cannot compare the field '{fname}' ({ft}) with {value.type}")
            if rf is not None:
                op = FLIP[op]
        final_op = op
        return self._value(value, lambda v: Q.Cmp(fname, final_op, v))

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


def field_names_in(e: A.Node, fields: dict[str, FieldInfo]) -> Iterator[A.Name]:
    """The names in a `where` that stand for the searched type's fields (not inside a nested search)."""
    if isinstance(e, A.Name):
        if e.name in fields:
            yield e
        return
    if isinstance(e, A.Search):
        return
    for k in sub_nodes(e):
        if isinstance(k, A.Node):
            yield from field_names_in(k, fields)


def names_in(e: A.Node) -> set[str]:
    """Every bare name an expression mentions (not field names after a dot)."""
    if isinstance(e, A.Name):
        return {e.name}
    found: set[str] = set()
    for k in sub_nodes(e):
        if isinstance(k, A.Expr | A.Arg | A.ObjectEntry):
            found |= names_in(k)
    return found


def sub_nodes(e: A.Node) -> Iterator[object]:
    """A node's children: each field's value, and each item of a tuple field (callers pick the nodes)."""
    for name in getattr(e, "__dataclass_fields__", {}):
        child = getattr(e, name)
        yield from child if isinstance(child, tuple) else (child,)
