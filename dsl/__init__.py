"""The `.wf` language: grammar, parser and AST. Imports nothing from the rest of wfkit."""

from .parser import ParseResult, parse, parse_or_raise

__all__ = ["ParseResult", "parse", "parse_or_raise"]
