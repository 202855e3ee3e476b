"""A local OAuth provider speaking as GitHub (Enterprise), Gitea or GitLab documents it: the
authorize redirect, the code-for-token exchange and the user endpoint, over real HTTP.

It approves every consent at once as the account in `FakeProvider.account`, and checks what
a forge checks: client id and secret, the redirect URI given at authorize, single-use codes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from tests.conftest import free_port, wait_for

CLIENT_ID, CLIENT_SECRET = "roundhouse-app", "app-secret"


@dataclass(frozen=True)
class Shape:
    """Where each forge has its endpoints, and how its user API names things."""

    authorize: str
    token: str
    user: str
    login: str
    name: str
    # GitHub ignores grant_type; Gitea and GitLab require authorization_code.
    needs_grant_type: bool


SHAPES = {
    "github": Shape(
        "/login/oauth/authorize",
        "/login/oauth/access_token",
        "/api/v3/user",
        "login",
        "name",
        False,
    ),
    "gitea": Shape(
        "/login/oauth/authorize",
        "/login/oauth/access_token",
        "/api/v1/user",
        "login",
        "full_name",
        True,
    ),
    "gitlab": Shape("/oauth/authorize", "/oauth/token", "/api/v4/user", "username", "name", True),
}


@dataclass
class FakeProvider:
    forge: str
    url: str = ""
    account: dict[str, Any] = field(
        default_factory=lambda: {"id": 583231, "login": "octocat", "name": "The Octocat"}
    )
    codes: dict[str, str] = field(default_factory=dict)  # code -> redirect_uri
    tokens: set[str] = field(default_factory=set)
    # GitLab and Gitea give refresh tokens (their access tokens expire); GitHub's OAuth apps not.
    refresh_tokens: set[str] = field(default_factory=set)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    # More of the forge's API on the same server (the repositories a sync lists).
    routes: Sequence[BaseRoute] = ()

    @property
    def shape(self) -> Shape:
        return SHAPES[self.forge]

    def app(self) -> FastAPI:
        app = FastAPI()
        shape = self.shape
        app.get(shape.authorize)(self.authorize)
        app.post(shape.token)(self.token)
        app.get(shape.user)(self.user)
        app.router.routes.extend(self.routes)
        return app

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return PlainTextResponse("unknown application", status_code=400)
        code = secrets.token_hex(10)
        self.codes[code] = query["redirect_uri"]
        back = {"code": code, "state": query.get("state", "")}
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(back)}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        if form.get("grant_type") == "refresh_token":
            return self.refresh(form)
        redirect = self.codes.pop(form.get("code", ""), None)
        valid = (
            form.get("client_id") == CLIENT_ID
            and form.get("client_secret") == CLIENT_SECRET
            and redirect is not None
            and form.get("redirect_uri") == redirect
            and (form.get("grant_type") == "authorization_code" or not self.shape.needs_grant_type)
        )
        if not valid:
            error = {
                "error": "bad_verification_code" if self.forge == "github" else "invalid_grant"
            }
            # GitHub answers errors with 200; the others with 400.
            return JSONResponse(error, status_code=200 if self.forge == "github" else 400)
        answer = self.issue()
        if self.forge == "github" and "application/json" not in request.headers.get("accept", ""):
            return PlainTextResponse(
                urlencode(answer), media_type="application/x-www-form-urlencoded"
            )
        return JSONResponse(answer)

    def issue(self) -> dict[str, str]:
        token = secrets.token_hex(12)
        self.tokens.add(token)
        answer = {"access_token": token, "token_type": "bearer", "scope": "read:user"}
        if self.forge != "github":
            answer["refresh_token"] = secrets.token_hex(12)
            self.refresh_tokens.add(answer["refresh_token"])
        return answer

    def refresh(self, form: dict[str, str]) -> Response:
        """A refresh token is used once: the answer holds the next one (rotation)."""
        given = form.get("refresh_token", "")
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET) or (
            given not in self.refresh_tokens
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        self.refresh_tokens.discard(given)
        return JSONResponse(self.issue())

    async def user(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or token not in self.tokens:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        shape = self.shape
        return JSONResponse(
            {
                "id": self.account["id"],
                shape.login: self.account["login"],
                shape.name: self.account["name"],
                "email": "octocat@example.com",
            }
        )


@pytest.fixture
async def oauth_provider() -> AsyncIterator[Any]:
    """start(forge, routes) -> a FakeProvider (serving these routes too) on a local port
    until the test ends."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(forge: str, routes: Sequence[BaseRoute] = ()) -> FakeProvider:
        fake = FakeProvider(forge, routes=routes)
        port = free_port()
        fake.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        servers.append((server, task))

        async def started() -> bool:
            if task.done():
                task.result()
            return bool(server.started)

        await wait_for(started, 20, f"the fake {forge} OAuth provider to start")
        return fake

    yield start
    for server, task in servers:
        server.should_exit = True
        await asyncio.wait_for(task, 20)
