"""Parameters from outside converted to declared types, with Bubble's error messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wfkit.core.app import ParamInfo, Workflow
from wfkit.core.convert import convert_args
from wfkit.core.errors import InvalidDataError, MissingDataError
from wfkit.core.types import BOOLEAN, DATE, DURATION, NUMBER, OBJECT, TEXT, ListType
from wfkit.dsl.ast import NO_SPAN

WF = Workflow(
    "w",
    [
        ParamInfo("n", NUMBER, True),
        ParamInfo("flag", BOOLEAN, False),
        ParamInfo("when", DATE, False),
        ParamInfo("wait", DURATION, False),
        ParamInfo("tags", ListType(TEXT), False),
        ParamInfo("nums", ListType(NUMBER), False),
        ParamInfo("meta", OBJECT, False),
        ParamInfo("api_key", NUMBER, False),
    ],
    [],
    NO_SPAN,
)


async def conv(from_text: bool = True, **raw: Any) -> dict[str, Any]:
    return await convert_args(WF, raw, from_text=from_text)


async def test_text_values_convert() -> None:
    got = await conv(
        n="42", flag="yes", when="2026-12-01T09:00:00Z", wait="PT1M", tags="a", nums=["1", "2.5"], meta='{"k": [1]}'
    )
    assert got == {
        "n": 42,
        "flag": True,
        "when": datetime(2026, 12, 1, 9, tzinfo=UTC),
        "wait": timedelta(minutes=1),
        "tags": ["a"],
        "nums": [1, 2.5],
        "meta": {"k": [1]},
    }


async def test_json_values_convert() -> None:
    got = await conv(from_text=False, n=3.0, flag=False, wait=30, tags=["x", "y"], nums=[1, "2"], meta="plain")
    assert got == {
        "n": 3,
        "flag": False,
        "wait": timedelta(seconds=30),
        "tags": ["x", "y"],
        "nums": [1, 2],
        "meta": "plain",
    }
    with pytest.raises(InvalidDataError, match="expected list of number, got '\\[1, 2\\]'"):
        await conv(from_text=False, n=1, nums="[1, 2]")  # in JSON, a list is an array, not a text


async def test_unknown_keys_are_ignored_and_optional_missing_is_left_out() -> None:
    assert await conv(n="1", other="x") == {"n": 1}


async def test_missing_required_parameter() -> None:
    with pytest.raises(MissingDataError, match=r"^Missing parameter for workflow w: parameter n$") as info:
        await conv(flag="true")
    assert info.value.status == "MISSING_DATA" and info.value.code == 400


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"n": "abc"}, "Invalid data for parameter n of workflow w: expected number, got 'abc'"),
        ({"n": "1", "flag": "maybe"}, "parameter flag of workflow w: expected boolean, got 'maybe'"),
        ({"n": "1", "when": "tomorrow"}, "parameter when of workflow w: expected date, got 'tomorrow'"),
        ({"n": "1", "wait": "soon"}, "parameter wait of workflow w: expected duration, got 'soon'"),
        ({"n": "1", "nums": ["1", "x"]}, "parameter nums of workflow w: expected list of number"),
        ({"n": "1", "api_key": "sk_live_xyz"}, "parameter api_key of workflow w: expected number, got [redacted]"),
        ({"n": "inf"}, "expected number, got 'inf'"),
        (
            {"n": "1", "wait": 10**30},
            "parameter wait of workflow w: expected duration, got 1000000000000000000000000000000",
        ),
        ({"n": "1", "wait": "1e300"}, "parameter wait of workflow w: expected duration, got '1e300'"),
    ],
)
async def test_invalid_values_name_parameter_type_and_value(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDataError) as info:
        await conv(**raw)
    assert message in info.value.message
    assert info.value.status == "INVALID_DATA"
    assert "sk_live_xyz" not in info.value.message
