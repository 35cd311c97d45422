"""How a plugin author tests a plugin with wfkit.testing: compile a workflow that uses it, run it.

wfkit's own test run collects these too; they are skipped until the plugin is installed
(`pip install ./examples/plugin-hello`, as CI does)."""

from __future__ import annotations

import pytest
from wfkit.testing import compile_source, run_workflow

wfkit_example_hello = pytest.importorskip(
    "wfkit_example_hello", reason="examples/plugin-hello is not installed (pip install ./examples/plugin-hello)"
)

SOURCE = """
workflow welcome(name: text, times: number = 1) {
  g = hello.greet(name: name, times: times)
  return { greeting: greeting(name), message: g.message }
}
"""


async def test_welcome() -> None:
    app = compile_source(SOURCE, plugins=[wfkit_example_hello])
    record = await run_workflow(app, "welcome", name="Ann", times="2")
    assert record.ok, record.error
    assert record.response == {"greeting": "Hello, Ann!", "message": "Hello, Ann! Hello, Ann!"}
    assert record.logs[0]["message"] == "greeted Ann 2 time(s)"


async def test_bad_times_fail_the_run() -> None:
    app = compile_source(SOURCE, plugins=[wfkit_example_hello])
    record = await run_workflow(app, "welcome", name="Ann", times=11)
    assert record.error is not None and "from 1 to 10" in record.error["message"]
