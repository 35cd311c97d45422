"""`wf lsp` hover, go to definition and completion, on the shop app (fixtures/shop)."""

from __future__ import annotations

from pathlib import Path

from lsp_editor import Editor, uri
from lsprotocol import types as T


def col(path: Path, line: int, word: str, nth: int = 0) -> int:
    """The (UTF-16 = character, ASCII here) column of the nth `word` on a 0-based line."""
    text = path.read_text(encoding="utf-8").splitlines()[line]
    at = -1
    for _ in range(nth + 1):
        at = text.index(word, at + 1)
    return at


async def test_hover_shows_a_parameters_type(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    text = await editor.hover(orders, 4, col(orders, 4, "amount"))  # let total = amount * 2
    assert text is not None
    assert "amount: number" in text
    assert "parameter of workflow `create_order`" in text


async def test_hover_shows_types_of_fields_variables_and_types(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    assert "Order.title: text" in (await editor.hover(orders, 6, col(orders, 6, "title")) or "")  # inside "{…}"
    assert "total: number" in (await editor.hover(orders, 6, col(orders, 6, "total")) or "")
    assert "order: Order" in (await editor.hover(orders, 3, 2) or "")  # a bound action result
    hover_type = await editor.hover(orders, 3, col(orders, 3, "Order"))
    assert hover_type is not None
    assert "type Order {" in hover_type
    assert "  paid: boolean" in hover_type


async def test_hover_shows_a_workflows_signature_and_decorators(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    text = await editor.hover(orders, 2, col(orders, 2, "create_order"))
    assert text is not None
    assert (
        "@exposed(auth: none)\n@ignore_privacy\n"
        "workflow create_order(title: text, amount: number, notify: boolean = false)" in text
    )
    text = await editor.hover(orders, 5, col(orders, 5, "remind("))  # where it is scheduled
    assert text is not None
    assert "workflow remind(order: Order)" in text


async def test_definition_of_a_scheduled_workflow_lands_on_its_declaration(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    found = await editor.definition(orders, 5, col(orders, 5, "remind(") + 2)
    assert found == T.Location(uri(orders), T.Range(T.Position(10, 9), T.Position(10, 15)))


async def test_definition_of_types_fields_parameters_and_lets(editor: Editor, shop: Path) -> None:
    orders, types = shop / "orders.wf", shop / "types.wf"
    editor.open(orders)

    async def lands(line: int, character: int) -> tuple[str, int, int] | None:
        found = await editor.definition(orders, line, character)
        return (found.uri, found.range.start.line, found.range.start.character) if found else None

    assert await lands(3, col(orders, 3, "Order")) == (uri(types), 1, 5)  # a type, in another file
    assert await lands(11, col(orders, 11, "paid")) == (uri(types), 4, 2)  # a field
    assert await lands(11, col(orders, 11, "order")) == (uri(orders), 10, 16)  # a parameter
    assert await lands(6, col(orders, 6, "total")) == (uri(orders), 4, 6)  # a `let` name
    assert await lands(7, col(orders, 7, "reminder", 1)) == (uri(orders), 5, 2)  # a bound result
    assert await lands(5, col(orders, 5, "order")) == (uri(orders), 10, 16)  # `order:`, remind's parameter
    assert await lands(3, col(orders, 3, "title")) == (uri(types), 2, 2)  # `title:` of create Order(…)


async def completion_at(editor: Editor, path: Path, line: int, inserted: str, after: str = "") -> list[str]:
    """Insert a line before `line` (0-based), as typed (`after` is what the editor closed after the
    cursor); complete at the cursor; take the line out again."""
    v = editor.change(path, (line, 0), (line, 0), inserted + after + "\n")
    await editor.diagnostics(path, v)
    labels = await editor.completion(path, line, len(inserted))
    v = editor.change(path, (line, 0), (line + 1, 0), "")
    await editor.diagnostics(path, v)
    return labels


async def test_completion_after_a_dot_offers_the_types_fields(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    labels = await completion_at(editor, orders, 12, "  let t = order.")
    assert {"title", "amount", "paid", "owner", "tags", "id", "created_at"} <= set(labels)
    assert "remind" not in labels


async def test_completion_of_a_fields_prefix_and_a_field_of_a_field(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    assert await completion_at(editor, orders, 12, '  log "{order.owner.em', after='}"') == ["email"]


async def test_completion_offers_verbs_at_the_start_of_a_statement(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    labels = await completion_at(editor, orders, 12, "  ")
    assert {"log", "create", "change", "send_email", "let", "schedule"} <= set(labels)
    assert await completion_at(editor, orders, 12, "  send_") == ["send_email"]


async def test_completion_offers_workflows_after_schedule_and_call(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    assert set(await completion_at(editor, orders, 12, "  schedule ")) == {"create_order", "remind"}
    assert await completion_at(editor, orders, 12, "  x = call rem") == ["remind"]


async def test_completion_offers_types_in_a_declaration(editor: Editor, shop: Path) -> None:
    types = shop / "types.wf"
    editor.open(types)
    labels = await completion_at(editor, types, 7, "  note: ")
    assert {"Order", "User", "text", "number", "boolean"} <= set(labels)
    assert await completion_at(editor, types, 7, "  items: list of Or") == ["Order"]


async def test_completion_offers_parameter_names_inside_parentheses(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    v = editor.change(orders, (12, 0), (12, 0), "  schedule remind()\n")
    await editor.diagnostics(orders, v)
    assert await editor.completion(orders, 12, len("  schedule remind(")) == ["order"]
    v = editor.change(orders, (12, 0), (13, 0), "  create Order(title: title, )\n")
    await editor.diagnostics(orders, v)
    labels = await editor.completion(orders, 12, len("  create Order(title: title, "))
    assert {"amount", "paid", "owner", "tags"} <= set(labels)


async def test_completion_offers_the_names_in_scope(editor: Editor, shop: Path) -> None:
    orders = shop / "orders.wf"
    editor.open(orders)
    labels = await completion_at(editor, orders, 8, "  let y = ")
    assert {"title", "amount", "notify", "order", "total", "reminder", "current_user", "now", "count"} <= set(labels)
    assert await completion_at(editor, orders, 8, "  let y = tot") == ["total"]
