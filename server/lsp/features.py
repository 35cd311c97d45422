"""Hover, go to definition and completion, read from the compiler's tables (`wfkit.core.symbols`).

Positions here are wfkit's (1-based line and column in characters, in a file); the server turns
them into the editor's. Completion asks the compiler: it compiles the text with a placeholder
name written at the cursor, and offers what the compiler would have accepted in its place (the
names it suggests from when a name is unknown: the fields of the type before a `.`, the verbs,
the workflows after `schedule`/`call`/`run`, the types, the parameters inside `(…)`, the names
in scope).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from wfkit.core.actions import ParamSpec, Registry
from wfkit.core.app import App
from wfkit.core.compile.decorators import DECORATORS
from wfkit.core.compile.incremental import Compiled
from wfkit.core.symbols import Symbol, Use
from wfkit.core.types import BUILTIN_FIELD_TYPES, PRIMITIVES
from wfkit.dsl.ast import Span

from .text import Text

PLACEHOLDER = "zz__wf_cursor__"  # a name no app declares
STATEMENTS = ("let", "if", "for each", "schedule", "call", "cancel", "return", "terminate", "fail")
GLOBALS = {"current_user": "User", "now": "date", "today": "date", "request": "object"}
_WORD_BEFORE = re.compile(r"[A-Za-z0-9_]*\Z")


# ------------------------------------------------------------------ what stands at a position


def _contains(span: Span, line: int, column: int) -> bool:
    return span.line == span.end_line == line and span.column <= column <= span.end_column


def at(compiled: Compiled, file: str, line: int, column: int) -> Use | Symbol | None:
    """The name at a position: where it is used (with its type there), else where it is declared."""
    hit = compiled.piece_at(file, line)
    if hit is None:
        return None
    piece, rel = hit
    best: Use | Symbol | None = None
    things: list[Use | Symbol] = [*compiled.symbols.uses, *compiled.symbols.declared]
    for thing in things:
        span = thing.span
        if span.file != piece.name or not _contains(span, rel, column):
            continue
        if best is None or (span.end_column - span.column) < (best.span.end_column - best.span.column):
            best = thing
    return best


def definition(compiled: Compiled, thing: Use | Symbol) -> Span | None:
    """Where what a name refers to is declared, in its file."""
    symbol = compiled.symbols.resolve(thing) if isinstance(thing, Use) else thing
    return compiled.real(symbol.span) if symbol is not None else None


# ------------------------------------------------------------------ hover


def _block(text: str) -> str:
    return f"```wf\n{text}\n```"


def type_text(app: App, name: str) -> str:
    if name in PRIMITIVES:
        return _block(name) + "\n\nbuilt-in type"
    info = app.types.get(name)
    if info is None:
        return _block(name)
    lines = [f"type {name} {{"]
    for f in info.fields.values():
        lines.append(f"  {f.name}: {f.type}")
    lines.append("}")
    builtin = ", ".join(BUILTIN_FIELD_TYPES)
    note = f"every {name} also has {builtin}" + (" (User is built in, with email)" if info.builtin else "")
    return _block("\n".join(lines)) + f"\n\n{note}"


def _params(params: tuple[ParamSpec, ...]) -> str:
    return ", ".join(f"{p.name}: {p.type}" if p.required else f"[{p.name}: {p.type}]" for p in params)


def hover(compiled: Compiled, registry: Registry, thing: Use | Symbol) -> str | None:
    """Markdown: a name's type; a workflow's decorators and signature; a type's fields."""
    app, symbols = compiled.app, compiled.symbols
    symbol = symbols.resolve(thing) if isinstance(thing, Use) else thing
    kind = thing.kind
    name = thing.name
    if kind == "type":
        return type_text(app, name)
    if kind == "workflow":
        if symbol is None:
            return None
        wf = app.workflows.get(name)
        where = f"\n\nserved at `/api/1.1/wf/{name}`" if wf is not None and wf.public else ""
        return _block(symbol.detail) + where
    if kind == "field":
        owner = thing.owner
        t = thing.type if thing.type is not None else (symbol.type if symbol else None)
        if t is None:
            return None
        default = symbol.detail if symbol is not None else ""
        note = "\n\nbuilt-in field" if name in BUILTIN_FIELD_TYPES else ""
        return _block(f"{owner}.{name}: {t}{default}") + note
    if kind in ("name", "param", "variable"):
        t = thing.type if thing.type is not None else (symbol.type if symbol else None)
        if t is None:
            return None
        if symbol is not None and symbol.kind == "param":
            return _block(f"{name}: {t}{symbol.detail}") + f"\n\nparameter of workflow `{symbol.owner}`"
        if symbol is not None and symbol.kind == "variable":
            return _block(f"{name}: {t}") + f"\n\nset in workflow `{symbol.owner}`"
        return _block(f"{name}: {t}")
    if kind == "argument" and isinstance(thing, Use):
        if thing.type is None:
            return None
        return _block(f"{name}: {thing.type}") + f"\n\nargument of {thing.owner}"
    if kind == "verb":
        spec = registry.actions.get(name)
        if spec is None:
            return None
        target = {"none": "", "type": " TYPE", "thing": " THING", "value": " VALUE"}[spec.target]
        result = spec.result if isinstance(spec.result, str) else "any"
        sig = f"{name}{target}({_params(spec.params)})" + ("" if result == "nothing" else f" → {result}")
        return _block(sig) + (f"\n\n{spec.doc}" if spec.doc else "")
    if kind == "function":
        fn = registry.functions.get(name)
        if fn is None:
            return None
        result = fn.result if isinstance(fn.result, str) else "the type of its arguments"
        sig = f"{name}({_params(fn.params)}{', …' if fn.variadic else ''}) → {result}"
        doc = getattr(fn, "doc", "")
        return _block(sig) + (f"\n\n{doc}" if doc else "")
    return None


