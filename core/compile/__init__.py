"""The compiler: parsed `.wf` modules → a checked `App` (see `declarations` for the driver)."""

from .declarations import compile_modules

__all__ = ["compile_modules"]
