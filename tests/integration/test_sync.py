"""The code-host sync against local forge APIs speaking GitHub's, Gitea's and GitLab's
documented shapes (pages linked by `Link`): roles made, changed and removed, what is left to
activate, a forge's errors recorded with the lease given back, a killed sync's lease reset by
the reconciler, and one sync of a user at a time across platform processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from roundhouse.db.models import Identity, Permission, Repository, User, utcnow
from roundhouse.db.session import make_engine, make_sessions
from roundhouse.platform.auth import create_token
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.sync.runner import SyncRunner
from tests.conftest import GitRepo, Running, free_port, wait_for
from tests.forge_repos import ForgeRepos, Listed
from tests.integration.people import client
from tests.integration.test_cli import assert_one_error_line, run
from tests.oauth_provider import CLIENT_ID, CLIENT_SECRET

StartSystem = Callable[..., Awaitable[Running]]


@dataclass
class Person:
    user_id: int
    login: str
    token: str  # their Roundhouse API token


async def platform_with(start_system: StartSystem, forge: ForgeRepos, **extra: Any) -> Running:
    """A platform whose OAuth setting for the forge points at the fake's address."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    app = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "url": forge.url,
        "callback_url": f"{public}/auth/{forge.forge}/callback",
    }
    return await start_system(
        listen_port=port, public_url=public, oauth={forge.forge: app}, **extra
    )


async def forge_person(system: Running, forge: str, login: str, forge_token: str) -> Person:
    """A user whose forge login left `forge_token` behind (sealed, as the callback keeps it)."""
    ctx = system.instance.services.ctx
    async with ctx.sessions() as session, session.begin():
        user = User(login=login)
        session.add(user)
        await session.flush()
        session.add(
            Identity(
                user_id=user.id,
                provider=forge,
                external_id=f"{forge}-{login}",
                login=login,
                token_sealed=ctx.at_rest.seal(forge_token),
            )
        )
        return Person(user.id, login, await create_token(session, user, "tests"))


async def add_repository(
    system: Running, repo: GitRepo, slug: str, forge: str | None, **extra: Any
) -> None:
    added = await system.http.post("/api/repos", json={"url": repo.url, "slug": slug, **extra})
    assert added.status_code == 201, added.text
    if forge is not None:
        changed = await system.http.patch(f"/api/repo/{slug}/settings", json={"forge": forge})
        assert changed.status_code == 200, changed.text


async def roles_of(system: Running, user_id: int) -> dict[str, tuple[str, bool]]:
    """slug → (role, made by a sync) of the user's roles."""
    async with system.instance.services.ctx.sessions() as session:
        rows = await session.execute(
            select(Repository.slug, Permission.role, Permission.synced)
            .join(Repository, Repository.id == Permission.repository_id)
            .where(Permission.user_id == user_id)
        )
        return {slug: (role, synced) for slug, role, synced in rows}


async def user_row(system: Running, user_id: int) -> User:
    async with system.instance.services.ctx.sessions() as session:
        user = await session.get(User, user_id)
    assert user is not None
    return user


def as_person(system: Running, person: Person, *args: str) -> Awaitable[Any]:
    return run(None, *args, "--url", system.url, "--token", person.token)


