"""Parse actions: the LALR parser calls these as it reduces each rule, building `ast.py` nodes.

They run inside the parser (Lark's `transformer=` option) instead of over a parse tree
afterwards: no tree to build and walk twice, and positions come from the tokens themselves
(Lark's `keep_all_tokens`, so keywords and brackets are there to start and end spans) rather
than from `propagate_positions`, which cost more than the parse. Each method gets the rule's
children: tokens, AST nodes and the small `_Part`s below.

Per-parse state (file name, problems found, where declarations go) lives in a `Context`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any, cast

from lark import Token

from . import ast
from .strings import Hole, decode

# (source, line, column) of a `{expr}` -> the expression, or None after recording a problem
ParseHole = Callable[[str, int, int], "ast.Expr | None"]


@dataclasses.dataclass
class Context:
    file: str
    parse_hole: ParseHole
    problems: list[tuple[str, ast.Span]] = dataclasses.field(default_factory=list)
    decls: list[ast.Decl] = dataclasses.field(default_factory=list)
    mark: int = 0  # problems before this index belong to earlier declarations
    last_decl_end: int = 0  # last line of the last declaration reduced

    def problem(self, message: str, span: ast.Span) -> None:
        self.problems.append((message, span))


CONTEXT: ContextVar[Context] = ContextVar("wf_parse_context")


@dataclasses.dataclass(frozen=True, slots=True)
class _Part:
    """A piece of a rule that is no AST node (a block's statements, a schedule's `in …`)."""

    value: Any
    span: ast.Span


def _number(tok: Token) -> int | float:
    s = tok.value.replace("_", "")
    return float(s) if "." in s else int(s)


def _singular(unit: str) -> Any:
    return unit[:-1] if unit.endswith("s") else unit


def _names(c: Iterable[Any]) -> list[Token]:
    return [x for x in c if isinstance(x, Token) and x.type == "NAME"]


def _exprs(c: Iterable[Any]) -> list[Any]:
    return [x for x in c if isinstance(x, ast.Expr)]


def _of(c: Iterable[Any], kind: type[Any]) -> list[Any]:
    return [x for x in c if isinstance(x, kind)]


class Builder:
    """The parse actions, one method per rule or alias of `wf.lark`."""

    # ------------------------------------------------------------------ positions

    @staticmethod
    def span(c: list[Any]) -> ast.Span:
        """From the first child to the last (every rule starts and ends with a token or a node)."""
        first, last = c[0], c[-1]
        if type(first) is Token:
            line, col = first.line, first.column
        else:
            line, col = first.span.line, first.span.column
        if type(last) is Token:
            end_line, end_col = last.end_line, last.end_column
        else:
            end_line, end_col = last.span.end_line, last.span.end_column
        return ast.Span(CONTEXT.get().file, line, col, end_line, end_col)  # type: ignore[arg-type]

    def token_span(self, tok: Token) -> ast.Span:
        return ast.Span(CONTEXT.get().file, tok.line, tok.column, tok.end_line, tok.end_column)  # type: ignore[arg-type]  # set by the scanner

    # ------------------------------------------------------------------ declarations

    def decl(self, c: list[Any]) -> None:
        ctx = CONTEXT.get()
        if len(ctx.problems) == ctx.mark:  # a declaration with a problem is left out
            ctx.decls.append(c[0])
        ctx.mark = len(ctx.problems)
        ctx.last_decl_end = c[0].span.end_line

    def type_decl(self, c: list[Any]) -> ast.TypeDecl:
        return ast.TypeDecl(
            span=self.span(c), name=c[1].value, fields=tuple(_of(c, ast.FieldDecl)), name_span=self.token_span(c[1])
        )

    def field_decl(self, c: list[Any]) -> ast.FieldDecl:
        default = c[4] if len(c) > 4 else None
        return ast.FieldDecl(span=self.span(c), name=c[0].value, type=c[2], default=default)

    def type_ref(self, c: list[Any]) -> ast.TypeRef:
        base: ast.TypeRef = c[0]
        return dataclasses.replace(base, span=self.span(c), optional=len(c) > 1)

    def named_type(self, c: list[Token]) -> ast.TypeRef:
        return ast.TypeRef(span=self.span(c), name=c[0].value)

    def list_type(self, c: list[Any]) -> ast.TypeRef:
        return ast.TypeRef(span=self.span(c), name="list", item=c[2])

    def privacy_decl(self, c: list[Any]) -> ast.PrivacyDecl:
        return ast.PrivacyDecl(
            span=self.span(c),
            type_name=c[1].value,
            rules=tuple(_of(c, ast.PrivacyRule)),
            type_span=self.token_span(c[1]),
        )

    def privacy_rule(self, c: list[Any]) -> ast.PrivacyRule:
        return ast.PrivacyRule(span=self.span(c), name=c[1].value, cond=c[3], grants=c[4].value)

    def everyone(self, c: list[Any]) -> ast.PrivacyRule:
        return ast.PrivacyRule(span=self.span(c), name="everyone", cond=None, grants=c[1].value)

    def grant_block(self, c: list[Any]) -> _Part:
        return _Part(tuple(_of(c, ast.Grant)), self.span(c))

    def grant_view_all(self, c: list[Any]) -> ast.Grant:
        return ast.Grant(span=self.span(c), kind="view_all")

    def grant_view(self, c: list[Token]) -> ast.Grant:
        names = _names(c)
        return ast.Grant(
            span=self.span(c),
            kind="view",
            fields=tuple(t.value for t in names),
            field_spans=tuple(self.token_span(t) for t in names),
        )

    def grant_search(self, c: list[Any]) -> ast.Grant:
        return ast.Grant(span=self.span(c), kind="search")

    def grant_change(self, c: list[Any]) -> ast.Grant:
        return ast.Grant(span=self.span(c), kind="change")

    def grant_delete(self, c: list[Any]) -> ast.Grant:
        return ast.Grant(span=self.span(c), kind="delete")

    def workflow_decl(self, c: list[Any]) -> ast.WorkflowDecl:
        decorators = tuple(_of(c, ast.Decorator))
        name: Token = c[len(decorators) + 1]
        params = _of(c, _Params)
        return ast.WorkflowDecl(
            span=self.span(c),
            name=name.value,
            params=params[0].value if params else (),
            body=c[-1].value,
            decorators=decorators,
            name_span=self.token_span(name),
        )

    def params(self, c: list[Any]) -> _Params:
        return _Params(tuple(_of(c, ast.Param)), self.span(c))

    def param(self, c: list[Any]) -> ast.Param:
        default = c[4] if len(c) > 4 else None
        return ast.Param(span=self.span(c), name=c[0].value, type=c[2], default=default)

    def decorator(self, c: list[Any]) -> ast.Decorator:
        args: tuple[ast.DecoratorArg, ...] = c[1].value if len(c) > 1 else ()
        return ast.Decorator(span=self.span(c), name=c[0].value[1:], args=args, has_parens=len(c) > 1)

    def dec_args(self, c: list[Any]) -> _Part:
        return _Part(tuple(_of(c, ast.DecoratorArg)), self.span(c))

    def dec_named(self, c: list[Any]) -> ast.DecoratorArg:
        return ast.DecoratorArg(span=self.span(c), name=c[0].value, value=c[2])

    def dec_positional(self, c: list[Any]) -> ast.DecoratorArg:
        return ast.DecoratorArg(span=self.span(c), name=None, value=c[0])

    def rate(self, c: list[Any]) -> ast.Rate:
        return ast.Rate(span=self.span(c), count=_number(c[0]), unit=_singular(c[2].value))

    # ------------------------------------------------------------------ triggers

    def every_trigger(self, c: list[Any]) -> ast.EveryTrigger:
        at = c[4] if c[3].type == "AT" else None
        return ast.EveryTrigger(
            span=self.span(c),
            amount=_number(c[1]),
            unit=_singular(c[2].value),
            at=self._plain_string(at, "the time of an 'every' trigger") if at is not None else None,
            run=c[-1],
            at_span=self.token_span(at) if at is not None else None,
        )

    def db_trigger(self, c: list[Any]) -> ast.DbTrigger:
        cond = c[4] if c[3].type == "WHEN" else None
        return ast.DbTrigger(
            span=self.span(c),
            event=c[1].value,
            type_name=c[2].value,
            cond=cond,
            run=c[-1],
            type_span=self.token_span(c[2]),
        )

    def wf_ref(self, c: list[Any]) -> ast.WorkflowRef:
        args: tuple[ast.Arg, ...] = c[1].value if len(c) > 1 else ()
        return ast.WorkflowRef(span=self.span(c), workflow=c[0].value, args=args)

    # ------------------------------------------------------------------ statements

    def block(self, c: list[Any]) -> _Part:
        return _Part(tuple(_of(c, ast.Stmt)), self.span(c))

    def with_when(self, c: list[Any]) -> ast.SimpleStmt:
        stmt: ast.SimpleStmt = c[0]
        return dataclasses.replace(stmt, span=self.span(c), when=c[2])

    def bind_stmt(self, c: list[Any]) -> ast.SimpleStmt:
        stmt: ast.Action | ast.Schedule | ast.CallWorkflow = c[2]
        return dataclasses.replace(stmt, span=self.span(c), bind=c[0].value)

    def action(self, c: list[Any]) -> ast.Action:
        target = _exprs(c[1:])
        args = _of(c[1:], _Args)
        return ast.Action(
            span=self.span(c),
            verb=c[0].value,
            target=target[0] if target else None,
            args=args[0].value if args else (),
            has_parens=bool(args),
            verb_span=c[0].span,
        )

    def verb(self, c: list[Token]) -> _Part:
        return _Part(".".join(t.value for t in _names(c)), self.span(c))

    def args(self, c: list[Any]) -> _Args:
        return _Args(tuple(_of(c, ast.Arg)), self.span(c))

    def arg(self, c: list[Any]) -> ast.Arg:
        return ast.Arg(span=self.span(c), name=c[0].value, value=c[2])

    def schedule(self, c: list[Any]) -> ast.Schedule:
        name: Token = c[1]
        fields: dict[str, Any] = {}
        for x in c[2:]:
            if isinstance(x, _Args):
                fields["args"] = x.value
            else:
                fields.update(x.value)
        return ast.Schedule(span=self.span(c), workflow=name.value, workflow_span=self.token_span(name), **fields)

    def sched_at(self, c: list[Any]) -> _Part:
        return _Part({"at": c[1]}, self.span(c))

    def sched_in(self, c: list[Any]) -> _Part:
        return _Part({"in_": c[1]}, self.span(c))

    def sched_every(self, c: list[Any]) -> _Part:
        return _Part({"every": c[1]}, self.span(c))

    def sched_each(self, c: list[Any]) -> _Part:
        fields: dict[str, Any] = {"each_var": c[2].value, "each_list": c[4], "each_var_span": self.token_span(c[2])}
        for x in c[5:]:
            fields.update(x.value)
        return _Part(fields, self.span(c))

    def call_wf(self, c: list[Any]) -> ast.CallWorkflow:
        name: Token = c[1]
        args: tuple[ast.Arg, ...] = c[2].value if len(c) > 2 else ()
        return ast.CallWorkflow(span=self.span(c), workflow=name.value, args=args, workflow_span=self.token_span(name))

    def cancel(self, c: list[Any]) -> ast.Cancel:
        return ast.Cancel(span=self.span(c), target=c[1])

    def return_stmt(self, c: list[Any]) -> ast.Return:
        return ast.Return(span=self.span(c), value=c[1] if len(c) > 1 else None)

    def terminate(self, c: list[Any]) -> ast.Terminate:
        return ast.Terminate(span=self.span(c))

    def fail(self, c: list[Any]) -> ast.Fail:
        return ast.Fail(span=self.span(c), message=c[1])

    def let_stmt(self, c: list[Any]) -> ast.Let:
        return ast.Let(span=self.span(c), name=c[1].value, value=c[3], name_span=self.token_span(c[1]))

    def if_stmt(self, c: list[Any]) -> ast.If:
        conds = _exprs(c)
        blocks: list[_Part] = _of(c, _Part)
        branches = tuple(
            ast.Branch(span=self.span([cond, body]), cond=cond, body=body.value)
            for cond, body in zip(conds, blocks, strict=False)
        )
        else_body = blocks[-1].value if len(blocks) > len(conds) else None
        return ast.If(span=self.span(c), branches=branches, else_body=else_body)

    def for_stmt(self, c: list[Any]) -> ast.ForEach:
        return ast.ForEach(
            span=self.span(c), var=c[2].value, iterable=c[4], body=c[5].value, var_span=self.token_span(c[2])
        )

    # ------------------------------------------------------------------ expressions

    def search(self, c: list[Any]) -> ast.Search:
        name: Token = c[1]
        fields: dict[str, Any] = {}
        for x in c[2:]:
            fields.update(x.value)
        return ast.Search(span=self.span(c), type_name=name.value, type_span=self.token_span(name), **fields)

    def search_where(self, c: list[Any]) -> _Part:
        return _Part({"where": c[1]}, self.span(c))

    def search_order(self, c: list[Token]) -> _Part:
        return _Part(
            {"order_by": c[2].value, "descending": len(c) > 3, "order_span": self.token_span(c[2])}, self.span(c)
        )

    def search_limit(self, c: list[Any]) -> _Part:
        return _Part({"limit": c[1]}, self.span(c))

    def binary(self, c: list[Any]) -> ast.Binary:
        return ast.Binary(span=self.span(c), op=c[1].value, left=c[0], right=c[2])

    or_op = and_op = compare = in_op = binary

    def not_op(self, c: list[Any]) -> ast.Unary:
        return ast.Unary(span=self.span(c), op="not", operand=c[1])

    def neg(self, c: list[Any]) -> ast.Unary:
        return ast.Unary(span=self.span(c), op="-", operand=c[1])

    def is_empty(self, c: list[Any]) -> ast.IsEmpty:
        return ast.IsEmpty(span=self.span(c), operand=c[0], negated=len(c) > 3)

    is_not_empty = is_empty

    def field(self, c: list[Any]) -> ast.FieldAccess:
        return ast.FieldAccess(span=self.span(c), obj=c[0], name=c[2].value)

    def index(self, c: list[Any]) -> ast.Index:
        return ast.Index(span=self.span(c), obj=c[0], index=c[2])

    def name(self, c: list[Token]) -> ast.Name:
        return ast.Name(span=self.span(c), name=c[0].value)

    def parens(self, c: list[Any]) -> ast.Expr:
        return cast(ast.Expr, c[1])

    def call(self, c: list[Any]) -> ast.Call:
        args: list[ast.Expr] = []
        kwargs: list[ast.Arg] = []
        for a in c[2:-1]:
            if isinstance(a, ast.Arg):
                kwargs.append(a)
            elif isinstance(a, ast.Expr):
                if kwargs:
                    CONTEXT.get().problem("a positional argument cannot follow a named one", a.span)
                args.append(a)
        return ast.Call(span=self.span(c), func=c[0].value, args=tuple(args), kwargs=tuple(kwargs))

    def number(self, c: list[Token]) -> ast.Literal:
        return ast.Literal(span=self.span(c), value=_number(c[0]))

    def duration(self, c: list[Any]) -> ast.DurationLit:
        return ast.DurationLit(span=self.span(c), amount=_number(c[0]), unit=_singular(c[1].value))

    def true(self, c: list[Any]) -> ast.Literal:
        return ast.Literal(span=self.span(c), value=True)

    def false(self, c: list[Any]) -> ast.Literal:
        return ast.Literal(span=self.span(c), value=False)

    def empty(self, c: list[Any]) -> ast.Literal:
        return ast.Literal(span=self.span(c), value=None)

    def list_lit(self, c: list[Any]) -> ast.ListLit:
        return ast.ListLit(span=self.span(c), items=tuple(_exprs(c)))

    def object_lit(self, c: list[Any]) -> ast.ObjectLit:
        return ast.ObjectLit(span=self.span(c), entries=tuple(_of(c, ast.ObjectEntry)))

    def obj_entry(self, c: list[Any]) -> ast.ObjectEntry:
        key: Token = c[0]
        name = key.value if key.type == "NAME" else self._plain_string(key, "an object key")
        return ast.ObjectEntry(span=self.span(c), key=name, value=c[2])

    def time_unit(self, c: list[Token]) -> Token:
        return c[0]  # the word, kept as a token for its position

    every_unit = db_event = time_unit

    # ------------------------------------------------------------------ strings

    def string(self, c: list[Token]) -> ast.Expr:
        tok = c[0]
        where = self.token_span(tok)
        ctx = CONTEXT.get()
        parts, problems = decode(tok.value, where.line, where.column)
        for p in problems:
            ctx.problem(p.message, ast.Span(ctx.file, p.line, p.column, p.line, p.column + p.width))
        if not any(isinstance(p, Hole) for p in parts):
            return ast.Literal(span=where, value="".join(cast(list[str], parts)))
        out: list[str | ast.Expr] = []
        for part in parts:
            if isinstance(part, Hole):
                expr = ctx.parse_hole(part.source, part.line, part.column)
                if expr is not None:
                    out.append(expr)
            else:
                out.append(part)
        return ast.Interpolated(span=where, parts=tuple(out))

    def _plain_string(self, tok: Token, what: str) -> str:
        where = self.token_span(tok)
        ctx = CONTEXT.get()
        parts, problems = decode(tok.value, where.line, where.column)
        for p in problems:
            ctx.problem(p.message, ast.Span(ctx.file, p.line, p.column, p.line, p.column + p.width))
        if any(isinstance(p, Hole) for p in parts):
            ctx.problem(f"{what} cannot hold '{{…}}' (write \\{{ for a literal brace)", where)
        return "".join(p for p in parts if isinstance(p, str))


@dataclasses.dataclass(frozen=True, slots=True)
class _Args(_Part):
    """An argument list `( … )`, told apart from a target in `action`."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Params(_Part):
    """A parameter list, told apart from the body in `workflow_decl`."""
