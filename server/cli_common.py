"""What the command modules share (`cli.py`, `cli_queue.py`, `serve.py`): compiling the app a
command names, and printing. It imports no command module, so they import it, not each other."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import orjson
from wfkit.core.app import App
from wfkit.core.errors import SourceError
from wfkit.plugins.loader import read_sources


def say(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def load(path: str, *, err: TextIO | None = None) -> App:
    """Compile the app, or print every diagnostic and raise SystemExit(1)."""
    from wfkit.plugins.loader import build_app

    try:
        return build_app(read_sources(path))
    except SourceError as e:
        say(e.render(), err or sys.stderr)
        say(f"{plural(len(e.errors), 'error')} in {path}: not started", err or sys.stderr)
        raise SystemExit(1) from None
