"""The network guard: decides whether a test may reach a URL, before the request goes out.

Rules, in order:

1. Only ``http``, ``https``, ``ws`` and ``wss`` URLs go out; ``file:`` and every other scheme is refused.
2. Link-local addresses (169.254.0.0/16, fe80::/10) and cloud metadata endpoints (169.254.169.254,
   fd00:ec2::254) are always refused, allow-list or not.
3. Every other address that is not globally routable (private ranges, loopback, shared address space,
   unspecified, ...) is refused unless the allow-list (``AUTOTEST_NETWORK_ALLOWLIST``: comma-separated
   CIDRs and hostnames, ``*.example.internal`` for a whole domain) names it.
4. An IPv6 address that embeds an IPv4 address is judged by that IPv4 address too (see :func:`destinations`):
   IPv4-mapped ``::ffff:0:0/96``, IPv4-translated ``::ffff:0:0:0/96``, IPv4-compatible ``::/96``, NAT64
   ``64:ff9b::/96`` *are* their IPv4 address; 6to4 ``2002::/16``, Teredo ``2001::/32`` (server and
   XOR-obfuscated client) and local-use NAT64 ``64:ff9b:1::/48`` are judged as themselves and by the IPv4
   addresses they carry. An embedded metadata or link-local address is always refused; an embedded loopback
   or private one only passes when the allow-list names that IPv4 address (or the hostname).
5. The refused local ports (``AUTOTEST_NETWORK_REFUSED_LOCAL_PORTS``; local mode adds its API's) are
   refused on every address of this machine, allow-list or not: loopback (127.0.0.0/8, ::1), the
   unspecified addresses (0.0.0.0, ::), the IPv4-mapped forms of these, and every interface address.

The host is read as a browser reads it (the WHATWG URL standard, through ``ada-url``, the parser of
Node.js): ``http://2130706433/``, ``http://0x7f.1/``, ``http://127.1/``, percent-encoded or full-width
digits all mean 127.0.0.1, and are judged as such. Hostnames are resolved and *every* address they
resolve to must pass. Pure: no boto3, no I/O other than the resolver and the interface list, which
callers (and tests) can replace.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import ada_url
import psutil

from shared.errors import DomainError, InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWLIST_SETTING = "AUTOTEST_NETWORK_ALLOWLIST"
REFUSED_PORTS_SETTING = "AUTOTEST_NETWORK_REFUSED_LOCAL_PORTS"
ALLOWED_SCHEMES = frozenset({"http", "https", "ws", "wss"})

#: Always refused, whatever the allow-list says.
ALWAYS_REFUSED: tuple[tuple[IPNetwork, str], ...] = (
    (ipaddress.ip_network("169.254.169.254/32"), "the cloud metadata endpoint"),
    (ipaddress.ip_network("fd00:ec2::254/128"), "the cloud metadata endpoint"),
    (ipaddress.ip_network("169.254.0.0/16"), "a link-local address"),
    (ipaddress.ip_network("fe80::/10"), "a link-local address"),
)

#: addresses that reach this machine whatever its interfaces are
THIS_MACHINE: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("::/128"),
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


def interface_addresses() -> list[str]:
    """Every address of this machine's network interfaces."""
    return [
        str(a.address).split("%", 1)[0]
        for addresses in psutil.net_if_addrs().values()
        for a in addresses
        if a.family in (socket.AF_INET, socket.AF_INET6)
    ]


