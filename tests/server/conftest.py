"""A real `wf serve` on 127.0.0.1 for the HTTP tests: started once per test module, stopped with
SIGINT (it must stop within 5 seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import Served, serving

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(FIXTURES / "api.wf", tmp_path_factory.mktemp("served"), {"WF_MAX_BODY_BYTES": "65536"}) as s:
        yield s
