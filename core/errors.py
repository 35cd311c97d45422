"""wfkit's exceptions. Errors that reach HTTP carry their status and Bubble's status word."""

from __future__ import annotations

from wfkit.dsl.errors import Diagnostic, SourceError, WfError, WfSyntaxError

__all__ = [
    "ActionError",
    "CompileError",
    "ConfigError",
    "Diagnostic",
    "FunctionError",
    "InvalidDataError",
    "MissingDataError",
    "PluginError",
    "RateLimitedError",
    "RunError",
    "SourceError",
    "WfError",
    "WfSyntaxError",
]


class CompileError(SourceError):
    """The app parsed but does not make sense (unknown names, wrong arguments, …)."""


class PluginError(WfError):
    """The installed plugins do not fit together (two provide the same verb, a hook is misspelled)."""


class ConfigError(WfError):
    """A setting (environment variable, command-line value) is wrong."""


class RunError(WfError):
    """A run failed: `fail "…"`, a failing action or function, a run-time limit.

    `line` is the statement's line; `status`/`code` are what an HTTP caller gets."""

    status = "WORKFLOW_ERROR"
    code = 400

    def __init__(self, message: str, *, line: int | None = None, file: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.file = file


class ActionError(RunError):
    """An action refused or failed; raise it from a plugin's action with a message for the caller."""


class RateLimitedError(ActionError):
    """Refused for now, too many attempts (`log_in`'s throttle): over HTTP a 429 with Retry-After."""

    status = "RATE_LIMITED"
    code = 429

    def __init__(self, message: str, *, retry_after: float, line: int | None = None):
        super().__init__(message, line=line)
        self.retry_after = retry_after


class MissingDataError(RunError):
    """A required parameter was not given."""

    status = "MISSING_DATA"


class InvalidDataError(RunError):
    """A parameter's value cannot be converted to its declared type."""

    status = "INVALID_DATA"


class FunctionError(RunError):
    """A function got a value it cannot use (`number("abc")`)."""
