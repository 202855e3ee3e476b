"""GitHub's and GitHub Enterprise Server's REST API for the sync: `GET /user/repos` (the
repositories the person owns, collaborates on or reaches through an organisation, 100 a page)
and `GET /repos/{owner}/{repo}`, each with the person's `permissions`.
"""

from __future__ import annotations

from typing import Any

from roundhouse.platform.sync.common import ForgeApi, ForgeRepo, hub_role, slug_path, text_of


def parse(item: dict[str, Any]) -> ForgeRepo | None:
    """A repository of GitHub's API (Gitea's has the same field names)."""
    role = hub_role(item.get("permissions"))
    slug, clone_url, ident = (text_of(item, k) for k in ("full_name", "clone_url", "id"))
    if role is None or slug is None or clone_url is None or ident is None:
        return None
    return ForgeRepo(
        forge_id=ident,
        slug=slug,
        clone_url=clone_url,
        web_url=text_of(item, "html_url") or "",
        default_branch=text_of(item, "default_branch"),
        private=bool(item.get("private", True)),
        role=role,
    )


API = ForgeApi(
    name="github",
    title="GitHub",
    list_path="/user/repos",
    list_params={"per_page": "100"},
    one_path=lambda slug: f"/repos/{slug_path(slug)}",
    parse=parse,
    headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
)