@pytest.mark.parametrize("forge_name", ["github", "gitea", "gitlab"])
async def test_a_sync_makes_roles_lists_the_rest_and_a_later_sync_removes_lost_ones(
    forge_name: str,
    start_system: StartSystem,
    forge_repos: Any,
    git_repo: Callable[..., GitRepo],
) -> None:
    forge: ForgeRepos = await forge_repos(forge_name, tokens={"octo-token"})
    forge.repos = [
        Listed("acme/app", "admin", private=True),
        Listed("acme/lib", "push"),
        Listed("acme/Docs", "pull"),  # forges compare names without case
        Listed("acme/new", "admin", private=True),
        Listed("other/tool", "push"),
    ]
    system = await platform_with(start_system, forge, sync_interval=3600)
    for slug in ("acme/app", "acme/lib", "acme/docs", "acme/manual"):
        await add_repository(system, git_repo(), slug, forge_name)
    await add_repository(system, git_repo(), "other/tool", None)  # plain git: not the forge's
    octo = await forge_person(system, forge_name, "octo", "octo-token")
    granted = await system.http.put("/api/repo/acme/manual/permissions/octo", json={"role": "push"})
    assert granted.status_code == 200

    synced = await run(system, "users", "sync", "octo")
    assert synced.code == 0, synced.err
    assert synced.out.startswith("Synced octo (")
    listing = [path for path in forge.requests if "repos" in path or "projects" in path]
    assert len(listing) == 3  # five repositories, two a page
    if forge_name == "gitlab":
        assert all("membership=true" in path for path in listing)
    assert await roles_of(system, octo.user_id) == {
        "acme/app": ("admin", True),
        "acme/lib": ("push", True),
        "acme/docs": ("pull", True),
        "acme/manual": ("push", False),
    }
    async with client(system, octo.token) as http:
        app_repo = (await http.get("/api/repo/acme/app")).json()
        found = (await http.get("/api/user/forge_repos")).json()
    assert app_repo["role"] == "admin"
    assert found["sync"]["state"] == "synced"
    rows = {row["slug"]: row for row in found["forge_repositories"]}
    assert sorted(rows) == ["acme/Docs", "acme/app", "acme/lib", "acme/new", "other/tool"]
    assert rows["acme/Docs"]["active"] is True
    assert (rows["acme/new"]["active"], rows["acme/new"]["private"]) == (False, True)
    assert (rows["acme/app"]["active"], rows["acme/lib"]["role"]) == (True, "push")
    assert rows["other/tool"]["active"] is False  # the plain-git repository is another one
    available = await as_person(system, octo, "repo", "available")
    assert [line.split()[2] for line in available.out.splitlines()] == ["acme/new", "other/tool"]

    forge.repos = [repo for repo in forge.repos if repo.slug != "acme/lib"]
    forge.repos[0] = Listed("acme/app", "push", private=True)
    outcome = await system.instance.services.sync.sync_user(octo.user_id)
    assert (outcome.ran, outcome.error) == (True, None)
    assert [(r.found, r.added, r.changed, r.removed) for r in outcome.forges] == [(4, 0, 1, 1)]
    assert await roles_of(system, octo.user_id) == {
        "acme/app": ("push", True),
        "acme/docs": ("pull", True),
        "acme/manual": ("push", False),  # granted by hand: no sync takes it away
    }
    listed = await run(system, "users", "list")
    assert "sync: synced" in next(line for line in listed.out.splitlines() if "octo" in line)

    runner = system.instance.services.sync
    assert await runner.due(utcnow()) == []
    assert await runner.due(utcnow() + timedelta(hours=2)) == [octo.user_id]


async def test_forge_errors_are_recorded_and_the_lease_given_back(
    start_system: StartSystem, forge_repos: Any
) -> None:
    forge: ForgeRepos = await forge_repos("github", tokens={"t"}, repos=[Listed("a/b", "push")])
    system = await platform_with(start_system, forge)
    octo = await forge_person(system, "github", "octo", "t")

    forge.fail_with = 500
    failed = await run(system, "users", "sync", "octo")
    assert assert_one_error_line(failed) == (
        "roundhouse: The sync of octo failed: GitHub answered 500 to GET /api/v3/user/repos"
        " (Server Error)."
    )
    user = await user_row(system, octo.user_id)
    assert (user.sync_lease_expires_at, user.sync_started_at, user.synced_at) == (None,) * 3
    assert "sync: failed" in (await run(system, "users", "list")).out

    forge.fail_with, forge.tokens = None, set()  # the person revoked the app on the forge
    refused = await run(system, "users", "sync", "octo")
    assert "GitHub refused the stored login (401 on GET /api/v3/user/repos): sign in with" in (
        assert_one_error_line(refused)
    )
    async with system.instance.services.ctx.sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.user_id == octo.user_id))
    assert identity is not None and identity.token_sealed is None  # not tried again
    again = await run(system, "users", "sync", "octo")
    assert "octo has no forge login to sync with" in assert_one_error_line(again)


