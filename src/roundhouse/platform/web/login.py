"""Signing in and out: the login form (login and password, or an API token), OAuth with the
configured forges (/auth/{forge}, /auth/{forge}/callback), and signing out.

Every form here posts its CSRF token; a successful login replaces any earlier session.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from roundhouse.db.models import User
from roundhouse.platform.accounts import AccountError, authenticate, user_for_forge_account
from roundhouse.platform.api.deps import CsrfChecked, MaybeUserDep, ServicesDep
from roundhouse.platform.auth import user_for_token
from roundhouse.platform.oauth import OAuthFailed, configured, provider
from roundhouse.platform.web.pages import render

router = APIRouter()
STATE_COOKIE = "roundhouse_oauth_state"
STATE_SECONDS = 600  # time to get through the forge's consent page


def _back_to(target: str | None) -> str:
    """Only paths on this site: a login link must not send people elsewhere afterwards."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def login_page(
    request: Request, svc: ServicesDep, user: User | None, error: str | None, status: int = 200
) -> HTMLResponse:
    response = render(
        request,
        "login.html",
        user,
        error=error,
        forges=configured(svc.ctx.settings),
        next=_back_to(request.query_params.get("next")),
    )
    response.status_code = status
    return response


def signed_in(svc: ServicesDep, user: User, target: str) -> Response:
    response = RedirectResponse(_back_to(target), status_code=303)
    svc.ctx.session_signer.sign_in(response, user.id)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, svc: ServicesDep, user: MaybeUserDep) -> HTMLResponse:
    return login_page(request, svc, user, None)


@router.post("/login", response_model=None, dependencies=[CsrfChecked])
async def login(
    request: Request,
    svc: ServicesDep,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    next_page: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    async with svc.ctx.sessions() as session, session.begin():
        if token.strip():
            found = await user_for_token(session, token.strip())
            error = "That token is not valid."
        else:
            found = await authenticate(session, login.strip(), password)
            error = "The login and password do not match."
    if found is None:
        return login_page(request, svc, None, error, status=401)
    return signed_in(svc, found, next_page)


@router.post("/logout", dependencies=[CsrfChecked])
async def logout(svc: ServicesDep) -> Response:
    response = RedirectResponse("/", status_code=303)
    svc.ctx.session_signer.sign_out(response)
    return response


@router.get("/auth/{forge}")
async def oauth_start(forge: str, svc: ServicesDep) -> Response:
    found = provider(svc.ctx.settings, forge)
    if found is None:
        raise HTTPException(404, f"Signing in with {forge!r} is not set up here.")
    url, state = found.authorization()
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_SECONDS,
        path="/auth",
        httponly=True,
        samesite="lax",
        secure=svc.ctx.session_signer.secure,
    )
    return response


@router.get("/auth/{forge}/callback", response_model=None)
async def oauth_callback(
    forge: str,
    request: Request,
    svc: ServicesDep,
    user: MaybeUserDep,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    found = provider(svc.ctx.settings, forge)
    if found is None:
        raise HTTPException(404, f"Signing in with {forge!r} is not set up here.")
    expected = request.cookies.get(STATE_COOKIE, "")
    if error:
        problem = f"{found.title} did not let you in ({error})."
    elif not code or not expected or not hmac.compare_digest(expected, state):
        # Another browser's callback, or a stale one: never accept a code we did not ask for.
        problem = f"The {found.title} login expired or was not started here; sign in again."
    else:
        problem = ""
    if not problem:
        try:
            account = await found.account(code)
            at_rest = svc.ctx.at_rest
            sealed = at_rest.seal(account.access_token), at_rest.seal(account.refresh_token)
            async with svc.ctx.sessions() as session, session.begin():
                signed = await user_for_forge_account(session, account, user, *sealed)
                suspended = signed.suspended
        except (OAuthFailed, AccountError) as failed:
            problem = str(failed)
        else:
            if suspended:
                problem = "This account is suspended."
    if problem:
        response: Response = login_page(request, svc, None, problem, status=401)
    else:
        svc.sync.request(signed.id)  # each login syncs the person's repositories and roles
        response = signed_in(svc, signed, "/")
    response.delete_cookie(STATE_COOKIE, path="/auth")
    return response
