from __future__ import annotations

import ipaddress

import pytest

from shared.errors import InvalidInput
from shared.netguard import Allowlist, NetworkGuard, NetworkRefused

HOSTS = {
    "example.com": ["93.184.215.14"],
    "intranet.corp": ["10.1.2.3"],
    "metadata.evil": ["169.254.169.254"],
    "mixed.example": ["93.184.215.14", "192.168.1.10"],
    "app.staging.internal": ["10.9.9.9"],
    "localhost": ["127.0.0.1", "::1"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    try:
        return HOSTS[host]
    except KeyError:
        raise OSError(f"no such host {host}") from None


async def fake_async_resolver(host: str, port: int) -> list[str]:
    return fake_resolver(host, port)


def guard(allowlist: str = "") -> NetworkGuard:
    return NetworkGuard(allowlist=Allowlist.parse(allowlist), resolver=fake_async_resolver, sync_resolver=fake_resolver)


def refused(url: str, allowlist: str = "") -> str:
    with pytest.raises(NetworkRefused) as info:
        guard(allowlist).check(url)
    return info.value.message


def test_public_addresses_pass_and_return_the_checked_addresses() -> None:
    assert guard().check("https://example.com/path") == ["93.184.215.14"]
    assert guard().check("http://93.184.215.14:8080/") == ["93.184.215.14"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "javascript:alert(1)", "example.com"])
def test_non_http_schemes_are_refused(url: str) -> None:
    assert "is not allowed" in refused(url, "0.0.0.0/0")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://169.254.10.1/",
        "http://[fe80::1]/",
        "http://metadata.evil/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_link_local_and_metadata_are_refused_even_when_allow_listed(url: str) -> None:
    message = refused(url, "169.254.0.0/16,fd00::/8,fe80::/10,metadata.evil")
    assert "never reach" in message and "cannot allow it" in message


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://127.0.0.1:5000/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://10.0.0.5/", "private"),
        ("http://intranet.corp/", "private"),
        ("http://[::1]/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://mixed.example/", "private"),
    ],
)
def test_private_and_loopback_are_refused_with_the_setting_named(url: str, what: str) -> None:
    message = refused(url)
    assert what in message and "AUTOTEST_NETWORK_ALLOWLIST" in message


def test_the_allowlist_admits_cidrs_hosts_and_domains() -> None:
    g = guard("127.0.0.0/8, ::1/128, 10.1.0.0/16, *.staging.internal")
    g.check("http://127.0.0.1:5000/")
    g.check("http://localhost/")
    g.check("http://intranet.corp/")
    g.check("http://app.staging.internal/")
    assert "10.0.0.5" in refused("http://10.0.0.5/", "10.1.0.0/16")
    guard("intranet.corp").check("http://intranet.corp/")


def test_unresolvable_hosts_are_refused_with_the_reason() -> None:
    assert "could not resolve host 'nowhere.invalid'" in refused("http://nowhere.invalid/")


async def test_async_check_uses_the_async_resolver() -> None:
    assert await guard().check_async("https://example.com/") == ["93.184.215.14"]
    with pytest.raises(NetworkRefused, match="loopback"):
        await guard().check_async("http://localhost:8000/")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host", "http://x/", "*."])
def test_bad_allowlist_entries_are_clear_errors(entry: str) -> None:
    with pytest.raises(InvalidInput, match="AUTOTEST_NETWORK_ALLOWLIST"):
        Allowlist.parse(entry)


# ------------------------------------------------------------------- IPv6 forms that embed an IPv4 address

#: the IPv4 metadata endpoint, 169.254.169.254, in every IPv6 form that carries an IPv4 address
METADATA_EMBEDDED = {
    "nat64": "64:ff9b::a9fe:a9fe",
    "nat64-local": "64:ff9b:1::a9fe:a9fe",
    "6to4": "2002:a9fe:a9fe::",
    "compatible": "::a9fe:a9fe",
    "mapped": "::ffff:a9fe:a9fe",
    "translated": "::ffff:0:a9fe:a9fe",
    "teredo-client": "2001:0:4136:e378:8000:63bf:5601:5601",  # client bits are XOR-ed: ~86.1.86.1
    "teredo-server": "2001:0:a9fe:a9fe::1",
}
#: loopback and private IPv4 addresses in the same forms: (IPv6 address, the IPv4 address it embeds)
PRIVATE_EMBEDDED = {
    "compatible-loopback": ("::127.0.0.1", "127.0.0.1"),
    "nat64": ("64:ff9b::a00:1", "10.0.0.1"),
    "nat64-local": ("64:ff9b:1::7f00:1", "127.0.0.1"),
    "6to4": ("2002:c0a8:101::1", "192.168.1.1"),
    "mapped": ("::ffff:127.0.0.1", "127.0.0.1"),
    "translated": ("::ffff:0:a00:1", "10.0.0.1"),
    "teredo-client": ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),
}
EVERYTHING = "0.0.0.0/0,::/0"
HOSTS.update({f"{form}.metadata.evil": [address] for form, address in METADATA_EMBEDDED.items()})
HOSTS.update({f"{form}.private.evil": [address] for form, (address, _) in PRIVATE_EMBEDDED.items()})


