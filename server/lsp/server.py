"""`wf lsp`: the language server (pygls, LSP over stdio) for `.wf` files.

Documents are synced incrementally. After each change the document's app is compiled again
(`IncrementalCompiler`: only what the change touched) and every file of the app gets the
compiler's diagnostics, those of `wf check`, at the same places. Changes that arrive while a
compile runs are taken together by the next one. Hover, go to definition and completion read
the last compile (`features`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from wfkit.core.actions import Registry
from wfkit.core.compile.incremental import Compiled
from wfkit.core.symbols import Symbol, Use
from wfkit.dsl.errors import Diagnostic

from . import features
from .apps import AppState, app_root, new_app
from .text import Encoding, Text

log = logging.getLogger("wfkit.lsp")

KINDS = {
    "field": T.CompletionItemKind.Field,
    "variable": T.CompletionItemKind.Variable,
    "workflow": T.CompletionItemKind.Function,
    "type": T.CompletionItemKind.Class,
    "verb": T.CompletionItemKind.Method,
    "keyword": T.CompletionItemKind.Keyword,
    "function": T.CompletionItemKind.Function,
    "argument": T.CompletionItemKind.Property,
    "decorator": T.CompletionItemKind.Keyword,
}


class WfServer(LanguageServer):
    def __init__(self, registry: Registry | None = None) -> None:
        super().__init__("wfkit", _version(), text_document_sync_kind=T.TextDocumentSyncKind.Incremental)
        self._registry = registry
        self.docs: dict[str, Text] = {}  # open documents by path
        self.versions: dict[str, int] = {}
        self.apps: dict[Path, AppState] = {}

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from wfkit.plugins.manager import get_registry

            self._registry = get_registry()
        return self._registry

    @property
    def encoding(self) -> Encoding:
        chosen = str(self.workspace.position_encoding or "utf-16")
        return chosen if chosen in ("utf-8", "utf-32") else "utf-16"  # type: ignore[return-value]

    # ---- apps

    def workspace_roots(self) -> list[Path]:
        roots = [Path(p) for f in self.workspace.folders.values() if (p := to_fs_path(f.uri))]
        if not roots and self.workspace.root_path:
            roots = [Path(self.workspace.root_path)]
        return [r.resolve() for r in roots]

    def app_of(self, path: str) -> AppState:
        p = Path(path)
        for app in self.apps.values():
            if app.owns(p) and (path in app.files or path in self.docs):
                return app
        root = app_root(p, self.workspace_roots())
        found = self.apps.get(root)
        if found is None:
            found = self.apps[root] = new_app(root, self.registry)
        return found

    def schedule(self, app: AppState) -> None:
        """Compile the app soon, taking together the changes that arrive meanwhile."""
        app.dirty = True
        if app.task is None or app.task.done():
            app.task = asyncio.get_running_loop().create_task(self._recompile(app))

    async def _recompile(self, app: AppState) -> None:
        while app.dirty:
            await asyncio.sleep(0)  # let the messages already read update the documents first
            self.refresh(app)

    def refresh(self, app: AppState) -> Compiled | None:
        """Compile the app now and publish what changed; the compile, or None when it failed."""
        try:
            compiled = app.compile(self.docs)
        except Exception as e:  # a bug must not end the editor's session: say it and carry on
            log.exception("compiling %s", app.root)
            self.window_log_message(T.LogMessageParams(T.MessageType.Error, f"wf lsp: compiling failed: {e!r}"))
            return None
        self.publish(app, compiled)
        return compiled

    def fresh(self, app: AppState) -> Compiled | None:
        """The app's compile, up to date with every change."""
        if app.dirty or app.compiled is None:
            return self.refresh(app)
        return app.compiled

    def publish(self, app: AppState, compiled: Compiled) -> None:
        by_file: dict[str, list[Diagnostic]] = {f: [] for f in app.sources}
        for d in compiled.diagnostics:
            by_file.setdefault(d.span.file, []).append(d)
        for name in list(app.published):
            by_file.setdefault(name, [])
        for name, found in by_file.items():
            key = tuple(found)
            if app.published.get(name) == key and name not in self.docs:
                continue
            if not found and name not in app.published and name not in self.docs:
                continue
            text = app.text_of(name, self.docs, self.encoding)
            diagnostics = [
                T.Diagnostic(
                    range=text.range(d.span),
                    message=d.message,
                    severity=T.DiagnosticSeverity.Warning if d.severity == "warning" else T.DiagnosticSeverity.Error,
                    source="wf",
                )
                for d in found
            ]
            uri = from_fs_path(name) or name
            self.text_document_publish_diagnostics(
                T.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=self.versions.get(name))
            )
            if found:
                app.published[name] = key
            else:
                app.published.pop(name, None)

    # ---- positions

    def name_at(self, uri: str, pos: T.Position) -> tuple[AppState, Compiled, str, Use | Symbol] | None:
        """The name at an editor position (its app and that app's compile), for hover and definition."""
        path = _path(uri)
        if path is None:
            return None
        app = self.app_of(path)
        compiled = self.fresh(app)
        if compiled is None:
            return None
        text = app.text_of(path, self.docs, self.encoding)
        line, column = text.wf_position(text.offset(pos))
        thing = features.at(compiled, path, line, column)
        return (app, compiled, path, thing) if thing is not None else None

    def location(self, app: AppState, span: Any) -> T.Location:
        text = app.text_of(span.file, self.docs, self.encoding)
        return T.Location(uri=from_fs_path(span.file) or span.file, range=text.range(span))


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("wfkit")
    except Exception:
        return "0"


