"""Loads the plugins and collects their actions and functions into one `PluginRegistry`.

Built-ins (`DEFAULT_PLUGINS`) are registered exactly like third-party plugins, which come from the
`wfkit` entry point group; after loading, `check_pending()` turns a misspelled hook into an error.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import pluggy
from wfkit.core.actions import ActionSpec, FunctionSpec, ParamSpec, Registry
from wfkit.core.errors import PluginError

from . import hookspecs

logger = logging.getLogger("wfkit.plugins")

DEFAULT_PLUGINS: tuple[str, ...] = (
    "wfkit.plugins.builtin_lists",
    "wfkit.plugins.builtin_text",
    "wfkit.plugins.builtin_log",
    "wfkit.plugins.builtin_things",
    "wfkit.plugins.builtin_users",
    "wfkit.plugins.builtin_email",
    "wfkit.plugins.builtin_http",
)

ENTRY_POINT_GROUP = "wfkit"

# docs/language.md (reserved words): a verb or function with one of these names could never be written
RESERVED = frozenset(
    {
        *("and", "or", "not", "in", "is", "empty", "true", "false", "if", "else", "for", "each", "let"),
        *("schedule", "call", "cancel", "return", "terminate", "fail", "search", "when"),
    }
)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
TARGETS = ("none", "type", "thing", "value")

Spec = TypeVar("Spec", ActionSpec, FunctionSpec)


def new_plugin_manager() -> pluggy.PluginManager:
    """A manager that knows wfkit's hooks and has no plugins yet."""
    pm = pluggy.PluginManager("wfkit")
    pm.add_hookspecs(hookspecs)
    return pm


@dataclass
class PluginRegistry(Registry):
    """A `Registry` loaded from plugins: its events reach the plugins' hooks through `pm`."""

    pm: pluggy.PluginManager = field(default_factory=new_plugin_manager, repr=False)

    @property
    def hook(self) -> pluggy.HookRelay:
        return self.pm.hook

    def has_listeners(self, event: str) -> bool:
        """Whether any plugin implements this event hook (to skip building records nobody reads)."""
        return bool(getattr(self.pm.hook, event).get_hookimpls())

    async def notify(self, event: str, **kwargs: Any) -> None:
        """`await registry.notify("run_started", run=run)`: see `notify`."""
        await notify(getattr(self.pm.hook, event), **kwargs)


async def notify(hook_caller: pluggy.HookCaller, /, **kwargs: Any) -> None:
    """Call an event hook's implementations in pluggy's order, awaiting those that return an awaitable.

    A listener that raises is logged and skipped: watching a run must not change how it ends.
    """
    for impl in reversed(hook_caller.get_hookimpls()):
        if impl.wrapper or impl.hookwrapper:
            continue  # wrappers make no sense for events; pluggy would need the whole call
        try:
            result = impl.function(*(kwargs[name] for name in impl.argnames))
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("plugin %s failed in %s", impl.plugin_name, hook_caller.name)


def _name_of(plugin: object) -> str:
    if isinstance(plugin, ModuleType | type):
        return plugin.__name__
    return type(plugin).__qualname__


def _register(pm: pluggy.PluginManager, plugin: object | str) -> None:
    if isinstance(plugin, str):
        try:
            plugin = importlib.import_module(plugin)
        except ImportError as e:
            raise PluginError(f"cannot import plugin {plugin}: {e}") from e
    name = base = _name_of(plugin)
    n = 1
    while pm.has_plugin(name):
        n += 1
        name = f"{base}#{n}"
    try:
        pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as e:
        raise PluginError(f"plugin {name}: {e}") from e


def load_registry(extra_plugins: Iterable[object | str] = (), *, entrypoints: bool = True) -> PluginRegistry:
    """A fresh registry: the built-ins, the `wfkit` entry points (unless `entrypoints=False`), then
    `extra_plugins` (modules, classes, instances or module names with `@hookimpl` functions)."""
    pm = new_plugin_manager()
    for module in DEFAULT_PLUGINS:
        _register(pm, module)
    if entrypoints:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as e:  # an installed plugin that fails to import: say which group
            raise PluginError(f"cannot load a plugin of entry point group {ENTRY_POINT_GROUP!r}: {e}") from e
    for plugin in extra_plugins:
        _register(pm, plugin)
    _check_pending(pm)
    registry = PluginRegistry(pm=pm)
    registry.actions, registry.action_plugins = _collect(pm, "register_actions", ActionSpec)
    registry.functions, registry.function_plugins = _collect(pm, "register_functions", FunctionSpec)
    return registry


def _check_pending(pm: pluggy.PluginManager) -> None:
    """pluggy's `check_pending()`, with the plugin's name and the hook it probably meant."""
    callers = {name: c for name, c in vars(pm.hook).items() if isinstance(c, pluggy.HookCaller)}
    known = sorted(name for name, c in callers.items() if c.has_spec())
    for name, caller in callers.items():
        for impl in caller.get_hookimpls() if not caller.has_spec() else ():
            if not impl.optionalhook:
                close = difflib.get_close_matches(name, known, 1)
                hint = f"did you mean {close[0]}?" if close else f"wfkit's hooks are {', '.join(known)}"
                raise PluginError(f"plugin {impl.plugin_name}: unknown hook {name!r}; {hint}")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        raise PluginError(str(e)) from e


