"""Repository settings variables: GET/POST /api/repo/{slug}/env_vars and GET/PATCH/DELETE
/api/repo/{slug}/env_vars/{id} (also Travis API v3's /env_var/{id} and `env_var.`-prefixed
fields). Values of private variables are written, never read back.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import EnvVar, Repository, utcnow
from roundhouse.platform.api.deps import CanAdmin, ServicesDep
from roundhouse.platform.secrets import AtRest

router = APIRouter()
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_VALUE = 65536


def _travis_fields(data: Any) -> Any:
    """Travis's API v3 spells fields `env_var.name`; both spellings are accepted."""
    if isinstance(data, dict):
        return {str(k).removeprefix("env_var."): v for k, v in data.items()}
    return data


class EnvVarChange(BaseModel):
    """PATCH: only the fields sent change; `branch: null` makes it apply to every branch."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    value: str | None = Field(None, max_length=MAX_VALUE)
    public: bool | None = None
    branch: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _travis(cls, data: Any) -> Any:
        return _travis_fields(data)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not NAME.match(value):
            raise ValueError(
                "a shell variable name: letters, digits and _, not starting with a digit"
            )
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None


class NewEnvVar(EnvVarChange):
    name: str
    value: str = Field(max_length=MAX_VALUE)
    public: bool = False


def env_var_of(row: EnvVar, at_rest: AtRest) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@type": "env_var",
        "id": row.id,
        "name": row.name,
        "public": row.public,
        "branch": row.branch,
        "updated_at": row.updated_at.isoformat(),
    }
    if row.public:
        data["value"] = at_rest.open(row.value)
    return data


async def _clash(session: AsyncSession, repo: Repository, row: EnvVar) -> None:
    """409 when another variable of the repository has the same name and branch."""
    query = select(EnvVar.id).where(
        EnvVar.repository_id == repo.id,
        EnvVar.name == row.name,
        EnvVar.branch.is_(None) if row.branch is None else EnvVar.branch == row.branch,
    )
    if row.id is not None:
        query = query.where(EnvVar.id != row.id)
    if await session.scalar(query) is not None:
        scope = f"branch {row.branch}" if row.branch else "all branches"
        raise HTTPException(
            409, f"{repo.slug} has a variable {row.name} for {scope} already; change that one."
        )


async def _find(session: AsyncSession, repo: Repository, var_id: int) -> EnvVar:
    row = await session.get(EnvVar, var_id)
    if row is None or row.repository_id != repo.id:
        raise HTTPException(404, f"{repo.slug} has no environment variable {var_id}.")
    return row


@router.get("/repo/{slug:path}/env_vars")
async def list_env_vars(svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        repo = access.repository
        rows = await session.scalars(
            select(EnvVar).where(EnvVar.repository_id == repo.id).order_by(EnvVar.name, EnvVar.id)
        )
        return {"@type": "env_vars", "env_vars": [env_var_of(r, svc.ctx.at_rest) for r in rows]}


@router.post("/repo/{slug:path}/env_vars", status_code=201)
async def add_env_var(body: NewEnvVar, svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        repo = access.repository
        row = EnvVar(
            repository_id=repo.id,
            name=body.name,
            value=svc.ctx.at_rest.encrypt(body.value.encode()),
            public=body.public,
            branch=body.branch,
        )
        await _clash(session, repo, row)
        session.add(row)
        await session.flush()
        return env_var_of(row, svc.ctx.at_rest)


@router.get("/repo/{slug:path}/env_vars/{var_id}")
@router.get("/repo/{slug:path}/env_var/{var_id}")
async def get_env_var(var_id: int, svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    async with svc.ctx.sessions() as session:
        repo = access.repository
        return env_var_of(await _find(session, repo, var_id), svc.ctx.at_rest)


@router.patch("/repo/{slug:path}/env_vars/{var_id}")
@router.patch("/repo/{slug:path}/env_var/{var_id}")
async def change_env_var(
    var_id: int, body: EnvVarChange, svc: ServicesDep, access: CanAdmin
) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        repo = access.repository
        row = await _find(session, repo, var_id)
        sent = body.model_fields_set
        if "name" in sent and body.name is not None:
            row.name = body.name
        if "branch" in sent:
            row.branch = body.branch
        if "public" in sent and body.public is not None:
            if body.public and not row.public and body.value is None:
                # Otherwise making it public would be a way to read a private value back.
                raise HTTPException(
                    422, f"{row.name} is private: to make it public, send its new value too."
                )
            row.public = body.public
        if "value" in sent and body.value is not None:
            row.value = svc.ctx.at_rest.encrypt(body.value.encode())
        await _clash(session, repo, row)
        row.updated_at = utcnow()
        return env_var_of(row, svc.ctx.at_rest)


@router.delete("/repo/{slug:path}/env_vars/{var_id}", status_code=204)
@router.delete("/repo/{slug:path}/env_var/{var_id}", status_code=204)
async def delete_env_var(var_id: int, svc: ServicesDep, access: CanAdmin) -> Response:
    async with svc.ctx.sessions() as session, session.begin():
        repo = access.repository
        await session.delete(await _find(session, repo, var_id))
    return Response(status_code=204)
