"""What the compiler knows about the app's names, for editors (`wf lsp`): where each name is
declared and with which type (`Symbol`), and each place a name is used and what it resolved to
(`Use`). The compiler fills a `Symbols` as it checks the app when asked to (`compile_modules(...,
symbols=True)`), so hover, go to definition and completion read the compiler's own tables.

An unknown name keeps the names the compiler would have accepted in its place (`Use.options`,
the same list its "did you mean" suggestion is picked from): completion asks the compiler about
a placeholder name written where the cursor is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from wfkit.dsl.ast import Span

from .types import WfType

SymbolKind = Literal["type", "field", "workflow", "param", "variable"]
UseKind = Literal["type", "field", "workflow", "name", "verb", "function", "argument", "decorator"]


def name_span(span: Span, name: str) -> Span:
    """The name that starts a node (a parameter, a field, an argument, a bound statement)."""
    return Span(span.file, span.line, span.column, span.line, span.column + len(name))


def last_name_span(span: Span, name: str) -> Span:
    """The name that ends a node (the field of `order.title`)."""
    return Span(span.file, span.end_line, max(1, span.end_column - len(name)), span.end_line, span.end_column)


@dataclass(frozen=True, slots=True, eq=False)
class Symbol:
    """A name the app declares: a type, a field, a workflow, a parameter or a variable (`let`, a
    bound result, a `for each` item).

    `span` is the name where it is declared; `type` the value's type (None for a type or a
    workflow); `owner` the type of a field, the workflow of a parameter or a variable; `extent`
    the whole declaration of a type or a workflow; `detail` a one-line summary (a parameter's
    default as written, a workflow's decorators and signature)."""

    kind: SymbolKind
    name: str
    span: Span
    type: WfType | None = None
    owner: str = ""
    extent: Span | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Use:
    """A name where the app uses it.

    `symbol` is the parameter or variable a name reads (other declarations are found by name:
    `Symbols.resolve`); `type` the value's type there; `owner` the type whose field it is, or
    what an argument is given to (`action create`, `workflow remind`, `function round`);
    `options`, for an unknown name only, the names the compiler would have accepted there."""

    kind: UseKind
    name: str
    span: Span
    symbol: Symbol | None = None
    type: WfType | None = None
    owner: str = ""
    options: tuple[str, ...] | None = None


@dataclass(slots=True)
class Symbols:
    """Every declaration and use the compiler met, in the order it met them."""

    declared: list[Symbol] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    types: dict[str, Symbol] = field(default_factory=dict)
    fields: dict[tuple[str, str], Symbol] = field(default_factory=dict)  # (type, field)
    workflows: dict[str, Symbol] = field(default_factory=dict)
    params: dict[tuple[str, str], Symbol] = field(default_factory=dict)  # (workflow, parameter)

    def declare(self, symbol: Symbol) -> Symbol:
        self.declared.append(symbol)
        key = (symbol.owner, symbol.name)
        if symbol.kind == "type":
            self.types.setdefault(symbol.name, symbol)
        elif symbol.kind == "workflow":
            self.workflows.setdefault(symbol.name, symbol)
        elif symbol.kind == "field":
            self.fields.setdefault(key, symbol)
        elif symbol.kind == "param":
            self.params.setdefault(key, symbol)
        return symbol

    def use(self, use: Use) -> None:
        self.uses.append(use)

    def resolve(self, use: Use) -> Symbol | None:
        """The declaration a use refers to, when the app declares it."""
        if use.symbol is not None:
            return use.symbol
        match use.kind:
            case "type":
                return self.types.get(use.name)
            case "workflow":
                return self.workflows.get(use.name)
            case "field":
                return self.fields.get((use.owner, use.name))
            case "argument" if use.owner.startswith("workflow "):
                return self.params.get((use.owner.removeprefix("workflow "), use.name))
            case "argument" if use.owner.startswith("type "):
                return self.fields.get((use.owner.removeprefix("type "), use.name))
        return None
