"""What the forge API clients of the sync share: a repository as a forge lists it, the
errors of a sync, and paged GET requests that follow the `Link: <…>; rel="next"` header.

A next page is only followed on the API's own host: the token goes with each request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from roundhouse.platform.roles import Role

# Pages followed at most: 200 pages of 100 is more than anybody's repositories, and a forge
# whose "next" never ends must not keep a sync running until its lease is taken away.
MAX_PAGES = 200


class SyncError(Exception):
    """A sync could not finish; the text is one sentence for the user's sync error."""


class SignInAgain(SyncError):
    """The forge refused the stored token (401): the person must sign in with it again."""


@dataclass(frozen=True)
class ForgeRepo:
    """One repository as the forge lists it, with the signed-in person's role on it."""

    forge_id: str
    slug: str
    clone_url: str
    web_url: str
    default_branch: str | None
    private: bool
    role: Role


@dataclass(frozen=True)
class ForgeApi:
    """How one forge's API lists the person's repositories and shows one of them."""

    name: str
    title: str
    list_path: str
    list_params: Mapping[str, str]
    # The path of one repository, from its slug (owner/name, or GitLab's path).
    one_path: Callable[[str], str]
    # A listed item as a ForgeRepo; None when the person has no role on it.
    parse: Callable[[dict[str, Any]], ForgeRepo | None]
    headers: Mapping[str, str] = field(default_factory=dict)


def slug_path(slug: str) -> str:
    """owner/name as two path segments, each escaped."""
    return "/".join(quote(part, safe="") for part in slug.split("/"))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


async def _get(
    http: httpx.AsyncClient,
    api: ForgeApi,
    url: str,
    token: str,
    params: Mapping[str, str] | None = None,
    *,
    missing_ok: bool = False,
) -> httpx.Response:
    headers = {**api.headers, "Authorization": f"Bearer {token}"}
    path = urlsplit(url).path
    try:
        response = await http.get(url, params=params, headers=headers)
    except httpx.HTTPError as error:
        raise SyncError(f"{api.title} could not be reached at {url} ({error!r}).") from None
    if response.status_code == 401:
        raise SignInAgain(
            f"{api.title} refused the stored login (401 on GET {path}): sign in with"
            f" {api.title} again to sync."
        )
    if response.status_code == 404 and missing_ok:
        return response
    if response.status_code >= 400:
        raise SyncError(
            f"{api.title} answered {response.status_code} to GET {path}{_reason(response)}."
        )
    return response


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return f" ({message})" if isinstance(message, str) and message else ""


def _json(response: httpx.Response, api: ForgeApi, kind: type) -> Any:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, kind):
        what = "a list" if kind is list else "an object"
        raise SyncError(f"{api.title} did not answer {what} of repositories at {response.url}.")
    return data


async def list_repositories(
    http: httpx.AsyncClient, api: ForgeApi, api_url: str, token: str
) -> list[ForgeRepo]:
    """Every repository the token's owner has a role on, all pages followed."""
    found: dict[str, ForgeRepo] = {}
    url: str | None = api_url + api.list_path
    params: Mapping[str, str] | None = api.list_params
    for _ in range(MAX_PAGES):
        if url is None:
            return sorted(found.values(), key=lambda repo: repo.slug)
        response = await _get(http, api, url, token, params)
        for item in _json(response, api, list):
            repo = api.parse(item) if isinstance(item, dict) else None
            if repo is not None:
                found[repo.slug] = repo
        url, params = response.links.get("next", {}).get("url"), None
        if url is not None and _origin(url) != _origin(api_url):
            raise SyncError(f"{api.title} sent a next page on another host ({url}).")
    raise SyncError(f"{api.title} listed more than {MAX_PAGES} pages of repositories.")


async def one_repository(
    http: httpx.AsyncClient, api: ForgeApi, api_url: str, token: str, slug: str
) -> ForgeRepo | None:
    """The repository as the forge shows it to the token's owner now; None: no role on it."""
    response = await _get(http, api, api_url + api.one_path(slug), token, missing_ok=True)
    # Forges answer 404 for a private repository the person may not see.
    return None if response.status_code == 404 else api.parse(_json(response, api, dict))


def hub_role(permissions: Any) -> Role | None:
    """GitHub's and Gitea's `permissions` {admin, maintain, push, triage, pull} as a role."""
    if not isinstance(permissions, dict):
        return None
    if permissions.get("admin"):
        return "admin"
    if permissions.get("push") or permissions.get("maintain"):
        return "push"
    return "pull" if permissions.get("pull") or permissions.get("triage") else None


def text_of(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return str(value) if isinstance(value, str | int) and str(value) else None
