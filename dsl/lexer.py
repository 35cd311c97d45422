"""The tokens of a `.wf` text, fed one at a time to the LALR parser (docs/language.md §3, §7).

Token shapes are the terminals of `wf.lark`; this module scans them with one regex match per
token (whitespace and comments folded in), which is several times faster than Lark's own
lexer, and settles what a context-free lexer cannot:

- Keywords. A reserved word is always a keyword, so it can never be a name. Any other keyword
  (`order`, `limit`, `run`, units, ...) is one only where the parser's current state takes it,
  else a name — as Lark's contextual lexer does. Words are matched whole (`x oracle` is `oracle`).
- Newlines. One is kept (as one `_NL`) only where the innermost open bracket is a block's `{`;
  at the top level and inside `(`, `[` and object literals it is dropped.
- Braces. A `{` opens a block when it ends a header: at the top level (`workflow f() {`),
  after `else`, or in a statement that starts with `if`, `for`, `rule` or `everyone`, right
  after what can end such a header (a name, a literal, `)`, ...). Any other `{` opens an object
  literal (`return {…}`, `log {…}`, `x == {…}`) and is typed `_OBJ_OPEN`.
- A block's `}` is preceded by an `_NL` when its last line did not end with one, so the grammar
  can say `"{" (stmt _NL)* "}"` and still accept `if x { terminate }`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from lark import Token
from lark.lexer import Lexer, PatternStr, TerminalDef

_RESERVED = (
    "and or not in is empty true false if else for each let schedule call cancel return terminate fail search when"
)
RESERVED = frozenset(_RESERVED.split())

_UNITS = ("SECOND", "MINUTE", "HOUR", "DAY", "WEEK")
# Tokens that can end a header, right before its block's `{`.
_HEADER_END = frozenset(
    {"NAME", "NUMBER", "STRING", "LONG_STRING", "RPAR", "RSQB", "RBRACE", "TRUE", "FALSE", "EMPTY", "ELSE"}
    | {"EVERYONE", "DESC", *_UNITS, *(u + "S" for u in _UNITS)}
)
# First tokens of the statements, inside a block, whose `{` opens a block.
_BLOCK_HEADS = frozenset(["IF", "FOR", "RULE", "EVERYONE"])
_BLOCK, _OBJECT, _OTHER = 1, 2, 3
_SHAPES = ("LONG_STRING", "STRING", "NUMBER", "NAME", "DECORATOR")


_str_new = str.__new__


def _token(
    kind: str, value: str, start: int, line: int, column: int, end_line: int, end_column: int, end: int
) -> Token:
    """`Token(...)` without its keyword-argument shims: a third of the time, on every token."""
    tok: Token = _str_new(Token, value)
    tok.type, tok.value, tok.start_pos, tok.end_pos = kind, value, start, end
    tok.line, tok.column, tok.end_line, tok.end_column = line, column, end_line, end_column
    return tok


class ScanError(Exception):
    """No token starts at `pos`."""

    def __init__(self, pos: int):
        super().__init__(pos)
        self.pos = pos


class Scanner:
    def __init__(self, terminals: Collection[TerminalDef]):
        by_name = {t.name: t for t in terminals}
        self.words: dict[str, str] = {}  # keyword -> terminal name
        punct: dict[str, str] = {}  # symbol -> terminal name
        for t in terminals:
            if isinstance(t.pattern, PatternStr):
                value = t.pattern.value
                (self.words if value[0].isalpha() else punct)[value] = t.name
        self.reserved = {w: self.words[w] for w in RESERVED}
        self.punct = punct
        shapes = "|".join(f"(?P<{n}>{by_name[n].pattern.to_regexp()})" for n in _SHAPES)
        symbols = "|".join(re.escape(s) for s in sorted(punct, key=len, reverse=True))
        self._token = re.compile(rf"[ \t\f\r]*+(?:#[^\n]*+)?(?:(?P<_NL>\n)|{shapes}|(?P<PUNCT>{symbols}))")
        self._blank = re.compile(r"[ \t\f\r]*(?:#[^\n]*)?")

    def tokens(
        self,
        text: str,
        pos: int,
        end: int,
        line: int,
        line_start: int,
        state_stack: list[int],
        states: Mapping[int, Mapping[str, Any]],
    ) -> Iterator[Token]:
        """Tokens of `text[pos:end]`; `line` is the line of `pos`, `line_start` that line's index.

        A generator: it decides on contextual keywords with `state_stack` as it is when each
        token is asked for. Raises `ScanError` where no token starts."""
        match, words, reserved, punct = self._token.match, self.words, self.reserved, self.punct
        stack: list[tuple[int, str]] = []  # open brackets, each with the statement head it interrupted
        last = ""  # type of the last token passed on
        head = ""  # type of the first token of the current statement ("" at a statement's start)
        while True:
            m = match(text, pos, end)
            if m is None:
                blank = self._blank.match(text, pos, end)
                if blank is None or blank.end() == end:
                    return
                raise ScanError(blank.end())
            kind: str = m.lastgroup  # type: ignore[assignment]
            value: str = m.group(kind)
            start = m.start(kind)
            pos = m.end()
            if kind == "_NL":
                column = start - line_start + 1
                line += 1
                line_start = pos
                if stack and stack[-1][0] == _BLOCK and last != "_NL" and last != "LBRACE":
                    last, head = "_NL", ""
                    yield _token("_NL", value, start, line - 1, column, line, 1, pos)
                continue
            if kind == "NAME":
                keyword = reserved.get(value)
                if keyword is None:
                    keyword = words.get(value)
                    if keyword is not None and keyword not in states[state_stack[-1]]:
                        keyword = None
                if keyword is not None:
                    kind = keyword
            elif kind == "PUNCT":
                kind = punct[value]
            tok_line, column = line, start - line_start + 1
            if kind == "LONG_STRING" and "\n" in value:
                line += value.count("\n")
                line_start = start + value.rindex("\n") + 1
            tok = _token(kind, value, start, tok_line, column, line, pos - line_start + 1, pos)
            if not head:
                head = kind
            if kind == "LBRACE":
                top = stack[-1][0] if stack else _BLOCK
                if top == _BLOCK and last in _HEADER_END and (not stack or last == "ELSE" or head in _BLOCK_HEADS):
                    stack.append((_BLOCK, head))
                    head = ""
                else:
                    stack.append((_OBJECT, head))
                    tok.type = "_OBJ_OPEN"
            elif kind == "LPAR" or kind == "LSQB":
                stack.append((_OTHER, head))
            elif (kind == "RPAR" or kind == "RSQB" or kind == "RBRACE") and stack:
                opened, head = stack.pop()
                if kind == "RBRACE" and opened == _BLOCK and last != "_NL" and last != "LBRACE":
                    # value "}" lets an error here read "unexpected '}'"
                    yield _token("_NL", "}", start, tok_line, column, tok_line, column + 1, start + 1)
            last = kind
            yield tok


class LarkLexer(Lexer):
    """The scanner behind Lark's lexer interface: Lark wants a lexer to build the parser, and this
    one keeps it from building its own (the parser module drives `Scanner` directly)."""

    __future_interface__ = 2

    def __init__(self, conf: Any):
        self.scanner = Scanner(conf.terminals)

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Token]:
        text: str = lexer_state.text.text
        return self.scanner.tokens(text, 0, len(text), 1, 0, parser_state.state_stack, parser_state.parse_conf.states)
