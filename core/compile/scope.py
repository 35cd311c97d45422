"""What the compiler knows where an expression stands: the `Scope`, and the type lookups every part
of the compiler shares (a written type, a field's type, whether a type is known)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wfkit.dsl import ast as A
from wfkit.dsl.errors import Diagnostic

from ..app import FieldInfo, TypeInfo
from ..symbols import Symbol, Symbols, Use, name_span
from ..types import (
    ANY,
    BUILTIN_FIELD_TYPES,
    OBJECT,
    PRIMITIVES,
    TEXT,
    AnyType,
    ListType,
    NothingType,
    ThingType,
    WfType,
    parse_type,
)

if TYPE_CHECKING:
    from ..actions import Registry


@dataclass(slots=True)
class Scope:
    """What names mean where an expression stands, and where its errors go."""

    types: dict[str, TypeInfo]
    registry: Registry
    errors: list[Diagnostic]
    names: dict[str, WfType] = field(default_factory=dict)  # frame variables and their types
    search_fields: dict[str, FieldInfo] | None = None  # inside `where`: the searched type's fields
    globals_: frozenset[str] = frozenset({"current_user", "now", "today", "request"})
    searched: list[tuple[str, A.Span]] = field(default_factory=list)  # `search T` in this workflow, shared
    symbols: Symbols | None = None  # for editors: what names mean (wfkit.core.symbols), when asked for
    declared: dict[str, Symbol] = field(default_factory=dict)  # the parameters' and variables' declarations, shared

    def error(self, span: A.Span, message: str) -> None:
        self.errors.append(Diagnostic(span, message))

    def child(self, **changes: Any) -> Scope:
        s = Scope(
            self.types,
            self.registry,
            self.errors,
            dict(self.names),
            self.search_fields,
            self.globals_,
            self.searched,
            self.symbols,
            self.declared,
        )
        for k, v in changes.items():
            setattr(s, k, v)
        return s


def suggest(name: str, options: Sequence[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def is_known(t: WfType) -> bool:
    """Whether a type is definite enough to report a mismatch (`any`, `empty`, `object` never are)."""
    return not isinstance(t, AnyType | NothingType) and t != OBJECT


def id_for_thing(src: WfType, dst: WfType) -> bool:
    """A text id where a thing is expected is converted when the run starts."""
    return src == TEXT and isinstance(dst, ThingType)


def field_type(types: dict[str, TypeInfo], type_name: str, name: str) -> WfType | None:
    if name in BUILTIN_FIELD_TYPES:
        return BUILTIN_FIELD_TYPES[name]
    info = types.get(type_name)
    if info is None or name not in info.fields:
        return None
    return info.fields[name].type


def all_fields(info: TypeInfo) -> dict[str, FieldInfo]:
    """A type's fields, the built-in ones first."""
    return {**{n: FieldInfo(n, t) for n, t in BUILTIN_FIELD_TYPES.items()}, **info.fields}


def type_from_ref(
    ref: A.TypeRef, types: dict[str, TypeInfo], errors: list[Diagnostic], symbols: Symbols | None = None
) -> WfType:
    """A written type (`list of Order?`) as a WfType, reporting an unknown type name."""
    if ref.name == "list":
        assert ref.item is not None
        return ListType(type_from_ref(ref.item, types, errors, symbols))
    t: WfType | None = None
    if ref.name in ("text", "number", "boolean", "date", "duration", "object"):
        t = parse_type(ref.name)
    elif ref.name in types:
        t = ThingType(ref.name)
    if symbols is not None:
        options = None if t is not None else (*types, *PRIMITIVES)
        symbols.use(Use("type", ref.name, name_span(ref.span, ref.name), type=t, options=options))
    if t is not None:
        return t
    errors.append(
        Diagnostic(
            ref.span,
            f"unknown type '{ref.name}'{suggest(ref.name, [*types, *PRIMITIVES])}",
        )
    )
    return ANY
