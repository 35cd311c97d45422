"""What the command modules share (`cli.py`, `cli_queue.py`, `serve.py`): compiling the app a
command names, and printing. It imports no command module, so they import it, not each other."""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
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


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], *, right: Collection[str] = ()) -> None:
    """A table on stdout with every cell whole, ids above all (a run id copied from `wf runs` works in
    `wf cancel`), also when piped: a table wider than the terminal makes longer lines, never cut
    cells. Cells may hold rich markup (`[green]success[/green]`), shown in colour on a terminal."""
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for name in columns:
        t.add_column(name, justify="right" if name in right else "left", no_wrap=True)
    for row in rows:
        t.add_row(*row)
    console = Console()
    wide = console.options.update(width=10_000, max_width=10_000)
    needed = max(Measurement.get(console, wide, t).maximum, len(title))
    if needed > console.width:
        console = Console(width=needed)
    console.print(t, crop=False)
