"""wfkit.server."""
