"""The platform's web application: API under /api, webhooks, health, and the web pages.

Errors are JSON with one `error` sentence (malformed JSON gets a 400 that says where); the
pages' errors are HTML pages (web/errors.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from roundhouse.platform.api import (
    admin,
    builds,
    cache,
    crons,
    env_vars,
    forge_repos,
    hooks,
    keys,
    people,
    repo_caches,
    repo_settings,
    repos,
    system,
    user_admin,
)
from roundhouse.platform.metrics import LatencyMiddleware
from roundhouse.platform.services import Services
from roundhouse.platform.web import badges, errors, login, pages


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    if error.get("type") == "json_invalid":
        reason = error.get("ctx", {}).get("error", "parse error")
        return f"The request body is not valid JSON ({reason})."
    return f"{where or 'body'}: {error.get('msg', 'invalid')}"


@functools.cache
def _shared_routes() -> tuple[BaseRoute, ...]:
    """Every route of the platform, made once per process and shared by the apps made in it.

    FastAPI works out a route's parameters and models on its first request through an app
    (about a second of CPU for all of them): tests start hundreds of platforms in a process.
    """
    router = APIRouter()
    router.include_router(system.health_router)
    router.include_router(hooks.router)
    api_routers = (
        # Before repos: its GET /repo/{slug:path} would take /repo/owner/name/settings (or
        # /key, /caches, /crons, /env_vars, /permissions) as a slug.
        repo_settings.router,
        repo_caches.router,
        keys.router,
        crons.router,
        env_vars.router,
        people.router,
        forge_repos.router,
        repos.router,
        builds.router,
        # Before system: /workers/token and /workers/hello are not worker names.
        admin.router,
        system.router,
        cache.router,
        user_admin.router,
    )
    for api_router in api_routers:
        router.include_router(api_router, prefix="/api")
    router.include_router(login.router)
    # Before the pages: their /{owner}/{name} would take /owner/name.svg.
    router.include_router(badges.router)
    pages.include(router)
    return tuple(router.routes)


@functools.cache
def _prepare_routes() -> None:
    """Prepare every shared route, once per process: FastAPI prepares a route on the first
    request that meets it, so the first requests after a start (a webhook, a trigger) would
    take half a second longer. An OpenAPI schema of the routes meets every one of them."""
    spare = FastAPI()
    spare.router.routes.extend(_shared_routes())
    spare.openapi()


def create_app(
    services: Services,
    *,
    start: Callable[[], Awaitable[None]] | None = None,
    stop: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """The ASGI app; start and stop run around its serving (by default the services')."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepared = asyncio.get_running_loop().run_in_executor(None, _prepare_routes)
        await (start or services.start)()
        try:
            yield
        finally:
            await (stop or services.stop)()
            await prepared

    app = FastAPI(
        title="Roundhouse", lifespan=lifespan, docs_url="/api/docs", openapi_url="/api/openapi.json"
    )
    app.state.services = services
    app.add_middleware(LatencyMiddleware, histogram=services.metrics.api)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [_describe(e) for e in exc.errors()]
        status = 400 if any(e.get("type") == "json_invalid" for e in exc.errors()) else 422
        if errors.is_page(request):
            return await errors.error_page(request, status, "; ".join(problems))
        return JSONResponse(
            {"error": "; ".join(problems), "problems": problems}, status_code=status
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if errors.is_page(request):
            return await errors.error_page(request, exc.status_code, str(exc.detail), exc.headers)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    app.router.routes.extend(_shared_routes())
    return app
