from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wfkit.core import types as t
from wfkit.core.errors import FunctionError
from wfkit.core.things import Thing
from wfkit.plugins import Registry

Call = Callable[..., Any]


def thing(id: str, **data: Any) -> Thing:
    return Thing(type="Order", id=id, data=data)


def test_count(call: Call) -> None:
    assert call("count", [1, 2, 3]) == 3
    assert call("count", []) == 0
    assert call("count", None) == 0
    with pytest.raises(FunctionError, match=r'^count: "abc" is not a list$'):
        call("count", "abc")


def test_first_last(call: Call) -> None:
    assert call("first", [1, 2, 3]) == 1
    assert call("last", [1, 2, 3]) == 3
    assert call("first", []) is None
    assert call("last", None) is None
    with pytest.raises(FunctionError, match="first: 5 is not a list"):
        call("first", 5)


def test_sum(call: Call) -> None:
    assert call("sum", [1, 2, 3.5]) == 6.5
    assert call("sum", 1, 2, 3) == 6
    assert call("sum", []) == 0
    assert call("sum", None) == 0
    assert call("sum", [1, None, 2]) == 3  # empties are left out
    assert call("sum", [timedelta(seconds=30), timedelta(minutes=1)]) == timedelta(seconds=90)
    with pytest.raises(FunctionError, match='sum: "a" is not a number'):
        call("sum", [1, "a"])
    with pytest.raises(FunctionError, match="sum: true is not a number"):
        call("sum", [True, 1])
    with pytest.raises(FunctionError, match="cannot add numbers and durations"):
        call("sum", [1, timedelta(seconds=1)])


def test_min_max(call: Call) -> None:
    assert call("min", [3, 1, 2]) == 1
    assert call("max", [3, 1, 2]) == 3
    assert call("min", 3, 1.5, 2) == 1.5
    assert call("max", "b", "a") == "b"
    assert call("min", []) is None
    assert call("max", None) is None
    assert call("max", [None, 2, None]) == 2
    d1, d2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    assert call("max", [d1, d2]) == d2
    assert call("min", 5) == 5
    with pytest.raises(FunctionError, match="min: cannot compare number and text values"):
        call("min", [1, "a"])
    with pytest.raises(FunctionError, match=r'max: \{"a":1\} cannot be compared'):
        call("max", [{"a": 1}, {"a": 2}])


def test_unique(call: Call) -> None:
    assert call("unique", [3, 1, 3, 2, 1]) == [3, 1, 2]
    assert call("unique", [1, 1.0, True]) == [1, True]  # a boolean is not the number 1
    assert call("unique", [{"a": 1}, {"a": 1}, [1], [1]]) == [{"a": 1}, [1]]
    a1, a2, b = thing("a", x=1), thing("a", x=2), thing("b")
    result = call("unique", [a1, b, a2])
    assert result == [a1, b] and result[0] is a1  # things by id, first kept
    assert call("unique", None) == []
    with pytest.raises(FunctionError, match="unique"):
        call("unique", "abc")


def test_sort(call: Call) -> None:
    assert call("sort", [3, 1, 2]) == [1, 2, 3]
    assert call("sort", [3, 1, 2], desc=True) == [3, 2, 1]
    assert call("sort", ["b", None, "a"]) == ["a", "b", None]  # empties last
    assert call("sort", ["b", None, "a"], desc=True) == ["b", "a", None]
    assert call("sort", None) == []
    orders = [thing("a", amount=5), thing("b", amount=1), thing("c"), thing("d", amount=3)]
    assert [o.id for o in call("sort", orders, by="amount")] == ["b", "d", "a", "c"]
    assert [o.id for o in call("sort", orders, by="amount", desc=True)] == ["a", "d", "b", "c"]
    objects = [{"n": 2}, {"n": 1}]
    assert call("sort", objects, by="n") == [{"n": 1}, {"n": 2}]
    hidden = Thing(type="Order", id="h", data={"amount": 0}, hidden=frozenset({"amount"}))
    assert call("sort", [hidden, orders[1]], by="amount") == [orders[1], hidden]  # hidden reads empty
    with pytest.raises(FunctionError, match='by: "field"'):
        call("sort", orders)
    with pytest.raises(FunctionError, match="sort: cannot compare"):
        call("sort", [1, "a"])
    with pytest.raises(FunctionError, match="desc"):
        call("sort", [1], desc="yes")


