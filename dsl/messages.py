"""Syntax error messages: what was found and what was expected, in words a user knows."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lark import Token

from .postlex import RESERVED

_WORDS = {
    "NAME": "name",
    "NUMBER": "number",
    "STRING": "string",
    "LONG_STRING": "string",
    "DECORATOR": "decorator",
    "_NL": "end of line",
    "$END": "end of file",
    "_OBJ_OPEN": "'{'",
}
# shown as one "operator" when several are expected, which is after any operand
_OPERATORS = frozenset(["==", "!=", "<", "<=", ">", ">=", "in", "is", "+", "-", "*", "/", "%", "and", "or"])


def describe(tok: Token) -> str:
    """How the unexpected token is shown."""
    if tok.type == "$END":
        return "end of file"
    if tok.type == "_NL":
        # the postlexer's `_NL` before a block's `}` carries "}"
        return "'}'" if tok.value == "}" else "end of line"
    text = str(tok.value)
    if len(text) > 30:
        text = text[:27] + "..."
    return repr(text) if "'" in text else f"'{text}'"


def expected_words(expected: Iterable[str], pattern_of: Callable[[str], str | None]) -> list[str]:
    """Human names of terminals, deduplicated and sorted (quoted symbols first)."""
    words: set[str] = set()
    for name in expected:
        if name in _WORDS:
            words.add(_WORDS[name])
            continue
        literal = pattern_of(name)
        if literal is not None:
            words.add(f"'{literal}'")
    ops = {w for w in words if w.strip("'") in _OPERATORS}
    if len(ops) >= 4:
        words = (words - ops) | {"operator"}
    return sorted(words, key=word_order)


def word_order(word: str) -> tuple[bool, str]:
    return (not word.startswith("'"), word)


def unexpected(tok: Token, expected: list[str]) -> str:
    message = f"unexpected {describe(tok)}"
    if expected:
        message += ", expected " + (expected[0] if len(expected) == 1 else "one of: " + ", ".join(expected))
    if tok.type == "ELSE":
        message += " ('else' stands on the same line as the '}' before it)"
    elif tok.type == "SEARCH" and "number" in expected:
        message += " (put a search inside an expression in parentheses)"
    elif tok.type.lower() in RESERVED and "name" in expected and "number" not in expected:
        message += f" ('{tok.value}' is a reserved word and cannot be a name)"
    return message
