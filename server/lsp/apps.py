"""Which `.wf` files an open document is compiled with, and the last compile of each app.

The app of a document is its folder with every `.wf` file below it (as `wf check FOLDER`
loads them), taken one folder up as long as the folder above also holds `.wf` files of its own
(so `app/sub/x.wf` is compiled with `app/`), and never above the editor's workspace folder. An
open document counts with the editor's text, a closed file with the text on disk.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from wfkit.core.actions import Registry
from wfkit.core.compile.incremental import Compiled, IncrementalCompiler
from wfkit.dsl.errors import Diagnostic

from .text import Encoding, Text

SKIPPED = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__"})  # never app folders
MAX_FOLDERS = 2000  # a document opened in a huge folder (a home folder) still starts quickly


def _has_wf_files(folder: Path) -> bool:
    try:
        return any(f.suffix == ".wf" and f.is_file() for f in folder.iterdir())
    except OSError:
        return False


def app_root(path: Path, workspace: list[Path]) -> Path:
    """The folder whose `.wf` files form the app of the file `path`."""
    folder = path.parent
    tops = [w for w in workspace if path.is_relative_to(w)]
    top = max(tops, key=lambda w: len(w.parts)) if tops else None
    while folder != top and folder.parent != folder and _has_wf_files(folder.parent):
        if top is not None and not folder.parent.is_relative_to(top):
            break
        folder = folder.parent
    return folder


@dataclass(eq=False)
class AppState:
    """One app: its files, its compiler (which keeps what it can between compiles), its last
    compile and what was last published for each of its files."""

    root: Path
    compiler: IncrementalCompiler
    files: list[str] = field(default_factory=list)  # every .wf file on disk, as absolute paths
    disk: dict[str, str] = field(default_factory=dict)  # their text on disk, read when first needed
    compiled: Compiled | None = None
    sources: dict[str, str] = field(default_factory=dict)  # what `compiled` was compiled from
    dirty: bool = True
    task: asyncio.Task[None] | None = None
    published: dict[str, tuple[Diagnostic, ...]] = field(default_factory=dict)

    def scan(self) -> None:
        """Find the app's files again (a file was created, deleted or renamed)."""
        found: list[str] = []
        for n, (folder, dirs, names) in enumerate(os.walk(self.root)):
            if n >= MAX_FOLDERS:
                break
            dirs[:] = [d for d in dirs if d not in SKIPPED]
            found += [os.path.join(folder, f) for f in names if f.endswith(".wf")]
        paths = sorted(Path(f) for f in found)  # in the order `wf check` reads them
        self.files = [str(f) for f in paths if f.is_file()]
        found = self.files
        self.disk = {f: t for f, t in self.disk.items() if f in found}

    def forget(self, path: str) -> None:
        """The file changed on disk: read it again when next needed."""
        self.disk.pop(path, None)

    def owns(self, path: Path) -> bool:
        return path.is_relative_to(self.root)

    def gather(self, open_docs: dict[str, Text]) -> dict[str, str]:
        """File → text for a compile: the editor's text for open documents, else the disk's."""
        names = list(self.files)
        names += sorted(p for p in open_docs if p not in self.files and self.owns(Path(p)))
        out: dict[str, str] = {}
        for name in names:
            doc = open_docs.get(name)
            if doc is not None:
                out[name] = doc.text
                continue
            text = self.disk.get(name)
            if text is None:
                try:
                    text = Path(name).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue  # unreadable now: left out until it changes
                self.disk[name] = text
            out[name] = text
        return out

    def compile(self, open_docs: dict[str, Text]) -> Compiled:
        self.dirty = False
        self.sources = self.gather(open_docs)
        self.compiled = self.compiler.compile(self.sources)
        return self.compiled

    def text_of(self, path: str, open_docs: dict[str, Text], encoding: Encoding) -> Text:
        doc = open_docs.get(path)
        if doc is not None:
            return doc
        return Text(self.sources.get(path, self.disk.get(path, "")), encoding)


def new_app(root: Path, registry: Registry) -> AppState:
    app = AppState(root, IncrementalCompiler(registry))
    app.scan()
    return app
