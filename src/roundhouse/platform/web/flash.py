"""Flash messages: one sentence a form handler leaves for the page it redirects to (POST,
redirect, GET), carried in a short-lived signed cookie that the next page shows and clears.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import HTTPException
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse, Response

FLASH_COOKIE = "roundhouse_flash"
# Long enough for the redirect to be followed, short enough not to greet a later visit.
FLASH_SECONDS = 120
Kind = Literal["ok", "error"]


@dataclass(frozen=True)
class Flash:
    message: str
    kind: Kind


def _serializer(connection: HTTPConnection) -> URLSafeTimedSerializer:
    # Signed so that nobody can make the site say a sentence of their choosing.
    key = connection.app.state.services.ctx.at_rest.derive("flash messages")
    return URLSafeTimedSerializer(key, salt="roundhouse-flash")


def leave(connection: HTTPConnection, response: Response, message: str, kind: Kind = "ok") -> None:
    value = _serializer(connection).dumps({"m": message, "k": kind})
    response.set_cookie(
        FLASH_COOKIE, value, max_age=FLASH_SECONDS, path="/", httponly=True, samesite="lax"
    )


def read(connection: HTTPConnection) -> Flash | None:
    """The message left for this page, if any (a page that shows it clears it)."""
    value = connection.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        data = _serializer(connection).loads(value, max_age=FLASH_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in ("ok", "error"):
        return None
    return Flash(str(data.get("m", "")), data["k"])


def clear(connection: HTTPConnection, response: Response) -> None:
    if FLASH_COOKIE in connection.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")


async def redirect_after(
    connection: HTTPConnection, target: str, action: Callable[[], Awaitable[Any]], done: str
) -> Response:
    """Runs a button's action (an API function) and sends the browser to `target`, saying
    `done`, or the reason the action was refused (a 409: the build is still running)."""
    response = RedirectResponse(target, status_code=303)
    try:
        await action()
    except HTTPException as refused:
        leave(connection, response, str(refused.detail), "error")
    else:
        leave(connection, response, done)
    return response
