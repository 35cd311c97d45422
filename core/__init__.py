"""wfkit.core."""
