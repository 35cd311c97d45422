"""http_request against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from wfkit.testing import compile_source, run_workflow

SOURCE = """
workflow fetch(url: text) {
  r = http_request(url: url)
  return { status: r.status, body: r.body, kind: r.headers["content-type"] }
}

workflow post(url: text) {
  r = http_request(method: "post", url: url, headers: { "X-Api-Key": "k-123" }, body: { name: "Ann", n: [1, 2] })
  return { status: r.status, echo: r.body }
}

workflow raw(url: text) {
  r = http_request(method: "PUT", url: url, body: "plain words", headers: { "Content-Type": "text/plain" })
  return { echo: r.body }
}

workflow slow(url: text) {
  r = http_request(url: url, timeout: 0.2 seconds)
}

workflow bad(url: text) {
  r = http_request(url: url)
}
"""

APP = compile_source(SOURCE)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/json":
            self._send(200, b'{"ok": true, "items": [1, 2]}', "application/json; charset=utf-8")
        elif self.path == "/text":
            self._send(200, b"hello", "text/plain")
        elif self.path == "/slow":
            time.sleep(1)
            self._send(200, b"late", "text/plain")
        else:
            self._send(404, b'{"error": "not found"}', "application/json")

    def _echo(self) -> None:
        size = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(size).decode()
        payload = {"method": self.command, "body": body, "type": self.headers.get("Content-Type")}
        payload["key"] = self.headers.get("X-Api-Key")
        self._send(201, json.dumps(payload).encode(), "application/json")

    do_POST = _echo
    do_PUT = _echo


class Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client of /slow gave up: a broken pipe is expected


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def test_json_and_text_answers(server: str) -> None:
    record = await run_workflow(APP, "fetch", url=f"{server}/json")
    assert record.ok, record.error
    assert record.response == {
        "status": 200,
        "body": {"ok": True, "items": [1, 2]},
        "kind": "application/json; charset=utf-8",
    }
    record = await run_workflow(APP, "fetch", url=f"{server}/text")
    assert record.response is not None and record.response["body"] == "hello"
    record = await run_workflow(APP, "fetch", url=f"{server}/missing")
    assert record.ok and record.response is not None
    assert record.response["status"] == 404 and record.response["body"] == {"error": "not found"}


async def test_bodies_and_headers_are_sent(server: str) -> None:
    record = await run_workflow(APP, "post", url=f"{server}/echo")
    assert record.ok, record.error
    assert record.response is not None and record.response["status"] == 201
    echo = record.response["echo"]
    assert echo["method"] == "POST" and echo["type"] == "application/json" and echo["key"] == "k-123"
    assert json.loads(echo["body"]) == {"name": "Ann", "n": [1, 2]}
    record = await run_workflow(APP, "raw", url=f"{server}/echo")
    assert record.response is not None
    assert record.response["echo"]["body"] == "plain words" and record.response["echo"]["type"] == "text/plain"


async def test_timeouts_and_bad_urls_fail_the_run(server: str) -> None:
    record = await run_workflow(APP, "slow", url=f"{server}/slow")
    assert record.error is not None
    assert record.error["message"] == f"http_request: GET {server}/slow timed out after 0.2 seconds"
    for url in ("file:///etc/passwd", "ftp://example.com/x", "not a url"):
        record = await run_workflow(APP, "bad", url=url)
        assert record.error is not None and "must be an http:// or https:// address" in record.error["message"]
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
    record = await run_workflow(APP, "bad", url=url)
    assert record.error is not None and record.error["message"].startswith(f"http_request: GET {url} failed")
