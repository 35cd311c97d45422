"""`.wf` text → `ast.Module` plus syntax diagnostics. Never raises (but see `parse_or_raise`).

Lark compiles `wf.lark` into LALR tables once, at import. The parser is then driven token by
token (`lexer.Scanner` → `lalr.Stepper`) so that a syntax error does not end the parse: the error
is reported, the declaration it is in is dropped, and parsing resumes at the next line that
starts a top-level declaration (docs/language.md §3, §7). The parse actions (`transform.Builder`) build the
AST while parsing and keep each declaration as it is reduced, so what parsed before an error is
kept.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr
from lark.parsers.lalr_parser_state import ParseConf, ParserState

from . import ast, messages
from .errors import Diagnostic, WfSyntaxError
from .lalr import Stepper
from .lexer import LarkLexer, ScanError, Scanner
from .recovery import Recovery
from .transform import CONTEXT, Builder, Context


@dataclass
class ParseResult:
    module: ast.Module
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _cache_file() -> str | bool:
    """Where Lark keeps the analysed grammar between runs (it checks a hash of the grammar and
    rebuilds when stale): a folder of the user's own, as the file is a pickle. Saves ~150 ms
    of every start; without a writable home the grammar is analysed at each start."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "wfkit")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    return os.path.join(folder, f"grammar-py{sys.version_info[0]}{sys.version_info[1]}.lark")


_LARK = Lark(
    Path(__file__).with_name("wf.lark").read_text(encoding="utf-8"),
    parser="lalr",
    lexer=LarkLexer,
    start=["module", "expr"],
    transformer=Builder(),
    keep_all_tokens=True,
    maybe_placeholders=False,
    cache=_cache_file(),
)
_TABLES: Any = _LARK.parser.parser.parser  # Lark's _Parser: parse_table and parse actions
_CONF = {start: ParseConf(_TABLES.parse_table, _TABLES.callbacks, start) for start in ("module", "expr")}
_STATES: messages.States = _TABLES.parse_table.states
_STEPPER = Stepper(_LARK)
_SCANNER = Scanner(_LARK.terminals)


def _literal(name: str) -> str | None:
    try:
        pattern = _LARK.get_terminal(name).pattern
    except KeyError:
        return None
    return pattern.value if isinstance(pattern, PatternStr) else None


def _expected(e: UnexpectedToken) -> list[str]:
    return messages.expected_words(messages.acceptable(e, _STATES), _literal)


# The parser is iterative, but the compiler, the evaluator and the language server walk the tree
# recursively: past about 200 levels of brackets (one parser state each; a block or an object
# takes 3 to 6) they would hit Python's recursion limit. Real code stays under 40.
MAX_NESTING = 200
NESTED_TOO_DEEPLY = "nested too deeply: split it up (`let` a part, or `call` another workflow)"


class _TooDeep(Exception):
    def __init__(self, token: Token):
        self.token = token


def parse(text: str, file: str) -> ParseResult:
    """Parse one file. Declarations with syntax errors are left out of the module and reported."""
    try:
        return _Parse(text, file).run()
    except RecursionError:  # a safety net: MAX_NESTING keeps the tree shallower than this
        span = ast.Span(file, 1, 1, 1, 2)
        return ParseResult(ast.Module(span=span, file=file, decls=()), [Diagnostic(span, NESTED_TOO_DEEPLY)])


def parse_or_raise(text: str, file: str) -> ast.Module:
    """The module, or `WfSyntaxError` carrying every syntax diagnostic."""
    result = parse(text, file)
    if result.diagnostics:
        raise WfSyntaxError(result.diagnostics, {file: text})
    return result.module


