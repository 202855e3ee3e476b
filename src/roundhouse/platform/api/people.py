"""API routes about people: the caller, users (instance admins), API tokens, and roles on
repositories and owners (docs/api-people.md).

A token's text is in the answer to its creation only; lists show names and dates.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import ApiToken, Identity, OwnerAdmin, Permission, User, utcnow
from roundhouse.platform.accounts import AccountError, create_user, find_user, hash_password
from roundhouse.platform.api.deps import CanAdmin, InstanceAdmin, ServicesDep, SignedIn
from roundhouse.platform.api.serialize import token_json, user_json
from roundhouse.platform.auth import create_token, hash_token, revoke_token, tokens_of
from roundhouse.platform.roles import Role

router = APIRouter()


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str
    password: str | None = None
    admin: bool = False
    name: str = ""
    email: str = ""


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suspended: bool | None = None
    admin: bool | None = None
    password: str | None = None


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=100)


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


async def _user(session: AsyncSession, login: str) -> User:
    user = await find_user(session, login)
    if user is None:
        raise HTTPException(404, f"No user {login!r}.")
    return user


async def _permission(session: AsyncSession, user: User, repository_id: int) -> Permission | None:
    return await session.scalar(
        select(Permission).where(
            Permission.user_id == user.id, Permission.repository_id == repository_id
        )
    )


async def _owner_admin(session: AsyncSession, user: User, owner: str) -> OwnerAdmin | None:
    return await session.scalar(
        select(OwnerAdmin).where(OwnerAdmin.user_id == user.id, OwnerAdmin.owner == owner)
    )


@router.get("/user")
async def me(svc: ServicesDep, user: SignedIn) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        identities = await session.scalars(select(Identity).where(Identity.user_id == user.id))
        return user_json(user, list(identities))


@router.post("/users", status_code=201)
async def add_user(body: NewUser, svc: ServicesDep, admin: InstanceAdmin) -> dict[str, Any]:
    try:
        async with svc.ctx.sessions() as session, session.begin():
            user = await create_user(
                session,
                body.login,
                password=body.password,
                admin=body.admin,
                name=body.name,
                email=body.email,
            )
            return user_json(user)
    except AccountError as error:
        raise HTTPException(422, str(error)) from None


@router.patch("/users/{login}")
async def change_user(
    login: str, body: UserChange, svc: ServicesDep, admin: InstanceAdmin
) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        user = await _user(session, login)
        if user.id == admin.id and (body.suspended or body.admin is False):
            raise HTTPException(409, "Administrators cannot suspend or demote themselves.")
        if body.suspended is not None and body.suspended != user.suspended:
            user.suspended, user.suspended_at = body.suspended, utcnow() if body.suspended else None
        if body.admin is not None:
            user.is_admin = body.admin
        if body.password is not None:
            try:
                user.password_hash = hash_password(body.password)
            except AccountError as error:
                raise HTTPException(422, str(error)) from None
        return user_json(user)


@router.get("/tokens")
async def list_tokens(svc: ServicesDep, user: SignedIn) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        return {"tokens": [token_json(t) for t in await tokens_of(session, user)]}


@router.post("/tokens", status_code=201)
async def add_token(body: NewToken, svc: ServicesDep, user: SignedIn) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        token = await create_token(session, user, body.name)
        row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        assert row is not None  # made just now
        return {**token_json(row), "token": token}


@router.delete("/tokens/{token_id}")
async def remove_token(token_id: int, svc: ServicesDep, user: SignedIn) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        if not await revoke_token(session, user, token_id):
            raise HTTPException(404, f"You have no token {token_id}.")
    return {"revoked": token_id}


@router.get("/repo/{slug:path}/permissions")
async def list_permissions(slug: str, svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        rows = await session.execute(
            select(User.login, Permission.role)
            .join(User, User.id == Permission.user_id)
            .where(Permission.repository_id == access.repository.id)
            .order_by(User.login)
        )
        return {"permissions": [{"login": login, "role": role} for login, role in rows]}


@router.put("/repo/{slug:path}/permissions/{login}")
async def grant(
    slug: str, login: str, body: Grant, svc: ServicesDep, access: CanAdmin
) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        user = await _user(session, login)
        row = await _permission(session, user, access.repository.id)
        if row is None:
            row = Permission(user_id=user.id, repository_id=access.repository.id)
            session.add(row)
        row.role = body.role
    return {"login": user.login, "role": body.role}


@router.delete("/repo/{slug:path}/permissions/{login}")
async def revoke(slug: str, login: str, svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        user = await _user(session, login)
        row = await _permission(session, user, access.repository.id)
        if row is None:
            raise HTTPException(404, f"{user.login} has no role on {access.repository.slug}.")
        await session.delete(row)
    return {"login": user.login, "role": None}


@router.get("/owners/{owner}/admins")
async def owner_admins(owner: str, svc: ServicesDep, admin: InstanceAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        logins = await session.scalars(
            select(User.login)
            .join(OwnerAdmin, OwnerAdmin.user_id == User.id)
            .where(OwnerAdmin.owner == owner)
            .order_by(User.login)
        )
        return {"owner": owner, "admins": list(logins)}


@router.put("/owners/{owner}/admins/{login}")
async def add_owner_admin(
    owner: str, login: str, svc: ServicesDep, admin: InstanceAdmin
) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        user = await _user(session, login)
        found = await _owner_admin(session, user, owner)
        if found is None:
            session.add(OwnerAdmin(user_id=user.id, owner=owner))
    return {"owner": owner, "admin": user.login}


@router.delete("/owners/{owner}/admins/{login}")
async def remove_owner_admin(
    owner: str, login: str, svc: ServicesDep, admin: InstanceAdmin
) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        user = await _user(session, login)
        found = await _owner_admin(session, user, owner)
        if found is None:
            raise HTTPException(404, f"{user.login} is not an admin of owner {owner!r}.")
        await session.delete(found)
    return {"owner": owner, "removed": user.login}
