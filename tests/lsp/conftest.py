"""`editor`: a running `wf lsp` with pygls' LanguageClient, on a copy of the shop app (fixtures/shop)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lsp_editor import Editor

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of the shop app: a folder of two files, which the tests may change."""
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", root)
    return root.resolve()


@pytest.fixture
async def editor(shop: Path) -> AsyncIterator[Editor]:
    ed = Editor(shop)
    await ed.start()
    try:
        yield ed
    finally:
        await ed.stop()