@pytest.mark.parametrize("form", METADATA_EMBEDDED)
def test_an_embedded_metadata_address_is_refused_whatever_the_allowlist(form: str) -> None:
    for url in (f"http://[{METADATA_EMBEDDED[form]}]/", f"http://{form}.metadata.evil/"):
        message = refused(url, f"{EVERYTHING},{form}.metadata.evil")
        assert "the cloud metadata endpoint" in message and "169.254.169.254" in message, message
        assert "cannot allow it" in message


@pytest.mark.parametrize("form", METADATA_EMBEDDED)
async def test_an_embedded_metadata_address_is_refused_through_the_async_resolver(form: str) -> None:
    with pytest.raises(NetworkRefused, match="cloud metadata endpoint"):
        await guard(EVERYTHING).check_async(f"http://{form}.metadata.evil/")


@pytest.mark.parametrize("form", PRIVATE_EMBEDDED)
def test_an_embedded_private_address_needs_that_ipv4_address_allow_listed(form: str) -> None:
    address, ipv4 = PRIVATE_EMBEDDED[form]
    for url in (f"http://[{address}]/", f"http://{form}.private.evil/"):
        # refused with nothing allowed, and with every IPv6 address allowed (the IPv4 one is what counts)
        assert ipv4 in refused(url), url
        message = refused(url, "::/0")
        assert ipv4 in message and f"{ipv4}/32" in message, message
        # allowed once the IPv4 address is
        assert [ipaddress.ip_address(a) for a in guard(f"::/0,{ipv4}/32").check(url)] == [ipaddress.ip_address(address)]


def test_the_forms_that_are_ipv4_addresses_need_only_the_ipv4_address_allow_listed() -> None:
    for address in ("::127.0.0.1", "::ffff:127.0.0.1", "::ffff:0:7f00:1", "64:ff9b::7f00:1"):
        guard("127.0.0.0/8").check(f"http://[{address}]/")


def test_local_use_nat64_is_not_global() -> None:
    # 64:ff9b:1::/48 (RFC 8215) is for a site's own translators: private even when what it embeds is public
    assert "a local-use NAT64 address" in refused("http://[64:ff9b:1::808:808]/")
    guard("64:ff9b:1::/48").check("http://[64:ff9b:1::808:808]/")
    assert "127.0.0.1" in refused("http://[64:ff9b:1::7f00:1]/", "64:ff9b:1::/48")


def test_the_ipv4_mapped_range_is_not_global() -> None:
    # ::ffff:0:0/96 is IPv4 itself: ::ffff:0.0.0.0 is the unspecified address, ::ffff:10.0.0.1 is private
    assert "unspecified" in refused("http://[::ffff:0:0]/")
    assert "a private address" in refused("http://[::ffff:10.0.0.1]/")
    assert "unspecified" in refused("http://[::ffff:0:0:0]/", "::/0")  # IPv4-translated 0.0.0.0


def test_ipv6_forms_of_public_ipv4_addresses_pass() -> None:
    for address in ("::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"):
        assert guard().check(f"http://[{address}]/") == [str(ipaddress.ip_address(address))]


def test_ipv6_loopback_and_unspecified_are_not_read_as_ipv4_compatible() -> None:
    guard("::1").check("http://[::1]/")
    assert "unspecified" in refused("http://[::]/", "0.0.0.0/0")


# ------------------------------------------------ rule 5: ports of this machine closed to tests

API_PORT = 18555
LOCAL_HOSTS = {"localhost": ["127.0.0.1", "::1"], "myhost.lan": ["192.0.2.44"], "other.lan": ["192.0.2.99"]}


