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
    return templates.TemplateResponse(request, name, {"user": user, **context})
