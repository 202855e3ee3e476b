"""`import:` in a `.travis.yml` is resolved by the platform from its git mirrors, and an API
request's config is merged over `.travis.yml` as Travis does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import GitRepo, Running


async def test_imports_from_the_same_and_another_repository(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    shared = git_repo("shared")
    shared.commit({"ci/common.yml": "env:\n  global:\n    - FROM_SHARED=yes\n"})
    shared_slug = (await system.add_repo(shared))["slug"]
    repo = git_repo("app")
    repo.commit(
        {
            ".travis.yml": "language: shell\nimport:\n  - ./ci/jobs.yml\n"
            f"  - {shared_slug}:ci/common.yml\n",
            "ci/jobs.yml": "import: ./script.yml\nenv:\n  jobs:\n    - A=1\n    - A=2\n",
            "ci/script.yml": 'script: echo "A=$A shared=$FROM_SHARED"\n',
        }
    )
    slug = (await system.add_repo(repo))["slug"]

    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))

    assert build["state"] == "passed", build
    logs = [await system.log(job["id"]) for job in build["jobs"]]
    assert len(logs) == 2
    assert "A=1 shared=yes" in logs[0]
    assert "A=2 shared=yes" in logs[1]


async def test_a_missing_import_is_reported_on_the_build(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": "language: shell\nimport: ./nowhere.yml\nscript: true\n"})
    slug = (await system.add_repo(repo))["slug"]

    build = await system.build(await system.build_of(slug, await system.trigger(slug)))

    assert any("nowhere.yml" in message["text"] for message in build["messages"]), build


async def test_request_config_is_merged_over_travis_yml_unless_it_replaces_it(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit(
        {".travis.yml": "language: shell\nenv: FROM_FILE=1\nscript: echo file-$FROM_FILE\n"}
    )
    slug = (await system.add_repo(repo))["slug"]
    extra = "language: shell\nscript: echo api-$FROM_FILE\n"

    merged = await system.finished_build(
        await system.build_of(slug, await system.trigger(slug, config=extra))
    )
    replaced = await system.finished_build(
        await system.build_of(slug, await system.trigger(slug, config=extra, merge_mode="replace"))
    )

    # deep_merge_append: the request's `script` wins (a string, not a list to append to), and
    # `env` comes from .travis.yml; with replace, .travis.yml is not read at all.
    assert "\napi-1\n" in await system.log(merged["jobs"][0]["id"])
    assert "\napi-\n" in await system.log(replaced["jobs"][0]["id"])


async def test_private_configs_are_imported_only_by_private_repositories_of_their_owner(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    """Travis's rule: a public repository cannot import a private config; a private one can
    import its own owner's private configs, and anybody's public ones."""
    secret = git_repo("secret-ci", owner="acme")
    secret.commit({"ci.yml": "env:\n  global:\n    - FROM_PRIVATE=yes\n"})
    answer = await system.http.post("/api/repos", json={"url": secret.url, "private": True})
    assert answer.status_code == 201, answer.text
    config = "language: shell\nimport: acme/secret-ci:ci.yml\nscript: echo got-$FROM_PRIVATE\n"

    async def build_of(owner: str, private: bool) -> dict[str, Any]:
        repo = git_repo(owner=owner)
        repo.commit({".travis.yml": config})
        added = await system.http.post("/api/repos", json={"url": repo.url, "private": private})
        slug = added.json()["slug"]
        build_id = await system.build_of(slug, await system.trigger(slug))
        build: dict[str, Any] = await system.finished_build(build_id)
        return build

    same_owner = await build_of("acme", private=True)
    assert "got-yes" in await system.log(same_owner["jobs"][0]["id"])

    for owner, private in (("acme", False), ("other", True)):
        build = await build_of(owner, private)
        assert any("acme/secret-ci:ci.yml" in m["text"] for m in build["messages"]), build
        assert "got-yes" not in await system.log(build["jobs"][0]["id"])
