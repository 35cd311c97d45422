"""Syntax error messages, compared with golden files: `golden/NAME.wf` and its `NAME.err`.

The `.err` file holds the rendered diagnostics (`Diagnostic.render`). To write them again after
a deliberate change of wording: `WF_UPDATE_GOLDEN=1 pytest tests/dsl/test_dsl_golden.py`, then
read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wfkit.dsl import parse

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.wf"))


def render(name: str) -> str:
    file = f"{name}.wf"
    text = (GOLDEN / file).read_text(encoding="utf-8")
    result = parse(text, file)
    kept = ", ".join(getattr(d, "name", None) or type(d).__name__ for d in result.module.decls)
    out = [d.render({file: text}) for d in result.diagnostics]
    return "\n".join([*out, f"-- kept: {kept or 'nothing'}"]) + "\n"


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    got = render(name)
    expected_file = GOLDEN / f"{name}.err"
    if os.environ.get("WF_UPDATE_GOLDEN") == "1":
        expected_file.write_text(got, encoding="utf-8")
    assert expected_file.exists(), f"no {expected_file.name}: run with WF_UPDATE_GOLDEN=1"
    assert got == expected_file.read_text(encoding="utf-8")


def test_every_case_reports_something() -> None:
    for name in CASES:
        assert parse((GOLDEN / f"{name}.wf").read_text(encoding="utf-8"), name).diagnostics, name
