"""Secrets kept at rest are sealed: encrypted and authenticated with a key in the data folder
(`.wf/secret.key`), so a copy of Redis' files or of the database does not give them away
(docs/security.md, "What is stored how").

A sealed value is `{"$sealed": TOKEN}`: the value's JSON as a Fernet token (AES-128-CBC with a random
IV, then HMAC-SHA256 over it: `cryptography`'s recipe, not one of our own). A process that never
calls `use_folder` seals with a key of its own, good for as long as it runs (`wf check`, tests).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from .errors import WfError

KEY_FILE = "secret.key"
MARK = "$sealed"


class SealError(WfError):
    """A sealed value that this key did not seal (another data folder's), or that was altered."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(key[:32]))  # the key file's 32 random bytes

    def seal(self, value: Any) -> dict[str, str]:
        """`value` (JSON) sealed."""
        return {MARK: self._fernet.encrypt(orjson.dumps(value)).decode()}

    def unseal(self, sealed: str) -> Any:
        try:
            return orjson.loads(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            raise SealError(f"a sealed value was not sealed with this data folder's {KEY_FILE}") from None


def load_key(folder: Path) -> bytes:
    """The data folder's key, made on first use (readable by its owner only). Two processes starting
    at once agree: the key is written aside, then linked into place only if none is there yet."""
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        aside = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            aside.unlink()
    key = path.read_bytes()
    if len(key) < 32:
        raise WfError(f"{path} is not a key wfkit wrote (32 random bytes): remove it to make a new one")
    return key


_current = Sealer(secrets.token_bytes(32))


def use_folder(folder: Path) -> None:
    """Seal with the key of this data folder from now on (`wf serve`, `wf worker`, `wf run`): every
    process on the same folder reads what the others sealed."""
    global _current
    _current = Sealer(load_key(folder))


def current() -> Sealer:
    return _current


def is_sealed(v: Any) -> bool:
    return isinstance(v, dict) and len(v) == 1 and MARK in v