# Token types that start a top-level declaration; parsing never resumes at or before their line.
_HEADERS = frozenset({"TYPE", "PRIVACY", "WORKFLOW", "EVERY", "ON", "DECORATOR"})
# Where str.splitlines() breaks lines, besides "\n": made "\n" so positions match Diagnostic.render.
_LINE_BREAKS = tuple("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


class _Parse:
    def __init__(self, text: str, file: str):
        self.lines = text.splitlines()
        self.text = "\n".join(self.lines) + ("\n" if text.endswith(_LINE_BREAKS) else "")
        self.file = file
        self.ctx = Context(file, self._parse_hole)
        self.recovery = Recovery(self.text, self.lines)
        self.diagnostics: list[Diagnostic] = []

    def run(self) -> ParseResult:
        reset = CONTEXT.set(self.ctx)
        try:
            self._drive()
        finally:
            CONTEXT.reset(reset)
        self.diagnostics += [Diagnostic(span, message) for message, span in self.ctx.problems]
        # a declaration parsed again from its own first line after an error says nothing twice
        self.diagnostics = list(dict.fromkeys(self.diagnostics))
        self.diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
        end_line, end_col = self.recovery.end()
        span = ast.Span(self.file, 1, 1, end_line, end_col)
        return ParseResult(ast.Module(span=span, file=self.file, decls=tuple(self.ctx.decls)), self.diagnostics)

    def _drive(self) -> None:
        state: Any = ParserState(_CONF["module"], None)  # type: ignore[arg-type]
        feed, states, text, recovery = _STEPPER.feed, _STEPPER.states, self.text, self.recovery
        stack: list[int] = state.state_stack  # emptied in place on an error, never replaced
        pos, line, line_start = 0, 1, 0
        while True:
            last: Token | None = None
            try:
                for last in _SCANNER.tokens(text, pos, len(text), line, line_start, stack, states):
                    if last.type in _HEADERS:
                        recovery.floor = max(recovery.floor, last.line or 0)
                    feed(state, last)
                    if len(stack) > MAX_NESTING:
                        raise _TooDeep(last)
                state.feed_token(Token("$END", "", len(text), *recovery.end()), True)
                return
            except (UnexpectedInput, ScanError, _TooDeep) as e:
                # declarations complete before the error may still wait on the stack: reduce them
                with suppress(UnexpectedInput):
                    state.copy(deepcopy_values=False).feed_token(Token("$END", ""), True)
                self.ctx.mark = len(self.ctx.problems)
                recovery.floor = max(recovery.floor, self.ctx.last_decl_end)
                pos = self._report(e)
                del state.state_stack[1:]
                state.value_stack.clear()
                line, _ = recovery.position(pos)
                line_start = recovery.line_index(line)
                recovery.floor = max(recovery.floor, line)

    def _report(self, e: UnexpectedInput | ScanError | _TooDeep) -> int:
        """Record the diagnostic for `e`; return the index where parsing resumes."""
        if isinstance(e, _TooDeep):
            line = e.token.line or 1
            self._add(line, e.token.column or 1, max(1, len(e.token.value)), NESTED_TOO_DEEPLY)
            return self.recovery.resume_after(line)
        if isinstance(e, UnexpectedToken):
            tok = e.token
            if tok.type == "$END":
                line, col = self.recovery.end()
                width = 1
            else:
                line, col = tok.line or 1, tok.column or 1
                width = max(1, len(tok.value)) if tok.type != "_NL" and tok.end_line == tok.line else 1
            message = messages.unexpected(tok, _expected(e))
            if 1 <= line <= len(self.lines):
                message = messages.bind_hint(self.lines[line - 1], tok, messages.acceptable(e, _STATES)) or message
        else:
            assert isinstance(e, ScanError)
            message, index, width = messages.bad_character(self.text, e.pos)
            line, col = self.recovery.position(index)
        missing = self.recovery.missing_closer(line)
        if missing is not None:
            (line, col, width, message), resume = missing
            self._add(line, col, width, message)
            return resume
        self._add(line, col, width, message)
        return self.recovery.resume_after(line)

    def _add(self, line: int, col: int, width: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(ast.Span(self.file, line, col, line, col + width), message))

    def _parse_hole(self, source: str, line: int, column: int) -> ast.Expr | None:
        """Parse the `{expr}` of a string, scanning it where it stands in the file."""
        line_start = self.recovery.line_index(line)
        start = line_start + column - 1
        end = start + len(source)
        if not source.strip():
            self.ctx.problem("empty '{}' in a string (write \\{ for a literal brace)", self._span(line, column - 1, 2))
            return None
        state: Any = ParserState(_CONF["expr"], None)  # type: ignore[arg-type]
        stack: list[int] = state.state_stack
        try:
            for tok in _SCANNER.tokens(self.text, start, end, line, line_start, stack, _STEPPER.states):
                _STEPPER.feed(state, tok)
                if len(stack) > MAX_NESTING:
                    self.ctx.problem(NESTED_TOO_DEEPLY, self._span(line, (tok.column or column), 1))
                    return None
            expr: ast.Expr = state.feed_token(Token("$END", "", end, line, column + len(source)), True)
            return expr
        except UnexpectedToken as e:
            if e.token.type == "$END":
                # the hole ended: what was unexpected is the string's "}"
                words = [w for w in _expected(e) if w != "end of file"]
                message = messages.unexpected(Token("RBRACE", "}"), words)
            else:
                words = ["'}'" if w == "end of file" else w for w in _expected(e)]
                message = messages.unexpected(e.token, sorted(words, key=messages.word_order))
            where = (e.token.start_pos or start) - line_start + 1
        except ScanError as e:
            message, index, _ = messages.bad_character(self.text, e.pos)
            where = index - line_start + 1
        self.ctx.problem(message, self._span(line, where, 1))
        return None

    def _span(self, line: int, column: int, width: int) -> ast.Span:
        return ast.Span(self.file, line, column, line, column + width)
