"""The pages' Jinja2 templates and how a page is rendered: every template gets the signed-in
user (or None) besides what the route passes.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

WEB = resources.files("roundhouse.platform.web")
templates = Jinja2Templates(directory=str(WEB / "templates"))


def render(request: Request, name: str, user: Any, **context: Any) -> HTMLResponse:
    """The page, with this browser's CSRF token for its forms and buttons."""
    signer = request.app.state.services.ctx.session_signer
    csrf_token, fresh = signer.csrf_for_page(request)
    response = templates.TemplateResponse(
        request, name, {"user": user, "csrf_token": csrf_token, **context}
    )
    if fresh is not None:
        signer.remember_presession(response, fresh)
    return response
