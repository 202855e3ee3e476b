"""Secure values end to end: a `.travis.yml` value encrypted with the repository's public key
reaches the job decrypted, the log shows `[secure]` and never the value, an undecryptable
value is reported at the top of the log, and a pull request from a fork gets no secrets
unless the repository allows it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from roundhouse.travisyml.crypto import encrypt
from tests.conftest import GitRepo, Running
from tests.forges import ConnectRepo, FakeForge, deliver, fixture, open_pull_request

SECRET = "correct-horse-battery-staple"
DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()
PR_SLUG = "Codertocat/Hello-World"  # the repository of GitHub's pull_request examples
Start = Callable[..., Awaitable[Running]]


def config_with(secure: str, *extra: str) -> str:
    entries = "".join(f'    - secure: "{value}"\n' for value in (secure, *extra))
    return (
        "language: shell\n"
        "env:\n"
        "  global:\n"
        f"{entries}"
        "script:\n"
        '  - echo "the secret is $SECRET_NAME"\n'
        '  - echo "$SECRET_NAME" | base64\n'
        "  - 'echo \"has secret: ${SECRET_NAME:+yes} secure env: $TRAVIS_SECURE_ENV_VARS\"'\n"
    )


async def public_key(system: Running, slug: str) -> str:
    response = await system.http.get(f"/api/repo/{slug}/key")
    assert response.status_code == 200, response.text
    key: str = response.json()["key"]
    return key


async def test_a_secure_variable_reaches_the_job_and_never_the_log(
    start_system: Start, git_repo: Callable[..., GitRepo]
) -> None:
    system = await start_system(repository_key_bits=2048)
    repo = git_repo()
    repo.commit({"README.md": "hello\n"})
    slug = (await system.add_repo(repo))["slug"]
    secure = encrypt(await public_key(system, slug), f"SECRET_NAME={SECRET}")
    check = f'  - test "$(printf %s "$SECRET_NAME" | sha256sum | cut -c1-64)" = {DIGEST}\n'
    # The second value is base64 but no ciphertext of this key: reported, not fatal.
    repo.commit({".travis.yml": config_with(secure, "bm9wZQ==") + check})

    build_id = await system.build_of(slug, await system.trigger(slug))
    build = await system.finished_build(build_id)
    assert build["jobs"], build["messages"]
    job_id = build["jobs"][0]["id"]
    log = await system.log(job_id)

    assert build["state"] == "passed", log
    assert "$ export SECRET_NAME=[secure]" in log
    assert "the secret is [secure]" in log
    assert "has secret: yes secure env: true" in log
    assert "[warn] on env: unable to decrypt a secure value: it is 4 bytes long" in log
    assert "We were unable to parse one of your secure environment variables." in log
    assert SECRET not in log
    assert base64.b64encode(SECRET.encode()).decode()[:20] not in log
    # What the platform stores and serves keeps the value encrypted.
    job = json.dumps((await system.http.get(f"/api/job/{job_id}")).json())
    assert SECRET not in job and secure in job
    assert SECRET not in json.dumps(await system.build(build_id))


def fork_pull_request(head_sha: str) -> bytes:
    """GitHub's published example, its head moved onto the local commit and into a fork."""
    payload: dict[str, Any] = fixture("github/pull_request.opened.json")
    payload["pull_request"]["head"]["sha"] = head_sha
    payload["pull_request"]["head"]["repo"]["id"] = 1
    payload["pull_request"]["head"]["repo"]["full_name"] = "someone/Hello-World"
    return json.dumps(payload).encode()


async def fork_build_log(system: Running, body: bytes) -> tuple[dict[str, Any], str]:
    response = await deliver(system, "github", body, "pull_request")
    assert response.status_code == 202, response.text
    build_id = await system.build_of(PR_SLUG, response.json()["request"]["id"])
    build = await system.finished_build(build_id)
    return build, await system.log(build["jobs"][0]["id"])


async def test_a_pull_request_from_a_fork_gets_secrets_only_when_allowed(
    start_system: Start,
    git_repo: Callable[..., GitRepo],
    connect_repo: ConnectRepo,
    fake_forge: FakeForge,
) -> None:
    system = await start_system(repository_key_bits=2048)
    repo = git_repo()
    repo.commit({"README.md": "hello\n"}, "Base")
    await connect_repo(system, repo, PR_SLUG, forge="github", forge_api_url=fake_forge.url)
    secure = encrypt(await public_key(system, PR_SLUG), f"SECRET_NAME={SECRET}")
    head, _ = open_pull_request(repo, 2, "changes", {".travis.yml": config_with(secure)})
    body = fork_pull_request(head)

    build, log = await fork_build_log(system, body)
    assert build["pull_request"]["fork"] is True
    assert build["state"] == "passed", log
    assert (
        "[info] on env: dropping secure values:"
        " secure values are not available to pull requests from forks"
    ) in log
    assert "has secret:  secure env: false" in log
    assert "export SECRET_NAME" not in log

    allowed = await system.http.patch(
        f"/api/repo/{PR_SLUG}/settings", json={"secure_env_for_forks": True}
    )
    assert allowed.json()["secure_env_for_forks"] is True
    build, log = await fork_build_log(system, body)
    assert build["state"] == "passed", log
    assert "has secret: yes secure env: true" in log
    assert SECRET not in log
