"""The pages' Jinja2 templates and how a page is rendered: every template gets the signed-in
user (or None), the CSRF token and the flash message besides what the route passes.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from roundhouse.platform.web import flash

WEB = resources.files("roundhouse.platform.web")
templates = Jinja2Templates(directory=str(WEB / "templates"))


def render(request: Request, name: str, user: Any, **context: Any) -> HTMLResponse:
    """The page, with this browser's CSRF token for its forms and buttons, and the flash
    message a form left for it (shown once)."""
    signer = request.app.state.services.ctx.session_signer
    csrf_token, fresh = signer.csrf_for_page(request)
    shown = {"user": user, "csrf_token": csrf_token, "flash": flash.read(request)}
    response = templates.TemplateResponse(request, name, {**shown, **context})
    flash.clear(request, response)
    if fresh is not None:
        signer.remember_presession(response, fresh)
    return response
