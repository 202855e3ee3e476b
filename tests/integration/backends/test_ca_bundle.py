"""The `ca_bundle_file` setting for real: a job's curl to a local HTTPS server whose
certificate an in-house CA (made here with `cryptography`) signed fails with "SSL certificate
problem" without the setting, and succeeds with it, on the local, bwrap and docker backends.
In a sandbox or container the image's trust store itself has the CA, so curl trusts it even
without the variables.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from roundhouse.settings import Settings, SettingsError
from roundhouse.worker.backends import make_backend
from roundhouse.worker.backends.base import Backend
from roundhouse.worker.backends.bwrap import BwrapBackend
from roundhouse.worker.backends.docker import DockerBackend
from tests.integration.backends.podman import podman_unavailable
from tests.integration.backends.support import bwrap_unavailable, payload, run_job

pytestmark = pytest.mark.timeout(60)
BODY = "hello over tls"
PLAIN = "env -u SSL_CERT_FILE -u CURL_CA_BUNDLE"  # curl with the trust store alone


@dataclass
class Tls:
    ca_file: Path
    url: str


def certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None, signer: Any
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signer, hashes.SHA256())


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(BODY.encode())

    def log_message(self, *args: object) -> None:
        """Quiet: the tests read the job's log, not the server's."""


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[Tls]:
    """An HTTPS server on 127.0.0.1 with a certificate of a CA of its own; the CA's file."""
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = certificate("Roundhouse test CA", ca_key, None, ca_key)
    server_cert = certificate("127.0.0.1", server_key, ca, ca_key)
    pem = serialization.Encoding.PEM
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    chain = tmp_path / "server.pem"
    key_bytes = server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    chain.write_bytes(server_cert.public_bytes(pem) + key_bytes)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Tls(ca_file, f"https://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def assert_trust(make: Callable[..., Backend], work_dir: Path, tls: Tls, store: bool) -> None:
    """Without the setting curl refuses the server; with it, curl (and the store) trust it."""
    script = f"curl -sS {tls.url}; echo\n"
    if store:
        script += f"{PLAIN} curl -sS {tls.url}; echo ' (trust store)'\n"
    script += 'echo "git=$GIT_SSL_CAINFO pip=$PIP_CERT node=$NODE_EXTRA_CA_CERTS"\n'

    refused = await run_job(make(), work_dir, payload(script, network=True))
    trusted = await run_job(
        make(ca_bundle_file=tls.ca_file), work_dir, payload(script, network=True)
    )

    assert "SSL certificate problem" in refused.log
    assert BODY not in refused.log
    assert trusted.log.count(BODY) == (2 if store else 1), trusted.log
    assert "SSL certificate problem" not in trusted.log
    if store:
        assert f"{BODY} (trust store)" in trusted.log
    assert "git=/" in trusted.log and "/ca-certificates.crt pip=/" in trusted.log
    assert "/extra.crt" in trusted.log


async def test_local_jobs_trust_the_extra_ca(work_dir: Path, tls: Tls) -> None:
    def make(ca_bundle_file: Path | None = None) -> Backend:
        return make_backend(Settings(backend="local", ca_bundle_file=ca_bundle_file))

    await assert_trust(make, work_dir, tls, store=False)
    assert [path.name for path in work_dir.iterdir()] == ["checkouts"]  # kept, no job's


@pytest.mark.skipif(bwrap_unavailable() is not None, reason="the bwrap backend cannot run here")
async def test_sandboxed_jobs_trust_the_extra_ca(
    work_dir: Path, tls: Tls, make_bwrap: Callable[..., BwrapBackend]
) -> None:
    await assert_trust(make_bwrap, work_dir, tls, store=True)


@pytest.mark.skipif(podman_unavailable() is not None, reason="podman cannot run here")
async def test_container_jobs_trust_the_extra_ca(
    work_dir: Path, tls: Tls, make_docker: Callable[..., DockerBackend]
) -> None:
    def make(**overrides: Any) -> DockerBackend:
        # The host's network: the server listens on the host's 127.0.0.1.
        return make_docker(docker_network="host", **overrides)

    await assert_trust(make, work_dir, tls, store=True)


def test_a_file_without_certificates_stops_the_worker_with_one_sentence(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.der"
    not_pem.write_bytes(b"\x30\x82\x01\x0a")
    with pytest.raises(SettingsError, match=r"ca_bundle_file = '.*ca.der' holds no PEM"):
        make_backend(Settings(backend="local", ca_bundle_file=not_pem))
    with pytest.raises(SettingsError, match=r"cannot be read \(No such file or directory\)"):
        make_backend(Settings(backend="local", ca_bundle_file=tmp_path / "missing.pem"))
