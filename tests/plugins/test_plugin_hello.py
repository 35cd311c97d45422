"""A third-party plugin for real: examples/plugin-hello, pip-installed, found through its entry point.

CI runs `pip install ./examples/plugin-hello` first; elsewhere this test is skipped until it is."""

from __future__ import annotations

import pytest
from wfkit.plugins.manager import load_registry, plugins_info
from wfkit.testing import run_workflow

pytest.importorskip(
    "wfkit_example_hello", reason="examples/plugin-hello is not installed (pip install ./examples/plugin-hello)"
)

from wfkit.core.loader import build_app

SOURCE = """
workflow welcome(name: text) {
  g = hello.greet(name: name, times: 3)
  log (greeting(upper(name)))
  return { message: g.message, short: greeting(name) }
}
"""


def test_the_entry_point_is_found() -> None:
    registry = load_registry()
    assert registry.action_plugins["hello.greet"] == "example_hello"
    assert registry.function_plugins["greeting"] == "example_hello"
    info = {p["name"]: p for p in plugins_info(registry)}
    assert info["example_hello"]["package"] == "wfkit-example-hello" and not info["example_hello"]["builtin"]
    assert info["example_hello"]["actions"] == ["hello.greet"] and info["example_hello"]["functions"] == ["greeting"]


async def test_a_workflow_uses_its_action_and_function() -> None:
    app = build_app({"welcome.wf": SOURCE}, load_registry())
    record = await run_workflow(app, "welcome", name="Ann")
    assert record.ok, record.error
    assert record.response == {"message": "Hello, Ann! Hello, Ann! Hello, Ann!", "short": "Hello, Ann!"}
    assert [log["message"] for log in record.logs] == ["greeted Ann 3 time(s)", "Hello, ANN!"]