def test_sort_is_stable(call: Call) -> None:
    rows = [{"k": 1, "i": 0}, {"k": 0, "i": 1}, {"k": 1, "i": 2}, {"k": 0, "i": 3}]
    assert [r["i"] for r in call("sort", rows, by="k")] == [1, 3, 0, 2]
    assert [r["i"] for r in call("sort", rows, by="k", desc=True)] == [0, 2, 1, 3]


def test_sort_by_builtin_field(call: Call) -> None:
    early = Thing("Order", "x", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    late = Thing("Order", "y", created_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert call("sort", [late, early], by="created_at") == [early, late]


def test_join(call: Call) -> None:
    assert call("join", ["a", "b", "c"], ", ") == "a, b, c"
    assert call("join", [1, 2.0, True, None, "x"], "-") == "1-2-true-x"
    assert call("join", [], ",") == ""
    assert call("join", None, ",") == ""
    with pytest.raises(FunctionError, match="join: 5 is not a text"):
        call("join", ["a"], 5)


def test_length(call: Call) -> None:
    assert call("length", "héllo") == 5
    assert call("length", [1, 2]) == 2
    assert call("length", {"a": 1}) == 1
    assert call("length", "") == 0
    assert call("length", None) == 0
    with pytest.raises(FunctionError, match="length: 42 is not a text or a list"):
        call("length", 42)


def test_contains(call: Call) -> None:
    assert call("contains", "hello world", "o w") is True
    assert call("contains", "hello", "x") is False
    assert call("contains", "a1", 1) is True
    assert call("contains", [1, 2, 3], 2) is True
    assert call("contains", [1, 2, 3], 2.0) is True
    assert call("contains", [1], True) is False
    assert call("contains", [thing("a", x=1)], thing("a", x=2)) is True
    assert call("contains", {"k": 1}, "k") is True
    assert call("contains", None, "a") is False
    assert call("contains", [None], None) is False
    with pytest.raises(FunctionError, match="contains: 5 is not a text or a list"):
        call("contains", 5, 5)


def result_type(registry: Registry, name: str, *args: t.WfType) -> t.WfType:
    result = registry.functions[name].result
    return t.parse_type(result) if isinstance(result, str) else result(args)


def test_result_types(registry: Registry) -> None:
    orders = t.ListType(t.ThingType("Order"))
    assert result_type(registry, "first", orders) == t.ThingType("Order")
    assert result_type(registry, "last", t.ANY) == t.ANY
    assert result_type(registry, "sort", orders) == orders
    assert result_type(registry, "unique", t.OBJECT) == t.ANY_LIST
    assert result_type(registry, "min", t.ListType(t.DATE)) == t.DATE
    assert result_type(registry, "max", t.NUMBER, t.NUMBER) == t.NUMBER
    assert result_type(registry, "max", t.NUMBER, t.TEXT) == t.ANY
    assert result_type(registry, "sum", t.ListType(t.NUMBER)) == t.NUMBER
    assert result_type(registry, "sum", t.ListType(t.DURATION)) == t.DURATION
    assert result_type(registry, "count", orders) == t.NUMBER
    assert result_type(registry, "contains", t.TEXT, t.TEXT) == t.BOOLEAN


def test_signatures(registry: Registry) -> None:
    fs = registry.functions
    assert [p.name for p in fs["sort"].kwargs] == ["desc", "by"]
    assert fs["sum"].variadic and fs["min"].variadic and fs["max"].variadic
    assert [p.required for p in fs["join"].params] == [True, True]


@given(st.lists(st.integers() | st.floats(allow_nan=False, allow_infinity=False)))
def test_sort_orders_numbers(values: list[float]) -> None:
    from wfkit.plugins.builtin_lists import sort

    result = sort(values)
    assert result == sorted(values)
    assert sort(values, desc=True) == sorted(values, reverse=True)


@given(st.lists(st.integers(-3, 3) | st.text(max_size=2) | st.booleans()))
def test_unique_keeps_first_of_each(values: list[Any]) -> None:
    from wfkit.plugins.builtin_lists import contains, unique

    result = unique(values)
    assert all(contains(result, v) for v in values)
    assert len(unique(result)) == len(result)
    assert [v for v in values if contains(result, v)] == values
