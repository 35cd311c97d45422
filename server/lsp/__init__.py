"""The language server of `wf lsp` (docs/editors.md): LSP over stdio, with pygls."""

from __future__ import annotations

import argparse
from typing import Any


def add_command(sub: Any) -> None:
    """`wf lsp`, on the command line's subparsers (pygls is imported only when it runs)."""
    p = sub.add_parser("lsp", help="a language server for .wf files (LSP over stdio), for editors")
    p.set_defaults(func=cmd_lsp)


def cmd_lsp(args: argparse.Namespace) -> int:
    from .server import main

    return main()
