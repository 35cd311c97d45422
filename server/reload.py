"""`wf serve --reload`: a saved app is served at once, without a restart.

The main process watches the app's `.wf` files (their names, sizes and modification times, every
`POLL_S` seconds: no dependency, one `stat` per file). Once they have stayed the same for one poll
(an editor may write a file in several steps) it compiles them. On errors it prints each
diagnostic as `wf check` does, once per change, and the server keeps serving the last good app. On
success it writes the sources to a snapshot in the data folder, as a new generation, and logs
`reloaded APP: N workflows`.

Every server process follows the snapshot (one `stat` per poll), compiles that same text, which
the main process found good, and swaps its app in place (`wfkit.server.app.swap_app`): Sanic's
processes and their connections, the database and the queue stay. A server process started later
(one that died and was replaced) starts from the snapshot, not from files that may be broken by
then. With one process, the app compiled by the watcher is handed over as it is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from wfkit.core.app import App
from wfkit.core.errors import ConfigError, SourceError
from wfkit.plugins.loader import build_app, read_sources

from . import tasks
from .cli_common import plural

log = logging.getLogger("wfkit.server")

POLL_S = 0.5
SNAPSHOT_ENV = "WF_RELOAD_SNAPSHOT"  # set by `wf serve --reload` for its server processes

Signature = tuple[tuple[str, int, int, int], ...] | None

_handed: dict[int, App] = {}  # generation → app, compiled by this process's own watcher


def signature(path: Path) -> Signature:
    """What changes when a `.wf` file of the app is saved, added or removed (None: unreadable now)."""
    try:
        files = sorted(f for f in path.rglob("*.wf") if f.is_file()) if path.is_dir() else [path]
        return tuple((str(f), s.st_mtime_ns, s.st_size, s.st_ino) for f in files for s in (f.stat(),))
    except OSError:  # removed while looked at: looked at again at the next poll
        return None


def snapshot_file() -> Path | None:
    """The snapshot this process follows, or None when it does not reload."""
    raw = os.environ.get(SNAPSHOT_ENV)
    return Path(raw) if raw else None


def last_good(snapshot: Path | None) -> tuple[App | None, int]:
    """The app of the last good snapshot and its generation; (None, 0) before any reload."""
    if snapshot is None or not snapshot.exists():
        return None, 0
    data = orjson.loads(snapshot.read_bytes())
    generation = int(data["generation"])
    return _handed.pop(generation, None) or build_app(data["sources"]), generation


class Watcher:
    """In the main process of `wf serve --reload`: a thread that compiles the app when its files
    change, prints the errors, and publishes good sources to `snapshot` for the server processes.
    `hand_over`: the server runs in this process, which takes the compiled app as it is."""

    def __init__(self, app_path: str, snapshot: Path, *, hand_over: bool = False, poll: float = POLL_S) -> None:
        self.app_path = app_path
        self.path = Path(app_path)
        self.snapshot = snapshot
        self.hand_over = hand_over
        self.poll = poll
        # taken before the app is first compiled, so that a save meanwhile is not missed
        self.seen = signature(self.path)
        try:
            self.tried: dict[str, str] | None = read_sources(self.path)  # the text last compiled
        except ConfigError:
            self.tried = None
        self.generation = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wfkit-reload", daemon=True)

    def start(self) -> Watcher:
        self.snapshot.parent.mkdir(parents=True, exist_ok=True)
        self.snapshot.unlink(missing_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1)  # a daemon: a compile under way does not hold the exit up
        self.snapshot.unlink(missing_ok=True)
        self.snapshot.with_name(self.snapshot.name + ".tmp").unlink(missing_ok=True)

    def _run(self) -> None:
        changed = False
        while not self._stop.wait(self.poll):
            now = signature(self.path)
            if now != self.seen:
                self.seen, changed = now, True  # compiled once it has stayed so for one poll
                continue
            if changed:
                changed = False
                try:
                    self.check()
                except Exception:  # the thread must go on watching
                    log.exception("reloading %s failed; still serving the last good app", self.app_path)

    def check(self) -> App | None:
        """Compile the files; publish the app when it is good (and new). The app, or None."""
        try:
            sources = read_sources(self.path)
        except ConfigError as e:  # the file or every file of the folder gone, not UTF-8, …
            log.error("%s; still serving the last good app", e)
            return None
        if sources == self.tried:  # saved again as it was (or as it failed): nothing new to say
            return None
        self.tried = sources
        try:
            app = build_app(sources)
        except SourceError as e:
            print(e.render(), file=sys.stderr, flush=True)
            log.error("%s in %s: still serving the last good app", plural(len(e.errors), "error"), self.app_path)
            return None
        self.generation += 1
        if self.hand_over:
            _handed.clear()
            _handed[self.generation] = app
        tmp = self.snapshot.with_name(self.snapshot.name + ".tmp")
        tmp.write_bytes(orjson.dumps({"generation": self.generation, "sources": sources}))
        os.replace(tmp, self.snapshot)  # whole or not at all, for the processes that read it
        log.info("reloaded %s: %s", self.app_path, plural(len(app.workflows), "workflow"))
        return app


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        s = path.stat()
    except OSError:
        return None
    return s.st_mtime_ns, s.st_size, s.st_ino


class Follower:
    """In each server process: swaps in the app of each new snapshot (`swap(app)`)."""

    def __init__(
        self, snapshot: Path, generation: int, swap: Callable[[App], Awaitable[None]], *, poll: float = POLL_S
    ) -> None:
        self.snapshot = snapshot
        self.generation = generation  # of the app served now
        self.swap = swap
        self.poll = poll
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Follower:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="wfkit-reload")
        return self

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        seen = _stat(self.snapshot)
        if seen is not None:  # written while this process started
            await self._follow()
        while True:
            await asyncio.sleep(self.poll)
            now = _stat(self.snapshot)
            if now is None or now == seen:
                continue
            seen = now
            await self._follow()

    async def _follow(self) -> None:
        try:
            data = orjson.loads(await asyncio.to_thread(self.snapshot.read_bytes))
            generation = int(data["generation"])
            if generation <= self.generation:
                return
            app = _handed.pop(generation, None)
            if app is None:  # compiled in a thread: the requests go on meanwhile
                app = await asyncio.to_thread(build_app, data["sources"])
            self.generation = generation
            await self.swap(app)
        except Exception:  # a snapshot the main process found good: this is a bug, not the user's
            log.exception("this process could not swap in the reloaded app")