@functools.cache
def get_registry() -> PluginRegistry:
    """The registry of this process, loaded once (`get_registry.cache_clear()` to reload)."""
    return load_registry()


def _collect(pm: pluggy.PluginManager, hook: str, kind: type[Spec]) -> tuple[dict[str, Spec], dict[str, str]]:
    specs: dict[str, Spec] = {}
    owners: dict[str, str] = {}
    for impl in getattr(pm.hook, hook).get_hookimpls():  # registration order: built-ins first
        plugin = impl.plugin_name
        try:
            provided = impl.function() or []
        except Exception as e:
            raise PluginError(f"plugin {plugin}: {hook} failed: {e}") from e
        for spec in provided:
            if not isinstance(spec, kind):
                raise PluginError(f"plugin {plugin}: {hook} returned {spec!r}, not a {kind.__name__}")
            name = spec.verb if isinstance(spec, ActionSpec) else spec.name
            _check(plugin, spec)
            what = "action" if isinstance(spec, ActionSpec) else "function"
            if name in owners:
                raise PluginError(f"{what} {name!r} is provided by two plugins: {owners[name]} and {plugin}")
            specs[name] = spec
            owners[name] = plugin
    return specs, owners


def _check(plugin: str, spec: ActionSpec | FunctionSpec) -> None:
    """Mistakes a plugin author makes, reported at startup rather than in the middle of a run."""
    if isinstance(spec, ActionSpec):
        where = f"plugin {plugin}: action {spec.verb!r}"
        parts = spec.verb.split(".") if isinstance(spec.verb, str) else [""]
        if not all(NAME.match(p) and p not in RESERVED for p in parts):
            raise PluginError(f"{where}: a verb is a name, or dotted names, and not a reserved word")
        if spec.target not in TARGETS:
            raise PluginError(f"{where}: target must be one of {', '.join(TARGETS)}")
        _check_params(where, spec.params)
        _check_callable(where, spec.run, 3, ())
    else:
        where = f"plugin {plugin}: function {spec.name!r}"
        if not isinstance(spec.name, str) or not NAME.match(spec.name) or spec.name in RESERVED:
            raise PluginError(f"{where}: a function name is a name, and not a reserved word")
        _check_params(where, spec.params + spec.kwargs)
        required = [p.required for p in spec.params]
        if required != sorted(required, reverse=True):
            raise PluginError(f"{where}: a required parameter follows an optional one")
        if spec.variadic and not spec.params:
            raise PluginError(f"{where}: variadic needs a positional parameter")
        _check_callable(where, spec.impl, len(spec.params), tuple(p.name for p in spec.kwargs))
    if not (isinstance(spec.result, str) or callable(spec.result)):
        raise PluginError(f"{where}: result must be a type as text or a function of the argument types")


def _check_params(where: str, params: tuple[ParamSpec, ...]) -> None:
    names = [p.name for p in params]
    for p in params:
        if not isinstance(p, ParamSpec) or not NAME.match(p.name) or not isinstance(p.type, str):
            raise PluginError(f"{where}: {p!r} is not a ParamSpec with a name and a type as text")
    if len(set(names)) != len(names):
        raise PluginError(f"{where}: parameter names repeat: {', '.join(names)}")


def _check_callable(where: str, fn: object, positional: int, named: tuple[str, ...]) -> None:
    if not callable(fn):
        raise PluginError(f"{where}: its implementation is not callable")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # some builtins have no signature: trust them
    try:
        signature.bind(*([None] * positional), **dict.fromkeys(named))
    except TypeError as e:
        raise PluginError(f"{where}: its implementation does not take the declared arguments: {e}") from e


def plugins_info(registry: PluginRegistry | None = None) -> list[dict[str, Any]]:
    """Per plugin: name, package and version (entry-point plugins), the hooks it implements and the
    actions and functions it provides with their signatures — what `wf plugins` shows."""
    registry = registry or get_registry()
    pm = registry.pm
    dists = {pm.get_name(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    info = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(name)
        info.append(
            {
                "name": name,
                "package": dist.project_name if dist else None,
                "version": dist.version if dist else None,
                "builtin": name in DEFAULT_PLUGINS,
                "hooks": sorted(caller.name for caller in pm.get_hookcallers(plugin) or []),
                "actions": sorted(v for v, owner in registry.action_plugins.items() if owner == name),
                "functions": sorted(f for f, owner in registry.function_plugins.items() if owner == name),
                "action_signatures": {
                    v: registry.actions[v].signature() for v, o in sorted(registry.action_plugins.items()) if o == name
                },
                "function_signatures": {
                    f: registry.functions[f].signature()
                    for f, o in sorted(registry.function_plugins.items())
                    if o == name
                },
            }
        )
    return info
