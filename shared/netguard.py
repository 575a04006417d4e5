"""The network guard: decides whether a test may reach a URL, before the request goes out.

Rules, in order:

1. Only ``http``, ``https``, ``ws`` and ``wss`` URLs go out; ``file:`` and every other scheme is refused.
2. Link-local addresses (169.254.0.0/16, fe80::/10) and cloud metadata endpoints (169.254.169.254,
   fd00:ec2::254) are always refused, allow-list or not.
3. Every other address that is not globally routable (private ranges, loopback, shared address space,
   unspecified, ...) is refused unless the allow-list (``AUTOTEST_NETWORK_ALLOWLIST``: comma-separated
   CIDRs and hostnames, ``*.example.internal`` for a whole domain) names it.

Hostnames are resolved and *every* address they resolve to must pass. Pure: no boto3, no I/O other
than the resolver, which callers (and tests) can replace.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.errors import DomainError, InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWLIST_SETTING = "AUTOTEST_NETWORK_ALLOWLIST"
ALLOWED_SCHEMES = frozenset({"http", "https", "ws", "wss"})

#: Always refused, whatever the allow-list says.
ALWAYS_REFUSED: tuple[tuple[IPNetwork, str], ...] = (
    (ipaddress.ip_network("169.254.169.254/32"), "the cloud metadata endpoint"),
    (ipaddress.ip_network("fd00:ec2::254/128"), "the cloud metadata endpoint"),
    (ipaddress.ip_network("169.254.0.0/16"), "a link-local address"),
    (ipaddress.ip_network("fe80::/10"), "a link-local address"),
)

Resolver = Callable[[str, int], list[str]]
AsyncResolver = Callable[[str, int], Awaitable[list[str]]]


class NetworkRefused(DomainError):
    """A request the network guard does not let out. The message says what and how to allow it."""

    code = "network_refused"

    def __init__(self, message: str, *, url: str, address: str | None = None) -> None:
        super().__init__(message, details={"url": url, "address": address})
        self.url = url
        self.address = address


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def async_system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class Allowlist:
    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()  # from "*.example.internal": matches any subdomain

    @classmethod
    def parse(cls, text: str | Iterable[str] | None) -> Allowlist:
        """Parse ``"10.0.0.0/8, 127.0.0.1, localhost, *.corp.example"``. Bad entries are an error."""
        if text is None:
            return cls()
        entries = text.split(",") if isinstance(text, str) else list(text)
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        domains: list[str] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            label = entry[2:] if entry.startswith("*.") else entry
            if not _is_hostname(label) or "/" in entry:
                raise InvalidInput(
                    f"{ALLOWLIST_SETTING}: {raw.strip()!r} is neither a CIDR (10.0.0.0/8), an address "
                    "nor a hostname (internal.example, *.internal.example)",
                    details={"setting": ALLOWLIST_SETTING, "entry": raw.strip()},
                )
            if entry.startswith("*."):
                domains.append(label)
            else:
                hosts.add(label)
        return cls(networks=tuple(networks), hosts=frozenset(hosts), domains=tuple(domains))

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or any(host.endswith("." + d) for d in self.domains)

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in net for net in self.networks if net.version == address.version)


def _is_hostname(text: str) -> bool:
    if not text or len(text) > 253:
        return False
    return all(0 < len(part) <= 63 and part.replace("-", "").replace("_", "").isalnum() for part in text.split("."))


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def classify(address: IPAddress) -> tuple[str, bool] | None:
    """``(what it is, always refused?)`` for a non-public address; None for a public one."""
    address = _unmapped(address)
    for net, what in ALWAYS_REFUSED:
        if address.version == net.version and address in net:
            return what, True
    if address.is_loopback:
        return "a loopback address", False
    if address.is_unspecified:
        return "the unspecified address", False
    if not address.is_global:
        return "a private address", False
    return None


@dataclass
class NetworkGuard:
    """Checks URLs against the rules above. One per run: resolutions are cached for its lifetime."""

    allowlist: Allowlist = field(default_factory=Allowlist)
    resolver: AsyncResolver = async_system_resolver
    sync_resolver: Resolver = system_resolver
    _cache: dict[tuple[str, int], list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_setting(cls, allowlist: str | None) -> NetworkGuard:
        return cls(allowlist=Allowlist.parse(allowlist))

    # ----------------------------------------------------------------------------- checking

    def check(self, url: str) -> list[str]:
        """Raise NetworkRefused unless ``url`` may be requested (resolving with the sync resolver).
        Returns the checked addresses: connect to one of these, not to a fresh resolution."""
        host, port, literal = self._target(url)
        if literal is not None:
            return [literal]
        key = (host, port)
        if key not in self._cache:
            try:
                self._cache[key] = self.sync_resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise self._unresolvable(url, host, exc) from exc
        self._check_addresses(url, host, self._cache[key])
        return self._cache[key]

    async def check_async(self, url: str) -> list[str]:
        """:meth:`check` with the async resolver."""
        host, port, literal = self._target(url)
        if literal is not None:
            return [literal]
        key = (host, port)
        if key not in self._cache:
            try:
                self._cache[key] = await self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise self._unresolvable(url, host, exc) from exc
        self._check_addresses(url, host, self._cache[key])
        return self._cache[key]

    def _target(self, url: str) -> tuple[str, int, str | None]:
        """``(host, port, checked IP literal or None)``; an IP-literal host is checked here."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise NetworkRefused(f"refused {url!r}: not a valid URL ({exc})", url=url) from exc
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            shown = f"{scheme}:" if scheme else "a URL without a scheme"
            raise NetworkRefused(
                f"refused {url!r}: {shown} is not allowed, only http(s) and ws(s) URLs can be requested",
                url=url,
            )
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise NetworkRefused(f"refused {url!r}: the URL has no host", url=url)
        if port is None:
            port = 443 if scheme in ("https", "wss") else 80
        try:
            literal = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return host.lower(), port, None
        self._check_addresses(url, None, [str(literal)])
        return host, port, str(literal)

    def _check_addresses(self, url: str, host: str | None, addresses: list[str]) -> None:
        if not addresses and host is not None:
            raise self._unresolvable(url, host, None)
        host_allowed = host is not None and self.allowlist.allows_host(host)
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            verdict = classify(address)
            if verdict is None:
                continue
            what, always = verdict
            named = f"{host} ({address})" if host else str(address)
            if always:
                raise NetworkRefused(
                    f"refused {url}: {named} is {what}, which tests may never reach "
                    f"({ALLOWLIST_SETTING} cannot allow it)",
                    url=url,
                    address=str(address),
                )
            if host_allowed or self.allowlist.allows_address(_unmapped(address)):
                continue
            suggestion = host if host else str(address)
            raise NetworkRefused(
                f"refused {url}: {named} is {what}; to allow it set {ALLOWLIST_SETTING} to include "
                f"{suggestion!r} (comma-separated CIDRs and hostnames, e.g. {ALLOWLIST_SETTING}="
                f"{_example_cidr(address)})",
                url=url,
                address=str(address),
            )

    @staticmethod
    def _unresolvable(url: str, host: str, exc: BaseException | None) -> NetworkRefused:
        reason = f": {exc}" if exc else ""
        return NetworkRefused(f"refused {url}: could not resolve host {host!r}{reason}", url=url)


def _example_cidr(address: IPAddress) -> str:
    address = _unmapped(address)
    return f"{address}/32" if address.version == 4 else f"{address}/128"
