"""The operators of expressions and search conditions: what each runs, and which types it takes."""

from __future__ import annotations

from .. import values as V
from ..types import ANY, DATE, DURATION, NUMBER, TEXT, ListType, ThingType, WfType, assignable, join
from .scope import is_known

ARITH = {"+": V.add, "-": V.sub, "*": V.mul, "/": V.div, "%": V.mod}
COMPARE = {"==": V.eq, "!=": V.ne, "<": V.lt, "<=": V.le, ">": V.gt, ">=": V.ge}
FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}  # `value OP field` as `field OP' value`


def arith_type(op: str, a: WfType, b: WfType) -> WfType | None:
    """The result type of `a op b`, ANY when unknown, None when it can never work."""
    if not (is_known(a) and is_known(b)):
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
    if not (is_known(a) and is_known(b)):
        return True
    if isinstance(a, ThingType) and isinstance(b, ThingType):
        return a == b
    if isinstance(a, ThingType) or isinstance(b, ThingType):
        return TEXT in (a, b)  # a thing compares with its id
    return assignable(a, b) or assignable(b, a)
