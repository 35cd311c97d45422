"""`.wf` text → `ast.Module` plus syntax diagnostics. Never raises (but see `parse_or_raise`).

The LALR parser is driven token by token so that a syntax error does not end the parse: the
error is reported, the declaration it is in is dropped, and parsing resumes at the next line
that starts a top-level declaration (SPEC §2.8). A declaration is collected the moment the
parser reduces it (`_Harvest`), so what parsed before an error is kept.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import LineCounter, PatternStr
from lark.parsers.lalr_analysis import Shift

from . import ast, messages, strings
from .errors import Diagnostic, WfSyntaxError
from .postlex import Postlexer
from .transform import Builder


@dataclass
class ParseResult:
    module: ast.Module
    diagnostics: list[Diagnostic] = field(default_factory=list)


_SINK: ContextVar[list[Tree[Token]]] = ContextVar("wf_decl_sink")


class _Harvest:
    """Lark calls `decl` as it reduces each top-level declaration; other rules build trees."""

    def decl(self, children: list[Tree[Token]]) -> None:
        _SINK.get().append(children[0])


_LARK = Lark(
    Path(__file__).with_name("wf.lark").read_text(encoding="utf-8"),
    parser="lalr",
    lexer="contextual",
    propagate_positions=True,
    postlex=Postlexer(),
    start=["module", "expr"],
    transformer=_Harvest(),
)
_STATES: dict[int, dict[str, Any]] = _LARK.parser.parser.parser.parse_table.states  # for expected sets


def _literal(name: str) -> str | None:
    try:
        pattern = _LARK.get_terminal(name).pattern
    except KeyError:
        return None
    return pattern.value if isinstance(pattern, PatternStr) else None


# Token types that open a top-level declaration; an error never resumes at or before their line.
_HEADERS = frozenset({"TYPE", "PRIVACY", "WORKFLOW", "EVERY", "ON"})
# A line that starts a top-level declaration, where parsing resumes after an error.
_DECL_LINE = re.compile(
    r"^[ \t]*(?:(?:type|privacy|workflow)[ \t]+[A-Za-z_]|@[A-Za-z_]"
    r"|every[ \t]+[0-9]|on[ \t]+(?:create|change|delete)\b)",
    re.M,
)
_BIND_LINE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)\s*(.*?)\s*$")


def parse(text: str, file: str) -> ParseResult:
    """Parse one file. Declarations with syntax errors are left out of the module and reported."""
    try:
        return _Parse(text, file).run()
    except RecursionError:
        span = ast.Span(file, 1, 1, 1, 2)
        return ParseResult(ast.Module(span=span, file=file, decls=()), [Diagnostic(span, "nested too deeply")])


def parse_or_raise(text: str, file: str) -> ast.Module:
    result = parse(text, file)
    if result.diagnostics:
        raise WfSyntaxError(result.diagnostics, {file: text})
    return result.module


def _acceptable(e: UnexpectedToken) -> set[str]:
    """Terminals the parser could really take where it failed.

    The table's own list is too wide: LALR merges states, so a state after `a` in `let x = a`
    also lists `)` or `run` as lookaheads of pending reductions. Running those reductions on a
    copy of the state stack (no values, no callbacks) keeps only what leads to a shift."""
    state = getattr(e, "state", None)
    if state is None:
        return set(e.expected)
    end_state = state.parse_conf.end_state
    found = set()
    for term in _STATES[state.position]:
        if not term.isupper() and not term.startswith("_"):
            continue  # a rule name (goto entry)
        stack = list(state.state_stack)
        while True:
            action, arg = _STATES[stack[-1]].get(term, (None, None))
            if action is None:
                break
            if action is Shift:
                found.add(term)
                break
            size = len(arg.expansion)
            if size:
                del stack[-size:]
            stack.append(_STATES[stack[-1]][arg.origin.name][1])
            if term == "$END" and stack[-1] == end_state:
                found.add(term)
                break
    return found


def _unexpected_message(e: UnexpectedToken) -> list[str]:
    return messages.expected_words(_acceptable(e), _literal)


def _parse_hole(source: str, file: str, line: int, column: int) -> tuple[ast.Expr | None, list[tuple[str, ast.Span]]]:
    """Parse the `{expr}` of a string; positions point into the string in the file."""
    if not source.strip():
        span = ast.Span(file, line, column - 1, line, column + 1)
        return None, [("empty '{}' in a string (write \\{ for a literal brace)", span)]
    try:
        tree = _LARK.parse(source, start="expr")
    except UnexpectedInput as e:
        if isinstance(e, UnexpectedToken) and e.token.type == "$END":
            col, message = len(source), "unexpected '}'" + _expected_tail(e)
        elif isinstance(e, UnexpectedToken):
            words = ["'}'" if w == "end of file" else w for w in _unexpected_message(e)]
            col, message = e.token.column - 1, messages.unexpected(e.token, sorted(words, key=messages.word_order))
        else:
            col, message = e.column - 1, _bad_character(source, e.pos_in_stream or 0)[0]
        return None, [(message, ast.Span(file, line, column + col, line, column + col + 1))]
    builder = Builder(file, _parse_hole, line_shift=line - 1, column_shift=column - 1)
    expr: ast.Expr = builder.transform(tree)
    return expr, builder.problems


def _expected_tail(e: UnexpectedToken) -> str:
    words = [w for w in _unexpected_message(e) if w != "end of file"]
    if not words:
        return ""
    return ", expected " + (words[0] if len(words) == 1 else "one of: " + ", ".join(words))


def _bad_character(text: str, pos: int) -> tuple[str, int, int]:
    """Message, index and width for a character no token starts with."""
    c = text[pos]
    if c == '"':
        return strings.diagnose(text, pos)
    if c == "@":
        return "'@' must be followed by a decorator name, as in @exposed", pos, 1
    shown = repr(c) if not c.isprintable() or c == "'" else f"'{c}'"
    return f"unexpected character {shown}", pos, 1


class _Parse:
    def __init__(self, text: str, file: str):
        # Line breaks as str.splitlines() sees them, so that positions match what
        # Diagnostic.render shows (it splits the original text that way).
        lines = text.splitlines()
        self.text = "\n".join(lines) + ("\n" if text.endswith(tuple("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")) else "")
        self.lines = lines
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.trees: list[Tree[Token]] = []
        self._line_starts: list[int] | None = None
        self._candidates: list[tuple[int, int, int]] | None = None
        self.floor = 0  # parsing never resumes at or before this line

    # ------------------------------------------------------------------ driving the parser

    def run(self) -> ParseResult:
        reset = _SINK.set(self.trees)
        try:
            self._drive()
        finally:
            _SINK.reset(reset)
        decls: list[ast.Decl] = []
        builder = Builder(self.file, _parse_hole)
        for tree in self.trees:
            before = len(builder.problems)
            decl = builder.transform(tree)
            if len(builder.problems) == before:
                decls.append(decl)
        for message, span in builder.problems:
            self.diagnostics.append(Diagnostic(span, message))
        self.diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
        end_line, end_col = self._end()
        span = ast.Span(self.file, 1, 1, end_line, end_col)
        return ParseResult(ast.Module(span=span, file=self.file, decls=tuple(decls)), self.diagnostics)

    def _drive(self) -> None:
        ip = _LARK.parse_interactive(self.text, start="module")
        # Lark's parser state and lexer thread are untyped; they are driven directly here
        state: Any = ip.parser_state
        lexer: Any = ip.lexer_thread
        last: Token | None = None
        while True:
            try:
                for last in lexer.lex(state):
                    if last.type in _HEADERS:
                        self.floor = max(self.floor, last.line or 0)
                    state.feed_token(last)
                end = Token.new_borrow_pos("$END", "", last) if last else Token("$END", "", 0, 1, 1)
                state.feed_token(end, True)
                return
            except UnexpectedInput as e:
                # declarations complete before the error are still on the stack: reduce them
                done = len(self.trees)
                with suppress(UnexpectedInput):
                    state.copy(deepcopy_values=False).feed_token(Token("$END", ""), True)
                if len(self.trees) > done:
                    self.floor = max(self.floor, self.trees[-1].meta.end_line)
                resume = self._report(e)
                del state.state_stack[1:]
                state.value_stack.clear()
                lexer.state.line_ctr = LineCounter("\n")  # type: ignore[no-untyped-call]
                lexer.state.line_ctr.feed(self.text[:resume])
                lexer.state.last_token = None
                last = None
                self.floor = max(self.floor, lexer.state.line_ctr.line)

    def _report(self, e: UnexpectedInput) -> int:
        """Record the diagnostic for `e`; return the index where parsing resumes."""
        if isinstance(e, UnexpectedToken):
            tok = e.token
            if tok.type == "$END":
                line, col = self._end()
                width = 1
            else:
                line, col = tok.line or 1, tok.column or 1
                single = tok.type != "_NL" and tok.end_line == tok.line
                width = max(1, len(tok.value)) if single else 1
            message = self._bind_hint(tok, e, messages.unexpected(tok, _unexpected_message(e)))
        else:
            assert isinstance(e, UnexpectedCharacters)
            message, index, width = _bad_character(self.text, e.pos_in_stream or 0)
            line, col = self._position(index)
        swallowed = self._swallowed(line)
        if swallowed is not None:
            return swallowed
        self._add(line, col, width, message)
        for d_line, d_col, index in self._decl_lines():
            if d_line > self.floor and (d_line > line or d_col == 1):
                return index
        return len(self.text)

    def _decl_lines(self) -> list[tuple[int, int, int]]:
        """(line, column, index) of each line that looks like the start of a declaration."""
        if self._candidates is None:
            found = []
            for m in _DECL_LINE.finditer(self.text):
                indent = len(m.group()) - len(m.group().lstrip(" \t"))
                line, _ = self._position(m.start())
                found.append((line, indent + 1, m.start() + indent))
            self._candidates = found
        return self._candidates

    def _swallowed(self, error_line: int) -> int | None:
        """A declaration at column 1 inside the one that failed, at or before the error, and a
        bracket left open above it: report the missing bracket there and resume at it."""
        for line, col, index in self._decl_lines():
            if line > error_line:
                break
            if col != 1 or line <= self.floor:
                continue
            start = self._line_index(self.floor)
            opened = _unclosed(self.text[start:index])
            if opened is None:
                return None
            word = _WORD.match(self.text, index).group()  # type: ignore[union-attr]
            closer = _CLOSERS[opened]
            message = f"expected '{closer}' before '{word}': the declaration above is not finished"
            self._add(line, col, len(word), message)
            return index
        return None

    def _bind_hint(self, tok: Token, e: UnexpectedToken, message: str) -> str:
        """`x = 1 + 2`: only an action, `schedule` or `call` may follow `NAME =`."""
        line = tok.line or 0
        if tok.type == "$END" or not 1 <= line <= len(self.lines):
            return message
        source = self.lines[line - 1]
        m = _BIND_LINE.match(source)
        if not m:
            return message
        expected = _acceptable(e)
        before = source[: (tok.column or 1) - 1]
        right_after_eq = {"SCHEDULE", "CALL"} <= expected
        after_one_name = "WHEN" in expected and re.fullmatch(r"\s*\w+\s*=\s*[A-Za-z_]\w*\s*", before) is not None
        if right_after_eq or (after_one_name and tok.type != "_NL"):
            name, value = m.group(1), m.group(2).split(" #")[0].strip()
            return (
                f"unexpected {messages.describe(tok)}: '{name} =' takes an action, 'schedule' or 'call'; "
                f"to bind a value write 'let {name} = {value}'"
            )
        return message

    # ------------------------------------------------------------------ positions

    def _add(self, line: int, col: int, width: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(ast.Span(self.file, line, col, line, col + width), message))

    def _position(self, index: int) -> tuple[int, int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        i = bisect_right(self._line_starts, index) - 1
        return i + 1, index - self._line_starts[i] + 1

    def _end(self) -> tuple[int, int]:
        """Where "end of file" is reported: just after the last character of the last line."""
        if not self.lines:
            return 1, 1
        return len(self.lines), len(self.lines[-1]) + 1

    def _line_index(self, line: int) -> int:
        self._position(0)
        assert self._line_starts is not None
        return self._line_starts[max(0, min(line, len(self._line_starts)) - 1)]


_BRACKETS = re.compile(r'"""(?:\\.|[^\\])*?"""|"(?:\\.|[^"\\\n])*"|#[^\n]*|[()\[\]{}]', re.S)
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_WORD = re.compile(r"@?\w+")


def _unclosed(segment: str) -> str | None:
    """The innermost bracket left open in `segment` (strings and comments skipped)."""
    stack: list[str] = []
    for m in _BRACKETS.finditer(segment):
        t = m.group()
        if t in _CLOSERS:
            stack.append(t)
        elif t in ")]}" and stack:
            stack.pop()
    return stack[-1] if stack else None
