"""The web UI's repository tabs, settings page and admin dashboard, read over HTTP from a
running platform (SQLite and PostgreSQL), and the stored log streamed head first.

Builds are written straight into the database where a test needs many of them: the pages
only read builds, and running thousands of jobs would test the worker, not the pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from roundhouse.db.models import Build, Job, Log, Repository, User, utcnow
from roundhouse.db.models import Request as BuildRequest
from roundhouse.ops import lastbackup
from roundhouse.platform.auth import create_token
from roundhouse.platform.logs import HEAD_CHARS
from roundhouse.platform.web.repo_data import PAGE_SIZE
from tests.conftest import GitRepo, Running


async def add_builds(system: Running, slug: str, builds: list[dict[str, Any]]) -> int:
    """Finished builds of the repository, numbered from 1 in list order; its id."""
    async with system.instance.services.ctx.sessions() as session, session.begin():
        repo = await session.scalar(select(Repository).where(Repository.slug == slug))
        assert repo is not None
        for number, fields in enumerate(builds, start=1):
            request = BuildRequest(repository_id=repo.id, event_type="push", state="finished")
            session.add(request)
            await session.flush()
            session.add(
                Build(
                    repository_id=repo.id,
                    request_id=request.id,
                    number=number,
                    state="passed",
                    event_type="pull_request" if fields.get("pull_request_number") else "push",
                    sha=f"{number:040x}",
                    message=f"change {number}",
                    **fields,
                )
            )
        return int(repo.id)


async def new_repo(system: Running, git_repo: Callable[..., GitRepo]) -> dict[str, Any]:
    repo = git_repo()
    repo.commit({"README": "x"})
    return await system.add_repo(repo)


async def add_job(system: Running, slug: str, **fields: Any) -> tuple[int, int]:
    """One finished build of the repository with one job of these fields: (repo id, job id)."""
    repo_id = await add_builds(system, slug, [{"branch": "main"}])
    async with system.instance.services.ctx.sessions() as session, session.begin():
        build = await session.scalar(select(Build).where(Build.repository_id == repo_id))
        assert build is not None
        job = Job(build_id=build.id, repository_id=repo_id, number="1.1", **fields)
        session.add(job)
        await session.flush()
        return repo_id, int(job.id)


def rows(html: str) -> list[str]:
    """The build numbers linked from a page's table rows, in order."""
    return re.findall(r'<td><a href="/[^"]+/builds/\d+">#(\d+)</a></td>', html)


