"""GitLab's API for the sync: `GET /api/v4/projects?membership=true` (the projects the person
is a member of, directly or through a group, 100 a page) and `GET /api/v4/projects/:id`.

A project's `permissions` hold the person's `project_access` and `group_access` levels; the
higher one counts: Maintainer (40) and Owner (50) are admin, Developer (30) push, Guest (10),
Planner (15) and Reporter (20) pull, Minimal access (5) nothing. A member whose levels GitLab
leaves out (both null, as for some shared groups) gets pull. Only `public` projects are public
here: `internal` ones are for the GitLab's signed-in users, so private in Roundhouse.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from roundhouse.platform.roles import Role
from roundhouse.platform.sync.common import ForgeApi, ForgeRepo, text_of

MAINTAINER, DEVELOPER, GUEST = 40, 30, 10


def role_of(permissions: Any) -> Role | None:
    levels = []
    for key in ("project_access", "group_access"):
        access = permissions.get(key) if isinstance(permissions, dict) else None
        level = access.get("access_level") if isinstance(access, dict) else None
        if isinstance(level, int):
            levels.append(level)
    if not levels:
        return "pull"
    best = max(levels)
    if best >= MAINTAINER:
        return "admin"
    if best >= DEVELOPER:
        return "push"
    return "pull" if best >= GUEST else None


def parse(item: dict[str, Any]) -> ForgeRepo | None:
    role = role_of(item.get("permissions"))
    slug, clone_url, ident = (
        text_of(item, k) for k in ("path_with_namespace", "http_url_to_repo", "id")
    )
    if role is None or slug is None or clone_url is None or ident is None:
        return None
    return ForgeRepo(
        forge_id=ident,
        slug=slug,
        clone_url=clone_url,
        web_url=text_of(item, "web_url") or "",
        default_branch=text_of(item, "default_branch"),
        private=item.get("visibility") != "public",
        role=role,
    )


API = ForgeApi(
    name="gitlab",
    title="GitLab",
    list_path="/projects",
    list_params={"membership": "true", "per_page": "100", "order_by": "id", "sort": "asc"},
    # GitLab names a project by its id or its URL-encoded path ("group%2Fsub%2Fproject").
    one_path=lambda slug: f"/projects/{quote(slug, safe='')}",
    parse=parse,
    headers={"Accept": "application/json"},
)
