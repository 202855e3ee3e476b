"""Webhooks: POST /hooks/github, /hooks/gitea, /hooks/gitlab (docs/forges.md).

The order of checks gives each answer one meaning: 413 too large, 415 not JSON, 400 not
parseable, 404 no such repository, 401 not signed with its webhook secret, 400 a signed
payload that lacks what its event needs, 200 ignored (with the reason), 409 a delivery
accepted before, 202 accepted (with the request's id). Only an accepted delivery leaves
anything in the database.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Repository
from roundhouse.platform import repo_secrets
from roundhouse.platform.api.deps import ServicesDep
from roundhouse.platform.forge import FORGES
from roundhouse.platform.forge.common import Malformed, RepositoryRef
from roundhouse.platform.secrets import SecretsError
from roundhouse.platform.triggers import DuplicateDelivery

router = APIRouter()
MAX_DELIVERY_ID = 200  # the column's length


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to be larger than limit bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"The webhook body is larger than webhook_max_bytes ({limit}).")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                413, f"The webhook body is larger than webhook_max_bytes ({limit})."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def decode(body: bytes, content_type: str) -> dict[str, Any]:
    if "form-urlencoded" in content_type:
        raise HTTPException(415, "Set the webhook's content type to application/json.")
    try:
        payload = json.loads(body)
    except ValueError as error:  # also bytes that are not UTF-8
        raise HTTPException(400, f"The webhook body is not valid JSON ({error}).") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, "The webhook body is not a JSON object.")
    return payload


def _without_git(url: str) -> str:
    return url.rstrip("/").removesuffix(".git")


async def find_repository(session: AsyncSession, named: RepositoryRef) -> Repository | None:
    """The repository whose URL is one of the payload's clone URLs, else whose slug is its
    full name (case does not matter on the forges, so here neither)."""
    bare = {_without_git(url) for url in named.urls}
    urls = bare | {url + ".git" for url in bare}
    conditions: list[ColumnElement[bool]] = [Repository.url.in_(urls)]
    if named.full_name:
        conditions.append(func.lower(Repository.slug) == named.full_name.lower())
    found = list(await session.scalars(select(Repository).where(or_(*conditions))))
    by_url = [repo for repo in found if repo.url in urls]
    return next(iter(by_url or found), None)


def ignored(reason: str) -> JSONResponse:
    return JSONResponse({"ignored": True, "reason": reason}, status_code=200)


@router.post("/hooks/{forge_name}", response_model=None)
async def receive(forge_name: str, request: Request, svc: ServicesDep) -> JSONResponse:
    forge = FORGES.get(forge_name)
    if forge is None:
        raise HTTPException(404, f"No webhook at /hooks/{forge_name}; use one of {sorted(FORGES)}.")
    body = await read_body(request, svc.ctx.settings.webhook_max_bytes)
    payload = decode(body, request.headers.get("content-type", ""))
    named = forge.repository(payload)
    if named is None or not (named.full_name or named.urls):
        return ignored("The payload names no repository.")
    async with svc.ctx.sessions() as session:
        repository = await find_repository(session, named)
    if repository is None:
        raise HTTPException(
            404, f"No repository {named.full_name or named.urls[0]!r} is set up in Roundhouse."
        )
    try:
        secret = repo_secrets.read(svc.ctx.at_rest, repository, "webhook_secret")
    except SecretsError as error:
        raise HTTPException(
            500, f"The webhook secret of {repository.slug} cannot be decrypted: {error}."
        ) from None
    if not secret:
        raise HTTPException(
            401,
            f"Repository {repository.slug} has no webhook secret; set the same secret "
            "in Roundhouse and in the forge's webhook.",
        )
    if not forge.verify(request.headers, body, secret):
        raise HTTPException(
            401, f"The webhook is not signed with the webhook secret of {repository.slug}."
        )
    try:
        event = forge.parse(request.headers, payload)
    except Malformed as error:
        raise HTTPException(400, str(error)) from None
    if event.kind == "ignored":
        return ignored(event.reason)
    if not repository.active:
        return ignored(f"Repository {repository.slug} is not active.")
    delivery = forge.delivery_id(request.headers)
    if delivery is not None and len(delivery) > MAX_DELIVERY_ID:
        raise HTTPException(400, f"The delivery id is longer than {MAX_DELIVERY_ID} characters.")
    try:
        request_id = await svc.triggers.request_build(
            repository.id,
            event_type=event.kind,
            branch=event.branch,
            tag=event.tag,
            sha=event.sha,
            message=event.message,
            sender=event.sender,
            pull_request=event.pull_request,
            delivery=(forge_name, delivery) if delivery else None,
        )
    except DuplicateDelivery:
        raise HTTPException(409, f"Delivery {delivery} was accepted before.") from None
    return JSONResponse(
        {
            "@type": "pending",
            "request": {"id": request_id},
            "repository": {"id": repository.id, "slug": repository.slug},
        },
        status_code=202,
    )