def parse_ports(text: str | None) -> frozenset[int]:
    """``"8000, 8001"`` -> {8000, 8001}. Bad entries are an error."""
    ports: set[int] = set()
    for raw in (text or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        if not entry.isdigit() or not 0 < int(entry) < 65536:
            raise InvalidInput(
                f"{REFUSED_PORTS_SETTING}: {entry!r} is not a port (1-65535)",
                details={"setting": REFUSED_PORTS_SETTING, "entry": entry},
            )
        ports.add(int(entry))
    return frozenset(ports)


_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def browser_target(url: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``url`` as a browser reads it (WHATWG URL parsing): IPv4 in any numeric form
    as a dotted quad, IPv6 compressed and without brackets, names lower-cased and IDNA-mapped, ``\\``
    read as ``/``; the scheme's port when none is given. None when a browser would not take the URL."""
    try:
        parsed = ada_url.URL(url)
    except ValueError:
        return None
    host = str(parsed.hostname)
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    scheme = str(parsed.protocol).rstrip(":").lower()
    port = int(parsed.port) if parsed.port else _DEFAULT_PORTS.get(scheme, 0)
    return host, port


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


#: IPv6 forms whose last 32 bits are an IPv4 address that *is* the destination (reached natively on a dual-stack
#: socket, or through a translator): such an address is judged, and allow-listed, as that IPv4 address
_IPV4_AS_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (ipaddress.IPv6Network("::ffff:0:0/96"), "IPv4-mapped"),
    (ipaddress.IPv6Network("::ffff:0:0:0/96"), "IPv4-translated"),
    (ipaddress.IPv6Network("64:ff9b::/96"), "NAT64"),
    (ipaddress.IPv6Network("::/96"), "IPv4-compatible"),  # except :: and ::1, which are IPv6's own
)
#: local-use NAT64 (RFC 8215): not globally reachable itself; the IPv4 address is read from the last 32 bits
#: (the /96 prefixes operators carve out of it)
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_TERMINAL_V6 = frozenset({ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")})


@dataclass(frozen=True)
class Destination:
    """An address a connection to ``address`` reaches: the address itself or an IPv4 address embedded in it."""

    address: IPAddress
    #: how it was found in the address connected to, for messages: "" or "NAT64 for 169.254.169.254"
    via: str = ""


def destinations(address: IPAddress) -> list[Destination]:
    """What a connection to ``address`` reaches, each judged on its own: an IPv4 address, or an IPv6 address
    and every IPv4 address embedded in it (6to4, Teredo's server and client, local-use NAT64). An IPv6 form
    of an IPv4 address (mapped, translated, compatible, NAT64) is that IPv4 address."""
    if isinstance(address, ipaddress.IPv4Address) or address in _TERMINAL_V6:
        return [Destination(address)]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    for net, form in _IPV4_AS_IPV6:
        if address in net:
            return [Destination(low32, f"{form} for {low32}")]
    found = [Destination(address)]
    if address.sixtofour is not None:
        found.append(Destination(address.sixtofour, f"6to4 for {address.sixtofour}"))
    if address.teredo is not None:
        server, client = address.teredo
        found += [Destination(client, f"Teredo for {client}"), Destination(server, f"Teredo server {server}")]
    if address in _LOCAL_NAT64:
        found.append(Destination(low32, f"local-use NAT64 for {low32}"))
    return found


def classify(address: IPAddress) -> tuple[str, bool] | None:
    """``(what it is, always refused?)`` for a non-public address; None for a public one. (The address alone:
    :func:`destinations` finds the IPv4 addresses an IPv6 address embeds.)"""
    for net, what in ALWAYS_REFUSED:
        if address.version == net.version and address in net:
            return what, True
    if address.is_loopback:
        return "a loopback address", False
    if address.is_unspecified:
        return "the unspecified address", False
    if isinstance(address, ipaddress.IPv6Address) and address in _LOCAL_NAT64:
        return "a local-use NAT64 address", False  # (Python before 3.12.4 counts it as global)
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
    #: ports refused on every address of this machine (rule 4)
    refused_local_ports: frozenset[int] = frozenset()
    local_addresses: Callable[[], Iterable[str]] = interface_addresses

    @classmethod
    def from_setting(cls, allowlist: str | None, refused_local_ports: str | None = None) -> NetworkGuard:
        return cls(allowlist=Allowlist.parse(allowlist), refused_local_ports=parse_ports(refused_local_ports))

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
        self._check_local_port(url, host, port, self._cache[key])
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
        self._check_local_port(url, host, port, self._cache[key])
        self._check_addresses(url, host, self._cache[key])
        return self._cache[key]

    def _target(self, url: str) -> tuple[str, int, str | None]:
        """``(host, port, checked IP literal or None)``; an IP-literal host is checked here."""
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises for a port that is not a number
        except ValueError as exc:
            raise NetworkRefused(f"refused {url!r}: not a valid URL ({exc})", url=url) from exc
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            shown = f"{scheme}:" if scheme else "a URL without a scheme"
            raise NetworkRefused(
                f"refused {url!r}: {shown} is not allowed, only http(s) and ws(s) URLs can be requested",
                url=url,
            )
        seen = browser_target(url)  # what a browser connects to, not what the text looks like
        if seen is None:
            raise NetworkRefused(f"refused {url!r}: not a valid URL", url=url)
        host, port = seen[0].rstrip("."), seen[1]
        if not host:
            raise NetworkRefused(f"refused {url!r}: the URL has no host", url=url)
        try:
            literal = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return host.lower(), port, None
        self._check_local_port(url, None, port, [str(literal)])
        self._check_addresses(url, None, [str(literal)])
        return host, port, str(literal)

    def _check_local_port(self, url: str, host: str | None, port: int, addresses: list[str]) -> None:
        """Rule 5: a refused local port on any address that reaches this machine (an IPv6 form of an IPv4
        address included: every one of its :func:`destinations`)."""
        if port not in self.refused_local_ports:
            return
        own: set[IPAddress] | None = None
        for text in addresses:
            reached = [d.address for d in destinations(ipaddress.ip_address(text.split("%", 1)[0]))]
            address = next((a for a in reached if any(a in n for n in THIS_MACHINE if n.version == a.version)), None)
            if address is None:
                if own is None:
                    own = {d.address for a in self.local_addresses() for d in destinations(ipaddress.ip_address(a))}
                address = next((a for a in reached if a in own), None)
                if address is None:
                    continue
            named = f"{host} ({address})" if host else str(address)
            raise NetworkRefused(
                f"refused {url}: {named} is this machine, and port {port} on it is closed to tests "
                f"(autotest's own service; {REFUSED_PORTS_SETTING}, which {ALLOWLIST_SETTING} cannot open)",
                url=url,
                address=str(address),
            )

    def _check_addresses(self, url: str, host: str | None, addresses: list[str]) -> None:
        if not addresses and host is not None:
            raise self._unresolvable(url, host, None)
        host_allowed = host is not None and self.allowlist.allows_host(host)
        judged: list[tuple[IPAddress, Destination, str, bool]] = []
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            for reached in destinations(address):
                verdict = classify(reached.address)
                if verdict is not None:
                    judged.append((address, reached, *verdict))
        # what no allow-list can allow is said first (allow-listing the rest would not help), then what an
        # IPv6 address embeds (what the connection reaches in the end)
        for address, reached, what, always in sorted(judged, key=lambda j: (not j[3], not j[1].via)):
            named = _named(host, address, reached)
            if always:
                raise NetworkRefused(
                    f"refused {url}: {named} is {what}, which tests may never reach "
                    f"({ALLOWLIST_SETTING} cannot allow it)",
                    url=url,
                    address=str(address),
                )
            if host_allowed or self.allowlist.allows_address(reached.address):
                continue
            suggestion = host if host else str(reached.address)
            raise NetworkRefused(
                f"refused {url}: {named} is {what}; to allow it set {ALLOWLIST_SETTING} to include "
                f"{suggestion!r} (comma-separated CIDRs and hostnames, e.g. {ALLOWLIST_SETTING}="
                f"{_example_cidr(reached.address)})",
                url=url,
                address=str(address),
            )

    @staticmethod
    def _unresolvable(url: str, host: str, exc: BaseException | None) -> NetworkRefused:
        reason = f": {exc}" if exc else ""
        return NetworkRefused(f"refused {url}: could not resolve host {host!r}{reason}", url=url)


def _named(host: str | None, address: IPAddress, reached: Destination) -> str:
    """``host (address, NAT64 for 10.0.0.1)``, ``address (6to4 for ...)``, ``host (address)`` or ``address``."""
    shown = ([str(address)] if host else []) + ([reached.via] if reached.via else [])
    return f"{host or address}" + (f" ({', '.join(shown)})" if shown else "")


def _example_cidr(address: IPAddress) -> str:
    return f"{address}/32" if address.version == 4 else f"{address}/128"
