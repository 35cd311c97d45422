"""The static types of the language (docs/language.md §4) and how values are checked against them."""

from __future__ import annotations

from dataclasses import dataclass

PRIMITIVES = ("text", "number", "boolean", "date", "duration", "object")


class WfType:
    """A type known at compile time."""


@dataclass(frozen=True, slots=True)
class Prim(WfType):
    name: str  # one of PRIMITIVES

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ListType(WfType):
    item: WfType

    def __str__(self) -> str:
        return f"list of {self.item}"


@dataclass(frozen=True, slots=True)
class ThingType(WfType):
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class AnyType(WfType):
    """Unknown until run time (an `object`'s field, a plugin's loose result): never a compile error."""

    def __str__(self) -> str:
        return "any"


@dataclass(frozen=True, slots=True)
class NothingType(WfType):
    """The type of `empty` and of an action that returns nothing."""

    def __str__(self) -> str:
        return "nothing"


TEXT = Prim("text")
NUMBER = Prim("number")
BOOLEAN = Prim("boolean")
DATE = Prim("date")
DURATION = Prim("duration")
OBJECT = Prim("object")
ANY = AnyType()
NOTHING = NothingType()
USER = ThingType("User")
ANY_LIST = ListType(ANY)

# The fields every thing has besides its declared ones (their names: `things.BUILTIN_FIELDS`).
BUILTIN_FIELD_TYPES: dict[str, WfType] = {
    "id": TEXT,
    "created_at": DATE,
    "modified_at": DATE,
    "created_by": USER,
}


def parse_type(text: str) -> WfType:
    """The type a plugin names in text: `text`, `list of number`, `Order`, `any`, `nothing`."""
    text = text.strip()
    if text.startswith("list of "):
        return ListType(parse_type(text[len("list of ") :]))
    if text == "list":
        return ANY_LIST
    if text in PRIMITIVES:
        return Prim(text)
    if text == "any":
        return ANY
    if text == "nothing":
        return NOTHING
    return ThingType(text)


def assignable(src: WfType, dst: WfType) -> bool:
    """Whether a value of static type `src` may go where `dst` is expected.

    `empty` fits anywhere; `any` fits anything and takes anything; an `object` holds any JSON value.
    """
    if isinstance(src, AnyType | NothingType) or isinstance(dst, AnyType):
        return True
    if dst == OBJECT:
        return not isinstance(src, ThingType)  # a thing is not JSON; its id is
    if src == OBJECT:
        return not isinstance(dst, ThingType | ListType) or isinstance(dst, ListType)
    if isinstance(src, ListType) and isinstance(dst, ListType):
        return assignable(src.item, dst.item)
    return src == dst


def join(a: WfType, b: WfType) -> WfType:
    """The type of a value that is either `a` or `b` (if/else, list items)."""
    if isinstance(a, NothingType):
        return b
    if isinstance(b, NothingType):
        return a
    if a == b:
        return a
    if isinstance(a, ListType) and isinstance(b, ListType):
        return ListType(join(a.item, b.item))
    return ANY
