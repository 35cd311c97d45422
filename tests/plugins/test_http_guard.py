"""http_request's destination policy. Traffic goes only to loopback addresses: the classification
is checked without connecting, and the end-to-end path over two servers on 127.0.0.1 and 127.0.0.2
(Linux routes all of 127/8 to loopback), the second one denied by WF_HTTP_DENY."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest
from wfkit.core.errors import ConfigError
from wfkit.plugins import http_guard
from wfkit.plugins.http_guard import Policy
from wfkit.testing import compile_source, run_workflow

APP = compile_source("""
workflow fetch(url: text) {
  r = http_request(url: url)
  return { status: r.status, body: r.body }
}
""")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every connection httpx opens goes through anyio.connect_tcp: one to an address that is not
    loopback fails the test before any packet leaves, whatever the code under test does."""
    real = anyio.connect_tcp
    attempts: list[str] = []

    async def connect_tcp(remote_host: Any, remote_port: int, **kwargs: Any) -> Any:
        attempts.append(str(remote_host))
        if not ipaddress.ip_address(str(remote_host)).is_loopback:
            raise AssertionError(f"a connection to {remote_host} was attempted")
        return await real(remote_host, remote_port, **kwargs)

    monkeypatch.setattr(anyio, "connect_tcp", connect_tcp)
    monkeypatch.delenv("WF_HTTP_DENY", raising=False)
    monkeypatch.delenv("WF_HTTP_ALLOW", raising=False)
    yield attempts


# ------------------------------------------------------------------ classification (no connection)


