"""Helpers of the doctor tests: find a check by name; a job queued where no worker takes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roundhouse.ops.doctor.check import Check
from tests.conftest import GitRepo, Running, wait_for


def by_name(checks: list[Check], name: str) -> Check:
    found = [check for check in checks if check.name == name]
    assert len(found) == 1, f"no single check {name!r} in {checks}"
    return found[0]


async def queued_job(system: Running, git_repo: Callable[..., GitRepo]) -> dict[str, Any]:
    """A job of a new build, once it is queued (in builds.default)."""
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: true\n"})
    slug = (await system.add_repo(repo))["slug"]
    build = await system.build(await system.build_of(slug, await system.trigger(slug)))
    job_id = build["jobs"][0]["id"]

    async def queued() -> dict[str, Any] | None:
        job = await system.job(job_id)
        return job if job["state"] == "queued" else None

    found: dict[str, Any] = await wait_for(queued, 20, "the job to be queued")
    return found
