"""The caller's repositories on their forges, as their last code-host sync found them, and
activation by their choice: GET /api/user/forge_repos, POST
/api/user/forge_repos/{id}/activate (docs/forges.md, section 8).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from roundhouse.db.models import ForgeRepository, utcnow
from roundhouse.platform.api import serialize
from roundhouse.platform.api.deps import ServicesDep, SignedIn
from roundhouse.platform.sync.activate import Refused, activate
from roundhouse.platform.sync.record import known_repositories
from roundhouse.platform.usersync import sync_state

router = APIRouter()


def _row(row: ForgeRepository, repository_id: int | None) -> dict[str, Any]:
    return {
        "@type": "forge_repository",
        "id": row.id,
        "forge": row.forge,
        "slug": row.slug,
        "private": row.private,
        "role": row.role,
        "clone_url": row.clone_url,
        "web_url": row.web_url,
        "default_branch": row.default_branch,
        "synced_at": row.synced_at.isoformat(),
        "active": repository_id is not None,
        "repository_id": repository_id,
    }


@router.get("/user/forge_repos")
async def list_forge_repos(svc: ServicesDep, user: SignedIn) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        rows = list(
            await session.scalars(
                select(ForgeRepository)
                .where(ForgeRepository.user_id == user.id)
                .order_by(ForgeRepository.forge, ForgeRepository.slug)
            )
        )
        known: dict[tuple[str, str], dict[str, int]] = {}
        for row in rows:
            if (row.forge, row.api_url) not in known:
                found = await known_repositories(session, row.forge, row.api_url)
                known[(row.forge, row.api_url)] = found
    return {
        "@type": "forge_repositories",
        "sync": {
            "state": sync_state(user, utcnow()),
            "synced_at": user.synced_at.isoformat() if user.synced_at else None,
            "error": user.sync_error,
        },
        "forge_repositories": [
            _row(row, known[(row.forge, row.api_url)].get(row.slug.lower())) for row in rows
        ],
    }


@router.post("/user/forge_repos/{forge_repo_id}/activate", status_code=201)
async def activate_forge_repo(
    forge_repo_id: int, svc: ServicesDep, user: SignedIn
) -> dict[str, Any]:
    """Needs admin permission on the repository at the forge, asked of the forge now."""
    try:
        repository = await activate(svc.ctx, svc.sync.http, user, forge_repo_id)
    except Refused as refused:
        raise HTTPException(refused.status, str(refused)) from None
    data = serialize.repository(repository, svc.ctx.settings.public_url)
    data["role"] = "admin"
    return data
