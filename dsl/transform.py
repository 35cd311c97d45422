"""Parse tree → AST (`ast.py`), with a span on every node.

One `Builder` turns one declaration (or one `{expr}` of a string, shifted to where it stands in
the file). Problems found here — bad escapes, interpolations that do not parse, named arguments
before positional ones — are collected in `problems`; the parser drops a declaration that has any.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, cast

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from . import ast
from .strings import Hole, decode

T = TypeVar("T")

# The parser module installs this: (source, file, line, column) -> (expression, problems).
ParseHole = Callable[[str, str, int, int], tuple[ast.Expr | None, list[tuple[str, ast.Span]]]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Args:
    """An argument list `( … )`; a marker so `action` can tell it from a target."""

    items: tuple[ast.Arg, ...]


def _singular(unit: str) -> Any:
    return unit[:-1] if unit.endswith("s") else unit


def _number(tok: Token) -> int | float:
    s = tok.value.replace("_", "")
    return float(s) if "." in s else int(s)


@v_args(meta=True)
class Builder(Transformer[Token, Any]):
    def __init__(self, file: str, parse_hole: ParseHole, line_shift: int = 0, column_shift: int = 0):
        super().__init__()
        self.file = file
        self.parse_hole = parse_hole
        self.line_shift = line_shift
        self.column_shift = column_shift  # applies to line 1 only: holes never span lines
        self.problems: list[tuple[str, ast.Span]] = []

    # ------------------------------------------------------------------ positions

    def span(self, meta: Meta | Token) -> ast.Span:
        line, col, end_line, end_col = meta.line, meta.column, meta.end_line, meta.end_column
        assert line is not None and col is not None and end_line is not None and end_col is not None
        if self.column_shift:
            if line == 1:
                col += self.column_shift
            if end_line == 1:
                end_col += self.column_shift
        return ast.Span(self.file, line + self.line_shift, col, end_line + self.line_shift, end_col)

    def problem(self, message: str, where: ast.Span) -> None:
        self.problems.append((message, where))

    # ------------------------------------------------------------------ declarations

    def decl(self, meta: Meta, c: list[Any]) -> ast.Decl:
        return cast(ast.Decl, c[0])

    def type_decl(self, meta: Meta, c: list[Any]) -> ast.TypeDecl:
        return ast.TypeDecl(span=self.span(meta), name=c[0].value, fields=tuple(c[1:]))

    def field_decl(self, meta: Meta, c: list[Any]) -> ast.FieldDecl:
        default = c[2] if len(c) > 2 else None
        return ast.FieldDecl(span=self.span(meta), name=c[0].value, type=c[1], default=default)

    def type_ref(self, meta: Meta, c: list[Any]) -> ast.TypeRef:
        base: ast.TypeRef = c[0]
        return dataclasses.replace(base, span=self.span(meta), optional=len(c) > 1)

    def named_type(self, meta: Meta, c: list[Token]) -> ast.TypeRef:
        return ast.TypeRef(span=self.span(meta), name=c[0].value)

    def list_type(self, meta: Meta, c: list[Any]) -> ast.TypeRef:
        return ast.TypeRef(span=self.span(meta), name="list", item=c[0])

    def privacy_decl(self, meta: Meta, c: list[Any]) -> ast.PrivacyDecl:
        return ast.PrivacyDecl(span=self.span(meta), type_name=c[0].value, rules=tuple(c[1:]))

    def privacy_rule(self, meta: Meta, c: list[Any]) -> ast.PrivacyRule:
        return ast.PrivacyRule(span=self.span(meta), name=c[0].value, cond=c[1], grants=c[2])

    def everyone(self, meta: Meta, c: list[Any]) -> ast.PrivacyRule:
        return ast.PrivacyRule(span=self.span(meta), name="everyone", cond=None, grants=c[0])

    def grant_block(self, meta: Meta, c: list[ast.Grant]) -> tuple[ast.Grant, ...]:
        return tuple(c)

    def grant_view_all(self, meta: Meta, c: list[Any]) -> ast.Grant:
        return ast.Grant(span=self.span(meta), kind="view_all")

    def grant_view(self, meta: Meta, c: list[Token]) -> ast.Grant:
        return ast.Grant(span=self.span(meta), kind="view", fields=tuple(t.value for t in c))

    def grant_search(self, meta: Meta, c: list[Any]) -> ast.Grant:
        return ast.Grant(span=self.span(meta), kind="search")

    def grant_change(self, meta: Meta, c: list[Any]) -> ast.Grant:
        return ast.Grant(span=self.span(meta), kind="change")

    def grant_delete(self, meta: Meta, c: list[Any]) -> ast.Grant:
        return ast.Grant(span=self.span(meta), kind="delete")

    def workflow_decl(self, meta: Meta, c: list[Any]) -> ast.WorkflowDecl:
        decorators = tuple(x for x in c if isinstance(x, ast.Decorator))
        name: Token = c[len(decorators)]
        rest = c[len(decorators) + 1 :]
        params: tuple[ast.Param, ...] = rest[0] if len(rest) > 1 else ()
        return ast.WorkflowDecl(
            span=self.span(meta),
            name=name.value,
            params=params,
            body=rest[-1],
            decorators=decorators,
            name_span=self.span(name),
        )

    def params(self, meta: Meta, c: list[ast.Param | None]) -> tuple[ast.Param, ...]:
        return tuple(p for p in c if p is not None)

    def param(self, meta: Meta, c: list[Any]) -> ast.Param:
        default = c[2] if len(c) > 2 else None
        return ast.Param(span=self.span(meta), name=c[0].value, type=c[1], default=default)

    def decorator(self, meta: Meta, c: list[Any]) -> ast.Decorator:
        args: tuple[ast.DecoratorArg, ...] = c[1] if len(c) > 1 else ()
        return ast.Decorator(span=self.span(meta), name=c[0].value[1:], args=args, has_parens=len(c) > 1)

    def dec_args(self, meta: Meta, c: list[ast.DecoratorArg | None]) -> tuple[ast.DecoratorArg, ...]:
        return tuple(a for a in c if a is not None)

    def dec_named(self, meta: Meta, c: list[Any]) -> ast.DecoratorArg:
        return ast.DecoratorArg(span=self.span(meta), name=c[0].value, value=c[1])

    def dec_positional(self, meta: Meta, c: list[Any]) -> ast.DecoratorArg:
        return ast.DecoratorArg(span=self.span(meta), name=None, value=c[0])

    def rate(self, meta: Meta, c: list[Any]) -> ast.Rate:
        return ast.Rate(span=self.span(meta), count=_number(c[0]), unit=c[1])

    # ------------------------------------------------------------------ triggers

    def every_trigger(self, meta: Meta, c: list[Any]) -> ast.EveryTrigger:
        at = c[2] if len(c) > 3 else None
        at_text: str | None = None
        if at is not None:
            value = self._plain_string(at, "the time of an 'every' trigger")
            at_text = value
        return ast.EveryTrigger(
            span=self.span(meta),
            amount=_number(c[0]),
            unit=c[1],
            at=at_text,
            run=c[-1],
            at_span=self.span(at) if at is not None else None,
        )

    def db_trigger(self, meta: Meta, c: list[Any]) -> ast.DbTrigger:
        cond = c[2] if len(c) > 3 else None
        return ast.DbTrigger(span=self.span(meta), event=c[0], type_name=c[1].value, cond=cond, run=c[-1])

    def wf_ref(self, meta: Meta, c: list[Any]) -> ast.WorkflowRef:
        args: tuple[ast.Arg, ...] = c[1].items if len(c) > 1 else ()
        return ast.WorkflowRef(span=self.span(meta), workflow=c[0].value, args=args)

    # ------------------------------------------------------------------ statements

    def block(self, meta: Meta, c: list[ast.Stmt]) -> tuple[ast.Stmt, ...]:
        return tuple(c)

    def with_when(self, meta: Meta, c: list[Any]) -> ast.SimpleStmt:
        stmt: ast.SimpleStmt = c[0]
        return dataclasses.replace(stmt, span=self.span(meta), when=c[1])

    def bind_stmt(self, meta: Meta, c: list[Any]) -> ast.SimpleStmt:
        stmt: ast.Action | ast.Schedule | ast.CallWorkflow = c[1]
        return dataclasses.replace(stmt, span=self.span(meta), bind=c[0].value)

    def action(self, meta: Meta, c: list[Any]) -> ast.Action:
        verb: str = c[0]
        target = next((x for x in c[1:] if isinstance(x, ast.Expr)), None)
        args = next((x for x in c[1:] if isinstance(x, _Args)), None)
        return ast.Action(
            span=self.span(meta),
            verb=verb,
            target=target,
            args=args.items if args else (),
            has_parens=args is not None,
        )

    def verb(self, meta: Meta, c: list[Token]) -> str:
        return ".".join(t.value for t in c)

    def args(self, meta: Meta, c: list[ast.Arg | None]) -> _Args:
        return _Args(tuple(a for a in c if a is not None))

    def arg(self, meta: Meta, c: list[Any]) -> ast.Arg:
        return ast.Arg(span=self.span(meta), name=c[0].value, value=c[1])

    def schedule(self, meta: Meta, c: list[Any]) -> ast.Schedule:
        name: Token = c[0]
        fields: dict[str, Any] = {}
        for x in c[1:]:
            if isinstance(x, _Args):
                fields["args"] = x.items
            else:
                fields.update(x)
        return ast.Schedule(span=self.span(meta), workflow=name.value, workflow_span=self.span(name), **fields)

    def sched_at(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return {"at": c[0]}

    def sched_in(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return {"in_": c[0]}

    def sched_every(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return {"every": c[0]}

    def sched_each(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {"each_var": c[0].value, "each_list": c[1]}
        for x in c[2:]:
            fields.update(x)
        return fields

    def call_wf(self, meta: Meta, c: list[Any]) -> ast.CallWorkflow:
        name: Token = c[0]
        args: tuple[ast.Arg, ...] = c[1].items if len(c) > 1 else ()
        return ast.CallWorkflow(span=self.span(meta), workflow=name.value, args=args, workflow_span=self.span(name))

    def cancel(self, meta: Meta, c: list[Any]) -> ast.Cancel:
        return ast.Cancel(span=self.span(meta), target=c[0])

    def return_stmt(self, meta: Meta, c: list[Any]) -> ast.Return:
        return ast.Return(span=self.span(meta), value=c[0] if c else None)

    def terminate(self, meta: Meta, c: list[Any]) -> ast.Terminate:
        return ast.Terminate(span=self.span(meta))

    def fail(self, meta: Meta, c: list[Any]) -> ast.Fail:
        return ast.Fail(span=self.span(meta), message=c[0])

    def let_stmt(self, meta: Meta, c: list[Any]) -> ast.Let:
        return ast.Let(span=self.span(meta), name=c[0].value, value=c[1])

    def if_stmt(self, meta: Meta, c: list[Any]) -> ast.If:
        pairs = len(c) // 2
        branches = tuple(self._branch(c[2 * i], c[2 * i + 1]) for i in range(pairs))
        return ast.If(span=self.span(meta), branches=branches, else_body=c[-1] if len(c) % 2 else None)

    def _branch(self, cond: ast.Expr, body: tuple[ast.Stmt, ...]) -> ast.Branch:
        end = body[-1].span if body else cond.span
        span = dataclasses.replace(cond.span, end_line=end.end_line, end_column=end.end_column)
        return ast.Branch(span=span, cond=cond, body=body)

    def for_stmt(self, meta: Meta, c: list[Any]) -> ast.ForEach:
        return ast.ForEach(span=self.span(meta), var=c[0].value, iterable=c[1], body=c[2])

    # ------------------------------------------------------------------ expressions

    def search(self, meta: Meta, c: list[Any]) -> ast.Search:
        name: Token = c[0]
        fields: dict[str, Any] = {}
        for x in c[1:]:
            fields.update(x)
        return ast.Search(span=self.span(meta), type_name=name.value, type_span=self.span(name), **fields)

    def search_where(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return {"where": c[0]}

    def search_order(self, meta: Meta, c: list[Token]) -> dict[str, Any]:
        return {"order_by": c[0].value, "descending": len(c) > 1}

    def search_limit(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return {"limit": c[0]}

    def or_op(self, meta: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(span=self.span(meta), op="or", left=c[0], right=c[1])

    def and_op(self, meta: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(span=self.span(meta), op="and", left=c[0], right=c[1])

    def not_op(self, meta: Meta, c: list[Any]) -> ast.Unary:
        return ast.Unary(span=self.span(meta), op="not", operand=c[0])

    def compare(self, meta: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(span=self.span(meta), op=c[1], left=c[0], right=c[2])

    binary = compare

    def in_op(self, meta: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(span=self.span(meta), op="in", left=c[0], right=c[1])

    def is_empty(self, meta: Meta, c: list[Any]) -> ast.IsEmpty:
        return ast.IsEmpty(span=self.span(meta), operand=c[0], negated=False)

    def is_not_empty(self, meta: Meta, c: list[Any]) -> ast.IsEmpty:
        return ast.IsEmpty(span=self.span(meta), operand=c[0], negated=True)

    def neg(self, meta: Meta, c: list[Any]) -> ast.Unary:
        return ast.Unary(span=self.span(meta), op="-", operand=c[0])

    def field(self, meta: Meta, c: list[Any]) -> ast.FieldAccess:
        return ast.FieldAccess(span=self.span(meta), obj=c[0], name=c[1].value)

    def index(self, meta: Meta, c: list[Any]) -> ast.Index:
        return ast.Index(span=self.span(meta), obj=c[0], index=c[1])

    def name(self, meta: Meta, c: list[Token]) -> ast.Name:
        return ast.Name(span=self.span(meta), name=c[0].value)

    def call(self, meta: Meta, c: list[Any]) -> ast.Call:
        args: list[ast.Expr] = []
        kwargs: list[ast.Arg] = []
        for a in c[1:]:
            if isinstance(a, ast.Arg):
                kwargs.append(a)
            elif a is not None:
                if kwargs:
                    self.problem("a positional argument cannot follow a named one", a.span)
                args.append(a)
        return ast.Call(span=self.span(meta), func=c[0].value, args=tuple(args), kwargs=tuple(kwargs))

    def number(self, meta: Meta, c: list[Token]) -> ast.Literal:
        return ast.Literal(span=self.span(meta), value=_number(c[0]))

    def duration(self, meta: Meta, c: list[Any]) -> ast.DurationLit:
        return ast.DurationLit(span=self.span(meta), amount=_number(c[0]), unit=c[1])

    def true(self, meta: Meta, c: list[Any]) -> ast.Literal:
        return ast.Literal(span=self.span(meta), value=True)

    def false(self, meta: Meta, c: list[Any]) -> ast.Literal:
        return ast.Literal(span=self.span(meta), value=False)

    def empty(self, meta: Meta, c: list[Any]) -> ast.Literal:
        return ast.Literal(span=self.span(meta), value=None)

    def list_lit(self, meta: Meta, c: list[ast.Expr | None]) -> ast.ListLit:
        return ast.ListLit(span=self.span(meta), items=tuple(x for x in c if x is not None))

    def object_lit(self, meta: Meta, c: list[ast.ObjectEntry | None]) -> ast.ObjectLit:
        entries = tuple(x for x in c if x is not None)
        seen: set[str] = set()
        for e in entries:
            if e.key in seen:
                self.problem(f"key '{e.key}' appears twice in this object", e.span)
            seen.add(e.key)
        return ast.ObjectLit(span=self.span(meta), entries=entries)

    def obj_entry(self, meta: Meta, c: list[Any]) -> ast.ObjectEntry:
        key: Token = c[0]
        name = key.value if key.type == "NAME" else self._plain_string(key, "an object key")
        return ast.ObjectEntry(span=self.span(meta), key=name, value=c[1])

    # `!`-rules keep their one token; these give back its text (units made singular)
    def compare_op(self, meta: Meta, c: list[Token]) -> str:
        return str(c[0].value)

    add_op = mul_op = db_event = compare_op

    def time_unit(self, meta: Meta, c: list[Token]) -> str:
        return cast(str, _singular(c[0].value))

    def every_unit(self, meta: Meta, c: list[Any]) -> str:
        u = c[0]
        return u if isinstance(u, str) else cast(str, _singular(u.value))

    # ------------------------------------------------------------------ strings

    def string(self, meta: Meta, c: list[Token]) -> ast.Expr:
        tok = c[0]
        where = self.span(tok)
        parts, problems = decode(tok.value, where.line, where.column)
        for p in problems:
            self.problem(p.message, ast.Span(self.file, p.line, p.column, p.line, p.column + p.width))
        out: list[str | ast.Expr] = []
        for part in parts:
            if isinstance(part, Hole):
                expr, errors = self.parse_hole(part.source, self.file, part.line, part.column)
                self.problems.extend(errors)
                if expr is not None:
                    out.append(expr)
            else:
                out.append(part)
        if all(isinstance(p, str) for p in out) and not any(isinstance(p, Hole) for p in parts):
            return ast.Literal(span=where, value="".join(cast(list[str], out)))
        return ast.Interpolated(span=where, parts=tuple(out))

    def _plain_string(self, tok: Token, what: str) -> str:
        where = self.span(tok)
        parts, problems = decode(tok.value, where.line, where.column)
        for p in problems:
            self.problem(p.message, ast.Span(self.file, p.line, p.column, p.line, p.column + p.width))
        if any(isinstance(p, Hole) for p in parts):
            self.problem(f"{what} cannot hold '{{…}}' (write \\{{ for a literal brace)", where)
        return "".join(p for p in parts if isinstance(p, str))


def build(tree: Tree[Token], builder: Builder) -> Any:
    return builder.transform(tree)
