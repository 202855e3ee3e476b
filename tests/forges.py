"""Test helpers for the forges: the published webhook payloads (tests/fixtures/webhooks),
headers signed the way each forge signs, and a fake forge API that records what it is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roundhouse.db.models import Repository
from tests.conftest import GitRepo, Running, serving, wait_for

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
SECRET = "a webhook secret"


def fixture_bytes(name: str) -> bytes:
    """A payload exactly as published, e.g. fixture_bytes("github/push.branch.json")."""
    return (FIXTURES / name).read_bytes()


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes(name))
    return data


def github_headers(body: bytes, secret: str, event: str, delivery: str = "") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={digest}",
    }


def gitea_headers(body: bytes, secret: str, event: str, delivery: str = "") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Gitea-Event": event,
        "X-Gitea-Delivery": delivery or str(uuid.uuid4()),
        "X-Gitea-Signature": digest,
    }


def gitlab_headers(body: bytes, secret: str, event: str, delivery: str = "") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": secret,
        "Idempotency-Key": delivery or str(uuid.uuid4()),
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
    }


SIGNERS = {"github": github_headers, "gitea": gitea_headers, "gitlab": gitlab_headers}


async def deliver(
    system: Running, forge: str, body: bytes, event: str, *, secret: str = SECRET, **extra: str
) -> httpx.Response:
    """POST a webhook the way the forge does: no API token, signed with the secret."""
    headers = SIGNERS[forge](body, secret, event, extra.pop("delivery", ""))
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        return await client.post(f"/hooks/{forge}", content=body, headers=headers | extra)


ConnectRepo = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def connect_repo(start_system: Any) -> AsyncIterator[ConnectRepo]:
    """connect(system, repo, slug, **settings): add the repository with the webhook secret
    and these settings. Their slugs are freed afterwards: the fixtures' slugs repeat, and the
    PostgreSQL schema is shared by the whole run."""
    made: list[tuple[Running, str]] = []

    async def connect(system: Running, repo: GitRepo, slug: str, **settings: Any) -> dict[str, Any]:
        body = {"url": repo.url, "slug": slug, "webhook_secret": SECRET}
        response = await system.http.post("/api/repos", json=body)
        assert response.status_code == 201, response.text
        made.append((system, slug))
        if settings:
            changed = await system.http.patch(f"/api/repo/{slug}/settings", json=settings)
            assert changed.status_code == 200, changed.text
        data: dict[str, Any] = response.json()
        return data

    yield connect
    for system, slug in made:
        # Renamed rather than removed: removing would pull rows from under running jobs.
        async with system.instance.services.ctx.sessions() as session, session.begin():
            repository = await session.scalar(select(Repository).where(Repository.slug == slug))
            if repository is not None:
                repository.slug = f"done/{uuid.uuid4().hex}"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass
class FakeForge:
    """An HTTP server on 127.0.0.1 that records every request and answers from `answers`
    (status codes, used up in order), then with 201."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.body()
        self.requests.append(
            Recorded(
                request.method,
                request.scope["raw_path"].decode(),  # as sent: %2F stays %2F
                {k.lower(): v for k, v in request.headers.items()},
                json.loads(body) if body else None,
            )
        )
        status = self.answers.pop(0) if self.answers else 201
        return JSONResponse({"message": f"answered {status}"}, status_code=status)

    async def wait_for_requests(self, count: int, timeout: float = 20) -> list[Recorded]:
        async def enough() -> list[Recorded] | None:
            return self.requests if len(self.requests) >= count else None

        result: list[Recorded] = await wait_for(enough, timeout, f"{count} forge API requests")
        return result


@pytest.fixture
async def fake_forge() -> AsyncIterator[FakeForge]:
    forge = FakeForge()
    app = Starlette(
        routes=[Route("/{path:path}", forge.handle, methods=["GET", "POST", "PUT", "PATCH"])]
    )
    async with serving(app) as forge.url:
        yield forge


def open_pull_request(
    repo: GitRepo, number: int, branch: str, files: dict[str, str], *, merge: bool = True
) -> tuple[str, str | None]:
    """Commit files on a new branch off main and make the refs GitHub makes for a pull
    request: refs/pull/N/head, and (with merge) refs/pull/N/merge, a merge commit whose
    second parent is the head. Returns (head sha, merge sha)."""
    repo.git("checkout", "-q", "-b", branch, "main")
    head = repo.commit(files, f"Change on {branch}")
    repo.git("update-ref", f"refs/pull/{number}/head", head)
    merged = None
    if merge:
        repo.git("checkout", "-q", "--detach", "main")
        repo.git("merge", "-q", "--no-ff", "--no-edit", head)
        merged = repo.git("rev-parse", "HEAD").strip()
        repo.git("update-ref", f"refs/pull/{number}/merge", merged)
    repo.git("checkout", "-q", "main")
    return head, merged