# ------------------------------------------------------------------ completion


@dataclass(frozen=True, slots=True)
class Candidate:
    label: str
    kind: str  # field, variable, workflow, type, verb, keyword, function, argument, decorator
    detail: str = ""


def word_before(text: str, offset: int) -> tuple[str, int]:
    """The part of a name typed before the cursor, and where it starts."""
    m = _WORD_BEFORE.search(text, 0, offset)
    start = m.start() if m else offset
    return text[start:offset], start


def complete(
    text: str,
    offset: int,
    probe: Callable[[str], Compiled],
    file: str,
    registry: Registry,
) -> list[Candidate]:
    """What may be written at `offset` of `text` (the file `file`); `probe(new_text)` compiles
    the app with the file's text replaced."""
    prefix, start = word_before(text, offset)
    if start > 0 and text[start - 1] == "@":
        return [Candidate(d, "decorator") for d in DECORATORS if d.startswith(prefix)]
    for tail in ("", "()", ": empty"):
        probed = text[:offset] + PLACEHOLDER + tail + text[offset:]
        compiled = probe(probed)
        use = _placeholder_use(compiled, file, probed, start)
        if use is not None:
            return _candidates(compiled, registry, use, prefix)
    return []


def _placeholder_use(compiled: Compiled, file: str, text: str, start: int) -> Use | None:
    line, column = Text(text).wf_position(start)
    hit = compiled.piece_at(file, line)
    if hit is None:
        return None
    piece, rel = hit
    for u in compiled.symbols.uses:
        unknown = u.options is not None and PLACEHOLDER in u.name
        if unknown and u.span.file == piece.name and _contains(u.span, rel, column):
            return u
    return None


def _candidates(compiled: Compiled, registry: Registry, use: Use, prefix: str) -> list[Candidate]:
    app = compiled.app
    options = use.options or ()
    out: list[Candidate] = []
    if use.kind == "field":
        info = app.types.get(use.owner)
        fields = info.fields if info is not None else {}
        for name in options:
            t = fields[name].type if name in fields else BUILTIN_FIELD_TYPES.get(name)
            out.append(Candidate(name, "field", str(t) if t is not None else ""))
    elif use.kind == "name":
        for name in options:
            if name in GLOBALS:
                out.append(Candidate(name, "variable", GLOBALS[name]))
            else:
                out.append(Candidate(name, "variable"))
        out += [Candidate(f, "function") for f in registry.functions]
        out += [Candidate(w, "keyword") for w in ("true", "false", "empty", "not", "search")]
    elif use.kind == "verb":
        typed = use.name[: use.name.index(PLACEHOLDER)]  # `stripe.` of a dotted verb, with what follows the dot
        dotted = typed[: typed.rfind(".") + 1]
        for v in options:
            if v.startswith(typed):
                out.append(
                    Candidate(v[len(dotted) :], "verb", registry.actions[v].doc if v in registry.actions else "")
                )
        if not dotted:
            out += [Candidate(w, "keyword") for w in STATEMENTS]
    elif use.kind == "workflow":
        for name in options:
            symbol = compiled.symbols.workflows.get(name)
            detail = symbol.detail.splitlines()[-1] if symbol is not None and symbol.detail else ""
            out.append(Candidate(name, "workflow", detail))
    elif use.kind == "type":
        out += [Candidate(t, "type") for t in options]
    elif use.kind == "argument":
        out += [Candidate(a, "argument", use.owner) for a in options]
    elif use.kind == "function":
        out += [Candidate(f, "function") for f in options]
    seen: set[str] = set()
    unique = []
    for c in out:
        if c.label.startswith(prefix) and PLACEHOLDER not in c.label and c.label not in seen:
            seen.add(c.label)
            unique.append(c)
    return unique
