"""HTTP/2 where a server offers it: an API run's ``request`` steps against a loopback Hypercorn server over TLS
(a throwaway CA the runner is made to trust, for this test only) negotiate HTTP/2 by ALPN and multiplex every
row of a data-driven run on one connection; against the same server's plain-HTTP port they speak HTTP/1.1
with keep-alive. The server says which HTTP version and which connection (the client's port) each request
came on, in its response and in a record of its own."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypercorn.asyncio import serve
from hypercorn.config import Config

from shared.apitests import http
from shared.models.runs import RunStatus
from tests.e2e.conftest import NoBrowser, make_harness


@dataclass
class Seen:
    http_version: str
    connection: tuple[str, int]
    n: str | None


@dataclass
class Server:
    https_url: str
    http_url: str
    ca_file: Path
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    def clear(self) -> None:
        self.seen.clear()
        self.in_flight = self.most_in_flight = 0


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for 127.0.0.1 and localhost: (CA file, certificate, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "autotest test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


def _listening() -> tuple[int, int]:
    """A socket bound to a free loopback port: (its file descriptor, for Hypercorn to take over; the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections wait in the backlog until Hypercorn accepts them
    port = sock.getsockname()[1]
    return sock.detach(), port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ca_file, cert_file, key_file = _certificates(tmp_path_factory.mktemp("tls"))
    secure_fd, secure_port = _listening()
    plain_fd, plain_port = _listening()
    recorder = Server(f"https://127.0.0.1:{secure_port}", f"http://127.0.0.1:{plain_port}", ca_file)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        client = tuple(scope["client"])
        recorder.seen.append(Seen(scope["http_version"], (client[0], client[1]), query.get("n")))
        recorder.in_flight += 1  # (the app runs on the server's one event loop)
        recorder.most_in_flight = max(recorder.most_in_flight, recorder.in_flight)
        try:
            await asyncio.sleep(int(query.get("ms", "0")) / 1000)  # so that rows overlap on the wire
        finally:
            recorder.in_flight -= 1
        body = json.dumps(
            {"http_version": scope["http_version"], "client_port": client[1], "n": query.get("n")}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    config = Config()
    config.bind = [f"fd://{secure_fd}"]
    config.insecure_bind = [f"fd://{plain_fd}"]
    config.certfile, config.keyfile = str(cert_file), str(key_file)
    config.accesslog = config.errorlog = None
    config.keep_alive_timeout = 30

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        loop.call_soon(started.set)
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]  # (a plain ASGI callable)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield recorder
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@pytest.fixture
def trust_test_ca(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner trusts the test's CA (and only it) for this test: the transport's TLS settings are built as
    the runner's are, from a context whose ALPN httpcore sets per connection."""
    context = ssl.create_default_context(cafile=str(server.ca_file))
    monkeypatch.setattr(http, "_ssl_context", lambda: context)


def _step(url: str, version: str) -> dict[str, Any]:
    return {
        "action": "request",
        "url": url + "/item?n={{n}}&ms=50",
        "expect": [
            {"status": 200},
            {"jsonpath": "$.http_version", "equals": version},
            {"jsonpath": "$.n", "equals": "{{n}}"},
        ],
    }


@pytest.mark.usefixtures("trust_test_ca")
async def test_rows_of_an_https_run_share_one_http2_connection(server: Server) -> None:
    # Given a TLS server that offers h2 by ALPN, and a data-driven run of 16 rows, 8 at once
    h = make_harness(NoBrowser(), server.https_url)
    server.clear()
    run = await h.run([_step("{{base_url}}", "2")], dataset=[{"n": str(i)} for i in range(16)], concurrency=8)

    # Then every row passed its check that the server saw HTTP/2
    assert run.status == RunStatus.passed, run.error
    assert [it.status for it in run.iterations] == [RunStatus.passed] * 16
    # and so says the server's own record, of every row's request
    assert sorted(int(s.n) for s in server.seen if s.n is not None) == list(range(16))
    assert {s.http_version for s in server.seen} == {"2"}
    # and the rows were streams of a single connection, several of them at once (multiplexed, not one by one)
    assert len({s.connection for s in server.seen}) == 1
    assert 5 <= server.most_in_flight <= 8


async def test_plain_http_gets_http1_with_keep_alive_and_a_check_for_http2_fails_there(server: Server) -> None:
    # Given the same server's plain-HTTP port (no TLS, so no ALPN: HTTP/1.1)
    h = make_harness(NoBrowser(), server.http_url)
    server.clear()
    run = await h.run([_step("{{base_url}}", "1.1")], dataset=[{"n": str(i)} for i in range(16)], concurrency=4)

    assert run.status == RunStatus.passed, run.error
    assert {s.http_version for s in server.seen} == {"1.1"}
    assert len(server.seen) == 16
    # connections are kept alive: 16 requests came on at most one connection per row running at once
    assert len({s.connection for s in server.seen}) <= 4

    # and a check that the server saw HTTP/2 does fail there (the check above is not one that always holds)
    server.clear()
    run = await h.run([_step("{{base_url}}", "2")], dataset=[{"n": "0"}])
    assert run.status == RunStatus.failed
    assert run.error is not None and "http_version" in run.error, run.error


async def test_a_certificate_of_an_unknown_ca_is_refused_saying_so(server: Server) -> None:
    # Given the runner's own TLS settings (the public CAs, not the test's): the server's certificate is refused
    h = make_harness(NoBrowser(), server.https_url)
    server.clear()
    run = await h.run([_step("{{base_url}}", "2")], dataset=[{"n": "0"}])
    assert run.status in (RunStatus.error, RunStatus.failed)
    assert run.error is not None, run.error
    assert "TLS certificate was not accepted: unable to get local issuer certificate" in run.error, run.error
    assert server.seen == []