async def test_a_running_sync_renews_its_lease_and_a_killed_one_is_reset_by_the_reconciler(
    start_system: StartSystem, forge_repos: Any
) -> None:
    forge: ForgeRepos = await forge_repos("gitea", tokens={"t"}, repos=[Listed("a/b", "admin")])
    system = await platform_with(start_system, forge, sync_lease=1.5)
    octo = await forge_person(system, "gitea", "octo", "t")
    services = system.instance.services
    forge.hold = asyncio.Event()

    task = services.sync.request(octo.user_id)
    await wait_for(lambda: _true(forge.waiting == 1), 10, "the sync to ask the forge")
    first = (await user_row(system, octo.user_id)).sync_lease_expires_at
    assert first is not None

    async def renewed() -> bool:
        later = (await user_row(system, octo.user_id)).sync_lease_expires_at
        return later is not None and later > first

    await wait_for(renewed, 10, "the running sync to renew its lease", every=0.1)
    await services.reconciler.run_once()
    assert (await user_row(system, octo.user_id)).sync_started_at is not None  # not stale

    task.cancel()  # the sync dies mid-way, as in a crash: nothing gives the lease back
    await asyncio.gather(task, return_exceptions=True)
    assert (await user_row(system, octo.user_id)).sync_lease_expires_at is not None

    async def reset() -> User | None:
        await services.reconciler.run_once()
        user = await user_row(system, octo.user_id)
        return user if user.sync_lease_expires_at is None else None

    user = await wait_for(reset, 10, "the reconciler to reset the expired lease", every=0.2)
    assert user.sync_error is not None and "did not finish: its lease expired" in user.sync_error
    forge.hold.set()


async def test_a_stopping_platform_gives_back_the_leases_of_its_syncs(
    start_system: StartSystem, forge_repos: Any
) -> None:
    forge: ForgeRepos = await forge_repos("github", tokens={"t"}, repos=[Listed("a/b", "pull")])
    system = await platform_with(start_system, forge)
    octo = await forge_person(system, "github", "octo", "t")
    runner = SyncRunner(system.instance.services.ctx)  # a platform process of its own
    forge.hold = asyncio.Event()
    runner.request(octo.user_id)
    await wait_for(lambda: _true(forge.waiting == 1), 10, "the sync to ask the forge")

    await runner.stop()
    forge.hold.set()
    user = await user_row(system, octo.user_id)
    assert (user.sync_lease_expires_at, user.sync_started_at) == (None, None)
    assert user.sync_error == "the platform stopped during the sync; the next one starts over"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_platform_processes_never_sync_one_user_at_once(
    start_system: StartSystem, forge_repos: Any
) -> None:
    forge: ForgeRepos = await forge_repos("gitlab", tokens={"t"}, repos=[Listed("g/p", "push")])
    system = await platform_with(start_system, forge)
    octo = await forge_person(system, "gitlab", "octo", "t")
    first = system.instance.services.sync
    # Another platform process: its own engine and connections on the same database.
    settings = system.instance.services.ctx.settings
    engine = make_engine(settings.database_url)
    other = SyncRunner(
        PlatformContext(settings, make_sessions(engine), system.instance.services.ctx.broker)
    )
    try:
        forge.hold = asyncio.Event()
        running = first.request(octo.user_id)
        await wait_for(lambda: _true(forge.waiting == 1), 10, "the first sync to ask the forge")
        turned_away = await other.sync_user(octo.user_id)
        assert turned_away.ran is False
        rounds = await asyncio.gather(other.sync_due(), first.sync_due())
        assert [outcome.ran for outcomes in rounds for outcome in outcomes] == []
        assert forge.waiting == 1  # nobody else asked the forge
        forge.hold.set()
        done = await running
        assert (done.ran, done.error) == (True, None)
        assert (await other.sync_user(octo.user_id)).ran is True
    finally:
        await other.http.aclose()
        await engine.dispose()


async def _true(value: bool) -> bool:
    return value
