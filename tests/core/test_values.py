"""Run-time operations on values: arithmetic with empty, comparisons, text and JSON forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from wfkit.core import values as V
from wfkit.core.errors import RunError
from wfkit.core.things import Thing

D = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_add_numbers_texts_lists_dates() -> None:
    assert V.add(1, 2.5) == 3.5
    assert V.add(1.5, 1.5) == 3 and isinstance(V.add(1.5, 1.5), int)
    assert V.add("a", "b") == "ab"
    assert V.add("n=", 3) == "n=3"
    assert V.add([1], [2, 3]) == [1, 2, 3]
    assert V.add(["a"], "b") == ["a", "b"]
    assert V.add(D, timedelta(days=1)) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert V.add(timedelta(hours=1), D) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_empty_is_neutral_in_addition() -> None:
    assert V.add(None, 5) == 5 and V.add("x", None) == "x" and V.add(None, None) is None
    assert V.sub(None, 5) == -5


def test_arithmetic_errors_are_run_errors() -> None:
    with pytest.raises(RunError, match="cannot add boolean and number"):
        V.add(True, 1)
    with pytest.raises(RunError, match="division by zero"):
        V.div(1, 0)
    with pytest.raises(RunError, match="division by zero"):
        V.mod(1, 0)


def test_date_differences_and_duration_ratios() -> None:
    assert V.sub(D, datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) == timedelta(days=1)
    assert V.div(timedelta(days=1), timedelta(hours=1)) == 24
    assert V.mul(3, timedelta(minutes=2)) == timedelta(minutes=6)
    assert V.sub([1, 2, 3, 2], 2) == [1, 3]


def test_comparisons() -> None:
    a, b = Thing("Order", "x"), Thing("Order", "x", {"title": "other"})
    assert V.eq(a, b) and V.eq(a, "x") and not V.eq(a, Thing("Order", "y"))
    assert not V.eq(1, True) and V.eq(1, 1.0)
    assert not V.lt(None, 1) and not V.ge(None, None)
    assert V.lt("a", "b") and V.lt(D, D + timedelta(seconds=1))
    with pytest.raises(RunError, match="cannot compare text < number"):
        V.lt("a", 1)


def test_contains_and_truthiness() -> None:
    assert V.contains([1, 2], 2) and V.contains("hello", "ell") and V.contains({"k": 1}, "k")
    assert not V.contains(None, 1)
    assert [V.truthy(x) for x in (None, "", 0, [], False, "x", 1, True)] == [False] * 5 + [True] * 3
    assert V.is_empty(None) and V.is_empty("") and V.is_empty([]) and not V.is_empty(0)


def test_text_and_json_forms() -> None:
    assert V.text(3.0) == "3" and V.text(2.5) == "2.5" and V.text(True) == "true" and V.text(None) == ""
    assert V.text(D) == "2026-12-01T09:00:00Z"
    assert V.text(timedelta(minutes=1.5)) == "90"
    assert V.text([1, "a"]) == '[1,"a"]'
    assert V.to_json({"t": Thing("User", "u1"), "d": D, "n": [1.0, float("nan")]}) == {
        "t": "u1",
        "d": "2026-12-01T09:00:00Z",
        "n": [1, None],
    }


def test_redaction_of_secret_names() -> None:
    assert V.redact({"api_key": "k", "Password": "p", "user_token": "t", "clientSecret": "s", "name": "n"}) == {
        "api_key": "[redacted]",
        "Password": "[redacted]",
        "user_token": "[redacted]",
        "clientSecret": "[redacted]",
        "name": "n",
    }


def test_parse_dates_and_durations() -> None:
    assert V.parse_date("2026-12-01T09:00:00Z") == D
    assert V.parse_date("2026-12-01T10:00:00+01:00") == D
    assert V.parse_date("2026-12-01T09:00:00") == D
    assert V.parse_duration("90") == timedelta(seconds=90)
    assert V.parse_duration("PT1H30M") == timedelta(minutes=90)
    assert V.parse_duration("P2DT1S") == timedelta(days=2, seconds=1)
    for bad in ("soon", "P", "PT"):
        with pytest.raises(ValueError):
            V.parse_duration(bad)


def test_read_field_and_hidden_fields() -> None:
    t = Thing("Order", "o1", {"title": "a", "secret": "s"}, hidden=frozenset({"secret"}))
    assert V.read_field(t, "title") == "a" and V.read_field(t, "secret") is None and V.read_field(t, "id") == "o1"
    assert V.read_field([t, {"title": "b"}], "title") == ["a", "b"]
    with pytest.raises(RunError, match=r"cannot read \.x of number"):
        V.read_field(3, "x")
