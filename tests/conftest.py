"""The test suite's root: with this file, pytest puts `tests/` on the import path, so the helpers
shared by the test folders (`processes.py`) import as `from processes import …`."""
