"""Where `http_request` may connect (docs/security.md, "Outgoing HTTP").

Link-local addresses (169.254.0.0/16, fe80::/10: cloud metadata services) are always refused;
`WF_HTTP_DENY` adds CIDRs, or `private` for loopback, RFC 1918, unique-local and unspecified
addresses; `WF_HTTP_ALLOW` CIDRs are exceptions to the deny list. The host is resolved here, every
address is checked, and the connection goes to a checked address (`PinnedBackend`): a second lookup
by the HTTP client could get another answer (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from wfkit.core.errors import ActionError, ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
PRIVATE: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), why)
    for cidr, why in (
        ("127.0.0.0/8", "loopback"),
        ("::1/128", "loopback"),
        ("0.0.0.0/8", "unspecified"),  # 0.0.0.0 reaches this host
        ("::/128", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("fc00::/7", "unique-local"),
    )
)


def _networks(name: str, raw: str) -> list[Network]:
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {part!r} is not a CIDR (like 10.0.0.0/8 or fd00::/8)") from None
    return out


@dataclass(frozen=True, slots=True)
class Policy:
    deny: tuple[Network, ...] = ()
    private: bool = False  # `WF_HTTP_DENY` names `private`
    allow: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls) -> Policy:
        raw = os.environ.get("WF_HTTP_DENY", "")
        words = [p.strip() for p in raw.split(",")]
        private = "private" in (w.lower() for w in words)
        deny = _networks("WF_HTTP_DENY", ",".join(w for w in words if w.lower() != "private"))
        allow = _networks("WF_HTTP_ALLOW", os.environ.get("WF_HTTP_ALLOW", ""))
        return cls(tuple(deny), private, tuple(allow))

    def refusal(self, address: str) -> str | None:
        """Why `address` is refused (`link-local`, `private`, …), or None when it may be reached."""
        ip: Address = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone (fe80::1%eth0)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 reaches 169.254.169.254
        if any(ip in n for n in LINK_LOCAL):
            return "link-local"
        if any(ip in n for n in self.allow if n.version == ip.version):
            return None
        if self.private:
            for net, why in PRIVATE:
                if net.version == ip.version and ip in net:
                    return why
        for net in self.deny:
            if net.version == ip.version and ip in net:
                return f"denied by WF_HTTP_DENY ({net})"
        return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal is itself: no thread, no wait), in the
    resolver's order."""
    try:
        ipaddress.ip_address(host)
        return [host]  # as written: `::ffff:169.254.169.254` reads better than `::ffff:a9fe:a9fe`
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    return list(seen)


async def checked_addresses(url: str, host: str, port: int, policy: Policy, timeout: float) -> list[str]:
    """The addresses to connect to for `host`, every one allowed; else the run fails naming the first
    refused one (one bad answer among good ones is enough: the client could pick it)."""
    try:
        addresses = await asyncio.wait_for(resolve(host, port), timeout)
    except TimeoutError:
        raise httpx.ConnectTimeout(f"resolving {host} timed out") from None
    except (OSError, UnicodeError) as e:  # reported as a failed connection
        raise httpx.ConnectError(f"cannot resolve {host}: {e}") from None
    for address in addresses:
        why = policy.refusal(address)
        if why is not None:
            raise ActionError(f"http_request: {url} refused: {address} is {why}")
    return addresses


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses checked for a host (`pins`), never to a fresh lookup of its name;
    TLS and the Host header still use the name, as httpcore takes them from the URL."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.pins: dict[str, list[str]] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self.pins.get(host.strip("[]").lower())
        if not addresses:  # only checked hosts are ever asked for
            raise httpcore.ConnectError(f"{host} was not checked before connecting")
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        assert error is not None
        raise error

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One for the process: loading the CA bundle takes tens of milliseconds of the event loop."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, checking the destination of every request it sends: httpx follows
    redirects by sending each hop through it, so every hop is checked before it connects."""

    def __init__(self, policy: Policy, timeout: float) -> None:
        context = ssl_context()
        super().__init__(verify=context)
        self.policy, self.timeout = policy, timeout
        self.backend = PinnedBackend()
        # httpx builds its connection pool without a way to pass a network backend: replace it.
        self._pool = httpcore.AsyncConnectionPool(ssl_context=context, network_backend=self.backend)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        shown = str(url.copy_with(query=None, fragment=None))
        host = url.raw_host.decode("ascii").strip("[]").lower()  # as httpcore will ask for it (IDNA-encoded)
        addresses = await checked_addresses(shown, host, port, self.policy, self.timeout)
        self.backend.pins[host] = addresses
        return await super().handle_async_request(request)
