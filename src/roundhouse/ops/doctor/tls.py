"""TLS checks: the platform's certificate against public_url (names, expiry, self-signed),
the OAuth callback URLs of the code hosts, and, on a worker, whether this machine trusts the
platform's certificate."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from roundhouse.ops.doctor.check import Check, fail, ok, warn
from roundhouse.settings import Settings

TIMEOUT = 5.0
EXPIRY_WARNING = timedelta(days=14)
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
JOB_TRUST_FIX = (
    "set the worker's ca_bundle_file to a PEM file with the CA certificate that signed the "
    "platform's certificate: every job gets it in its trust store (git, curl, pip, node)"
)
TRUST_FIX = (
    "install a certificate from a public CA (e.g. Let's Encrypt) as tls_cert_file or on the "
    "proxy, or put the CA certificate on every worker: copy it to "
    "/usr/local/share/ca-certificates/roundhouse.crt and run `update-ca-certificates` (jobs "
    "in bwrap and local use that bundle; Docker images need it added too)"
)


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def fetch_certificate(host: str, port: int) -> bytes:
    """The PEM certificate a TLS server presents, trusted or not."""
    return ssl.get_server_certificate((host, port), timeout=TIMEOUT).encode()


def certificate_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    names = [str(name) for name in san.get_values_for_type(x509.DNSName)]
    return names + [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def name_matches(host: str, name: str) -> bool:
    host, name = host.lower().rstrip("."), name.lower().rstrip(".")
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(name)
    except ValueError:
        pass
    if name.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == name[2:]
    return host == name


def self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def certificate_checks(cert: x509.Certificate, public_url: str, source: str) -> list[Check]:
    """Names, validity dates and issuer of the certificate served for public_url."""
    host, _ = host_port(public_url)
    names = certificate_names(cert)
    checks = []
    if any(name_matches(host, name) for name in names):
        checks.append(ok("tls names", f"the certificate ({source}) names {host}"))
    else:
        checks.append(
            fail(
                "tls names",
                f"the certificate ({source}) is for {', '.join(names) or 'no name'}, not for "
                f"public_url's host {host}",
                f"get a certificate that names {host}, or set public_url to a name the "
                "certificate has",
            )
        )
    now = datetime.now(UTC)
    until, since = cert.not_valid_after_utc, cert.not_valid_before_utc
    if until < now:
        checks.append(
            fail(
                "tls expiry",
                f"the certificate ({source}) expired on {until:%Y-%m-%d %H:%M} UTC",
                "renew it (certbot renew, or your CA), install it and restart the platform",
            )
        )
    elif since > now:
        checks.append(
            fail(
                "tls expiry",
                f"the certificate ({source}) is valid only from {since:%Y-%m-%d %H:%M} UTC",
                "check this machine's clock, or install a certificate valid now",
            )
        )
    elif until - now < EXPIRY_WARNING:
        checks.append(
            warn(
                "tls expiry",
                f"the certificate ({source}) expires in {(until - now).days} days, on "
                f"{until:%Y-%m-%d}",
                "renew it now (certbot renew, or your CA) and restart the platform",
            )
        )
    else:
        checks.append(ok("tls expiry", f"the certificate is valid until {until:%Y-%m-%d}"))
    if self_signed(cert):
        checks.append(
            warn(
                "tls issuer",
                f"the certificate ({source}) is self-signed: browsers, git and workers do not "
                "trust it",
                TRUST_FIX,
            )
        )
    else:
        issuer = cert.issuer.rfc4514_string()
        checks.append(ok("tls issuer", f"the certificate is issued by {issuer}"))
    return checks


async def platform_certificate(settings: Settings) -> list[Check]:
    """The certificate the platform serves (tls_cert_file), or the one at public_url."""
    if settings.tls_cert_file is not None:
        source = str(settings.tls_cert_file)
        try:
            pem = settings.tls_cert_file.read_bytes()
        except OSError as error:
            return [
                fail(
                    "tls",
                    f"tls_cert_file {source} cannot be read ({error.strerror})",
                    "give the platform's user read access to it, or fix tls_cert_file",
                )
            ]
    elif settings.public_url.startswith("https://"):
        host, port = host_port(settings.public_url)
        source = f"served at {host}:{port}"
        try:
            pem = await asyncio.to_thread(fetch_certificate, host, port)
        except (OSError, ssl.SSLError) as error:
            return [
                warn(
                    "tls",
                    f"cannot fetch the certificate of public_url {settings.public_url} from "
                    f"here ({error})",
                    "run the doctor where public_url reaches the proxy, or check the proxy",
                )
            ]
    else:
        host, _ = host_port(settings.public_url)
        if host in LOOPBACK:
            return [ok("tls", f"public_url {settings.public_url} is this machine only: no TLS")]
        return [
            warn(
                "tls",
                f"public_url {settings.public_url} is plain HTTP: tokens and logs cross the "
                "network in clear",
                "serve HTTPS: set tls_cert_file and tls_key_file, or put a TLS-terminating "
                "proxy in front (docs/operations.md, HTTPS)",
            )
        ]
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return [
            fail(
                "tls",
                f"the certificate ({source}) is not a PEM certificate",
                "give the PEM file (-----BEGIN CERTIFICATE-----) as tls_cert_file",
            )
        ]
    return certificate_checks(cert, settings.public_url, source)


def configured_callbacks(settings: Settings) -> dict[str, str]:
    """The OAuth callback URL registered for each code host (forge name → URL), from the
    `oauth` settings; oauth_callbacks() below checks each."""
    return {forge: app.callback_url for forge, app in settings.oauth.items() if app.callback_url}


def oauth_callbacks(public_url: str, callbacks: Mapping[str, str]) -> list[Check]:
    checks = []
    for forge, url in sorted(callbacks.items()):
        expected = f"{public_url}/auth/{forge}/callback"
        if url.rstrip("/") == expected:
            checks.append(ok(f"oauth {forge}", f"the {forge} callback is {expected}"))
        else:
            checks.append(
                fail(
                    f"oauth {forge}",
                    f"the {forge} OAuth app's callback is {url}; with public_url {public_url} "
                    f"the callback must be {expected}",
                    f"set the callback URL of the OAuth app at {forge} to {expected}, or fix "
                    "public_url",
                )
            )
    return checks


def trusted_here(url: str) -> Check:
    """Whether this machine's CA bundle verifies the certificate served at url (https only)."""
    return _trusted(url, None)


