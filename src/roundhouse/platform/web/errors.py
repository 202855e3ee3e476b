"""HTML error pages: a page that refuses (404, 403, a bad address) answers a page a person can
read, and one that needs a sign-in (401) sends the browser to the login form and back.

/api/…, webhooks, probes and badges keep their JSON errors (app.py decides with is_page).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from roundhouse.db.models import User
from roundhouse.platform.web.rendering import render

NOT_PAGES = ("/api/", "/hooks/", "/static/")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "Conflict",
    422: "Not valid",
}


def is_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(NOT_PAGES) and path not in PROBES and not path.endswith(".svg")


def back_path(request: Request) -> str:
    """Where to return after signing in: the page itself, or for a form post the page the form
    was on (when that was this site)."""
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


async def _browser_user(request: Request) -> User | None:
    """Who the page header names: the session's user, if any (never raises)."""
    services = request.app.state.services
    browser = services.ctx.session_signer.read(request)
    if browser is None:
        return None
    async with services.ctx.sessions() as session:
        user: User | None = await session.get(User, browser.user_id)
    return user if user is not None and not user.suspended else None


async def error_page(
    request: Request, status: int, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    if status == 401:
        target = quote(back_path(request), safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    title = TITLES.get(status, "Something went wrong")
    user = await _browser_user(request)
    response = render(
        request,
        "error.html",
        user,
        status=status,
        title=title,
        detail=detail,
        back=back_path(request),
    )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
