"""`wfkit.testing`: run workflows in-process from a plugin author's tests.

This folder is installed as `wfkit.testing` (see `[tool.setuptools]` in pyproject.toml); the code
is `wfkit.plugins.testing` (it loads plugins, so it sits above core).
"""

from wfkit.plugins.testing import compile_source, open_test_store, run_source, run_workflow

__all__ = ["compile_source", "open_test_store", "run_source", "run_workflow"]