def trusted_in_jobs(url: str, ca_bundle_file: Path | None) -> Check:
    """Whether jobs of this worker verify it: they get this machine's bundle and the
    certificates of the worker's ca_bundle_file (worker/backends/cabundle.py)."""
    return _trusted(url, ca_bundle_file)


def _trusted(url: str, ca_bundle_file: Path | None) -> Check:
    name = "tls trust" if ca_bundle_file is None else "tls trust in jobs"
    who, does, trusts = (
        ("this machine", "does", "trusts")
        if ca_bundle_file is None
        else ("jobs on this worker (ca_bundle_file)", "do", "trust")
    )
    if not url.startswith("https://"):
        return ok(name, f"{url} is plain HTTP: no certificate to trust")
    host, port = host_port(url)
    context = ssl.create_default_context()
    if ca_bundle_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle_file))
        except (OSError, ssl.SSLError) as error:
            return fail(
                name,
                f"the worker's ca_bundle_file {ca_bundle_file} cannot be read ({error})",
                "point ca_bundle_file at a PEM file with the platform's CA certificate",
            )
    try:
        with (
            socket.create_connection((host, port), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            pass
    except ssl.SSLCertVerificationError as error:
        return fail(
            name,
            f"{who} {does} not trust the certificate of {host}:{port} ({error.verify_message})",
            TRUST_FIX if ca_bundle_file is None else JOB_TRUST_FIX,
        )
    except (OSError, ssl.SSLError) as error:
        return warn(
            name,
            f"cannot make a TLS connection to {host}:{port} ({error})",
            "see the platform address check above; the platform must serve HTTPS there",
        )
    return ok(name, f"{who} {trusts} the certificate of {host}:{port}")
