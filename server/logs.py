"""The log lines of `wf serve` and `wf worker`: one format in every process, with a UTC timestamp,
the process (`serve-main`, `serve-worker-N`, `worker`) and its pid, the level and the logger
(docs/operating.md "When things fail"). Sanic's own loggers are routed through the same handler,
so its lines (access log included) look the same."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import TextIO

SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets")
QUIET_LOGGERS = ("arq",)  # arq logs every job at INFO: thousands of lines a second under load
_process = "wf"


class Formatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03dZ %(wf_process)s[%(process)d] %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))  # UTC, whatever the machine's zone

    def format(self, record: logging.LogRecord) -> str:
        record.wf_process = _process
        request = getattr(record, "request", None)
        if record.name == "sanic.access" and request is not None and not record.msg:
            # Sanic's access records carry their fields as extras, with an empty message
            fields = [getattr(record, k, "") for k in ("host", "status", "byte", "duration")]
            record.msg, record.args = "%s %s %s %s%s", (fields[0], request, *fields[1:])
        return super().format(record)


def serve_process_name(sanic_name: str | None = None) -> str:
    """`serve-worker-N` (from 1) for Sanic's worker `Sanic-Server-(N-1)-0` (default: this process's
    name, which Sanic sets in its workers), else `serve-main`."""
    name = os.environ.get("SANIC_WORKER_NAME", "") if sanic_name is None else sanic_name
    match = re.search(r"-Server-(\d+)-", name)
    return f"serve-worker-{int(match.group(1)) + 1}" if match else "serve-main"


def configure(process: str, *, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Log wfkit's and Sanic's lines at `level` to `stream` (stderr), marked with `process`. Call it
    after the process's last `Sanic(...)`: Sanic gives its loggers handlers of their own on creation."""
    global _process
    _process = process
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "wfkit", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.wfkit = True  # type: ignore[attr-defined]
    handler.setFormatter(Formatter())
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)  # libraries: warnings and errors only
    logging.getLogger("wfkit").setLevel(level)
    for name in SANIC_LOGGERS:
        lg = logging.getLogger(name)
        for h in list(lg.handlers):
            lg.removeHandler(h)
        lg.propagate = True
        lg.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
