"""Users administration for real: `roundhouse users` against a running platform (suspension
blocks tokens at once and turns the user's requests away), and the sync lease on SQLite and
PostgreSQL with a chosen clock: taken once, expired leases reset by the reconciler's pass.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from roundhouse.db.models import User
from roundhouse.db.session import SessionFactory, make_engine, make_sessions, migrate
from roundhouse.platform.auth import create_token
from roundhouse.platform.usersync import (
    begin_sync,
    finish_sync,
    reset_stale_syncs,
    stuck_syncs,
    sync_state,
)
from tests.conftest import GitRepo, Running, wait_for
from tests.integration.test_cli import assert_one_error_line, run

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def add_user(system: Running, login: str, admin: bool = False) -> str:
    async with system.instance.services.ctx.sessions() as session, session.begin():
        user = User(login=login, name=login.title(), is_admin=admin)
        session.add(user)
        await session.flush()
        return await create_token(session, user, "test")


async def get_user(system: Running, login: str) -> User:
    async with system.instance.services.ctx.sessions() as session:
        found = await session.scalar(select(User).where(User.login == login))
    assert found is not None
    return found


async def test_suspend_blocks_tokens_and_builds_until_unsuspended(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    bob_token = await add_user(system, "bob")
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nscript: true\n"})
    slug = (await system.add_repo(repo))["slug"]
    bob = httpx.AsyncClient(base_url=system.url, headers={"Authorization": f"token {bob_token}"})
    assert (await bob.get("/api/repos")).status_code == 200
    assert (await bob.get("/api/users")).status_code == 403  # not an administrator

    suspended = await run(system, "users", "suspend", "bob")
    assert suspended.code == 0, suspended.err
    assert "Suspended bob" in suspended.out
    refused = await bob.get(f"/api/repo/{slug}/builds")
    assert refused.status_code == 403
    assert refused.json()["error"] == (
        "The account bob is suspended; an administrator can lift it with"
        " `roundhouse users unsuspend bob`."
    )
    listed = await run(system, "users", "list", "--suspended")
    assert [line.split()[:2] for line in listed.out.splitlines()] == [["bob", "suspended"]]
    active = json.loads((await run(system, "users", "list", "--active", "--json")).out)
    assert [u["login"] for u in active] == ["admin"]

    # A push that bob sent (the forge names him) is turned away with the reason.
    repo_id = (await system.http.get(f"/api/repo/{slug}")).json()["id"]
    triggers = system.instance.services.triggers
    request_id = await triggers.request_build(
        repo_id, event_type="push", branch="main", sender="bob"
    )

    async def finished() -> dict[str, str] | None:
        rows = (await system.http.get(f"/api/repo/{slug}/requests")).json()["requests"]
        found: dict[str, str] = next(r for r in rows if r["id"] == request_id)
        return found if found["state"] == "finished" else None

    rejected = await wait_for(finished, 20, "the request of a suspended user")
    assert rejected["result"] == "rejected"
    assert rejected["reason"] == (
        "bob is suspended on this Roundhouse, so their requests do not build; an administrator"
        " can lift it with `roundhouse users unsuspend bob`."
    )

    assert (await run(system, "users", "unsuspend", "bob")).code == 0
    assert (await bob.get(f"/api/repo/{slug}/builds")).status_code == 200
    # Triggering needs push (roles): the admin gives it.
    assert (await run(system, "users", "grant", "bob", slug, "push")).code == 0
    triggered = await bob.post(f"/api/repo/{slug}/requests", json={"request": {"branch": "main"}})
    assert triggered.status_code == 202
    build_id = await system.build_of(slug, triggered.json()["request"]["id"])
    assert (await system.finished_build(build_id))["state"] == "passed"
    await bob.aclose()

    myself = await run(system, "users", "suspend", "admin")
    assert "You cannot suspend yourself" in assert_one_error_line(myself)
    nobody = await run(system, "users", "suspend", "nobody")
    assert "There is no user 'nobody'" in assert_one_error_line(nobody)


async def test_a_sync_needs_a_forge_login_and_reset_sync_frees_a_lease(system: Running) -> None:
    await add_user(system, "carol")

    asked = await run(system, "users", "sync", "carol")
    assert "carol has no forge login to sync with" in assert_one_error_line(asked)
    assert (await get_user(system, "carol")).sync_requested_at is None
    assert "sync: never" in (await run(system, "users", "list")).out

    async with system.instance.services.ctx.sessions() as session, session.begin():
        carol = await session.scalar(select(User).where(User.login == "carol"))
        assert carol is not None
        assert await begin_sync(session, carol.id, datetime.now(UTC))
    assert "sync: syncing (lease until" in (await run(system, "users", "list")).out
    reset = await run(system, "users", "reset-sync")
    assert reset.out.strip() == "Reset the sync of carol."
    assert (await run(system, "users", "reset-sync", "carol")).out.strip() == (
        "carol is not syncing."
    )
    carol = await get_user(system, "carol")
    assert carol.sync_lease_expires_at is None
    assert carol.sync_error is not None and "was reset by an administrator" in carol.sync_error

    # The reconciler's pass frees a lease that expired (a sync that crashed).
    async with system.instance.services.ctx.sessions() as session, session.begin():
        await begin_sync(session, carol.id, datetime.now(UTC) - timedelta(hours=1))
    await system.instance.services.reconciler.run_once()
    carol = await get_user(system, "carol")
    assert carol.sync_lease_expires_at is None and carol.sync_started_at is None
    assert carol.sync_error is not None and "did not finish: its lease expired" in carol.sync_error


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield make_sessions(engine)
    await engine.dispose()


async def test_a_sync_lease_is_held_once_and_expires(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        dave = User(login="dave")
        session.add(dave)
        await session.flush()
        dave_id = dave.id

    async with sessions() as session, session.begin():
        assert await begin_sync(session, dave_id, T0)
        assert not await begin_sync(session, dave_id, T0 + timedelta(minutes=5))
        assert await stuck_syncs(session, T0 + timedelta(minutes=9)) == []
        assert await reset_stale_syncs(session, T0 + timedelta(minutes=9)) == []
        [stuck] = await stuck_syncs(session, T0 + timedelta(minutes=11))
    assert (stuck.login, stuck.started_at) == ("dave", T0)
    assert stuck.lease_expires_at == T0 + timedelta(minutes=10)

    async with sessions() as session, session.begin():
        assert await reset_stale_syncs(session, T0 + timedelta(minutes=11)) == ["dave"]
    async with sessions() as session, session.begin():
        dave = await session.get(User, dave_id)
        assert dave is not None
        assert sync_state(dave, T0 + timedelta(minutes=11)) == "failed"
        assert dave.sync_error == (
            "the sync started at 2026-12-01T12:00:00+00:00 did not finish: its lease expired at"
            " 2026-12-01T12:10:00+00:00"
        )
        assert await stuck_syncs(session, T0 + timedelta(hours=1)) == []
        # The crashed sync reporting late changes nothing; a new one takes the lease.
        assert not await finish_sync(session, dave_id, T0, T0 + timedelta(minutes=12), None)
        later = T0 + timedelta(minutes=20)
        assert await begin_sync(session, dave_id, later)
        assert await finish_sync(session, dave_id, later, later + timedelta(minutes=1), None)
    async with sessions() as session:
        dave = await session.get(User, dave_id)
        assert dave is not None
        assert sync_state(dave, later) == "synced" and dave.sync_error is None
