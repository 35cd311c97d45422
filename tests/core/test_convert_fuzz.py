"""Property tests of the conversion and arithmetic layer: any JSON value (or text, as a query string
or a form sends it) in, a typed value or a conversion error out — never another exception, which
the HTTP API would answer with a 500."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wfkit.core import values as V
from wfkit.core.convert import Unconvertible, convert
from wfkit.core.errors import RunError
from wfkit.core.types import BOOLEAN, DATE, DURATION, NUMBER, OBJECT, TEXT, ListType, WfType

TYPES: list[WfType] = [TEXT, NUMBER, BOOLEAN, DATE, DURATION, OBJECT, ListType(NUMBER), ListType(DATE)]

edge_numbers = st.sampled_from([0, -1, 1e308, -1e308, 1e-320, 2**63, -(2**64), 10**400, 86400 * 999_999_999])
edge_texts = st.sampled_from(
    ["", " ", "9999-12-31T23:59:59Z", "0001-01-01", "P999999999D", "PT1e300S", "1e400", "nan", "inf", "-0", "\ud800"]
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | edge_numbers | st.text(max_size=40) | edge_texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _convert(value: Any, t: WfType, from_text: bool) -> Any:
    return asyncio.run(convert(value, t, store=None, run=None, from_text=from_text))


@settings(max_examples=600, deadline=None)
@given(value=json_values, t=st.sampled_from(TYPES), from_text=st.booleans())
def test_any_value_converts_or_is_refused(value: Any, t: WfType, from_text: bool) -> None:
    with contextlib.suppress(Unconvertible):
        _convert(value, t, from_text)


# the numbers a run can hold: whole ones within 64 bits (past them they become floats), any float
whole = st.integers(min_value=-(2**63), max_value=2**64 - 1)
operands = (
    st.none()
    | whole
    | st.floats()
    | st.sampled_from([0, -1, 1e308, -1e308, 1e-320, 2**63, -(2**63), 86400 * 999_999_999])
    | st.text(max_size=5)
    | st.timedeltas()
    | st.builds(lambda d: d.replace(tzinfo=None), st.datetimes())
    | st.lists(whole, max_size=3)
)
OPS = [V.add, V.sub, V.mul, V.div, V.mod]


@settings(max_examples=1500, deadline=None)
@given(op=st.sampled_from(OPS), a=operands, b=operands)
def test_arithmetic_gives_a_value_or_a_run_error(op: Any, a: Any, b: Any) -> None:
    with contextlib.suppress(RunError):
        op(a, b)


def test_whole_numbers_past_64_bits_become_floats() -> None:
    assert V.mul(2**62, 2**62) == float(2**124) and isinstance(V.mul(2**62, 2**62), float)
    try:
        V.mul(10**200, 10**200)
    except RunError as e:
        assert "too large" in str(e)
    else:
        raise AssertionError("10^400 is no number a run can hold")


def test_the_edges_of_dates_and_durations_are_run_errors() -> None:
    top, bottom = datetime(9999, 12, 31, 23, 0), datetime(1, 1, 1)
    for op, a, b in [
        (V.add, top, timedelta(hours=2)),
        (V.sub, bottom, timedelta(days=1)),
        (V.mul, timedelta(days=1), 1e12),
        (V.mul, 1e300, timedelta(seconds=1)),
        (V.mul, timedelta(days=1), float("nan")),
        (V.div, timedelta(days=1), 1e-300),
        (V.add, timedelta(days=999_999_999), timedelta(days=1)),
    ]:
        try:
            op(a, b)
        except RunError as e:
            assert "out of range" in str(e)
        else:
            raise AssertionError(f"{op.__name__}({a!r}, {b!r}) gave a value")
