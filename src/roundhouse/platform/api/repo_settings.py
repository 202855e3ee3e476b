"""Repository settings: GET and PATCH /api/repo/{slug}/settings.

Travis's switches (build_pushes, build_pull_requests, auto_cancel_pushes,
auto_cancel_pull_requests), maximum_number_of_builds (jobs at once), polling, secure values for
pull requests from forks (secure_env_for_forks), and the connection to the forge (docs/forges.md).
The webhook secret and the forge token can be written but never read back: reads only say
whether they are set.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from roundhouse.db.models import Repository
from roundhouse.platform import repo_secrets
from roundhouse.platform.api.deps import CanAdmin, ServicesDep

router = APIRouter()
SWITCHES = (
    "build_pushes",
    "build_pull_requests",
    "auto_cancel_pushes",
    "auto_cancel_pull_requests",
    "poll",
    "secure_env_for_forks",
)

TIMEOUTS = ("hard_timeout", "log_timeout")


class SettingsChange(BaseModel):
    """Only the fields sent change; null (or "") clears forge, URL, token and secret."""

    model_config = ConfigDict(extra="forbid")

    build_pushes: bool | None = None
    build_pull_requests: bool | None = None
    auto_cancel_pushes: bool | None = None
    auto_cancel_pull_requests: bool | None = None
    poll: bool | None = None
    secure_env_for_forks: bool | None = None
    forge: Literal["github", "gitea", "gitlab"] | None = None
    forge_api_url: str | None = None
    forge_token: str | None = None
    webhook_secret: str | None = None
    # Jobs of the repository queued or running at once; 0: no limit of its own.
    maximum_number_of_builds: int | None = Field(None, ge=0)
    # Seconds a job may run, and may go without output; null or 0: the instance's settings.
    hard_timeout: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    log_timeout: int | None = Field(None, ge=0, le=7 * 24 * 3600)

    @field_validator("forge_api_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL, such as https://api.github.com")
        return value.rstrip("/") if value else None


def settings_of(repo: Repository) -> dict[str, Any]:
    data: dict[str, Any] = {"@type": "settings", "slug": repo.slug}
    data.update({name: getattr(repo, name) for name in SWITCHES})
    data.update(
        forge=repo.forge,
        forge_api_url=repo.forge_api_url,
        forge_token_set=repo_secrets.is_set(repo, "forge_token"),
        webhook_secret_set=repo_secrets.is_set(repo, "webhook_secret"),
        maximum_number_of_builds=repo.maximum_number_of_builds,
        hard_timeout=repo.hard_timeout,
        log_timeout=repo.log_timeout,
    )
    return data


@router.get("/repo/{slug:path}/settings")
async def get_settings(slug: str, svc: ServicesDep, access: CanAdmin) -> dict[str, Any]:
    return settings_of(access.repository)


@router.patch("/repo/{slug:path}/settings")
async def change_settings(
    slug: str, body: SettingsChange, svc: ServicesDep, access: CanAdmin
) -> dict[str, Any]:
    async with svc.ctx.sessions() as session, session.begin():
        repo = await session.get(Repository, access.repository.id)
        if repo is None:  # removed a moment ago
            raise HTTPException(404, f"Repository {slug!r} not found.")
        for name in body.model_fields_set:
            value = getattr(body, name)
            if name == "maximum_number_of_builds":
                repo.maximum_number_of_builds = value or 0  # null clears, like 0
            elif name in TIMEOUTS:
                setattr(repo, name, value or None)  # 0 and null: the instance's setting
            elif name in repo_secrets.FIELDS:
                repo_secrets.write(svc.ctx.at_rest, repo, name, value)
            elif name not in SWITCHES:
                setattr(repo, name, value or None)  # "" clears, like null
            elif value is not None:  # a switch is on or off; null leaves it as it is
                setattr(repo, name, value)
        return settings_of(repo)
