"""Repository settings variables in real builds: the job's script sees public and private
values, the log shows the public one and never the private one, branch-scoped ones reach only
their branch, and a pull request from a fork gets the private ones only when allowed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from tests.conftest import GitRepo, Running
from tests.e2e.test_secure_values import PR_SLUG, fork_build_log, fork_pull_request
from tests.forges import ConnectRepo, FakeForge, open_pull_request

PRIVATE = "correct-horse-battery-staple"
DIGEST = hashlib.sha256(PRIVATE.encode()).hexdigest()
CONFIG = f"""\
language: shell
script:
  - echo "public is $PUBLIC_NAME"
  - echo "the token is $SECRET_TOKEN"
  - test "$(printf %s "$SECRET_TOKEN" | sha256sum | cut -c1-64)" = {DIGEST}
  - 'echo "main only: ${{ONLY_MAIN:-unset}} other only: ${{ONLY_OTHER:-unset}}"'
"""
FORK_CONFIG = """\
language: shell
script:
  - 'echo "token: ${SECRET_TOKEN:-none} public: $PUBLIC_NAME secure env: $TRAVIS_SECURE_ENV_VARS"'
"""


async def add_vars(system: Running, slug: str) -> None:
    for body in (
        {"name": "PUBLIC_NAME", "value": "visible-value", "public": True},
        {"name": "SECRET_TOKEN", "value": PRIVATE},
        {"name": "ONLY_MAIN", "value": "yes", "public": True, "branch": "main"},
        {"name": "ONLY_OTHER", "value": "yes", "public": True, "branch": "other"},
    ):
        response = await system.http.post(f"/api/repo/{slug}/env_vars", json=body)
        assert response.status_code == 201, response.text


async def test_a_build_gets_the_variables_of_its_branch_and_its_log_hides_private_values(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": CONFIG})
    slug = (await system.add_repo(repo))["slug"]
    await add_vars(system, slug)

    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))
    assert build["jobs"], build["messages"]
    job_id = build["jobs"][0]["id"]
    log = await system.log(job_id)

    assert build["state"] == "passed", log
    assert "Setting environment variables from repository settings" in log
    assert "$ export PUBLIC_NAME=visible-value" in log
    assert "$ export SECRET_TOKEN=[secure]" in log
    assert "public is visible-value" in log
    assert "the token is [secure]" in log
    assert "main only: yes other only: unset" in log
    assert "export ONLY_OTHER" not in log and "$ export ONLY_MAIN=yes" in log
    assert PRIVATE not in log
    assert PRIVATE not in json.dumps((await system.http.get(f"/api/job/{job_id}")).json())


async def test_a_pull_request_from_a_fork_gets_private_variables_only_when_allowed(
    system: Running,
    git_repo: Callable[..., GitRepo],
    connect_repo: ConnectRepo,
    fake_forge: FakeForge,
) -> None:
    repo = git_repo()
    repo.commit({"README.md": "hello\n"}, "Base")
    await connect_repo(system, repo, PR_SLUG, forge="github", forge_api_url=fake_forge.url)
    await add_vars(system, PR_SLUG)
    head, _ = open_pull_request(repo, 2, "changes", {".travis.yml": FORK_CONFIG})
    body = fork_pull_request(head)

    build, log = await fork_build_log(system, body)
    assert build["state"] == "passed", log
    assert (
        "Private environment variables from repository settings are not available to pull"
        " requests from forks (SECRET_TOKEN); the repository setting secure_env_for_forks"
        " changes this."
    ) in log
    assert "token: none public: visible-value secure env: false" in log
    assert "export SECRET_TOKEN" not in log

    allowed = await system.http.patch(
        f"/api/repo/{PR_SLUG}/settings", json={"secure_env_for_forks": True}
    )
    assert allowed.status_code == 200, allowed.text
    build, log = await fork_build_log(system, body)
    assert build["state"] == "passed", log
    assert "token: [secure] public: visible-value secure env: true" in log
    assert PRIVATE not in log
