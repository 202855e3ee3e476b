"""Browser sessions in signed cookies, and the CSRF tokens of the forms they post.

The cookie holds the user id and a random nonce, signed with a key derived from the instance
key (so every platform process accepts it); the CSRF token is an HMAC of the nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

SESSION_COOKIE = "roundhouse_session"
# Before signing in, the login form's CSRF token is tied to this cookie (a random nonce).
PRESESSION_COOKIE = "roundhouse_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class BrowserSession:
    user_id: int
    nonce: str


class SessionSigner:
    """Issues and reads session cookies; makes and checks CSRF tokens."""

    def __init__(self, key: bytes, max_age: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="roundhouse-session")
        self._csrf_key = hmac.new(key, b"roundhouse-csrf", hashlib.sha256).digest()
        self.max_age = max_age
        self.secure = secure

    def read(self, connection: HTTPConnection) -> BrowserSession | None:
        value = connection.cookies.get(SESSION_COOKIE)
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age)
        except BadSignature:  # also expired ones (SignatureExpired is a BadSignature)
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), int):
            return None
        return BrowserSession(data["u"], str(data.get("n", "")))

    def sign_in(self, response: Response, user_id: int) -> None:
        value = self._serializer.dumps({"u": user_id, "n": secrets.token_urlsafe(16)})
        self._set(response, SESSION_COOKIE, value, self.max_age)
        response.delete_cookie(PRESESSION_COOKIE, path="/")

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    def csrf_nonce(self, connection: HTTPConnection) -> str | None:
        """What the CSRF token of this browser is made from: its session, else its pre-session
        cookie; None when it has neither yet."""
        session = self.read(connection)
        if session is not None:
            return session.nonce
        return connection.cookies.get(PRESESSION_COOKIE) or None

    def csrf_token(self, nonce: str) -> str:
        return hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, connection: HTTPConnection, token: str) -> bool:
        nonce = self.csrf_nonce(connection)
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf_token(nonce).encode(), token.encode())

    def csrf_for_page(self, connection: HTTPConnection) -> tuple[str, str | None]:
        """The token a page embeds, and the pre-session nonce to give a new browser first
        (remember_presession) or None when it has one."""
        nonce = self.csrf_nonce(connection)
        fresh = None
        if nonce is None:
            nonce = fresh = secrets.token_urlsafe(16)
        return self.csrf_token(nonce), fresh

    def remember_presession(self, response: Response, nonce: str) -> None:
        self._set(response, PRESESSION_COOKIE, nonce, self.max_age)

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )
