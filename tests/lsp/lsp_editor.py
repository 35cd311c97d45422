"""An editor for the tests: pygls' own LanguageClient driving `wf lsp` over stdio, as VS Code would."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

TIMEOUT = 30.0  # seconds: the longest any one answer may take (a first compile included)


def uri(path: Path) -> str:
    return from_fs_path(str(path.resolve())) or str(path)


class Editor:
    """One `wf lsp` process and the diagnostics it has published, per document."""

    def __init__(self, root: Path):
        self.root = root
        self.client = LanguageClient("wfkit-tests", "1")
        self.published: dict[str, list[T.PublishDiagnosticsParams]] = {}
        self.arrived = asyncio.Event()
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}

        @self.client.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: T.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append(params)
            self.arrived.set()

    async def start(self, *, encodings: list[str] | None = None) -> T.InitializeResult:
        await self.client.start_io(sys.executable, "-m", "wfkit.server.cli", "lsp")
        general = T.GeneralClientCapabilities(position_encodings=encodings) if encodings else None
        result = await asyncio.wait_for(
            self.client.initialize_async(
                T.InitializeParams(
                    capabilities=T.ClientCapabilities(general=general),
                    root_uri=uri(self.root),
                    workspace_folders=[T.WorkspaceFolder(uri=uri(self.root), name="app")],
                )
            ),
            TIMEOUT,
        )
        self.client.initialized(T.InitializedParams())
        return result

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), TIMEOUT)
            self.client.exit(None)
        finally:
            await asyncio.wait_for(self.client.stop(), TIMEOUT)

    # ---- documents

    def open(self, path: Path, text: str | None = None) -> None:
        text = path.read_text(encoding="utf-8") if text is None else text
        self.versions[uri(path)] = 1
        self.texts[uri(path)] = text
        self.client.text_document_did_open(
            T.DidOpenTextDocumentParams(T.TextDocumentItem(uri=uri(path), language_id="wf", version=1, text=text))
        )

    def change(self, path: Path, start: tuple[int, int], end: tuple[int, int], text: str) -> int:
        """Replace a range (0-based line and UTF-16 character, as an editor sends it); the new version."""
        u = uri(path)
        self.versions[u] += 1
        change = T.TextDocumentContentChangePartial(
            range=T.Range(T.Position(*start), T.Position(*end)),
            text=text,
        )
        self.client.text_document_did_change(
            T.DidChangeTextDocumentParams(T.VersionedTextDocumentIdentifier(uri=u, version=self.versions[u]), [change])
        )
        return self.versions[u]

    async def diagnostics(self, path: Path, version: int | None = None) -> list[T.Diagnostic]:
        """The diagnostics of a document, once they are published (for `version` when given)."""
        u = uri(path)

        async def wait() -> list[T.Diagnostic]:
            while True:
                for p in reversed(self.published.get(u, [])):
                    if version is None or p.version == version:
                        return list(p.diagnostics)
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), TIMEOUT)

    # ---- requests

    def _at(self, path: Path, line: int, character: int) -> dict[str, Any]:
        return {"text_document": T.TextDocumentIdentifier(uri(path)), "position": T.Position(line, character)}

    async def hover(self, path: Path, line: int, character: int) -> str | None:
        result = await asyncio.wait_for(
            self.client.text_document_hover_async(T.HoverParams(**self._at(path, line, character))), TIMEOUT
        )
        if result is None:
            return None
        assert isinstance(result.contents, T.MarkupContent)
        return result.contents.value

    async def definition(self, path: Path, line: int, character: int) -> T.Location | None:
        result = await asyncio.wait_for(
            self.client.text_document_definition_async(T.DefinitionParams(**self._at(path, line, character))), TIMEOUT
        )
        if isinstance(result, list):
            return result[0] if result else None  # type: ignore[return-value]
        return result  # type: ignore[return-value]

    async def completion(self, path: Path, line: int, character: int) -> list[str]:
        result = await asyncio.wait_for(
            self.client.text_document_completion_async(T.CompletionParams(**self._at(path, line, character))), TIMEOUT
        )
        items = result.items if isinstance(result, T.CompletionList) else (result or [])
        return [i.label for i in items]
