"""Session cookies and CSRF tokens without a server: flags, tampering, and what a token is
tied to (the session once signed in, the pre-session cookie before).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from roundhouse.platform.sessions import PRESESSION_COOKIE, SESSION_COOKIE, SessionSigner


def request_with(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request({"type": "http", "headers": [(b"cookie", header.encode())]})


def cookie_of(response: Response, name: str) -> tuple[str, str]:
    """(value, the whole Set-Cookie header) of one cookie the response sets."""
    for key, value in response.raw_headers:
        text = value.decode()
        if key == b"set-cookie" and text.startswith(f"{name}="):
            return text.split(";")[0].split("=", 1)[1], text
    raise AssertionError(f"no cookie {name}")


def test_https_sessions_are_secure_and_tampering_is_refused() -> None:
    signer = SessionSigner(b"k" * 32, max_age=3600, secure=True)
    response = Response()
    signer.sign_in(response, 42)
    value, header = cookie_of(response, SESSION_COOKIE)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=lax" in header
    session = signer.read(request_with({SESSION_COOKIE: value}))
    assert session is not None and session.user_id == 42
    forged = value.replace(value[2], "A" if value[2] != "A" else "B", 1)
    assert signer.read(request_with({SESSION_COOKIE: forged})) is None
    other_key = SessionSigner(b"x" * 32, max_age=3600, secure=True)
    assert other_key.read(request_with({SESSION_COOKIE: value})) is None


def test_csrf_tokens_belong_to_one_browser() -> None:
    signer = SessionSigner(b"k" * 32, max_age=3600, secure=False)
    token, fresh = signer.csrf_for_page(request_with({}))
    assert fresh is not None
    browser = request_with({PRESESSION_COOKIE: fresh})
    assert signer.csrf_valid(browser, token)
    assert not signer.csrf_valid(request_with({PRESESSION_COOKIE: "another"}), token)
    assert not signer.csrf_valid(request_with({}), token)
    assert not signer.csrf_valid(browser, "")

    response = Response()
    signer.sign_in(response, 7)
    session, _ = cookie_of(response, SESSION_COOKIE)
    signed_in = request_with({SESSION_COOKIE: session, PRESESSION_COOKIE: fresh})
    # Once signed in, the token of the login page is stale: it was tied to the pre-session.
    assert not signer.csrf_valid(signed_in, token)
    page_token, none = signer.csrf_for_page(signed_in)
    assert none is None and signer.csrf_valid(signed_in, page_token)
