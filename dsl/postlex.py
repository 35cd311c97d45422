"""Newlines and braces between the lexer and the LALR parser (SPEC §2.1, §2.8).

A newline ends a statement only inside a block. The parser cannot tell the lexer where it is,
so this postlexer tracks open brackets itself:

- a newline is kept (as one `_NL`) only when the innermost open bracket is a block's `{`;
  at the top level and inside `(`, `[` and object literals it is dropped;
- a `{` opens a block when the token before it ends an expression or a header (`)`, a name,
  a literal, `else`, `everyone`, ...), otherwise an object literal, which is retyped `_OBJ_OPEN`;
- a block's `}` is preceded by an `_NL` when its last line did not end with one, so the grammar
  can say `"{" (stmt _NL)* "}"` and still accept `if x { terminate }`.
"""

from __future__ import annotations

from collections.abc import Iterator

from lark import Token

_RESERVED = (
    "and or not in is empty true false if else for each let schedule call cancel return terminate fail search when"
)
RESERVED = frozenset(_RESERVED.split())

# Tokens after which a `{` opens a block rather than an object literal.
_BLOCK_AFTER = frozenset(
    {
        "NAME",
        "NUMBER",
        "STRING",
        "LONG_STRING",
        "RPAR",
        "RSQB",
        "RBRACE",
        "TRUE",
        "FALSE",
        "EMPTY",
        "ELSE",
        "EVERYONE",
        "DESC",
        *(u.upper() for u in ("second", "minute", "hour", "day", "week")),
        *(u.upper() + "S" for u in ("second", "minute", "hour", "day", "week")),
    }
)

_OPEN = {"LPAR": "(", "LSQB": "["}
_CLOSE = frozenset({"RPAR", "RSQB", "RBRACE"})
BLOCK, OBJECT = "block", "object"


class Postlexer:
    """Lark postlexer; `always_accept` makes the contextual lexer see these in every state."""

    # Reserved words are always lexed as keywords, so they can never be names; brackets and
    # newlines always lexed, because this class needs them whatever the parser expects.
    always_accept = (
        "NAME",
        "_NL",
        "LPAR",
        "RPAR",
        "LSQB",
        "RSQB",
        "LBRACE",
        "RBRACE",
        *sorted(map(str.upper, RESERVED)),
    )

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        stack: list[str] = []
        last = ""  # type of the last token passed on ("" before the first)
        for tok in stream:
            kind = tok.type
            if kind == "_NL":
                if stack and stack[-1] == BLOCK and last not in ("_NL", "LBRACE"):
                    last = "_NL"
                    yield tok
                continue
            if kind == "LBRACE":
                if last in _BLOCK_AFTER:
                    stack.append(BLOCK)
                else:
                    stack.append(OBJECT)
                    tok = Token.new_borrow_pos("_OBJ_OPEN", tok.value, tok)
            elif kind in _OPEN:
                stack.append(_OPEN[kind])
            elif kind in _CLOSE and stack:
                if kind == "RBRACE" and stack[-1] == BLOCK and last not in ("_NL", "LBRACE"):
                    # value "}" lets an error here read "unexpected '}'"
                    yield Token.new_borrow_pos("_NL", "}", tok)
                stack.pop()
            last = kind
            yield tok
