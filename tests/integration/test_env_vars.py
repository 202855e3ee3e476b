"""Repository settings variables through the API and `roundhouse env`: values stored
encrypted, private values never returned, names and duplicates checked, Travis's spelling of
the fields accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from sqlalchemy import select

from roundhouse.db.models import EnvVar
from tests.conftest import SQLITE_ONLY, GitRepo, Running
from tests.integration.test_cli import assert_one_error_line, run

# Only the API and the CLI are under test here: one database is enough.
pytestmark = SQLITE_ONLY


async def added(system: Running, repo: GitRepo) -> str:
    repo.commit({"README.md": "hi\n"})
    slug: str = (await system.add_repo(repo))["slug"]
    return slug


async def test_the_api_keeps_private_values_to_itself(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = await added(system, git_repo())
    url = f"/api/repo/{slug}/env_vars"

    private = await system.http.post(url, json={"name": "TOKEN", "value": "hunter2-secret"})
    assert private.status_code == 201, private.text
    assert "value" not in private.json() and private.json()["public"] is False
    # Travis's API v3 spelling, scoped to one branch.
    public = await system.http.post(
        url,
        json={"env_var.name": "MODE", "env_var.value": "fast", "env_var.public": True,
              "env_var.branch": "main"},
    )  # fmt: skip
    assert public.status_code == 201, public.text
    assert public.json()["value"] == "fast" and public.json()["branch"] == "main"

    listed = (await system.http.get(url)).json()["env_vars"]
    assert [(v["name"], v.get("value")) for v in listed] == [("MODE", "fast"), ("TOKEN", None)]
    assert "hunter2" not in json.dumps(listed)
    async with system.instance.services.ctx.sessions() as session:
        stored = list(await session.scalars(select(EnvVar.value)))
    assert len(stored) == 2 and all(v.startswith("v1:") for v in stored)
    assert not any("hunter2" in v or "fast" in v for v in stored)

    var_id = private.json()["id"]
    flipped = await system.http.patch(f"{url}/{var_id}", json={"public": True})
    assert flipped.status_code == 422
    assert "TOKEN is private: to make it public, send its new value too." in flipped.text
    changed = await system.http.patch(f"/api/repo/{slug}/env_var/{var_id}", json={"value": "new"})
    assert changed.status_code == 200 and "value" not in changed.json()

    duplicate = await system.http.post(url, json={"name": "TOKEN", "value": "x"})
    assert duplicate.status_code == 409
    assert f"{slug} has a variable TOKEN for all branches already" in duplicate.text
    other_branch = await system.http.post(url, json={"name": "TOKEN", "value": "x", "branch": "b"})
    assert other_branch.status_code == 201
    bad = await system.http.post(url, json={"name": "1-BAD", "value": "x"})
    assert bad.status_code == 422 and "a shell variable name" in bad.text

    assert (await system.http.delete(f"{url}/{var_id}")).status_code == 204
    assert (await system.http.get(f"{url}/{var_id}")).status_code == 404
    async with httpx.AsyncClient(base_url=system.url) as anonymous:
        assert (await anonymous.get(url)).status_code == 401


async def test_roundhouse_env_sets_lists_and_unsets(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = await added(system, git_repo())

    made = await run(system, "env", "set", slug, "GREETING", "hello", "--public")
    assert made.code == 0 and f"Added GREETING=hello on {slug}" in made.out, made.err
    secret = await run(system, "env", "set", slug, "API_KEY", stdin="from-stdin-secret\n")
    assert secret.code == 0 and f"Added API_KEY=[secure] on {slug}" in secret.out, secret.err
    scoped = await run(system, "env", "set", slug, "API_KEY", "other", "--branch", "dev")
    assert scoped.code == 0, scoped.err
    again = await run(system, "env", "set", slug, "GREETING", "bonjour", "--public")
    assert f"Changed GREETING=bonjour on {slug}" in again.out

    listed = await run(system, "env", "list", slug)
    assert listed.out.splitlines() == [
        "API_KEY=[secure]",
        "API_KEY=[secure]  (branch dev)",
        "GREETING=bonjour",
    ]
    async with system.instance.services.ctx.sessions() as session:
        row = await session.scalar(
            select(EnvVar).where(EnvVar.branch.is_(None), EnvVar.name == "API_KEY")
        )
        assert row is not None
        value = system.instance.services.ctx.at_rest.open(row.value)
    assert value == "from-stdin-secret"

    removed = await run(system, "env", "unset", slug, "API_KEY", "--branch", "dev")
    assert removed.code == 0 and f"Removed API_KEY from {slug}" in removed.out
    missing = await run(system, "env", "unset", slug, "API_KEY", "--branch", "dev")
    assert (
        f"{slug} has no variable API_KEY for branch dev; `roundhouse env list {slug}` shows them."
        in assert_one_error_line(missing)
    )
    names = json.loads((await run(system, "env", "list", slug, "--json")).out)
    assert [(v["name"], v["branch"]) for v in names] == [("API_KEY", None), ("GREETING", None)]
