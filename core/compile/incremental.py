"""Compiling an app again after each edit, redoing only what the edit touched (for `wf lsp`).

Every file is cut into its top-level declarations (`wfkit.dsl.chunks`), and each piece is parsed
alone, under a name of its own (`<wf-piece-N>`), with lines counted from its start: a piece that
an edit leaves alone keeps its parse even when lines above it come or go. Each compile runs the
whole-app passes of `Compiler` (types, workflows' signatures, privacy, triggers: quick), and
compiles a workflow's body again only when its declaration was parsed again or something it
looked up has changed (a type's fields and privacy, another workflow's parameters, or, when it
has an unknown name, the names the app declares). Spans stay in piece coordinates inside; the
`Compiled` result turns them into the file's (`real`), diagnostics included.

`wf check` parses and compiles the whole app at once; this gives the same diagnostics (tests/lsp
compare the two after random edits).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wfkit.dsl import ast as A
from wfkit.dsl import parse
from wfkit.dsl.chunks import declaration_pieces, runs_past_end
from wfkit.dsl.errors import Diagnostic
from wfkit.dsl.parser import ParseResult

from ..app import App, ParamInfo, Workflow
from ..symbols import Symbol, Symbols, Use
from ..types import ListType, ThingType, WfType
from .declarations import Compiler

if TYPE_CHECKING:
    from ..actions import Registry

_PIECE_NAME = re.compile(r"<wf-piece-(\d+)>:(\d+)")
_ON_LINE = re.compile(r"( on line )(\d+)")
_ids = itertools.count(1)


@dataclass(slots=True)
class Piece:
    """One parsed piece of a file: lines `line`… of `file`, parsed under the name `name`."""

    file: str
    line: int
    text: str
    name: str
    parsed: ParseResult
    runs_past: bool  # it hit its end in the middle of something: parsed again with what follows it


@dataclass(frozen=True, slots=True)
class _Needs:
    types: frozenset[str]
    workflows: frozenset[str]
    names: bool  # it has an unknown name: its messages suggest from every declared name


@dataclass(slots=True)
class _Body:
    """A workflow's compiled body, with what the compiler said and recorded while compiling it."""

    decl: A.WorkflowDecl
    workflow: Workflow
    diagnostics: list[Diagnostic]
    declared: list[Symbol]
    uses: list[Use]
    needs: _Needs
    seen: object  # what `needs` looked like when it was compiled


@dataclass(slots=True)
class Compiled:
    """One compile of the app: spans inside (`app`, `symbols`) are in piece coordinates."""

    app: App
    symbols: Symbols
    pieces: dict[str, Piece]  # by name
    by_file: dict[str, list[Piece]]  # each file's pieces, in order
    diagnostics: list[Diagnostic]  # in the files' coordinates, sorted
    recompiled: int = 0  # workflow bodies compiled this time (the others were kept)

    def real(self, span: A.Span) -> A.Span:
        """A span in its file's coordinates."""
        piece = self.pieces.get(span.file)
        if piece is None:
            return span
        shift = piece.line - 1
        return A.Span(piece.file, span.line + shift, span.column, span.end_line + shift, span.end_column)

    def piece_at(self, file: str, line: int) -> tuple[Piece, int] | None:
        """The piece holding a file's line, and the line within it."""
        found = None
        for p in self.by_file.get(file, []):
            if p.line > line:
                break
            found = p
        return (found, line - found.line + 1) if found is not None else None

    def real_message(self, message: str, where: A.Span) -> str:
        """A message that names a place ("first at <wf-piece-3>:2:1", "the return on line 2" in
        the piece of `where`) names it in its file."""
        piece = self.pieces.get(where.file)
        if piece is not None and piece.line > 1 and " on line " in message:
            message = _ON_LINE.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + piece.line - 1}", message)
        if "<wf-piece-" not in message:
            return message

        def swap(m: re.Match[str]) -> str:
            piece = self.pieces.get(f"<wf-piece-{m.group(1)}>")
            if piece is None:
                return m.group()
            return f"{piece.file}:{int(m.group(2)) + piece.line - 1}"

        return _PIECE_NAME.sub(swap, message)


@dataclass
class IncrementalCompiler:
    """Keeps the last parse of every piece and the last compile of every workflow body."""

    registry: Registry
    _pieces: dict[str, list[Piece]] = field(default_factory=dict)  # by file
    _bodies: dict[int, _Body] = field(default_factory=dict)  # by id() of the declaration
    _headers: dict[int, _Header] = field(default_factory=dict)  # by id() of the declaration

    def compile(self, sources: dict[str, str]) -> Compiled:
        """Compile the app made of `sources` (file name → text), reusing what did not change."""
        by_file = {name: self._parse_file(name, text) for name, text in sources.items()}
        self._pieces = by_file
        pieces = {p.name: p for ps in by_file.values() for p in ps}
        compiler = _Reusing(self.registry, {p.name: p.text for p in pieces.values()}, self._bodies, self._headers)
        app = compiler.compile([p.parsed.module for p in pieces.values()])
        self._bodies, self._headers = compiler.kept, compiler.kept_headers
        assert compiler.symbols is not None
        result = Compiled(app, compiler.symbols, pieces, by_file, [], compiler.recompiled)
        syntax = [d for p in pieces.values() for d in p.parsed.diagnostics]
        result.diagnostics = sorted(
            (
                Diagnostic(result.real(d.span), result.real_message(d.message, d.span), d.severity)
                for d in [*syntax, *compiler.diagnostics]
            ),
            key=lambda d: (d.span.file, d.span.line, d.span.column),
        )
        return result

    def _parse_file(self, file: str, text: str) -> list[Piece]:
        old: dict[str, list[Piece]] = {}
        for p in self._pieces.get(file, []):
            old.setdefault(p.text, []).append(p)
        out: list[Piece] = []
        waiting = declaration_pieces(text)
        i = 0
        while i < len(waiting):
            line, chunk = waiting[i].line, waiting[i].text
            i += 1
            while True:
                kept = old.get(chunk)
                piece = kept.pop(0) if kept else None
                if piece is None:
                    name = f"<wf-piece-{next(_ids)}>"
                    parsed = parse(chunk, name)
                    piece = Piece(file, line, chunk, name, parsed, runs_past_end(chunk, parsed))
                if i < len(waiting) and piece.runs_past:
                    chunk += waiting[i].text  # parse it with the next piece, as the whole file would be
                    i += 1
                    continue
                piece.file, piece.line = file, line
                break
            out.append(piece)
        return out


