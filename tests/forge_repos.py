"""A local forge API that lists a person's repositories as GitHub (Enterprise), Gitea and
GitLab document it: their JSON shapes, pages linked by the `Link` header, 401 for a token it
did not issue, and one repository by its path. For the code-host sync tests.

GitLab's list without `membership=true` also holds a public project of somebody else, as the
real one does, so a client that forgets the parameter is caught.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import serving

PREFIX = {"github": "/api/v3", "gitea": "/api/v1", "gitlab": "/api/v4"}
# The largest page each forge serves, and the parameter that asks for a page size.
MAX_PAGE = {"github": 100, "gitea": 50, "gitlab": 100}
SIZE_PARAM = {"github": "per_page", "gitea": "limit", "gitlab": "per_page"}
GITLAB_LEVELS = {"admin": 40, "push": 30, "pull": 20}


@dataclass
class Listed:
    """A repository the person can reach, with their role on it."""

    slug: str
    role: str
    private: bool = False
    clone_url: str = ""
    ident: int = 0


@dataclass
class ForgeRepos:
    forge: str
    url: str = ""
    tokens: set[str] = field(default_factory=set)
    repos: list[Listed] = field(default_factory=list)
    # What the owner of a token sees, when not `repos`.
    per_token: dict[str, list[Listed]] = field(default_factory=dict)
    # Pages hold at most this many, whatever size is asked for: pagination gets exercised.
    page_size: int = 2
    fail_with: int | None = None
    # While set, requests wait for it (a sync caught mid-way).
    hold: asyncio.Event | None = None
    waiting: int = 0
    requests: list[str] = field(default_factory=list)

    def routes(self) -> list[Route]:
        prefix = PREFIX[self.forge]
        if self.forge == "gitlab":
            return [
                Route(f"{prefix}/projects", self.list_repos),
                Route(prefix + "/projects/{path:path}", self.one_repo),
            ]
        return [
            Route(f"{prefix}/user/repos", self.list_repos),
            Route(prefix + "/repos/{owner}/{name}", self.one_repo),
        ]

    async def _refusal(self, request: Request) -> Response | list[Listed]:
        """The forge's refusal, or the repositories the caller sees."""
        self.requests.append(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        if self.hold is not None:
            self.waiting += 1
            await self.hold.wait()
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        if self.fail_with is not None:
            return JSONResponse({"message": "Server Error"}, status_code=self.fail_with)
        return self.per_token.get(token, self.repos)

    async def list_repos(self, request: Request) -> Response:
        seen = await self._refusal(request)
        if isinstance(seen, Response):
            return seen
        query = dict(request.query_params)
        items = [self.item(repo) for repo in seen]
        if self.forge == "gitlab" and query.get("membership") != "true":
            items.append(self.item(Listed("stranger/public", "pull"), member=False))
        size = min(int(query.get(SIZE_PARAM[self.forge], 30)), MAX_PAGE[self.forge])
        size = min(size, self.page_size)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // size))
        headers = {}
        if page < last:
            after = urlencode({**query, "page": page + 1})
            headers["Link"] = f'<{self.url}{request.url.path}?{after}>; rel="next"'
        return JSONResponse(items[(page - 1) * size : page * size], headers=headers)

    async def one_repo(self, request: Request) -> Response:
        seen = await self._refusal(request)
        if isinstance(seen, Response):
            return seen
        params = request.path_params
        slug = params["path"] if self.forge == "gitlab" else f"{params['owner']}/{params['name']}"
        found = next((repo for repo in seen if repo.slug == slug), None)
        if found is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(self.item(found))

    def item(self, repo: Listed, member: bool = True) -> dict[str, Any]:
        ident = repo.ident or abs(hash(repo.slug)) % 100000
        clone_url = repo.clone_url or f"{self.url}/{repo.slug}.git"
        web_url = f"{self.url}/{repo.slug}"
        if self.forge == "gitlab":
            level = GITLAB_LEVELS[repo.role]
            # A role from a group for pull, from the project itself otherwise.
            access = {"access_level": level, "notification_level": 3}
            return {
                "id": ident,
                "path_with_namespace": repo.slug,
                "visibility": "private" if repo.private else "public",
                "http_url_to_repo": clone_url,
                "web_url": web_url,
                "default_branch": "main",
                "permissions": {
                    "project_access": access if member and repo.role != "pull" else None,
                    "group_access": access if member and repo.role == "pull" else None,
                }
                if member
                else {"project_access": None, "group_access": None},
            }
        admin, push = repo.role == "admin", repo.role in ("admin", "push")
        permissions: dict[str, bool] = {"admin": admin, "push": push, "pull": True}
        if self.forge == "github":
            permissions |= {"maintain": admin, "triage": push}
        return {
            "id": ident,
            "full_name": repo.slug,
            "name": repo.slug.split("/")[1],
            "owner": {"login": repo.slug.split("/")[0]},
            "private": repo.private,
            "html_url": web_url,
            "clone_url": clone_url,
            "default_branch": "main",
            "permissions": permissions,
        }


@pytest.fixture
async def forge_repos() -> AsyncIterator[Any]:
    """start(forge, **fields) -> a ForgeRepos serving on a local port until the test ends."""
    async with AsyncExitStack() as stack:

        async def start(forge: str, **fields: Any) -> ForgeRepos:
            fake = ForgeRepos(forge, **fields)
            fake.url = await stack.enter_async_context(serving(Starlette(routes=fake.routes())))
            return fake

        yield start
