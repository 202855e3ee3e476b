"""The real `roundhouse` command line against a running Roundhouse: repositories, triggers
with --wait, builds, logs, and errors as one sentence without a traceback.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SQLITE_ONLY, GitRepo, Running

ROUNDHOUSE = Path(sys.executable).parent / "roundhouse"
PASSING = 'language: shell\nenv:\n  - N=1\n  - N=2\nscript: echo "cli says $N"\n'
FAILING = "language: shell\nscript:\n  - 'false'\n"


@dataclass
class Result:
    code: int
    out: str
    err: str


async def run(
    system: Running | None, *args: str, use_env: bool = False, stdin: str | None = None
) -> Result:
    """Run the CLI without blocking the event loop that serves the platform; `stdin` is
    piped to it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDHOUSE_")}
    options: list[str] = []
    if system is not None and use_env:
        env["ROUNDHOUSE_URL"], env["ROUNDHOUSE_TOKEN"] = system.url, system.token
    elif system is not None:
        options = ["--url", system.url, "--token", system.token]
    process = await asyncio.create_subprocess_exec(
        str(ROUNDHOUSE),
        *args,
        *options,
        env=env,
        stdin=None if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    data = None if stdin is None else stdin.encode()
    out, err = await asyncio.wait_for(process.communicate(data), 60)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def assert_one_error_line(result: Result) -> str:
    assert result.code != 0
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("roundhouse: ")
    return lines[0]


async def added(system: Running, repo: GitRepo) -> str:
    result = await run(system, "repo", "add", str(repo.path))
    assert result.code == 0, result.err
    slug = f"team/{repo.path.name}"
    assert f"Added {slug}" in result.out
    return slug


# The CLI only speaks HTTP: one database is enough here (the API tests run both).
@SQLITE_ONLY
async def test_repo_add_local_path_and_list(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": PASSING})

    slug = await added(system, repo)
    listed = await run(system, "repo", "list", use_env=True)

    assert listed.code == 0, listed.err
    line = next(line for line in listed.out.splitlines() if line.startswith(slug))
    assert "no builds" in line
    assert repo.url in line
    stored = (await system.http.get(f"/api/repo/{slug.replace('/', '%2F')}")).json()
    assert stored["url"] == repo.url  # the local path became a file:// URL


@SQLITE_ONLY
async def test_trigger_wait_passing_build_then_builds_and_logs(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    sha = repo.commit({".travis.yml": PASSING})
    slug = await added(system, repo)

    result = await run(system, "trigger", slug, "--branch", "main", "--wait", use_env=True)

    assert result.code == 0, result.out + result.err
    job_lines = [line for line in result.out.splitlines() if line.strip().startswith("job ")]
    assert len(job_lines) == 2
    assert all(" passed" in line for line in job_lines)
    assert re.search(r"job 1\.1 +passed", result.out)
    assert re.search(r"job 1\.2 +passed", result.out)
    assert "Build #1 passed" in result.out

    builds = await run(system, "builds", slug)
    assert builds.code == 0, builds.err
    assert re.search(rf"#1 +passed +main +{sha[:7]}", builds.out)

    build = (await system.http.get(f"/api/repo/{slug.replace('/', '%2F')}/builds")).json()
    job_id = (await system.build(build["builds"][0]["id"]))["jobs"][1]["id"]
    logs = await run(system, "logs", str(job_id))
    assert logs.code == 0, logs.err
    assert "cli says 2" in logs.out
    assert logs.out == await system.log(job_id)


@SQLITE_ONLY
async def test_trigger_wait_failing_build_exits_non_zero(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": FAILING})
    slug = await added(system, repo)

    result = await run(system, "trigger", slug, "--branch", "main", "--wait")

    assert result.code != 0
    assert re.search(r"job 1\.1 +failed", result.out)
    assert "Build #1 failed" in result.out
    assert "Traceback" not in result.err


@SQLITE_ONLY
async def test_cancel_of_a_finished_job_is_one_error_sentence(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": FAILING})
    slug = await added(system, repo)
    assert (await run(system, "trigger", slug, "--branch", "main", "--wait")).code != 0
    builds = (await system.http.get(f"/api/repo/{slug.replace('/', '%2F')}/builds")).json()
    job_id = (await system.build(builds["builds"][0]["id"]))["jobs"][0]["id"]

    line = assert_one_error_line(await run(system, "cancel", "job", str(job_id)))

    assert f"Job {job_id} is failed" in line
    assert "409" in line


@SQLITE_ONLY
async def test_unknown_repository_is_one_error_sentence(system: Running) -> None:
    line = assert_one_error_line(await run(system, "builds", "nobody/nothing"))

    assert "nobody/nothing" in line and "not found" in line


@SQLITE_ONLY
async def test_adding_a_path_that_is_no_repository_is_one_error_sentence(
    system: Running, tmp_path: Path
) -> None:
    empty = tmp_path / "team" / "not-a-repo"
    empty.mkdir(parents=True)

    line = assert_one_error_line(await run(system, "repo", "add", str(empty)))

    assert empty.as_uri() in line


async def test_unreachable_platform_is_one_error_sentence() -> None:
    line = assert_one_error_line(
        await run(None, "repo", "list", "--url", "http://127.0.0.1:9", "--token", "x")
    )

    assert "http://127.0.0.1:9" in line
    assert "ROUNDHOUSE_URL" in line
