"""OAuth login with GitHub (and GitHub Enterprise), Gitea and GitLab: each forge's endpoints
as it documents them, the authorization URL (authlib's RFC 6749 requests), and the code
exchanged for the forge's account over httpx.

The forge's web address comes from the `oauth` setting; its API address is derived from it
(github.com's is api.github.com; GitHub Enterprise's <url>/api/v3) unless given. The scopes
asked for by default are those the code-host sync needs (platform/sync/) to list the person's
repositories and their permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request

from roundhouse import tlsclient
from roundhouse.platform.accounts import ForgeAccount
from roundhouse.settings import OAuthApp, Settings, oauth_callback

TITLES = {"github": "GitHub", "gitea": "Gitea", "gitlab": "GitLab"}
GITHUB = "https://github.com"
# GitHub answers the token request in form encoding unless asked for JSON.
JSON = {"Accept": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class OAuthFailed(Exception):
    """The forge did not let the person in; the text says why in one sentence."""


@dataclass(frozen=True)
class Tokens:
    """What a token request got: the access token, and the refresh token if the forge gave
    one (GitLab's and Gitea's access tokens expire; GitHub's OAuth apps' do not)."""

    access: str
    refresh: str | None


@dataclass(frozen=True)
class Provider:
    name: str
    client_id: str
    client_secret: str
    callback: str
    authorize_url: str
    token_url: str
    api_url: str
    scope: str
    # The user API's names of the login and the display name.
    login_field: str
    name_field: str

    @property
    def title(self) -> str:
        return TITLES[self.name]

    @property
    def user_url(self) -> str:
        return f"{self.api_url}/user"

    def authorization(self) -> tuple[str, str]:
        """The forge's consent page to send the browser to, and the state it will bring back."""
        state = generate_token(32)
        url = prepare_grant_uri(
            self.authorize_url,
            self.client_id,
            "code",
            redirect_uri=self.callback,
            scope=self.scope or None,
            state=state,
        )
        return str(url), state

    async def account(self, code: str) -> ForgeAccount:
        """Exchange the code for a token, and ask the forge who that token belongs to."""
        body = self._token_body("authorization_code", code=code, redirect_uri=self.callback)
        try:
            async with tlsclient.async_client(timeout=20, headers=JSON) as http:
                answer = await http.post(self.token_url, content=body, headers=FORM)
                tokens = self._tokens(answer, "the login code")
                bearer = {"Authorization": f"Bearer {tokens.access}"}
                user = await http.get(self.user_url, headers=bearer)
        except httpx.HTTPError as error:
            raise OAuthFailed(f"{self.title} could not be reached ({error}).") from None
        if user.status_code != 200:
            raise OAuthFailed(f"{self.title} answered {user.status_code} when asked who signed in.")
        data = _json(user)
        if "id" not in data or not data.get(self.login_field):
            raise OAuthFailed(f"{self.title}'s user API did not say who signed in.")
        return ForgeAccount(
            provider=self.name,
            external_id=str(data["id"]),
            login=str(data[self.login_field]),
            name=str(data.get(self.name_field) or ""),
            email=str(data.get("email") or ""),
            access_token=tokens.access,
            refresh_token=tokens.refresh,
        )

    async def refresh(self, refresh_token: str) -> Tokens:
        """New tokens for an expired access token (RFC 6749, section 6)."""
        body = self._token_body("refresh_token", refresh_token=refresh_token)
        try:
            async with tlsclient.async_client(timeout=20, headers=JSON) as http:
                answer = await http.post(self.token_url, content=body, headers=FORM)
        except httpx.HTTPError as error:
            raise OAuthFailed(f"{self.title} could not be reached ({error}).") from None
        return self._tokens(answer, "the stored login")

    def _token_body(self, grant_type: str, **fields: str) -> str:
        return str(
            prepare_token_request(
                grant_type, client_id=self.client_id, client_secret=self.client_secret, **fields
            )
        )

    def _tokens(self, answer: httpx.Response, what: str) -> Tokens:
        # GitHub says a bad code with 200 and an "error" field; the others with 400 or 401.
        data = _json(answer)
        token = OAuth2Token.from_dict(data) if "access_token" in data else None
        if answer.status_code != 200 or token is None:
            reason = data.get("error_description") or data.get("error") or answer.status_code
            raise OAuthFailed(f"{self.title} refused {what} ({reason}); sign in again.")
        refresh = token.get("refresh_token")
        return Tokens(str(token["access_token"]), str(refresh) if refresh else None)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Endpoints:
    """Where a forge has its OAuth endpoints (under its web address) and its user API."""

    default_url: str
    authorize: str
    token: str
    api: str  # under the web address, unless the forge's own API host (github.com)
    scope: str
    login_field: str
    name_field: str


ENDPOINTS = {
    "github": Endpoints(
        GITHUB,
        "/login/oauth/authorize",
        "/login/oauth/access_token",
        "/api/v3",
        # repo: GitHub has no narrower scope that shows private repositories.
        "read:user user:email repo",
        "login",
        "name",
    ),
    "gitea": Endpoints(
        "",
        "/login/oauth/authorize",
        "/login/oauth/access_token",
        "/api/v1",
        "",
        "login",
        "full_name",
    ),
    "gitlab": Endpoints(
        "https://gitlab.com",
        "/oauth/authorize",
        "/oauth/token",
        "/api/v4",
        "read_user read_api",
        "username",
        "name",
    ),
}


def provider(settings: Settings, forge: str) -> Provider | None:
    """The configured OAuth application of this forge, or None."""
    app: OAuthApp | None = settings.oauth.get(forge)  # type: ignore[call-overload]
    if app is None:
        return None
    where = ENDPOINTS[forge]
    base = app.url or where.default_url
    api = app.api_url or ("https://api.github.com" if base == GITHUB else base + where.api)
    return Provider(
        name=forge,
        client_id=app.client_id,
        client_secret=app.client_secret.get_secret_value(),
        callback=oauth_callback(settings, forge),
        authorize_url=base + where.authorize,
        token_url=base + where.token,
        api_url=api,
        scope=where.scope if app.scope is None else app.scope,
        login_field=where.login_field,
        name_field=where.name_field,
    )


def configured(settings: Settings) -> list[Provider]:
    found = (provider(settings, forge) for forge in sorted(settings.oauth))
    return [p for p in found if p is not None]