async def test_tabs_list_builds_by_page_branch_and_pull_request(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = (await new_repo(system, git_repo))["slug"]
    builds: list[dict[str, Any]] = []
    for n in range(1, PAGE_SIZE + 11):
        if n % 10 == 0:
            builds.append({"branch": "main", "pull_request_number": n // 10})
        elif n == 7:
            builds.append({"branch": "v1.0", "tag": "v1.0"})
        else:
            builds.append({"branch": "main" if n % 2 else "feature"})
    await add_builds(system, slug, builds)
    total = len(builds)

    first = await system.http.get(f"/{slug}/builds")
    assert first.status_code == 200
    assert rows(first.text) == [str(n) for n in range(total, total - PAGE_SIZE, -1)]
    assert "page 1 of 2" in first.text and 'rel="next"' in first.text
    second = await system.http.get(f"/{slug}/builds?page=2")
    assert rows(second.text) == [str(n) for n in range(total - PAGE_SIZE, 0, -1)]
    # A page past the end shows the last page.
    assert rows((await system.http.get(f"/{slug}/builds?page=99")).text) == rows(second.text)

    branches = (await system.http.get(f"/{slug}/branches")).text
    # The newest push build of each branch; neither the tag nor the pull requests count.
    assert rows(branches) == ["35", "34"]
    assert "v1.0" not in branches

    pulls = (await system.http.get(f"/{slug}/pull_requests")).text
    assert rows(pulls) == ["30", "20", "10"]
    assert "#3 " in pulls and 'aria-current="page">Pull requests' in pulls


async def test_repositories_list_searches_by_name(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    for name in ("widget", "gadget"):
        repo = git_repo(name)
        repo.commit({"README": name})
        await system.add_repo(repo)
    everything = (await system.http.get("/")).text
    assert "team/widget" in everything and "team/gadget" in everything
    found = (await system.http.get("/", params={"q": "WID"})).text
    assert "team/widget" in found and "team/gadget" not in found
    nothing = (await system.http.get("/", params={"q": "nope"})).text
    assert "No repository matches" in nothing


async def test_settings_page_shows_webhook_key_and_caches(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    added = await new_repo(system, git_repo)
    slug = added["slug"]
    stored = await system.http.put(
        f"/api/cache/{added['id']}/main/deps", content=b"\x1f\x8b" + b"0" * 3000
    )
    assert stored.status_code == 201, stored.text
    key = (await system.http.get(f"/api/repo/{slug}/key")).json()

    page = await system.http.get(f"/{slug}/settings")
    assert page.status_code == 200
    assert f"{system.instance.services.ctx.settings.public_url}/hooks/github" in page.text
    assert key["fingerprint"] in page.text
    assert "-----BEGIN PUBLIC KEY-----" in page.text
    assert re.search(r"<td>main</td><td>deps</td><td>3.0 kB</td>", page.text)
    assert 'id="s-build_pushes" name="build_pushes" checked' in page.text

    async with httpx.AsyncClient(base_url=system.url) as anonymous:
        hidden = await anonymous.get(f"/{slug}/settings")
    # Settings are for the repository's admins: a page that needs a sign-in goes to the login.
    assert (hidden.status_code, hidden.headers["location"]) == (
        303,
        f"/login?next=/{slug}/settings",
    )
    assert "PUBLIC KEY" not in hidden.text


async def test_admin_dashboard_is_for_admins_and_shows_an_unserved_queue(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = (await new_repo(system, git_repo))["slug"]
    await add_job(system, slug, queue="builds.nowhere", state="queued")
    async with system.instance.services.ctx.sessions() as session, session.begin():
        person = User(login="someone")
        session.add(person)
        await session.flush()
        token = await create_token(session, person, "test")

    async with httpx.AsyncClient(base_url=system.url) as anonymous:
        assert (await anonymous.get("/admin")).headers["location"] == "/login?next=/admin"
        plain = await anonymous.get("/admin", headers={"Authorization": f"token {token}"})
    assert plain.status_code == 403
    assert plain.headers["content-type"].startswith("text/html")
    assert "someone is not an administrator of this Roundhouse." in plain.text

    page = await system.http.get("/admin")
    assert page.status_code == 200
    workers = (await system.http.get("/api/workers")).json()["workers"]
    assert workers and workers[0]["name"] in page.text
    assert f'data-post="/api/workers/{workers[0]["name"]}/drain"' in page.text
    unserved = re.search(
        r'<tr class="unserved">\s*<td>builds\.nowhere</td>(.*?)</tr>', page.text, re.S
    )
    assert unserved, page.text
    assert 'queues = ["builds.nowhere"]' in unserved.group(1)
    assert '<tr class="">\n      <td>builds.default</td>' in page.text
    assert "<td>someone</td>" in page.text


async def test_stored_log_streams_whole_head_first(
    system: Running, git_repo: Callable[..., GitRepo]
) -> None:
    slug = (await new_repo(system, git_repo))["slug"]
    _, job_id = await add_job(system, slug, queue="q", state="passed")
    content = "".join(f"line {n} ünïcödé\n" for n in range(60_000))
    assert len(content) > 3 * HEAD_CHARS
    async with system.instance.services.ctx.sessions() as session, session.begin():
        session.add(Log(job_id=job_id, attempt=1, content=content, size=len(content)))

    async with system.http.stream("GET", f"/api/job/{job_id}/log.txt") as answer:
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert "content-length" not in answer.headers  # streamed, not assembled first
        received = b"".join([chunk async for chunk in answer.aiter_raw()])
    assert received.decode() == content


async def test_admin_dashboard_shows_the_doctors_checks_and_the_last_backup(
    system: Running, git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    slug = (await new_repo(system, git_repo))["slug"]
    await add_job(system, slug, queue="builds.nowhere", state="queued")
    page = (await system.http.get("/admin")).text
    doctor = page[page.index('id="doctor"') : page.index('id="backup"')]
    assert '<td>database</td><td><span class="check check-ok">ok</span>' in doctor
    assert re.search(
        r'<td>queue builds\.nowhere</td><td><span class="check check-fail">FAIL</span></td>'
        r"<td>1 job waits in queue builds\.nowhere and no worker serves it",
        doctor,
    )
    backup = page[page.index('id="backup"') : page.index('id="users"')]
    assert '<span class="check check-warn">warn</span> no successful `roundhouse backup`' in backup

    settings = system.instance.services.ctx.settings
    archive = tmp_path / "roundhouse-today.tar.gz"
    archive.write_bytes(b"x" * 4096)
    lastbackup.record(settings, archive, utcnow())
    cached = system.instance.app.state.admin_doctor
    page = (await system.http.get("/admin")).text
    # The backup shows at once; the other checks are not rerun on every live refresh.
    backup = page[page.index('id="backup"') : page.index('id="users"')]
    assert f'<span class="check check-ok">ok</span> the last backup, {archive} (4.0 KiB)' in backup
    assert system.instance.app.state.admin_doctor is cached
