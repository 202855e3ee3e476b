"""Gitea's (and Forgejo's) API for the sync: `GET /api/v1/user/repos` (the repositories the
person owns or has been given access to, 50 a page: Gitea's default maximum) and
`GET /api/v1/repos/{owner}/{repo}`, each with the person's `permissions` {admin, push, pull}.
"""

from __future__ import annotations

from roundhouse.platform.sync import github
from roundhouse.platform.sync.common import ForgeApi, slug_path

API = ForgeApi(
    name="gitea",
    title="Gitea",
    list_path="/user/repos",
    list_params={"limit": "50"},
    one_path=lambda slug: f"/repos/{slug_path(slug)}",
    # Gitea's repository JSON uses GitHub's field names, permissions included.
    parse=github.parse,
    headers={"Accept": "application/json"},
)
