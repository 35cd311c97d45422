"""Where a command's data lives (SPEC §4): the data folder `.wf/` beside the app, inside APP when it
is a folder, else beside the file; `WF_DATA_DIR` overrides. A command that takes no APP finds the
nearest `.wf/` in the current folder or its parents, as git finds `.git`, and never makes a new,
empty store: where there is none it says so.

The folder chosen is put in `WF_DATA_DIR`, so that everything the command starts (the database's
default file, the embedded Redis, the sealing key, `wf serve`'s worker processes) agrees on it."""

from __future__ import annotations

import os
from pathlib import Path

from wfkit.core.errors import WfError
from wfkit.core.store.database import DATA_DIR_ENV

NAME = ".wf"


class NoDataFolder(WfError):
    """An app-less command found no data folder (exit 1)."""


def of_app(app: str | Path) -> Path:
    """APP's data folder: `WF_DATA_DIR`, else `.wf/` inside APP (a folder) or beside it (a file)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).resolve()
    path = Path(app).resolve()
    return (path if path.is_dir() else path.parent) / NAME


def nearest(start: Path | None = None) -> Path | None:
    """The `.wf/` folder in `start` (default: the current folder) or the nearest of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / NAME).is_dir():
            return folder / NAME
    return None


def found(*, needed: bool = True) -> Path:
    """An app-less command's data folder: `WF_DATA_DIR`, else the nearest `.wf/`. `needed`: the
    command keeps something there (the default SQLite file, the embedded Redis); when it is not
    (WF_DATABASE_URL and WF_REDIS_URL both set), a missing folder is no error."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).resolve()
    folder = nearest()
    if folder is None:
        if not needed:
            return Path.cwd() / NAME
        raise NoDataFolder(
            f"no data folder: neither {Path.cwd()} nor any folder above it has a {NAME}/ folder. "
            f"`wf serve APP` makes one beside APP; run this command in APP's folder, or set {DATA_DIR_ENV}"
        )
    return folder


def for_store() -> Path:
    """The data folder of an app-less command that opens the store (adopted): the default SQLite
    file is there, unless WF_DATABASE_URL names another database."""
    return adopt(found(needed=not os.environ.get("WF_DATABASE_URL")))


def for_queue() -> Path:
    """The data folder of an app-less command that opens the queue (adopted): the embedded Redis is
    there, unless WF_REDIS_URL names another."""
    return adopt(found(needed=not os.environ.get("WF_REDIS_URL")))


def adopt(folder: Path) -> Path:
    """Use `folder` from now on, in this process and the ones it starts."""
    os.environ[DATA_DIR_ENV] = str(folder)
    return folder
