"""Every node's span: 1-based line and column, end exclusive; holes point inside their string."""

from __future__ import annotations

from dsl_helpers import module
from wfkit.dsl import ast, parse

TEXT = '''type Order {
  title: text
  tags: list of text?
}

@exposed(auth: none)
workflow notify(order: Order, n: number = 1) {
  log "order {order.title} has {count(order.tags) + n} tags"
  h = schedule notify(order: order) in 2 days when n > 0
  if n > 1 {
    let body = """
      Dear {order.owner.name},
      bye
      """
  } else {
    return { n: n }
  }
}

every 1 day at "03:00" run notify(order: empty)
'''


def where(span: ast.Span) -> tuple[int, int, int, int]:
    return span.line, span.column, span.end_line, span.end_column


def source(span: ast.Span, text: str = TEXT) -> str:
    """The text a single-line span covers."""
    assert span.line == span.end_line
    return text.splitlines()[span.line - 1][span.column - 1 : span.end_column - 1]


def test_declaration_spans() -> None:
    order, wf, every = module(TEXT).decls
    assert isinstance(order, ast.TypeDecl) and isinstance(wf, ast.WorkflowDecl) and isinstance(every, ast.EveryTrigger)
    assert where(order.span) == (1, 1, 4, 2)
    assert where(order.fields[1].span) == (3, 3, 3, 22)
    assert source(order.fields[1].type.span) == "list of text?"
    assert where(wf.span) == (6, 1, 18, 2)  # from its first decorator to its closing brace
    assert source(wf.decorators[0].span) == "@exposed(auth: none)"
    assert source(wf.decorators[0].args[0].span) == "auth: none"
    assert wf.name_span is not None and source(wf.name_span) == "notify"
    assert source(wf.params[1].span) == "n: number = 1"
    assert source(every.span) == 'every 1 day at "03:00" run notify(order: empty)'
    assert every.at_span is not None and source(every.at_span) == '"03:00"'
    assert source(every.run.span) == "notify(order: empty)"


def test_statement_and_expression_spans() -> None:
    wf = module(TEXT).decls[1]
    assert isinstance(wf, ast.WorkflowDecl)
    log, sched, branch = wf.body
    assert source(log.span) == 'log "order {order.title} has {count(order.tags) + n} tags"'
    assert isinstance(sched, ast.Schedule)
    assert source(sched.span) == "h = schedule notify(order: order) in 2 days when n > 0"
    assert sched.workflow_span is not None and source(sched.workflow_span) == "notify"
    assert sched.in_ is not None and source(sched.in_.span) == "2 days"
    assert sched.when is not None and source(sched.when.span) == "n > 0"
    assert source(sched.args[0].span) == "order: order"
    assert isinstance(branch, ast.If)
    assert where(branch.span) == (10, 3, 17, 4)
    assert source(branch.branches[0].cond.span) == "n > 1"
    assert branch.else_body is not None
    ret = branch.else_body[0]
    assert isinstance(ret, ast.Return) and ret.value is not None
    assert source(ret.value.span) == "{ n: n }"


def test_interpolations_point_inside_the_string() -> None:
    wf = module(TEXT).decls[1]
    assert isinstance(wf, ast.WorkflowDecl)
    log = wf.body[0]
    assert isinstance(log, ast.Action) and isinstance(log.target, ast.Interpolated)
    assert source(log.target.span) == '"order {order.title} has {count(order.tags) + n} tags"'
    title, total = (p for p in log.target.parts if isinstance(p, ast.Expr))
    assert (title.span.line, title.span.column) == (8, 15)
    assert source(title.span) == "order.title"
    assert source(total.span) == "count(order.tags) + n"
    assert isinstance(total, ast.Binary) and isinstance(total.left, ast.Call)
    assert source(total.left.args[0].span) == "order.tags"


def test_holes_of_long_strings_keep_their_lines() -> None:
    wf = module(TEXT).decls[1]
    assert isinstance(wf, ast.WorkflowDecl)
    branch = wf.body[2]
    assert isinstance(branch, ast.If)
    let = branch.branches[0].body[0]
    assert isinstance(let, ast.Let) and isinstance(let.value, ast.Interpolated)
    assert where(let.value.span) == (11, 16, 14, 10)
    (hole,) = (p for p in let.value.parts if isinstance(p, ast.Expr))
    assert where(hole.span) == (12, 13, 12, 29)
    assert source(hole.span) == "order.owner.name"


def test_errors_inside_a_hole_point_inside_the_string() -> None:
    text = 'workflow w() {\n  log "a {x + } b"\n}\n'
    (d,) = parse(text, "t.wf").diagnostics
    assert (d.span.line, d.span.column) == (2, 15)  # the "}" that ends the hole too soon
    assert d.render({"t.wf": text}).splitlines()[-1] == "    " + " " * 14 + "^"


def test_search_and_call_spans() -> None:
    text = "workflow w() {\n  let s = search Order where a > 1 order by b desc\n  x = call other(k: 1)\n}\n"
    wf = module(text).decls[0]
    assert isinstance(wf, ast.WorkflowDecl)
    let, call = wf.body
    assert isinstance(let, ast.Let) and isinstance(let.value, ast.Search)
    assert source(let.value.span, text) == "search Order where a > 1 order by b desc"
    assert let.value.type_span is not None and source(let.value.type_span, text) == "Order"
    assert isinstance(call, ast.CallWorkflow) and call.workflow_span is not None
    assert source(call.workflow_span, text) == "other"
    assert source(call.span, text) == "x = call other(k: 1)"


def test_spans_carry_the_file_name() -> None:
    result = parse("type A {}\n", "app/orders.wf")
    assert result.module.file == "app/orders.wf"
    assert result.module.decls[0].span.file == "app/orders.wf"
    assert str(result.module.decls[0].span) == "app/orders.wf:1:1"


def test_module_span_covers_the_file() -> None:
    assert where(parse("type A {}\n\nworkflow w() {}", "t.wf").module.span) == (1, 1, 3, 16)