def local_guard() -> NetworkGuard:
    def resolve(host: str, port: int) -> list[str]:
        return LOCAL_HOSTS[host]

    async def resolve_async(host: str, port: int) -> list[str]:
        return resolve(host, port)

    return NetworkGuard(
        allowlist=Allowlist.parse("127.0.0.0/8, ::1, localhost, 0.0.0.0/8, ::/128, 192.0.2.0/24, ::ffff:0:0/96"),
        resolver=resolve_async,
        sync_resolver=resolve,
        refused_local_ports=frozenset({API_PORT}),
        local_addresses=lambda: ["192.0.2.44", "fe80::1", "2001:db8::44"],  # this machine's interfaces
    )


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.5.6.7",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "0.0.0.0",  # noqa: S104
        "0",
        "[::]",
        "localhost",
        "LOCALHOST.",
        "2130706433",  # 127.0.0.1 as one number
        "0x7f.1",
        "0x7f000001",
        "0177.0.0.1",  # octal
        "127.1",
        "127.0.1",
        "%31%32%37.0.0.1",  # percent-encoded
        "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits
        "192.0.2.44",  # an interface address
        "myhost.lan",  # a name for it
        "[2001:db8::44]",
        "[::ffff:192.0.2.44]",
        "[::127.0.0.1]",  # IPv4-compatible
        "[::ffff:0:7f00:1]",  # IPv4-translated
        "[64:ff9b::7f00:1]",  # NAT64
    ],
)
@pytest.mark.parametrize("scheme", ["http", "https", "ws"])
def test_a_refused_local_port_is_refused_on_every_address_of_this_machine(host: str, scheme: str) -> None:
    url = f"{scheme}://{host}:{API_PORT}/v1/tests"
    with pytest.raises(NetworkRefused, match="is this machine, and port 18555 on it is closed to tests"):
        local_guard().check(url)


async def test_the_async_check_refuses_the_local_port_too() -> None:
    with pytest.raises(NetworkRefused, match="closed to tests"):
        await local_guard().check_async(f"http://0x7f.1:{API_PORT}/")
    with pytest.raises(NetworkRefused, match="closed to tests"):
        await local_guard().check_async(f"http://localhost:{API_PORT}/")


def test_other_ports_and_other_machines_pass() -> None:
    g = local_guard()
    assert g.check(f"http://127.0.0.1:{API_PORT + 1}/") == ["127.0.0.1"]
    assert g.check(f"http://0x7f.1:{API_PORT + 1}/") == ["127.0.0.1"]
    assert g.check(f"http://other.lan:{API_PORT}/") == ["192.0.2.99"]  # another machine's same port
    assert g.check("http://localhost/") == ["127.0.0.1", "::1"]


def test_numeric_hosts_are_judged_as_the_browser_reads_them() -> None:
    # 0x7f.1 is 127.0.0.1 to a browser: without an allow-list it is a loopback address, not a hostname
    assert "127.0.0.1 is a loopback address" in refused("http://0x7f.1/")
    assert "127.0.0.1 is a loopback address" in refused("http://2130706433/")
    assert "169.254.169.254 is the cloud metadata endpoint" in refused("http://0xa9.0xfe.0xa9.0xfe/")
    assert "not a valid URL" in refused("http://999.1.1.1/")


def test_the_refused_ports_setting_is_checked() -> None:
    assert NetworkGuard.from_setting("", "8000, 9000").refused_local_ports == frozenset({8000, 9000})
    with pytest.raises(InvalidInput, match="AUTOTEST_NETWORK_REFUSED_LOCAL_PORTS: 'http' is not a port"):
        NetworkGuard.from_setting("", "8000,http")


def test_interface_addresses_are_this_machines() -> None:
    from shared.netguard import interface_addresses

    assert "127.0.0.1" in interface_addresses()


async def test_a_request_step_connects_only_where_the_guard_looked() -> None:
    # Given a URL that a browser reads as 127.0.0.1:18556 (allowed) and httpx as localhost:18555
    import httpx

    from shared.apitests.http import GuardedTransport

    url = f"http://127.0.0.1:{API_PORT + 1}\\@localhost:{API_PORT}/"
    assert local_guard().check(url) == ["127.0.0.1"]
    assert (httpx.URL(url).host, httpx.URL(url).port) == ("localhost", API_PORT)

    # When a request step's transport is asked to send it
    transport = GuardedTransport(local_guard())
    # Then what httpx would connect to is judged (its URL as httpx writes it), and the API port refused
    with pytest.raises(NetworkRefused, match="closed to tests"):
        await transport.handle_async_request(httpx.Request("GET", url))
    await transport.aclose()


def test_the_port_is_the_one_a_browser_connects_to() -> None:
    # a browser reads "\" as "/": this is 127.0.0.1 port 18555 (urlsplit says other.lan, port 80)
    with pytest.raises(NetworkRefused, match="port 18555 on it is closed to tests"):
        local_guard().check(f"http://127.0.0.1:{API_PORT}\\@other.lan/")
