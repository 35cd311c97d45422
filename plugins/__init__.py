"""wfkit plugins: hook specs, the plugin manager and the built-in actions and functions.

A plugin author needs one import (see docs/plugins.md):

    from wfkit.plugins import hookimpl, ActionSpec, FunctionSpec, ParamSpec, ActionContext, ActionError

The contract itself lives in `wfkit.core.actions` (core consumes it); this package re-exports it.
"""

import pluggy

# Defined before the imports below so that nothing importing `hookimpl` meets a half-built package.
hookimpl = pluggy.HookimplMarker("wfkit")

from wfkit.core.actions import (  # noqa: E402
    ActionRun,
    ActionSpec,
    FieldsArgs,
    FunctionImpl,
    FunctionSpec,
    ParamSpec,
    Registry,
    ResultType,
    TargetKind,
)
from wfkit.core.context import ActionContext, RunInfo  # noqa: E402
from wfkit.core.errors import ActionError, ConfigError, FunctionError  # noqa: E402
from wfkit.core.things import Thing  # noqa: E402

__all__ = [
    "ActionContext",
    "ActionError",
    "ActionRun",
    "ActionSpec",
    "ConfigError",
    "FieldsArgs",
    "FunctionError",
    "FunctionImpl",
    "FunctionSpec",
    "ParamSpec",
    "Registry",
    "ResultType",
    "RunInfo",
    "TargetKind",
    "Thing",
    "hookimpl",
]
