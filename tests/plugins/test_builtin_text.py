from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wfkit.core.errors import FunctionError
from wfkit.core.things import Thing

Call = Callable[..., Any]


def test_lower_upper_trim(call: Call) -> None:
    assert call("lower", "HeLLo") == "hello"
    assert call("upper", "straße") == "STRASSE"
    assert call("trim", "  a b \n") == "a b"
    for name in ("lower", "upper", "trim"):
        assert call(name, None) is None
        assert call(name, "") == ""
        with pytest.raises(FunctionError, match=f"^{name}: 42 is not a text$"):
            call(name, 42)


def test_split(call: Call) -> None:
    assert call("split", "a,b,,c", ",") == ["a", "b", "", "c"]
    assert call("split", "a  b\tc") == ["a", "b", "c"]
    assert call("split", "abc", "") == ["a", "b", "c"]
    assert call("split", "", ",") == []
    assert call("split", None, ",") == []
    with pytest.raises(FunctionError, match="split: 1 is not a text"):
        call("split", 1, ",")
    with pytest.raises(FunctionError, match="split: 1 is not a text"):
        call("split", "a", 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, "3"),
        (3.0, "3"),
        (3.5, "3.5"),
        (-0.25, "-0.25"),
        (True, "true"),
        (False, "false"),
        (None, ""),
        ("x", "x"),
        (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), "2026-12-01T09:00:00Z"),
        (datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))), "2026-12-01T09:00:00Z"),
        (timedelta(minutes=2), "120"),
        (timedelta(seconds=0.5), "0.5"),
        ([1, "a", None, True], '[1,"a",null,true]'),
        ({"a": {"b": [1.5]}}, '{"a":{"b":[1.5]}}'),
        (Thing("Order", "o1"), "o1"),
        ([Thing("Order", "o1"), datetime(2026, 1, 1, tzinfo=UTC)], '["o1","2026-01-01T00:00:00Z"]'),
        ({"é": "ü"}, '{"é":"ü"}'),
        ({"n": 3.0, "x": float("nan"), "d": timedelta(seconds=1)}, '{"n":3,"x":null,"d":1}'),
    ],
)
def test_text(call: Call, value: Any, expected: str) -> None:
    assert call("text", value) == expected


def test_number(call: Call) -> None:
    assert call("number", "42") == 42 and isinstance(call("number", "42"), int)
    assert call("number", " -3.5 ") == -3.5
    assert call("number", "1e3") == 1000
    assert call("number", "1_000") == 1000
    assert call("number", 7) == 7
    assert call("number", None) is None
    assert call("number", "  ") is None
    for bad in ("abc", "nan", "inf", "1,5"):
        with pytest.raises(FunctionError, match=f'^number: "{bad}" is not a number$'):
            call("number", bad)
    with pytest.raises(FunctionError, match="number: true is not a number"):
        call("number", True)
    with pytest.raises(FunctionError, match="number"):
        call("number", [1])


def test_round(call: Call) -> None:
    assert call("round", 2.5) == 3 and isinstance(call("round", 2.5), int)
    assert call("round", -2.5) == -3  # half away from zero, not to even
    assert call("round", 3.14159, 2) == 3.14
    assert call("round", 1.005, 2) == 1.01  # the decimal 1.005 as written, not its binary neighbour
    assert call("round", 1234, -2) == 1200
    assert call("round", 7) == 7
    assert call("round", 7, 2) == 7
    assert call("round", 2.0, 0) == 2 and isinstance(call("round", 2.0, 0), int)
    assert call("round", 1e300, 2) == 1e300
    assert call("round", None) is None
    with pytest.raises(FunctionError, match='round: "a" is not a number'):
        call("round", "a")
    with pytest.raises(FunctionError, match=r"round: 1.5 is not a whole number \(digits\)"):
        call("round", 1, 1.5)


def test_date(call: Call) -> None:
    expected = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert call("date", "2026-12-01T09:00:00Z") == expected
    assert call("date", "2026-12-01T09:00:00") == expected  # naive means UTC
    assert call("date", "2026-12-01T10:00:00+01:00") == expected
    assert call("date", " 2026-12-01t09:00:00z ") == expected
    assert call("date", "2026-12-01T10:00:00+01:00").tzinfo == UTC
    assert call("date", "2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert call("date", expected) is not None and call("date", expected) == expected
    assert call("date", datetime(2026, 12, 1, 9, 0)) == expected
    assert call("date", None) is None
    assert call("date", "") is None
    with pytest.raises(FunctionError, match=r'^date: "tomorrow" is not a date'):
        call("date", "tomorrow")
    with pytest.raises(FunctionError, match="date: 5 is not a date"):
        call("date", 5)


def test_format_date(call: Call) -> None:
    when = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert call("format_date", when, "%Y-%m-%d") == "2026-12-01"
    assert call("format_date", when, "%d/%m/%Y %H:%M") == "01/12/2026 23:30"
    assert call("format_date", when) == "2026-12-01T23:30:00Z"
    assert call("format_date", when, "%Y-%m-%d", zone="Europe/Paris") == "2026-12-02"
    assert call("format_date", when, zone="Europe/Paris") == "2026-12-02T00:30:00+01:00"
    assert call("format_date", "2026-12-01T23:30:00Z", "%H:%M") == "23:30"
    assert call("format_date", None, "%Y") is None
    with pytest.raises(FunctionError, match='format_date: "Mars/Base" is not a time zone'):
        call("format_date", when, "%Y", zone="Mars/Base")
    with pytest.raises(FunctionError, match="format_date: 5 is not a date"):
        call("format_date", 5, "%Y")
    with pytest.raises(FunctionError, match="format_date: 5 is not a format"):
        call("format_date", when, 5)


def test_random_string(call: Call) -> None:
    s = call("random_string", 32)
    assert len(s) == 32 and set(s) <= set(string.ascii_letters + string.digits)
    assert call("random_string", 32) != s
    assert call("random_string", 0) == ""
    assert len(call("random_string", 4.0)) == 4
    for bad in (-1, 2.5, "8", None, 10**9):
        with pytest.raises(FunctionError, match="random_string"):
            call("random_string", bad)


def test_env(call: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFKIT_TEST_SECRET", "s3cret")
    monkeypatch.delenv("WFKIT_TEST_UNSET", raising=False)
    assert call("env", "WFKIT_TEST_SECRET") == "s3cret"
    assert call("env", "WFKIT_TEST_UNSET") is None
    with pytest.raises(FunctionError, match="env"):
        call("env", None)


def test_long_values_are_cut_in_messages(call: Call) -> None:
    with pytest.raises(FunctionError) as e:
        call("number", "x" * 500)
    assert len(str(e.value)) < 120 and str(e.value).endswith("... is not a number")


@given(st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False))
def test_number_reads_text(value: float) -> None:
    from wfkit.plugins.builtin_text import number, text

    assert number(text(value)) == value


@given(st.datetimes(timezones=st.just(UTC)))
def test_date_reads_text(value: datetime) -> None:
    from wfkit.plugins.builtin_text import date, text

    assert date(text(value)) == value
