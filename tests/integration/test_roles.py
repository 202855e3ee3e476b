"""Roles on a running Roundhouse (SQLite and PostgreSQL): push users steer builds, pull users
only read, owner-level admins change every repository of their owner, instance admins see
everything, and suspended users can do nothing, not even have a pushed commit built.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from roundhouse.db.models import Identity, User
from tests.conftest import GitRepo, Running
from tests.forges import ConnectRepo, deliver
from tests.integration.people import add_user, client, grant, private_project
from tests.integration.test_webhooks import push_payload, request_of


async def test_push_steers_pull_reads_and_lists_show_only_readable_repositories(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    project = await private_project(system, git_repo)
    pusher, puller = await add_user(system, "pusher"), await add_user(system, "puller")
    outsider = await add_user(system, "nobody")
    await grant(system, project.slug, "pusher", "push")
    await grant(system, project.slug, "puller", "pull")
    restart = f"/api/build/{project.build_id}/restart"
    async with client(system, pusher) as push, client(system, puller) as pull:
        log = await pull.get(f"/api/job/{project.job_id}/log.txt")
        assert "hello from a private build" in log.text
        assert (await pull.post(restart)).status_code == 403
        assert (await push.post(restart)).status_code == 202
        assert (await push.get(f"/api/repo/{project.slug}")).json()["role"] == "push"
        # Settings are for admins (Travis's rule), push is not enough.
        settings = await push.patch(f"/api/repo/{project.slug}/settings", json={"poll": False})
        assert settings.status_code == 403
        assert "push access" in settings.json()["error"]
        listed = [r["slug"] for r in (await pull.get("/api/repos")).json()["repositories"]]
        assert project.slug in listed
    async with client(system, outsider) as other, client(system) as anonymous:
        for caller in (other, anonymous):
            listed = [r["slug"] for r in (await caller.get("/api/repos")).json()["repositories"]]
            assert project.slug not in listed
            assert (await caller.get(f"/api/job/{project.job_id}/log.txt")).status_code == 404
            page = await caller.get(f"/{project.slug}/builds/{project.build_id}")
            assert page.status_code == 404


async def test_owner_admins_manage_every_repository_of_their_owner(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    first = await private_project(system, git_repo, owner="acme")
    other = git_repo(owner="acme_")  # "_" must not match like a LIKE wildcard
    added = await system.http.post("/api/repos", json={"url": other.url, "private": True})
    elsewhere = added.json()["slug"]
    token = await add_user(system, "lead")
    owner_admin = await system.http.put("/api/owners/acme/admins/lead")
    assert owner_admin.status_code == 200, owner_admin.text
    async with client(system, token) as lead:
        changed = await lead.patch(f"/api/repo/{first.slug}/settings", json={"poll": False})
        assert (changed.status_code, changed.json()["poll"]) == (200, False)
        granted = await lead.put(f"/api/repo/{first.slug}/permissions/admin", json={"role": "pull"})
        assert granted.status_code == 200
        assert (await lead.get(f"/api/repo/{elsewhere}")).status_code == 404
        listed = [r["slug"] for r in (await lead.get("/api/repos")).json()["repositories"]]
        assert first.slug in listed and elsewhere not in listed
        # Owner admins are not instance admins.
        assert (await lead.get("/api/users")).status_code == 403


async def test_a_suspended_user_is_refused_and_their_pushes_do_not_build(
    system: Running, git_repo: Callable[..., GitRepo], connect_repo: ConnectRepo
) -> None:
    token = await add_user(system, "mallory")
    async with system.instance.services.ctx.sessions() as session, session.begin():
        mallory = await session.scalar(select(User.id).where(User.login == "mallory"))
        assert mallory is not None
        # "6543" is the sender of the GitHub push example the webhook carries.
        session.add(Identity(user_id=mallory, provider="github", external_id="1", login="6543"))
    repo = git_repo()
    sha = repo.commit({".travis.yml": "language: shell\nscript: echo pushed\n"})
    slug = "woodpecker-ci/woodpecker"
    await connect_repo(system, repo, slug, forge="github")
    await grant(system, slug, "mallory", "push")

    suspended = await system.http.patch("/api/users/mallory", json={"suspended": True})
    assert suspended.json()["suspended"] is True
    async with client(system, token) as her:
        refused = await her.get("/api/user")
        assert refused.status_code == 403
        assert refused.json()["error"].startswith("The account mallory is suspended")
        trigger = await her.post(f"/api/repo/{slug}/requests", json={"request": {"branch": "main"}})
        assert trigger.status_code == 403
    pushed = await deliver(system, "github", push_payload("github/push.branch.json", sha), "push")
    assert pushed.status_code == 202, pushed.text
    request = await request_of(system, slug, pushed.json()["request"]["id"])
    assert (request["result"], request["build_id"]) == ("rejected", None)
    assert request["reason"] == "The sender 6543 is suspended on this Roundhouse."

    await system.http.patch("/api/users/mallory", json={"suspended": False})
    async with client(system, token) as her:
        assert (await her.get("/api/user")).json()["login"] == "mallory"
    again = await deliver(system, "github", push_payload("github/push.branch.json", sha), "push")
    assert (await request_of(system, slug, again.json()["request"]["id"]))["build_id"] is not None


async def test_instance_admins_cannot_lock_themselves_out(system: Running) -> None:
    answer = await system.http.patch("/api/users/admin", json={"suspended": True})
    assert answer.status_code == 409
    assert (await system.http.get("/api/user")).json()["admin"] is True