@dataclass(slots=True)
class _Header:
    """What declaring a workflow (its parameters) gave, and the types it was declared among."""

    decl: A.WorkflowDecl
    types: object
    params: list[ParamInfo]
    diagnostics: list[Diagnostic]
    declared: list[Symbol]
    uses: list[Use]


class _Reusing(Compiler):
    """The compiler, keeping a workflow's body from the last compile when nothing it needs changed,
    and its declaration (parameters, defaults) when the app's types did not change."""

    def __init__(
        self, registry: Registry, sources: dict[str, str], bodies: dict[int, _Body], headers: dict[int, _Header]
    ):
        super().__init__(registry, sources, symbols=True)
        self.bodies = bodies
        self.headers = headers
        self.kept: dict[int, _Body] = {}
        self.kept_headers: dict[int, _Header] = {}
        self.recompiled = 0
        self._types_seen: object = None

    def declare_workflow(self, wd: A.WorkflowDecl) -> None:
        symbols = self.symbols
        assert symbols is not None
        if wd.name in self.signatures:  # declared twice: the message names the first
            super().declare_workflow(wd)
            return
        if self._types_seen is None:  # every type is declared with its fields by now
            self._types_seen = tuple(
                (n, tuple((f.name, f.type) for f in t.fields.values())) for n, t in self.types.items()
            )
        old = self.headers.get(id(wd))
        if old is not None and old.decl is wd and old.types == self._types_seen:
            self.diagnostics += old.diagnostics
            for symbol in old.declared:
                symbols.declare(symbol)
            symbols.uses += old.uses
            self.signatures[wd.name] = (wd, old.params)
            self.kept_headers[id(wd)] = old
            return
        marks = len(self.diagnostics), len(symbols.declared), len(symbols.uses)
        super().declare_workflow(wd)
        self.kept_headers[id(wd)] = _Header(
            wd,
            self._types_seen,
            self.signatures[wd.name][1],
            self.diagnostics[marks[0] :],
            symbols.declared[marks[1] :],
            symbols.uses[marks[2] :],
        )

    def compile_workflow(self, wd: A.WorkflowDecl, app: App) -> Workflow:
        symbols = self.symbols
        assert symbols is not None
        old = self.bodies.get(id(wd))
        if old is not None and old.decl is wd and old.seen == self._seen(old.needs, app):
            self.diagnostics += old.diagnostics
            symbols.declared += old.declared
            symbols.uses += old.uses
            self.kept[id(wd)] = old
            return old.workflow
        marks = len(self.diagnostics), len(symbols.declared), len(symbols.uses)
        wf = super().compile_workflow(wd, app)
        self.recompiled += 1
        uses = symbols.uses[marks[2] :]
        needs = _needs(uses)
        body = _Body(
            wd, wf, self.diagnostics[marks[0] :], symbols.declared[marks[1] :], uses, needs, self._seen(needs, app)
        )
        self.kept[id(wd)] = body
        return wf

    def _seen(self, needs: _Needs, app: App) -> object:
        types = []
        for name in sorted(needs.types):
            info = self.types.get(name)
            privacy = app.privacy.get(name)
            types.append(
                (
                    name,
                    None if info is None else tuple((f.name, f.type) for f in info.fields.values()),
                    None if privacy is None else tuple((r.cond is None, r.search) for r in privacy.rules),
                )
            )
        workflows = []
        for name in sorted(needs.workflows):
            sig = self.signatures.get(name)
            params = None if sig is None else tuple((p.name, p.type, p.required, p.optional) for p in sig[1])
            workflows.append((name, params))
        names = (frozenset(self.types), frozenset(self.signatures)) if needs.names else None
        return (tuple(types), tuple(workflows), names)


def _needs(uses: Iterable[Use]) -> _Needs:
    """What a body looked up: every type and workflow its names and values lead to."""
    types: set[str] = set()
    workflows: set[str] = set()
    names = False
    for u in uses:
        if u.options is not None:
            names = True
        if u.kind == "type":
            types.add(u.name)
        elif u.kind == "workflow":
            workflows.add(u.name)
        if u.kind == "field" and u.owner:
            types.add(u.owner)
        elif u.owner.startswith("type "):
            types.add(u.owner[5:])
        elif u.owner.startswith("workflow "):
            workflows.add(u.owner[9:])
        thing = _thing(u.type)
        if thing is not None:
            types.add(thing)
    return _Needs(frozenset(types), frozenset(workflows), names)


def _thing(t: WfType | None) -> str | None:
    if isinstance(t, ListType):
        t = t.item
    return t.name if isinstance(t, ThingType) else None
