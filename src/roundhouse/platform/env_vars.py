"""Which repository settings variables a job gets, decrypted for its payload only.

Variables scoped to another branch stay behind. Private ones are withheld from pull requests
from forks unless the repository's `secure_env_for_forks` says otherwise, as on Travis, and the
job's log says so; the worker masks the private values that do go (script/secrets.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Build, EnvVar, Repository
from roundhouse.platform.secrets import AtRest, SecretsError

log = logging.getLogger(__name__)


@dataclass
class JobEnv:
    """The payload's `env_vars`, and the notes its log starts with."""

    env_vars: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _names(rows: list[EnvVar]) -> str:
    return ", ".join(sorted({r.name for r in rows}))


async def job_env(
    session: AsyncSession, at_rest: AtRest, build: Build, repository: Repository
) -> JobEnv:
    rows = list(
        await session.scalars(
            select(EnvVar).where(EnvVar.repository_id == repository.id).order_by(EnvVar.id)
        )
    )
    rows = [r for r in rows if r.branch is None or r.branch == build.branch]
    result = JobEnv()
    if build.request.fork and not repository.secure_env_for_forks:
        withheld = [r for r in rows if not r.public]
        if withheld:
            result.messages.append(
                "Private environment variables from repository settings are not available to"
                f" pull requests from forks ({_names(withheld)}); the repository setting"
                " secure_env_for_forks changes this."
            )
        rows = [r for r in rows if r.public]
    broken: list[EnvVar] = []
    for row in rows:
        try:
            value = at_rest.decrypt(row.value).decode()
        except SecretsError as error:
            log.error("variable %s of %s cannot be decrypted: %s", row.name, repository.slug, error)
            broken.append(row)
            continue
        result.env_vars.append(
            {"name": row.name, "value": value, "public": row.public, "branch": row.branch}
        )
    if broken:
        result.messages.append(
            f"Environment variables from repository settings that cannot be decrypted were left"
            f" out ({_names(broken)}); see the platform log."
        )
    return result
