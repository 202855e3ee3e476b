"""The uvicorn server of `roundhouse platform` and `roundhouse up`: address, logging, HTTPS.

With tls_cert_file and tls_key_file the platform serves HTTPS itself; both files are checked
before start-up so that a wrong path or a key of another certificate is one sentence.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import uvicorn

from roundhouse.settings import Settings, SettingsError


def check_tls_files(settings: Settings) -> tuple[Path, Path] | None:
    """The certificate and key to serve HTTPS with, or None for plain HTTP."""
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        given, missing = (
            ("tls_cert_file", "tls_key_file") if key is None else ("tls_key_file", "tls_cert_file")
        )
        raise SettingsError(
            f"Setting {given} is given without {missing}: HTTPS needs both the certificate "
            "and its private key (or neither, behind a TLS-terminating proxy)."
        )
    for path, name in ((cert, "tls_cert_file"), (key, "tls_key_file")):
        if not path.is_file():
            raise SettingsError(
                f"Setting {name} = {str(path)!r} is not a file; give the path of a PEM file "
                "the platform's user can read."
            )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:
        raise SettingsError(
            f"The TLS key {key} does not belong to the certificate {cert} ({error.reason}); "
            "give the key the certificate was issued for."
        ) from None
    except OSError as error:
        raise SettingsError(
            f"The TLS certificate {cert} or key {key} cannot be read ({error.strerror}); "
            "give the platform's user read access to both."
        ) from None
    return cert, key


def server_config(settings: Settings, app: Any) -> uvicorn.Config:
    """The uvicorn configuration; SettingsError when the TLS files are wrong."""
    tls = check_tls_files(settings)
    return uvicorn.Config(
        app,
        host=settings.listen_host,
        port=settings.listen_port,
        log_level="warning" if settings.log_level == "info" else settings.log_level,
        # None: uvicorn's loggers propagate to the root handler (logformat.py).
        log_config=None,
        lifespan="on",
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )
