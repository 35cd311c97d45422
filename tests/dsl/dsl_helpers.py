"""Short builders for expected AST nodes (spans are left out of `==`) and parse shortcuts."""

from __future__ import annotations

from typing import Any

from wfkit.dsl import ast, parse
from wfkit.dsl.ast import NO_SPAN

S = NO_SPAN


def module(text: str) -> ast.Module:
    """The module of a text that must parse without diagnostics."""
    result = parse(text, "t.wf")
    assert not result.diagnostics, [d.render({"t.wf": text}) for d in result.diagnostics]
    return result.module


def errors(text: str) -> list[str]:
    """Each diagnostic as `LINE:COL: message`."""
    return [f"{d.span.line}:{d.span.column}: {d.message}" for d in parse(text, "t.wf").diagnostics]


def body(statements: str) -> tuple[ast.Stmt, ...]:
    """The statements of a workflow whose body is `statements`."""
    decl = module("workflow t() {\n" + statements + "\n}\n").decls[0]
    assert isinstance(decl, ast.WorkflowDecl)
    return decl.body


def stmt(statement: str) -> ast.Stmt:
    (only,) = body(statement)
    return only


def expr(source: str) -> ast.Expr:
    """The value of `let x = SOURCE`."""
    s = stmt(f"let x = {source}")
    assert isinstance(s, ast.Let)
    return s.value


def N(name: str) -> ast.Name:
    return ast.Name(span=S, name=name)


def L(value: Any) -> ast.Literal:
    return ast.Literal(span=S, value=value)


def B(op: Any, left: ast.Expr, right: ast.Expr) -> ast.Binary:
    return ast.Binary(span=S, op=op, left=left, right=right)


def U(op: Any, operand: ast.Expr) -> ast.Unary:
    return ast.Unary(span=S, op=op, operand=operand)


def F(obj: ast.Expr, name: str) -> ast.FieldAccess:
    return ast.FieldAccess(span=S, obj=obj, name=name)


def D(amount: float, unit: Any) -> ast.DurationLit:
    return ast.DurationLit(span=S, amount=amount, unit=unit)


def A(name: str, value: ast.Expr) -> ast.Arg:
    return ast.Arg(span=S, name=name, value=value)


def T(name: str, item: ast.TypeRef | None = None, optional: bool = False) -> ast.TypeRef:
    return ast.TypeRef(span=S, name=name, item=item, optional=optional)
