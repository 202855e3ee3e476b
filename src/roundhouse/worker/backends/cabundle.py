"""Extra certificate authorities that every job trusts: the `ca_bundle_file` setting, for
installations whose git server, package mirror or proxy has a certificate of their own CA.

A backend gives each job a directory with two files: the environment's own CA bundle with
the extra certificates added (ca-certificates.crt), and the extra certificates alone
(extra.crt). In a sandbox or container the first also replaces the image's
/etc/ssl/certs/ca-certificates.crt, the trust store of Debian's OpenSSL, GnuTLS and curl;
variables point git, curl, OpenSSL, Python requests, pip and node at them everywhere.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from pathlib import Path

from roundhouse.settings import SettingsError

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BUNDLE = "ca-certificates.crt"
EXTRA = "extra.crt"
SANDBOX_DIR = "/run/roundhouse/ca"
PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
# Variables whose value is a whole bundle, replacing the tool's default one.
BUNDLE_VARIABLES = (
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "REQUESTS_CA_BUNDLE",
    "PIP_CERT",
)
# node adds these certificates to its own built-in ones.
EXTRA_VARIABLES = ("NODE_EXTRA_CA_CERTS",)


def read_extra(path: Path) -> str:
    """The PEM certificates of the setting's file, or SettingsError saying what is wrong."""
    try:
        text = path.read_text(errors="replace")  # a DER file is refused below, not here
    except OSError as error:
        raise SettingsError(
            f"Setting ca_bundle_file = {str(path)!r} cannot be read ({error.strerror}); point "
            "it at a PEM file of CA certificates the worker can read."
        ) from None
    if PEM_BEGIN not in text:
        raise SettingsError(
            f"Setting ca_bundle_file = {str(path)!r} holds no PEM certificate (no {PEM_BEGIN} "
            "line); convert it with `openssl x509 -inform der -in FILE -out FILE.pem`."
        )
    return text if text.endswith("\n") else text + "\n"


def from_settings(path: Path | None) -> str | None:
    return read_extra(path) if path is not None else None


def combined(system: str, extra: str) -> str:
    if system and not system.endswith("\n"):
        system += "\n"
    return system + extra


def write_files(directory: Path, system: str, extra: str) -> None:
    """The job's two files, readable by its user."""
    directory.mkdir(mode=0o755, exist_ok=True)
    (directory / BUNDLE).write_text(combined(system, extra))
    (directory / EXTRA).write_text(extra)


def environment(directory: str) -> dict[str, str]:
    """The variables that point the job's tools at the files in directory (as the job sees it)."""
    values = dict.fromkeys(BUNDLE_VARIABLES, f"{directory}/{BUNDLE}")
    values.update(dict.fromkeys(EXTRA_VARIABLES, f"{directory}/{EXTRA}"))
    return values


def system_bundle(root: Path) -> str:
    """The CA bundle of a root filesystem ("" if it has none)."""
    try:
        return (root / SYSTEM_BUNDLE.lstrip("/")).read_text(errors="replace")
    except OSError:
        return ""


def bundle_from_archive(chunks: Iterable[bytes]) -> str:
    """The CA bundle out of a Docker API archive of SYSTEM_BUNDLE (a one-file tar stream)."""
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        for member in archive:
            readable = archive.extractfile(member)
            if readable is not None:
                return readable.read().decode(errors="replace")
    return ""
