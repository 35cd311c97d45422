from __future__ import annotations

import asyncio
import logging
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from wfkit.core.errors import PluginError
from wfkit.plugins import ActionContext, ActionSpec, FunctionSpec, ParamSpec, Registry, RunInfo, hookimpl
from wfkit.plugins.manager import DEFAULT_PLUGINS, get_registry, load_registry, notify, plugins_info

DOCUMENTED_FUNCTIONS = {
    *("count", "first", "last", "sum", "min", "max", "unique", "sort", "join", "split", "length"),
    *("lower", "upper", "trim", "contains", "round", "number", "text", "format_date", "date"),
    *("random_string", "env"),
}


async def refund(ctx: ActionContext, target: Any, args: dict[str, Any]) -> dict[str, Any]:
    return {"refunded": args["amount"]}


def shout(value: str) -> str:
    return value.upper() + "!"


class Stripe:
    """A plugin as a class instance, as a third party might write it."""

    @hookimpl
    def register_actions(self) -> list[ActionSpec]:
        params = (ParamSpec("amount", "number", required=True),)
        return [ActionSpec(verb="stripe.refund", run=refund, params=params, result="object")]

    @hookimpl
    def register_functions(self) -> list[FunctionSpec]:
        return [FunctionSpec("shout", shout, (ParamSpec("value", "text", True),), "text")]


def module(name: str, **hooks: Any) -> ModuleType:
    """A plugin as a module, with `@hookimpl` functions."""
    mod = ModuleType(name)
    for hook, fn in hooks.items():
        setattr(mod, hook, hookimpl(fn))
    return mod


def actions(*specs: ActionSpec) -> Any:
    return lambda: list(specs)


async def noop(ctx: ActionContext, target: Any, args: dict[str, Any]) -> None:
    return None


def test_builtins_load() -> None:
    registry = load_registry(entrypoints=False)
    assert set(registry.functions) == DOCUMENTED_FUNCTIONS
    assert "log" in registry.actions
    assert set(registry.function_plugins.values()) <= set(DEFAULT_PLUGINS)
    for name, spec in registry.functions.items():
        assert spec.name == name and spec.doc


def test_get_registry_is_cached() -> None:
    assert get_registry() is get_registry()
    assert load_registry(entrypoints=False) is not load_registry(entrypoints=False)


def test_registry_defaults() -> None:
    empty = Registry()
    assert empty.actions == {} and not empty.has_listeners("run_started")


async def test_a_plugin_adds_an_action_and_a_function() -> None:
    registry = load_registry([Stripe()], entrypoints=False)
    assert registry.action_plugins["stripe.refund"] == "Stripe"
    assert registry.function_plugins["shout"] == "Stripe"
    assert registry.functions["shout"].impl("hi") == "HI!"
    ctx = ActionContext(run=RunInfo(id="r", workflow="w"), idempotency_key="k", line=1, log=print)
    assert await registry.actions["stripe.refund"].run(ctx, None, {"amount": 5}) == {"refunded": 5}
    assert "count" in registry.functions  # the built-ins are still there


