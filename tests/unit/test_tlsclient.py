"""The shared TLS context: made once, and as strict as httpx's default."""

from __future__ import annotations

import ssl

from roundhouse import tlsclient


def test_the_context_is_made_once_and_verifies_servers() -> None:
    context = tlsclient.trust()
    assert tlsclient.trust() is context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


async def test_clients_share_it() -> None:
    async with tlsclient.async_client() as first, tlsclient.async_client() as second:
        assert first._transport._pool._ssl_context is tlsclient.trust()  # type: ignore[attr-defined]
        assert second._transport._pool._ssl_context is tlsclient.trust()  # type: ignore[attr-defined]
