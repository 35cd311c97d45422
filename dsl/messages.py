"""Syntax error messages: what was found and what was expected, in words a user knows."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lark import Token
from lark.exceptions import UnexpectedToken
from lark.parsers.lalr_analysis import Shift

from . import strings
from .lexer import RESERVED

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
_COMPARISONS = frozenset(["==", "!=", "<", "<=", ">", ">=", "in", "is"])
_BIND_LINE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)\s*(.*?)\s*$")
_BIND_ONE_NAME = re.compile(r"\s*\w+\s*=\s*[A-Za-z_]\w*\s*")

States = Mapping[int, Mapping[str, tuple[Any, Any]]]


def acceptable(e: UnexpectedToken, states: States) -> set[str]:
    """Terminals the parser could really take where it failed.

    The table's own list is too wide: LALR merges states, so the state after `a` in `let x = a`
    also lists `)` or `run` as lookaheads of pending reductions. Running those reductions on a
    copy of the state stack (no values, no parse actions) keeps only what leads to a shift."""
    state = getattr(e, "state", None)
    if state is None:
        return set(e.expected)
    end_state = state.parse_conf.end_state
    found = set()
    for term in states[state.position]:
        if not term.isupper() and not term.startswith("_"):
            continue  # a rule's goto entry
        stack = list(state.state_stack)
        while True:
            action, arg = states[stack[-1]].get(term, (None, None))
            if action is None:
                break
            if action is Shift:
                found.add(term)
                break
            if arg.expansion:
                del stack[-len(arg.expansion) :]
            stack.append(states[stack[-1]][arg.origin.name][1])
            if term == "$END" and stack[-1] == end_state:
                found.add(term)
                break
    return found


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
    elif tok.value in _COMPARISONS and ("operator" in expected or "'and'" in expected):
        message += " (comparisons do not chain: join them with 'and')"
    elif tok.type == "SEARCH" and "number" in expected:
        message += " (put a search inside an expression in parentheses)"
    elif tok.type.lower() in RESERVED and "name" in expected and "number" not in expected:
        message += f" ('{tok.value}' is a reserved word and cannot be a name)"
    return message


def bind_hint(source_line: str, tok: Token, expected: set[str]) -> str | None:
    """For `x = 1 + 2`: only an action, `schedule` or `call` may follow `NAME =` (docs/language.md §3, §7)."""
    m = _BIND_LINE.match(source_line)
    if not m or tok.type == "$END":
        return None
    right_after_eq = {"SCHEDULE", "CALL"} <= expected
    before = source_line[: (tok.column or 1) - 1]
    after_one_name = "WHEN" in expected and tok.type != "_NL" and _BIND_ONE_NAME.fullmatch(before) is not None
    if not (right_after_eq or after_one_name):
        return None
    name, value = m.group(1), m.group(2).split(" #")[0].strip()
    return (
        f"unexpected {describe(tok)}: '{name} =' takes an action, 'schedule' or 'call'; "
        f"to bind a value write 'let {name} = {value}'"
    )


def bad_character(text: str, pos: int) -> tuple[str, int, int]:
    """Message, index and width for a character that starts no token."""
    c = text[pos]
    if c == '"':
        return strings.diagnose(text, pos)
    if c == "@":
        return "'@' must be followed by a decorator name, as in @exposed", pos, 1
    shown = repr(c) if not c.isprintable() or c == "'" else f"'{c}'"
    return f"unexpected character {shown}", pos, 1
