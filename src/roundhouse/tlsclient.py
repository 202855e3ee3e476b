"""The TLS trust of Roundhouse's outgoing HTTPS requests, loaded once per process.

httpx loads the CA bundle again for every client it makes (about 50 ms of CPU each time).
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def trust() -> ssl.SSLContext:
    """The context httpx would make by default (certifi, or SSL_CERT_FILE / SSL_CERT_DIR)."""
    return httpx.create_ssl_context()


def async_client(**options: object) -> httpx.AsyncClient:
    """An httpx.AsyncClient that verifies servers with the shared context."""
    return httpx.AsyncClient(verify=trust(), **options)  # type: ignore[arg-type]
