"""Users administration, for administrators: GET /api/users, POST /api/users/{login}/suspend,
/unsuspend and /sync, POST /api/users/reset_sync (`roundhouse users`, docs/operations.md).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Identity, User, utcnow
from roundhouse.platform.api.deps import InstanceAdmin, ServicesDep
from roundhouse.platform.api.serialize import user_json
from roundhouse.platform.sync.runner import no_forge_login
from roundhouse.platform.usersync import reset_syncs, sync_state

router = APIRouter()


class ResetSync(BaseModel):
    login: str | None = None


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def user_of(user: User) -> dict[str, Any]:
    return {
        **user_json(user),
        "suspended_at": _time(user.suspended_at),
        "sync": {
            "state": sync_state(user, utcnow()),
            "requested_at": _time(user.sync_requested_at),
            "started_at": _time(user.sync_started_at),
            "lease_expires_at": _time(user.sync_lease_expires_at),
            "synced_at": _time(user.synced_at),
            "finished_at": _time(user.sync_finished_at),
            "error": user.sync_error,
        },
    }


async def _find(session: AsyncSession, login: str) -> User:
    found = await session.scalar(select(User).where(User.login == login))
    if found is None:
        raise HTTPException(404, f"There is no user {login!r}; `roundhouse users list` shows them.")
    return found


@router.get("/users")
async def list_users(
    svc: ServicesDep, user: InstanceAdmin, state: Literal["active", "suspended"] | None = None
) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        query = select(User).order_by(User.login)
        if state is not None:
            query = query.where(User.suspended.is_(state == "suspended"))
        return {"@type": "users", "users": [user_of(u) for u in await session.scalars(query)]}


@router.post("/users/{login}/suspend")
async def suspend(login: str, svc: ServicesDep, user: InstanceAdmin) -> dict[str, Any]:
    if login == user.login:
        raise HTTPException(409, "You cannot suspend yourself; ask another administrator.")
    async with svc.ctx.sessions() as session, session.begin():
        found = await _find(session, login)
        if not found.suspended:
            found.suspended, found.suspended_at = True, utcnow()
        return user_of(found)


@router.post("/users/{login}/unsuspend")
async def unsuspend(login: str, svc: ServicesDep, user: InstanceAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        found = await _find(session, login)
        found.suspended, found.suspended_at = False, None
        return user_of(found)


@router.post("/users/{login}/sync", status_code=202)
async def request_sync(login: str, svc: ServicesDep, user: InstanceAdmin) -> dict[str, Any]:
    """Start the code-host sync of the user now, in the background (platform/sync/)."""
    async with svc.ctx.sessions() as session, session.begin():
        found = await _find(session, login)
        forges = list(
            await session.scalars(
                select(Identity.provider).where(
                    Identity.user_id == found.id, Identity.token_sealed.is_not(None)
                )
            )
        )
        if not forges:
            raise HTTPException(409, no_forge_login(login))
        found.sync_requested_at = utcnow()
        answer = user_of(found)
    svc.sync.request(found.id)
    message = (
        f"Syncing {login} with {', '.join(sorted(forges))} in the background;"
        " `roundhouse users list` shows how it went."
    )
    return {"user": answer, "message": message}


@router.post("/users/reset_sync")
async def reset_sync(body: ResetSync, svc: ServicesDep, user: InstanceAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        if body.login is not None:
            await _find(session, body.login)
        return {"reset": await reset_syncs(session, body.login)}
