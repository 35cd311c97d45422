"""The fuzz gate: schemathesis, with every check it has, against three running apps — the HTTP
tests' app, the example app, and one with every parameter type doing date, duration and number
arithmetic. No answer may be a server error or a status the OpenAPI document does not list.

Two checks are left out, by design of the API rather than by fault: `positive_data_acceptance`
(a workflow's own `fail` rejects data its schema allows) and `negative_data_rejection` (values are
converted as Bubble converts them: "42" is a number, 42 is a text)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import Served, serving

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
SEED = 20261202


def fuzz(served: Served, examples: int) -> str:
    """Run schemathesis against `served`; its report when every check held."""
    doc = httpx.get(served.url + "/api/1.1/meta/openapi.json", params={"api_token": served.admin}).json()
    path = served.cwd / "openapi.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(path),
            "--url",
            served.url,
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance,negative_data_rejection",
            "--seed",
            str(SEED),
            "--max-examples",
            str(examples),
            "--header",
            f"Authorization: Bearer {served.admin}",
            "--no-color",
        ],
        cwd=served.cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = done.stdout + done.stderr
    log = served.log()
    errors = "\n".join(log[i : i + 3000] for i in [m.start() for m in re.finditer("Traceback", log)][:3])
    assert done.returncode == 0, report[-6000:] + "\n--- the server's first errors ---\n" + errors
    assert "INTERNAL_ERROR" not in served.log()
    generated = re.search(r"(\d+) generated", report)
    assert generated is not None and int(generated.group(1)) >= 10 * len(doc["paths"]), report[-2000:]
    print(f"schemathesis: {generated.group(1)} cases over {len(doc['paths'])} paths")
    return report


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(ROOT / "examples" / "orders", tmp_path_factory.mktemp("orders")) as s:
        yield s


@pytest.fixture(scope="module")
def arith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(FIXTURES / "arith.wf", tmp_path_factory.mktemp("arith")) as s:
        yield s


def test_fuzzing_the_test_app_finds_no_server_error_and_no_undocumented_status(served: Served) -> None:
    fuzz(served, 25)


def test_fuzzing_the_example_app_finds_no_server_error_and_no_undocumented_status(orders: Served) -> None:
    fuzz(orders, 20)


def test_fuzzing_arithmetic_on_every_type_finds_no_server_error(arith: Served) -> None:
    fuzz(arith, 100)
