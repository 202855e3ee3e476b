"""The build cache over HTTP: workers fetch and store job cache archives here.

    GET /api/cache/{repo_id}/{branch}/{name}[?fallback=B]  the archive, else B's, else the
                                                          default branch's; 404 if none
    PUT /api/cache/{repo_id}/{branch}/{name}               body: the archive (tar.gz)

Callers present an API token of a user with pull (fetch) or push (store) access, or the job
token of a running attempt of that repository (the payload's cache.token, platform/cache.py),
so a job's worker reaches only its own repository.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse

from roundhouse.db.models import Job, Repository
from roundhouse.platform.api.deps import ServicesDep, find_repository, token_of
from roundhouse.platform.auth import user_for_token
from roundhouse.platform.cache import ArchiveTooLarge, CacheStore, parse_job_token, valid_name
from roundhouse.platform.roles import PULL, PUSH
from roundhouse.protocol import FINISHED_STATES

router = APIRouter()
PATH = "/cache/{repo_id}/{branch:path}/{name}"
# Plain git repositories do not say their default branch: the common one is assumed.
ASSUMED_DEFAULT_BRANCH = "main"


async def cache_repository(
    repo_id: int, name: str, request: Request, svc: ServicesDep
) -> Repository:
    """The repository of the path, once the caller has shown it may use its cache."""
    if not valid_name(name):
        raise HTTPException(422, f"{name!r} is not a cache name (letters, digits, '._-').")
    token = token_of(request)
    async with svc.ctx.sessions() as session, session.begin():
        allowed = False
        if token:
            job_token = parse_job_token(token)
            if job_token is None:
                user = await user_for_token(session, token)
                if user is not None:
                    # Reading a cache is pulling; storing one changes what builds get.
                    minimum = PULL if request.method in ("GET", "HEAD") else PUSH
                    await find_repository(session, str(repo_id), user, minimum)
                    allowed = True
            else:
                job = await session.get(Job, job_token[0])
                allowed = (
                    job is not None
                    and job.repository_id == repo_id
                    and job.state not in FINISHED_STATES
                    and hmac.compare_digest((job.lease or "").encode(), job_token[1].encode())
                )
        if not allowed:
            raise HTTPException(
                401, "A valid API token or job cache token is required: 'Authorization: token …'."
            )
        repository = await session.get(Repository, repo_id)
        if repository is None:
            raise HTTPException(404, f"Repository {repo_id} not found.")
        session.expunge(repository)
        return repository


RepositoryDep = Annotated[Repository, Depends(cache_repository)]


@router.get(PATH, response_class=FileResponse)
async def fetch_archive(
    repository: RepositoryDep,
    branch: str,
    name: str,
    svc: ServicesDep,
    fallback: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> FileResponse:
    store = CacheStore.for_settings(svc.ctx.settings)
    branches = [branch, *fallback, repository.default_branch or ASSUMED_DEFAULT_BRANCH]
    archive = await asyncio.to_thread(store.lookup, repository.id, branches, name)
    if archive is None:
        raise HTTPException(404, f"No cache {name!r} for branch {branch!r} yet.")
    return FileResponse(archive, media_type="application/gzip")


@router.put(PATH, status_code=201)
async def store_archive(
    repository: RepositoryDep, branch: str, name: str, request: Request, svc: ServicesDep
) -> dict[str, Any]:
    store = CacheStore.for_settings(svc.ctx.settings)
    declared = request.headers.get("content-length", "")
    too_large = f"The archive is larger than the build cache may be ({store.max_bytes} bytes)."
    if declared.isdigit() and int(declared) > store.max_bytes:
        raise HTTPException(413, too_large)
    try:
        entry = await store.put(repository.id, branch, name, request.stream())
    except ArchiveTooLarge:
        raise HTTPException(413, too_large) from None
    await asyncio.to_thread(store.prune)
    return {"sha256": entry.sha256, "size": entry.size}