def _path(uri: str) -> str | None:
    path = to_fs_path(uri)
    return str(Path(path).resolve()) if path else None


def build(registry: Registry | None = None) -> WfServer:
    server = WfServer(registry)

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: WfServer, params: T.DidOpenTextDocumentParams) -> None:
        path = _path(params.text_document.uri)
        if path is None:
            return
        ls.docs[path] = Text(params.text_document.text, ls.encoding)
        ls.versions[path] = params.text_document.version
        app = ls.app_of(path)
        ls.schedule(app)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: WfServer, params: T.DidChangeTextDocumentParams) -> None:
        path = _path(params.text_document.uri)
        if path is None or path not in ls.docs:
            return
        doc = ls.docs[path]
        for change in params.content_changes:
            doc = doc.apply(change)
        ls.docs[path] = doc
        ls.versions[path] = params.text_document.version
        ls.schedule(ls.app_of(path))

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: WfServer, params: T.DidSaveTextDocumentParams) -> None:
        path = _path(params.text_document.uri)
        if path is not None:
            ls.app_of(path).forget(path)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: WfServer, params: T.DidCloseTextDocumentParams) -> None:
        path = _path(params.text_document.uri)
        if path is None:
            return
        app = ls.app_of(path)
        ls.docs.pop(path, None)
        ls.versions.pop(path, None)
        app.forget(path)
        app.scan()
        ls.schedule(app)

    @server.feature(T.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched(ls: WfServer, params: T.DidChangeWatchedFilesParams) -> None:
        for event in params.changes:
            path = _path(event.uri)
            if path is None or not path.endswith(".wf"):
                continue
            for app in ls.apps.values():
                if app.owns(Path(path)):
                    app.forget(path)
                    if event.type != T.FileChangeType.Changed:
                        app.scan()
                    ls.schedule(app)

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    def hover(ls: WfServer, params: T.HoverParams) -> T.Hover | None:
        found = ls.name_at(params.text_document.uri, params.position)
        if found is None:
            return None
        app, compiled, path, thing = found
        text = features.hover(compiled, ls.registry, thing)
        if text is None:
            return None
        span = compiled.real(thing.span)
        doc = app.text_of(path, ls.docs, ls.encoding)
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, text), range=doc.range(span))

    @server.feature(T.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: WfServer, params: T.DefinitionParams) -> T.Location | None:
        found = ls.name_at(params.text_document.uri, params.position)
        if found is None:
            return None
        app, compiled, _, thing = found
        span = features.definition(compiled, thing)
        return ls.location(app, span) if span is not None else None

    @server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=[".", "@", "("]))
    def completion(ls: WfServer, params: T.CompletionParams) -> T.CompletionList:
        path = _path(params.text_document.uri)
        if path is None or path not in ls.docs:
            return T.CompletionList(is_incomplete=False, items=[])
        app = ls.app_of(path)
        doc = ls.docs[path]
        offset = doc.offset(params.position)

        def probe(text: str) -> Compiled:
            app.dirty = True  # the app's own compile is for the editor's text, not this one
            return app.compiler.compile({**app.gather(ls.docs), path: text})

        items = [
            T.CompletionItem(label=c.label, kind=KINDS.get(c.kind), detail=c.detail or None)
            for c in features.complete(doc.text, offset, probe, path, ls.registry)
        ]
        return T.CompletionList(is_incomplete=False, items=items)

    return server


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="wf lsp: %(levelname)s %(message)s")  # stderr: stdout is LSP's
    build().start_io()
    return 0
