"""wfkit plugins: hook specs, the plugin manager and the built-in actions and functions.

Third parties write `from wfkit.plugins import hookimpl`.
"""

import pluggy

hookimpl = pluggy.HookimplMarker("wfkit")

__all__ = ["hookimpl"]
