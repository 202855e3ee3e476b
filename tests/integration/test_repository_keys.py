"""Repository keys against a running Roundhouse: `GET /api/repo/{slug}/key` makes the pair
once and stores the private half encrypted; `roundhouse encrypt --repo` uses the public half;
a platform started with another instance key is refused.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from roundhouse.db.models import RepositoryKey
from roundhouse.platform.keys import fingerprint
from roundhouse.platform.rekey import check_instance_key
from roundhouse.platform.secrets import AtRest
from roundhouse.settings import SettingsError
from roundhouse.travisyml.crypto import decrypt, load_private_key, load_public_key, public_key_pem
from tests.conftest import GitRepo, Running

ROUNDHOUSE = Path(sys.executable).parent / "roundhouse"
Start = Callable[..., Awaitable[Running]]


async def added(system: Running, repo: GitRepo, private: bool = False) -> str:
    repo.commit({"README.md": "hello\n"})
    response = await system.http.post("/api/repos", json={"url": repo.url, "private": private})
    assert response.status_code == 201, response.text
    slug: str = response.json()["slug"]
    return slug


async def stored_keys(system: Running) -> list[RepositoryKey]:
    async with system.instance.services.ctx.sessions() as session:
        return list(await session.scalars(select(RepositoryKey)))


async def test_the_key_is_made_once_and_its_private_half_stored_encrypted(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(repository_key_bits=2048)
    slug = await added(system, git_repo())

    # Two first requests at once still make one key.
    first, second = await asyncio.gather(
        system.http.get(f"/api/repo/{slug}/key"), system.http.get(f"/api/repo/{slug}/key")
    )
    assert first.status_code == second.status_code == 200, first.text
    body = first.json()
    assert body == second.json()
    assert body["key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert load_public_key(body["key"]).key_size == 2048
    assert body["fingerprint"] == fingerprint(body["key"])
    assert body["fingerprint"].startswith("SHA256:")

    [row] = await stored_keys(system)
    assert "PRIVATE" not in row.private_key
    private_pem = system.instance.services.ctx.at_rest.decrypt(row.private_key)
    assert public_key_pem(private_pem).decode() == body["key"]

    # A public key of a public repository needs no token.
    async with httpx.AsyncClient(base_url=system.url) as anonymous:
        assert (await anonymous.get(f"/api/repo/{slug}/key")).json() == body


async def test_the_key_of_a_private_repository_needs_a_token(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(repository_key_bits=2048)
    slug = await added(system, git_repo(), private=True)

    async with httpx.AsyncClient(base_url=system.url) as anonymous:
        assert (await anonymous.get(f"/api/repo/{slug}/key")).status_code == 404
    assert (await system.http.get(f"/api/repo/{slug}/key")).status_code == 200
    missing = await system.http.get("/api/repo/team%2Fnone/key")
    assert missing.status_code == 404
    assert await stored_keys(system) != []


async def test_another_instance_key_is_refused_at_start(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(repository_key_bits=2048)
    slug = await added(system, git_repo())
    assert (await system.http.get(f"/api/repo/{slug}/key")).status_code == 200

    other = AtRest(Fernet.generate_key())
    sessions = system.instance.services.ctx.sessions
    async with sessions() as session:
        await check_instance_key(session, system.instance.services.ctx.at_rest)
        with pytest.raises(SettingsError, match="the encryption key does not match") as caught:
            await check_instance_key(session, other)
    assert f"key id {other.key_id}" in str(caught.value)


async def test_roundhouse_encrypt_uses_the_repository_key(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(repository_key_bits=2048)
    slug = await added(system, git_repo())

    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    process = await asyncio.create_subprocess_exec(
        str(ROUNDHOUSE),
        "encrypt",
        "SECRET_NAME=opensesame",
        "--repo",
        slug,
        "--url",
        system.url,
        "--token",
        system.token,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()

    found = re.fullmatch(r'secure: "([A-Za-z0-9+/=]+)"\n', out.decode())
    assert found, out
    [row] = await stored_keys(system)
    private_key = load_private_key(system.instance.services.ctx.at_rest.decrypt(row.private_key))
    assert decrypt(private_key, found.group(1)) == "SECRET_NAME=opensesame"
