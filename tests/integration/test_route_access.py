"""Every route of the app, read from its route table, is called as anonymous, as a signed-in
user without a role on a private repository, and as a user who may only pull it: each must
refuse what they may not do (401, 403, or 404 where the repository must stay unknown).

A new route fails here until it checks access, or is put in one of the short lists below
with its reason. The data is real: a private repository with a finished build, job and log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from starlette.routing import BaseRoute, Mount

from tests.conftest import GitRepo, Running
from tests.integration.people import PrivateProject, add_user, client, grant, private_project

# Routes anybody may call: each checks something else or shows nothing private.
PUBLIC = {
    "/healthz": "liveness, no data",
    "/readyz": "readiness, no data",
    "/metrics": "Prometheus scrapers carry no token; counts without names",
    "/hooks/{forge_name}": "webhooks verify the forge's signature with the repository's secret",
    "/login": "the login form and its POST (CSRF-checked)",
    "/logout": "signing out (CSRF-checked)",
    "/auth/{forge}": "starts OAuth with a forge",
    "/auth/{forge}/callback": "OAuth callback, checks the state it started with",
    "/static": "CSS and JavaScript",
    "/api/docs": "API documentation page",
    "/docs/oauth2-redirect": "API documentation page",
    "/api/openapi.json": "API description, no data",
    "/api/workers/hello": "a worker checks its own worker token (compared in constant time)",
    "/redoc": "API documentation page",
}
# Lists that anybody may read, each showing only what the caller may pull; the badge of a
# repository the caller may not pull reads "unknown".
FILTERED = {("GET", "/"), ("GET", "/api/repos"), ("GET", "/{owner}/{name}.svg")}
# Routes about the caller themself, or that any signed-in user may use.
SIGNED_IN = {
    ("GET", "/api/user"),
    ("GET", "/api/tokens"),
    ("POST", "/api/tokens"),
    ("DELETE", "/api/tokens/{token_id}"),
    ("POST", "/api/repos"),
    ("GET", "/api/user/forge_repos"),
    ("POST", "/api/user/forge_repos/{forge_repo_id}/activate"),
    ("GET", "/api/workers"),
    ("GET", "/api/queues"),
}
# Reads that need admin on the repository (Travis: settings are for admins).
ADMIN_READS = {
    "/api/repo/{slug:path}/settings",
    "/{owner}/{name}/settings",
    "/api/repo/{slug:path}/permissions",
    "/api/repo/{slug:path}/env_vars",
    "/api/repo/{slug:path}/env_vars/{var_id}",
    "/api/repo/{slug:path}/env_var/{var_id}",
}
# Streams that never end: a reader's success is not awaited. The events stream names what
# it follows in its query (topic=build:ID), so it is about a repository too.
ENDLESS = {"/api/events"}
REPOSITORY_PARAMS = ("{slug", "{build_id}", "{job_id}", "{repo_id}", "{owner}/{name}")


def flattened(app: FastAPI) -> Iterator[tuple[BaseRoute, str, set[str]]]:
    """Each route with its full path: newer FastAPI keeps included routers whole in
    app.routes and lists their routes through iter_route_contexts."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:
        for route in app.routes:
            yield route, str(getattr(route, "path", "")), set(getattr(route, "methods", ()) or ())
        return
    for context in contexts(app.routes):
        yield context.original_route, str(context.path), set(context.methods or ())


def routes(system: Running) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route, path, methods in flattened(system.instance.app):
        if isinstance(route, Mount):
            assert path in PUBLIC, f"{path} is mounted without an access check"
        elif path not in PUBLIC:
            found += [(method, path) for method in sorted(methods) if method != "HEAD"]
    return found


def concrete(path: str, project: PrivateProject) -> str:
    """The path with its parameters naming the private project's objects."""
    owner, name = project.slug.split("/")
    values = {
        "slug": project.slug,
        "build_id": str(project.build_id),
        "job_id": str(project.job_id),
        "repo_id": str(project.repo_id),
        "owner": owner,
        "name": name if "{owner}/{name}" in path else "cache-linux",
        "branch": "main",
        "login": "reader",
        "action": "suspend",
        "token_id": "1",
        "forge_repo_id": "1",
        "var_id": "1",
    }
    filled = re.sub(r"{(\w+)(:\w+)?}", lambda m: values[m.group(1)], path)
    if path == "/api/events":
        filled += f"?topic=build:{project.build_id}"
    return filled


def repository_scoped(path: str) -> bool:
    return any(part in path for part in REPOSITORY_PARAMS) or path in ENDLESS


async def call(http: httpx.AsyncClient, method: str, path: str) -> int:
    """The status of the call; a page's 401 is a redirect to the login form, and counts as
    the 401 it is."""
    body = {} if method in ("POST", "PUT", "PATCH") else None
    answer = await http.request(method, path, json=body)
    if answer.status_code == 303 and answer.headers["location"].startswith("/login?next="):
        return 401
    return answer.status_code


async def test_every_route_checks_access(system: Running, git_repo: Callable[..., GitRepo]) -> None:
    project = await private_project(system, git_repo)
    outsider_token = await add_user(system, "outsider")
    reader_token = await add_user(system, "reader")
    await grant(system, project.slug, "reader", "pull")
    stored = await system.http.put(
        concrete("/api/cache/{repo_id}/{branch:path}/{name}", project), content=b"cache"
    )
    assert stored.status_code == 201, stored.text

    table = routes(system)
    assert len(table) > 30  # the walk reached the API, the pages and the new routes
    wrong: list[str] = []
    async with (
        client(system) as anonymous,
        client(system, outsider_token) as outsider,
        client(system, reader_token) as reader,
    ):
        for method, template in table:
            path = concrete(template, project)
            seen = {
                "anonymous": await call(anonymous, method, path),
                "outsider": await call(outsider, method, path),
            }
            writes = method not in ("GET", "HEAD")
            if writes or template not in ENDLESS:
                seen["reader"] = await call(reader, method, path)
            expected = expectations(method, template, writes)
            if (method, template) in FILTERED:
                listing = (await anonymous.get(path)).text + (await outsider.get(path)).text
                if project.slug in listing:
                    wrong.append(f"{method} {template} lists the private repository")
            for who, status in seen.items():
                if who in expected and not expected[who](status):
                    wrong.append(f"{method} {template} as {who}: {status}")
    assert not wrong, "routes that let the wrong people in:\n" + "\n".join(wrong)


def expectations(method: str, template: str, writes: bool) -> dict[str, Callable[[int], bool]]:
    """Who gets what: repository routes hide the private repository (404) from those who
    may not pull it, refuse pull-only users writes (403), and serve them reads."""
    if (method, template) in FILTERED:
        return {"anonymous": _ok, "outsider": _ok}
    if (method, template) in SIGNED_IN:
        return {"anonymous": _is(401)}
    if repository_scoped(template):
        return {
            # The cache answers 401 before it looks anything up: a token is needed at all.
            "anonymous": _is(401) if template.startswith("/api/cache/") else _is(404),
            "outsider": _is(404),
            "reader": _is(403) if writes or template in ADMIN_READS else _ok,
        }
    # Installation-wide routes: instance administrators only.
    return {"anonymous": _is(401), "outsider": _is(403), "reader": _is(403)}


def _ok(status: int) -> bool:
    return status < 400


def _is(expected: int) -> Callable[[int], bool]:
    return lambda status: status == expected
