"""HTTPS served by the platform itself, its start-up checks, and the doctor's certificate
checks: names, expiry, self-signed, and whether a worker machine trusts it."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from roundhouse.ops.doctor.tls import (
    oauth_callbacks,
    platform_certificate,
    trusted_here,
    trusted_in_jobs,
)
from roundhouse.settings import Settings, SettingsError
from roundhouse.up import AllInOne
from roundhouse.webserver import check_tls_files, server_config
from tests.certs import Issued, make_ca, make_cert
from tests.conftest import free_port, wait_for
from tests.integration.doctor.support import by_name

ROUNDHOUSE = Path(sys.executable).with_name("roundhouse")


@pytest.fixture
async def tls_server() -> AsyncIterator[Callable[[Issued], Awaitable[int]]]:
    """A bare TLS server presenting a given certificate; returns its port."""
    servers: list[asyncio.Server] = []

    async def serve(issued: Issued) -> int:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(issued.cert, issued.key)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield serve
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_the_platform_serves_https_with_its_certificate_and_the_doctor_reads_it(
    settings_for: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_files, ca_cert, ca_key = make_ca(tmp_path / "ca")
    issued = make_cert(tmp_path / "tls", ["127.0.0.1"], ca=(ca_cert, ca_key))
    settings = settings_for(tls_cert_file=issued.cert, tls_key_file=issued.key)
    assert settings.public_url == f"https://127.0.0.1:{settings.listen_port}"
    instance = AllInOne.create(settings)
    server = uvicorn.Server(server_config(settings, instance.app))
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: asyncio.sleep(0, server.started), 30, "the HTTPS server")
        trusting = ssl.create_default_context(cafile=str(ca_files.cert))
        async with httpx.AsyncClient(verify=trusting) as client:
            answer = await client.get(f"{settings.public_url}/healthz")
        assert answer.json() == {"status": "ok"}
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.RemoteProtocolError):  # no plain HTTP on the HTTPS port
                await client.get(f"http://127.0.0.1:{settings.listen_port}/healthz", timeout=5)

        # Behind a proxy the doctor reads the certificate public_url serves.
        proxied = Settings(**{**settings.model_dump(), "tls_cert_file": None, "tls_key_file": None})
        checks = await platform_certificate(proxied)
        host = f"served at 127.0.0.1:{settings.listen_port}"
        assert by_name(checks, "tls names").saw == f"the certificate ({host}) names 127.0.0.1"
        assert by_name(checks, "tls expiry").status == "ok"
        assert (
            by_name(checks, "tls issuer").saw
            == "the certificate is issued by CN=Roundhouse Test CA"
        )

        # A worker machine without the CA does not trust it; with SSL_CERT_FILE it does.
        untrusted = await asyncio.to_thread(trusted_here, settings.public_url)
        assert untrusted.status == "FAIL"
        assert untrusted.saw == (
            f"this machine does not trust the certificate of 127.0.0.1:{settings.listen_port} "
            "(unable to get local issuer certificate)"
        )
        assert "update-ca-certificates" in untrusted.fix
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_files.cert))
        trusted = await asyncio.to_thread(trusted_here, settings.public_url)
        assert trusted.status == "ok", trusted
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def test_a_self_signed_certificate_is_not_trusted_by_a_worker_machine(
    tmp_path: Path, tls_server: Callable[[Issued], Awaitable[int]]
) -> None:
    port = await tls_server(make_cert(tmp_path, ["127.0.0.1"]))
    check = await asyncio.to_thread(trusted_here, f"https://127.0.0.1:{port}")
    assert check.status == "FAIL"
    assert check.saw == (
        f"this machine does not trust the certificate of 127.0.0.1:{port} (self-signed certificate)"
    )


async def test_expired_misnamed_and_self_signed_certificates_are_reported(
    tmp_path: Path, tls_server: Callable[[Issued], Awaitable[int]]
) -> None:
    expired = make_cert(
        tmp_path / "old",
        ["ci.example.com"],
        valid_from=timedelta(days=-90),
        valid_until=timedelta(days=-2),
    )
    settings = Settings(
        data_dir=tmp_path, public_url="https://ci.example.com", tls_cert_file=expired.cert
    )
    checks = await platform_certificate(settings)
    expiry = by_name(checks, "tls expiry")
    assert expiry.status == "FAIL"
    assert expiry.saw.startswith(f"the certificate ({expired.cert}) expired on ")
    assert by_name(checks, "tls names").status == "ok"
    issuer = by_name(checks, "tls issuer")
    assert issuer.status == "warn"
    assert issuer.saw == (
        f"the certificate ({expired.cert}) is self-signed: browsers, git and workers do not "
        "trust it"
    )
    assert "/usr/local/share/ca-certificates/roundhouse.crt" in issuer.fix

    soon = make_cert(tmp_path / "soon", ["*.example.com"], valid_until=timedelta(days=5, hours=1))
    checks = await platform_certificate(
        Settings(**{**settings.model_dump(), "tls_cert_file": soon.cert})
    )
    assert by_name(checks, "tls expiry").status == "warn"
    assert "expires in 5 days" in by_name(checks, "tls expiry").saw
    assert by_name(checks, "tls names").status == "ok"  # the wildcard covers ci.example.com

    # Served on the network (public_url behind a proxy) for another name.
    port = await tls_server(make_cert(tmp_path / "other", ["other.example.com", "127.0.0.1"]))
    served = Settings(data_dir=tmp_path, public_url=f"https://localhost:{port}")
    names = by_name(await platform_certificate(served), "tls names")
    assert names.status == "FAIL"
    assert names.saw == (
        f"the certificate (served at localhost:{port}) is for other.example.com, 127.0.0.1, not "
        "for public_url's host localhost"
    )
    assert names.fix.startswith("get a certificate that names localhost")


def test_the_oauth_callback_must_follow_public_url() -> None:
    checks = oauth_callbacks(
        "https://ci.example.com",
        {
            "github": "https://old-ci.example.com/auth/github/callback",
            "gitlab": "https://ci.example.com/auth/gitlab/callback",
        },
    )
    assert [c.status for c in checks] == ["FAIL", "ok"]
    assert checks[0].saw == (
        "the github OAuth app's callback is https://old-ci.example.com/auth/github/callback; "
        "with public_url https://ci.example.com the callback must be "
        "https://ci.example.com/auth/github/callback"
    )


def test_tls_files_are_checked_at_start_up_in_one_sentence(tmp_path: Path) -> None:
    first = make_cert(tmp_path / "a", ["127.0.0.1"])
    second = make_cert(tmp_path / "b", ["127.0.0.1"])
    with pytest.raises(SettingsError, match=r"^The TLS key .* does not belong to the certificate"):
        check_tls_files(
            Settings(data_dir=tmp_path, tls_cert_file=first.cert, tls_key_file=second.key)
        )
    with pytest.raises(
        SettingsError, match=r"^Setting tls_cert_file = ./nowhere\.pem. is not a file"
    ):
        check_tls_files(
            Settings(data_dir=tmp_path, tls_cert_file=Path("/nowhere.pem"), tls_key_file=first.key)
        )
    with pytest.raises(
        SettingsError, match=r"^Setting tls_cert_file is given without tls_key_file"
    ):
        check_tls_files(Settings(data_dir=tmp_path, tls_cert_file=first.cert))

    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    env |= {
        "ROUNDHOUSE_DATA_DIR": str(tmp_path / "data"),
        "ROUNDHOUSE_LISTEN_PORT": str(free_port()),
        "ROUNDHOUSE_TLS_CERT_FILE": str(first.cert),
        "ROUNDHOUSE_TLS_KEY_FILE": str(second.key),
    }
    result = subprocess.run(
        [str(ROUNDHOUSE), "up"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("roundhouse: The TLS key "), result.stderr


async def test_jobs_trust_the_platform_only_with_its_ca_in_ca_bundle_file(
    tmp_path: Path, tls_server: Callable[[Issued], Awaitable[int]]
) -> None:
    ca_files, ca_cert, ca_key = make_ca(tmp_path / "ca")
    port = await tls_server(make_cert(tmp_path, ["127.0.0.1"], ca=(ca_cert, ca_key)))
    url = f"https://127.0.0.1:{port}"
    other_ca, _, _ = make_ca(tmp_path / "other")

    wrong = await asyncio.to_thread(trusted_in_jobs, url, other_ca.cert)
    right = await asyncio.to_thread(trusted_in_jobs, url, ca_files.cert)
    missing = await asyncio.to_thread(trusted_in_jobs, url, tmp_path / "nowhere.pem")

    assert (wrong.name, wrong.status) == ("tls trust in jobs", "FAIL")
    assert wrong.saw.startswith(
        f"jobs on this worker (ca_bundle_file) do not trust the certificate of 127.0.0.1:{port}"
    )
    assert wrong.fix.startswith("set the worker's ca_bundle_file to a PEM file with the CA")
    assert (right.status, right.saw) == (
        "ok",
        f"jobs on this worker (ca_bundle_file) trust the certificate of 127.0.0.1:{port}",
    )
    assert missing.status == "FAIL"
    assert f"ca_bundle_file {tmp_path / 'nowhere.pem'} cannot be read" in missing.saw