def test_link_local_is_always_refused() -> None:
    for policy in (Policy(), Policy(private=True), Policy.from_env()):
        for address in ("169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0", "::ffff:169.254.169.254"):
            assert policy.refusal(address) == "link-local", address
    everything = Policy(allow=(ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")))
    assert everything.refusal("169.254.169.254") == "link-local"  # no exception for metadata services


def test_private_ranges_when_denied() -> None:
    assert Policy().refusal("10.0.0.1") is None and Policy().refusal("127.0.0.1") is None  # the default
    private = Policy(private=True)
    expected = {
        "127.0.0.1": "loopback",
        "127.9.9.9": "loopback",
        "::1": "loopback",
        "0.0.0.0": "unspecified",
        "::": "unspecified",
        "10.1.2.3": "private",
        "172.16.0.1": "private",
        "172.31.255.255": "private",
        "192.168.1.1": "private",
        "::ffff:10.0.0.1": "private",
        "::ffff:127.0.0.1": "loopback",
        "fd12:3456::1": "unique-local",
        "fc00::1": "unique-local",
    }
    for address, why in expected.items():
        assert private.refusal(address) == why, address
    for address in ("8.8.8.8", "172.32.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "192.169.0.1"):
        assert private.refusal(address) is None, address


def test_deny_and_allow_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WF_HTTP_DENY", " private, 203.0.113.0/24 ,2001:db8::/32")
    monkeypatch.setenv("WF_HTTP_ALLOW", "10.1.0.0/16")
    policy = Policy.from_env()
    assert policy.refusal("203.0.113.9") == "denied by WF_HTTP_DENY (203.0.113.0/24)"
    assert policy.refusal("2001:db8::5") == "denied by WF_HTTP_DENY (2001:db8::/32)"
    assert policy.refusal("10.1.2.3") is None and policy.refusal("10.2.0.1") == "private"
    monkeypatch.setenv("WF_HTTP_DENY", "10.0.0.0/33")
    with pytest.raises(ConfigError, match=r"WF_HTTP_DENY: '10\.0\.0\.0/33' is not a CIDR"):
        Policy.from_env()


async def test_metadata_address_is_refused_before_connecting(loopback_only: list[str]) -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/x"):
        record = await run_workflow(APP, "fetch", url=url)
        assert record.error is not None
        address = "169.254.169.254" if "[" not in url else "::ffff:169.254.169.254"
        assert record.error["message"] == f"http_request: {url} refused: {address} is link-local"
    assert loopback_only == []


# ------------------------------------------------------------------ end to end, over loopback


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        server: Recording = self.server  # type: ignore[assignment]
        server.seen.append((self.path, self.headers.get("Host", "")))
        if self.path.startswith("/go?"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/go?"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f'{{"at": "{server.server_address[0]}"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Recording(ThreadingHTTPServer):
    seen: list[tuple[str, str]]


def _serve(host: str) -> Iterator[Recording]:
    httpd = Recording((host, 0), Handler)
    httpd.seen = []
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture()
def first() -> Iterator[Recording]:
    yield from _serve("127.0.0.1")


@pytest.fixture()
def second() -> Iterator[Recording]:
    yield from _serve("127.0.0.2")


def _url(server: Recording, path: str = "/") -> str:
    return f"http://{server.server_address[0]}:{server.server_address[1]}{path}"


async def test_a_redirect_to_a_denied_address_is_refused(
    first: Recording, second: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _url(second, "/inside")
    record = await run_workflow(APP, "fetch", url=_url(first, f"/go?{target}"))
    assert record.ok and record.response == {"status": 200, "body": {"at": "127.0.0.2"}}  # allowed by default
    second.seen.clear()
    first.seen.clear()

    monkeypatch.setenv("WF_HTTP_DENY", "127.0.0.2/32")
    record = await run_workflow(APP, "fetch", url=_url(first, f"/go?{target}"))
    assert record.error is not None
    assert record.error["message"] == (
        f"http_request: {target} refused: 127.0.0.2 is denied by WF_HTTP_DENY (127.0.0.2/32)"
    )
    assert first.seen == [(f"/go?{target}", f"127.0.0.1:{first.server_address[1]}")]
    assert second.seen == []  # the denied server heard nothing

    record = await run_workflow(APP, "fetch", url=target)  # asked for directly
    assert record.error is not None and "refused: 127.0.0.2 is denied" in record.error["message"]
    assert second.seen == []


async def test_private_denies_loopback(first: Recording, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WF_HTTP_DENY", "private")
    record = await run_workflow(APP, "fetch", url=_url(first, "/x"))
    assert record.error is not None
    assert record.error["message"] == f"http_request: {_url(first, '/x')} refused: 127.0.0.1 is loopback"
    monkeypatch.setenv("WF_HTTP_ALLOW", "127.0.0.1/32")
    record = await run_workflow(APP, "fetch", url=_url(first, "/x"))
    assert record.ok and first.seen == [("/x", f"127.0.0.1:{first.server_address[1]}")]


async def test_the_connection_goes_to_the_checked_address(
    second: Recording, monkeypatch: pytest.MonkeyPatch, loopback_only: list[str]
) -> None:
    """`localhost` is checked as 127.0.0.2 (a stand-in resolver answers); the client must connect
    there, not look the name up again (127.0.0.1, where nothing listens on this port): DNS rebinding."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.2"]

    monkeypatch.setattr(http_guard, "resolve", resolve)
    port = second.server_address[1]
    record = await run_workflow(APP, "fetch", url=f"http://localhost:{port}/pinned")
    assert record.ok, record.error
    assert record.response == {"status": 200, "body": {"at": "127.0.0.2"}}
    assert second.seen == [("/pinned", f"localhost:{port}")]  # the Host header keeps the name
    assert asked == ["localhost"] and loopback_only == ["127.0.0.2"]


async def test_one_refused_address_among_others_refuses_the_name(
    monkeypatch: pytest.MonkeyPatch, loopback_only: list[str]
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        if host == "nowhere.test":
            raise OSError("Name or service not known")
        return ["127.0.0.1", "169.254.169.254"]  # a resolver an attacker answers for

    monkeypatch.setattr(http_guard, "resolve", resolve)
    record = await run_workflow(APP, "fetch", url="http://mixed.test/x?secret=1")
    assert record.error is not None
    assert record.error["message"] == "http_request: http://mixed.test/x refused: 169.254.169.254 is link-local"
    record = await run_workflow(APP, "fetch", url="http://nowhere.test/")
    assert record.error is not None
    assert record.error["message"] == (
        "http_request: GET http://nowhere.test/ failed: cannot resolve nowhere.test: Name or service not known"
    )
    assert loopback_only == []
