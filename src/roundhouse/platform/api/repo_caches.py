"""A repository's build caches: GET /api/repo/{slug}/caches lists them (branch, name, size,
last use), DELETE /api/repo/{slug}/caches[?branch=B][&name=N] forgets them (Travis API v3).

Reading needs pull, deleting push (caches steer builds). The settings page uses the same two
functions.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from roundhouse.platform.api.deps import CanPull, CanPush, ServicesDep
from roundhouse.platform.cache import CacheListing, CacheStore

router = APIRouter()


def _cache(entry: CacheListing) -> dict[str, Any]:
    return {
        "@type": "cache",
        "branch": entry.branch,
        "name": entry.name,
        "size": entry.size,
        "last_used": datetime.fromtimestamp(entry.last_used, UTC).isoformat(),
    }


@router.get("/repo/{slug:path}/caches")
async def list_caches(svc: ServicesDep, access: CanPull) -> dict[str, Any]:
    store = CacheStore.for_settings(svc.ctx.settings)
    found = await asyncio.to_thread(store.listing, access.repository.id)
    return {"@type": "caches", "caches": [_cache(c) for c in found]}


@router.delete("/repo/{slug:path}/caches")
async def delete_caches(
    svc: ServicesDep, access: CanPush, branch: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """Every cache of the repository, or of the branch and/or name given."""
    store = CacheStore.for_settings(svc.ctx.settings)
    deleted = await asyncio.to_thread(store.delete, access.repository.id, branch, name)
    await asyncio.to_thread(store.prune)
    return {"@type": "caches", "caches": [_cache(c) for c in deleted]}
