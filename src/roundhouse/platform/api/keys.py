"""GET /api/repo/{slug}/key: the repository's public key, for `secure:` values.

`roundhouse encrypt NAME=value --repo SLUG` (and anybody with `openssl`) encrypts with it.
The key pair is made on the first call (platform/keys.py); readable without a token when the
repository is public, as a public key is public.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from roundhouse.platform.api.deps import CanPull, ServicesDep

router = APIRouter()


@router.get("/repo/{slug:path}/key")
async def get_key(slug: str, svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    repository_id, repository_slug = access.repository.id, access.repository.slug
    key = await svc.keys.public_key(repository_id)
    return {
        "@type": "key_pair",
        "slug": repository_slug,
        "key": key.pem,
        "fingerprint": key.fingerprint,
    }
