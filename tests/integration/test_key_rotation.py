"""The instance key against a real database (SQLite and PostgreSQL): `key rotate` re-encrypts
every secret while the platform runs (values of earlier versions too), the old key is then
refused at start with the key ids; plain tokens of an older database are encrypted on start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from roundhouse.db.models import EnvVar, Identity, Repository, RepositoryKey, User
from roundhouse.db.session import alembic_config, sync_url
from roundhouse.platform import repo_secrets
from roundhouse.platform.rekey import check_before_start, check_instance_key, rotate
from roundhouse.platform.secrets import AtRest, key_file, key_id
from roundhouse.settings import Settings, SettingsError
from tests.conftest import GitRepo, Running

Start = Callable[..., Awaitable[Running]]


async def secret_rows(system: Running) -> list[str]:
    async with system.instance.services.ctx.sessions() as session:
        repos = list(await session.scalars(select(Repository)))
        keys = list(await session.scalars(select(RepositoryKey.private_key)))
        env = list(await session.scalars(select(EnvVar.value)))
        oauth = list(await session.scalars(select(Identity.token_sealed)))
    sealed = [r.forge_token_sealed for r in repos] + [r.webhook_secret_sealed for r in repos]
    return [value for value in [*sealed, *keys, *env, *oauth] if value is not None]


async def test_rotate_re_encrypts_everything_while_the_platform_runs(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(repository_key_bits=2048)
    services = system.instance.services
    settings: Settings = services.ctx.settings
    repo = git_repo()
    repo.commit({"README.md": "hi\n"})
    body = {"url": repo.url, "webhook_secret": "hook-secret"}
    slug = (await system.http.post("/api/repos", json=body)).json()["slug"]
    assert (await system.http.get(f"/api/repo/{slug}/key")).status_code == 200
    env = {"name": "TOKEN", "value": "s3cr3t-value", "public": False}
    assert (await system.http.post(f"/api/repo/{slug}/env_vars", json=env)).status_code == 201

    # What earlier versions left: a Fernet value, and a token migration 0008 marked plain.
    old_key = key_file(settings).read_text().strip()
    async with services.ctx.sessions() as session, session.begin():
        row = (await session.scalars(select(RepositoryKey))).one()
        pem = services.ctx.at_rest.decrypt(row.private_key)
        row.private_key = f"{key_id(old_key)}:{Fernet(old_key.encode()).encrypt(pem).decode()}"
        stored = (await session.scalars(select(Repository))).one()
        stored.forge_token_sealed = "plain:forge-t0ken"
        # The OAuth token a forge login left for the code-host sync.
        user = User(login="octo")
        session.add(user)
        await session.flush()
        sealed_token = services.ctx.at_rest.seal("gho_oauth-t0ken")
        session.add(
            Identity(
                user_id=user.id,
                provider="github",
                external_id="1",
                login="octo",
                token_sealed=sealed_token,
            )
        )
    before = await secret_rows(system)
    assert not any("hook-secret" in v or "s3cr3t" in v for v in before)

    rotation = await rotate(settings)

    assert rotation.old_ids == [key_id(old_key)]
    assert dict(rotation.rewritten) == {"v1": 3, "fernet": 1, "plain": 1}
    new_key = key_file(settings).read_text().strip()
    assert "\n" not in new_key and key_id(new_key) == rotation.new_id != key_id(old_key)
    after = await secret_rows(system)
    assert len(after) == 5
    assert all(v.startswith(f"v1:{rotation.new_id}:") for v in after), after

    # The running platform read the new key file: every value still opens.
    async with services.ctx.sessions() as session:
        stored = (await session.scalars(select(Repository))).one()
        row = (await session.scalars(select(RepositoryKey))).one()
        at_rest = services.ctx.at_rest
        assert repo_secrets.read(at_rest, stored, "forge_token") == "forge-t0ken"
        assert repo_secrets.read(at_rest, stored, "webhook_secret") == "hook-secret"
        assert at_rest.decrypt(row.private_key) == pem
        sealed = await session.scalar(select(Identity.token_sealed))
        assert at_rest.open(sealed) == "gho_oauth-t0ken"
        await check_instance_key(session, at_rest)

        # The old key is gone: a platform started with it is refused, naming both key ids.
        with pytest.raises(SettingsError) as caught:
            await check_instance_key(session, AtRest(old_key))
    assert (
        f"the encryption key does not match this database (key id {key_id(old_key)}, "
        f"database expects {rotation.new_id})"
    ) in str(caught.value)
    old = settings.model_copy(update={"encryption_key": SecretStr(old_key)})
    with pytest.raises(SettingsError, match="does not match this database"):
        await asyncio.to_thread(check_before_start, old)


async def test_rotate_refuses_a_key_given_as_a_setting(settings_for: Callable[..., Any]) -> None:
    settings = settings_for(encryption_key=Fernet.generate_key().decode())
    with pytest.raises(SettingsError, match="comes from the setting encryption_key"):
        await rotate(settings)


@pytest.mark.empty_database
async def test_plain_tokens_of_an_older_database_are_encrypted_on_start(
    start_system: Start, database_url: str
) -> None:
    command.upgrade(alembic_config(database_url), "0004")
    engine = sqlalchemy.create_engine(sync_url(database_url))
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(
                "INSERT INTO repositories (slug, url, private, active, poll, webhook_secret,"
                " branch_heads, next_build_number, created_at, forge_token, build_pushes,"
                " build_pull_requests, auto_cancel_pushes, auto_cancel_pull_requests,"
                " secure_env_for_forks, maximum_number_of_builds) VALUES ('team/old', 'file:///x',"
                " false, true, false, 'old-hook', '{}', 1, '2026-01-01 00:00:00', 'old-t0ken',"
                " true, true, false, false, false, 0)"
            )
        )
    engine.dispose()

    system = await start_system()

    [forge_token, webhook_secret] = await secret_rows(system)
    assert forge_token.startswith("v1:") and webhook_secret.startswith("v1:")
    settings = (await system.http.get("/api/repo/team%2Fold/settings")).json()
    assert settings["forge_token_set"] and settings["webhook_secret_set"]
    async with system.instance.services.ctx.sessions() as session:
        stored = (await session.scalars(select(Repository))).one()
    at_rest = system.instance.services.ctx.at_rest
    assert repo_secrets.read(at_rest, stored, "forge_token") == "old-t0ken"
    assert repo_secrets.read(at_rest, stored, "webhook_secret") == "old-hook"