def test_a_module_plugin_by_object_or_name(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_registry([module("wfkit_test_mod", register_actions=actions(ActionSpec("ping", noop)))])
    assert registry.action_plugins["ping"] == "wfkit_test_mod"
    named = module("wfkit_test_named", register_actions=actions(ActionSpec("pong", noop)))
    monkeypatch.setitem(sys.modules, "wfkit_test_named", named)
    registry = load_registry(["wfkit_test_named"], entrypoints=False)
    assert registry.action_plugins["pong"] == "wfkit_test_named"


def test_a_plugin_registered_twice() -> None:
    with pytest.raises(PluginError, match="already registered"):
        load_registry(["wfkit.plugins.builtin_log"], entrypoints=False)


def test_unknown_module_name() -> None:
    with pytest.raises(PluginError, match="cannot import plugin wfkit_no_such_plugin"):
        load_registry(["wfkit_no_such_plugin"], entrypoints=False)


def test_duplicate_verb_names_both_plugins() -> None:
    a = module("plugin_a", register_actions=actions(ActionSpec("notify", noop)))
    b = module("plugin_b", register_actions=actions(ActionSpec("notify", noop)))
    expected = r"action 'notify' is provided by two plugins: plugin_a and plugin_b$"
    with pytest.raises(PluginError, match=expected):
        load_registry([a, b], entrypoints=False)


def test_duplicate_of_a_builtin() -> None:
    dup_log = module("my_logger", register_actions=actions(ActionSpec("log", noop, target="value")))
    with pytest.raises(PluginError, match=r"wfkit\.plugins\.builtin_log and my_logger"):
        load_registry([dup_log], entrypoints=False)
    dup_fn = module("my_count", register_functions=lambda: [FunctionSpec("count", len, (ParamSpec("x"),))])
    with pytest.raises(PluginError, match=r"function 'count' .* wfkit\.plugins\.builtin_lists and my_count"):
        load_registry([dup_fn], entrypoints=False)


def test_misspelled_hook() -> None:
    bad = module("typo_plugin", register_action=actions(ActionSpec("ping", noop)))
    expected = "typo_plugin: unknown hook 'register_action'; did you mean register_actions?"
    with pytest.raises(PluginError, match=re.escape(expected)):
        load_registry([bad], entrypoints=False)


def test_hook_with_an_unknown_argument() -> None:
    bad = module("bad_args", run_started=lambda run, extra: None)
    with pytest.raises(PluginError, match="bad_args"):
        load_registry([bad], entrypoints=False)


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([ActionSpec("if", noop)], "reserved word"),
        ([ActionSpec("stripe.", noop)], "a verb is a name"),
        ([ActionSpec("ping", noop, target="everything")], "target must be one of"),  # type: ignore[arg-type]
        ([ActionSpec("ping", lambda ctx: None)], "does not take the declared arguments"),  # type: ignore[arg-type]
        ([ActionSpec("ping", noop, params=(ParamSpec("a"), ParamSpec("a")))], "parameter names repeat"),
        (["ping"], "returned 'ping', not a ActionSpec"),
    ],
)
def test_bad_action_specs(specs: list[Any], message: str) -> None:
    with pytest.raises(PluginError, match=message):
        load_registry([module("sloppy", register_actions=lambda: specs)], entrypoints=False)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (FunctionSpec("not", shout, (ParamSpec("v"),)), "reserved word"),
        (FunctionSpec("two words", shout, (ParamSpec("v"),)), "a function name is a name"),
        (FunctionSpec("f", shout, (ParamSpec("a"), ParamSpec("b", required=True))), "follows an optional"),
        (FunctionSpec("f", shout, (ParamSpec("v", required=True),), kwargs=(ParamSpec("w"),)), "declared"),
        (FunctionSpec("f", shout, variadic=True), "variadic needs"),
        (FunctionSpec("f", shout, (ParamSpec("v"),), result=42), "result must be"),  # type: ignore[arg-type]
    ],
)
def test_bad_function_specs(spec: FunctionSpec, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        load_registry([module("sloppy", register_functions=lambda: [spec])], entrypoints=False)


def test_a_failing_hook_is_named() -> None:
    def boom() -> list[ActionSpec]:
        raise RuntimeError("no config")

    with pytest.raises(PluginError, match="plugin crashy: register_actions failed: no config"):
        load_registry([module("crashy", register_actions=boom)], entrypoints=False)


def test_plugins_info() -> None:
    registry = load_registry([Stripe()], entrypoints=False)
    info = {p["name"]: p for p in plugins_info(registry)}
    assert set(DEFAULT_PLUGINS) <= set(info)
    assert info["wfkit.plugins.builtin_log"]["actions"] == ["log"]
    assert info["wfkit.plugins.builtin_log"]["builtin"] is True
    assert "count" in info["wfkit.plugins.builtin_lists"]["functions"]
    stripe = info["Stripe"]
    assert stripe == {
        "name": "Stripe",
        "package": None,
        "version": None,
        "builtin": False,
        "hooks": ["register_actions", "register_functions"],
        "actions": ["stripe.refund"],
        "functions": ["shout"],
        "action_signatures": {"stripe.refund": "stripe.refund(amount: number) → object"},
        "function_signatures": {"shout": "shout(value: text) → text"},
    }
    assert list(info)[: len(DEFAULT_PLUGINS)] == list(DEFAULT_PLUGINS)  # built-ins first


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real installed distribution with a `wfkit` entry point, found through sys.path."""
    (tmp_path / "wfkit_hello.py").write_text(
        textwrap.dedent(
            """
            from wfkit.plugins import FunctionSpec, ParamSpec, hookimpl

            @hookimpl
            def register_functions():
                name = ParamSpec("name", "text", required=True)
                return [FunctionSpec("hello", lambda name: f"hello {name}", (name,), "text")]
            """
        )
    )
    info = tmp_path / "wfkit_hello-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wfkit-hello\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[wfkit]\nhello = wfkit_hello\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("wfkit_hello", None)


def test_entry_point_plugin(installed: Path) -> None:
    registry = load_registry()
    assert registry.functions["hello"].impl("ada") == "hello ada"
    assert registry.function_plugins["hello"] == "hello"
    hello = next(p for p in plugins_info(registry) if p["name"] == "hello")
    assert (hello["package"], hello["version"], hello["functions"]) == ("wfkit-hello", "1.2.3", ["hello"])
    assert "hello" not in load_registry(entrypoints=False).functions


def test_entry_point_that_fails_to_import(installed: Path) -> None:
    (installed / "wfkit_hello.py").write_text("raise ImportError('missing dependency')\n")
    with pytest.raises(PluginError, match="entry point group 'wfkit': missing dependency"):
        load_registry()


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    @hookimpl
    def run_started(self, run: RunInfo) -> None:
        self.seen.append(("started", run.id))

    @hookimpl
    async def step_finished(self, step: dict[str, Any]) -> None:  # may take fewer arguments
        await asyncio.sleep(0)
        self.seen.append(("step", step["status"]))

    @hookimpl
    async def run_finished(self, run: RunInfo, record: dict[str, Any]) -> None:
        self.seen.append(("finished", record["status"]))


class Broken:
    @hookimpl
    def run_finished(self, run: RunInfo, record: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")


async def test_events(caplog: pytest.LogCaptureFixture) -> None:
    events = Events()
    registry = load_registry([events, Broken()], entrypoints=False)
    run = RunInfo(id="r1", workflow="w")
    assert registry.has_listeners("step_finished")
    assert not load_registry(entrypoints=False).has_listeners("run_started")
    await notify(registry.hook.run_started, run=run)
    await registry.notify("step_finished", run=run, step={"id": "s1", "line": 2, "status": "ran"})
    with caplog.at_level(logging.ERROR, logger="wfkit.plugins"):
        await registry.notify("run_finished", run=run, record={"status": "success"})
    assert events.seen == [("started", "r1"), ("step", "ran"), ("finished", "success")]
    assert "plugin Broken failed in run_finished" in caplog.text
