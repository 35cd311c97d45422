"""An HTTP server on 127.0.0.1 for workflows' `http_request` to call, in a thread of the test:
`GET /PATH?delay=S` answers `{"ok": true}` after S seconds. It counts hits and the most requests in
flight at once, per path and in all, and can hang up on the first N requests of a path."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Upstream:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.inflight: dict[str, int] = {}
        self.max_inflight: dict[str, int] = {}
        self.all_inflight = 0
        self.max_all_inflight = 0
        self.hang_up: dict[str, int] = {}  # path → how many of its first requests get no answer
        self.port = 0

    def url(self, path: str, delay: float = 0.0) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?delay={delay}"

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        target = urlsplit(handler.path)
        path = target.path
        delay = float(parse_qs(target.query).get("delay", ["0"])[0])
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            hang_up = self.hits[path] <= self.hang_up.get(path, 0)
            self.inflight[path] = self.inflight.get(path, 0) + 1
            self.max_inflight[path] = max(self.max_inflight.get(path, 0), self.inflight[path])
            self.all_inflight += 1
            self.max_all_inflight = max(self.max_all_inflight, self.all_inflight)
        try:
            time.sleep(delay)
            if hang_up:
                handler.close_connection = True  # no answer at all: the caller's request fails
                return
            body = b'{"ok": true}'
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        finally:
            with self.lock:
                self.inflight[path] -= 1
                self.all_inflight -= 1


@contextmanager
def upstream() -> Iterator[Upstream]:
    state = Upstream()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.handle(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
