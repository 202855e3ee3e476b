"""Server time of the repository pages with 10,000 builds in a repository (PostgreSQL):
build history (first and last page), branches, pull requests, the repositories list, and the
API's build list. Run with `python -m bench.buildlist [POSTGRES_URL]`.

The platform runs in this process (uvicorn) on a schema of its own in the `test` database,
which is dropped at the end. Three repositories of 10,000 builds each (40 branches, a pull
request in every twentieth build, a tag in every hundredth); each page is asked for 20 times
over local HTTP, then again without the indexes of migration 0009.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy
import uvicorn

from bench.system import free_port
from roundhouse.db.models import Build, Repository, Request
from roundhouse.platform.app import create_app
from roundhouse.platform.services import Services
from roundhouse.settings import Settings

BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BUILDS = 10_000
REPOSITORIES = 3
ROUNDS = 20
INDEXES = ("ix_builds_repo_branch", "ix_builds_repo_pull_request")


def fill(engine: sqlalchemy.Engine) -> list[str]:
    """Repositories full of finished builds; returns their slugs."""
    slugs = []
    with engine.begin() as db:
        for r in range(REPOSITORIES):
            slug = f"bench/repo{r}"
            repo_id = db.execute(
                sqlalchemy.insert(Repository)
                .values(slug=slug, url=f"file:///nowhere/{r}", next_build_number=BUILDS + 1)
                .returning(Repository.id)
            ).scalar_one()
            requests = [
                {"repository_id": repo_id, "event_type": "push", "state": "finished"}
                for _ in range(BUILDS)
            ]
            ids = db.execute(
                sqlalchemy.insert(Request).returning(Request.id, sort_by_parameter_order=True),
                requests,
            ).scalars()
            builds = []
            for n, request_id in enumerate(ids, start=1):
                pull = n if n % 20 == 0 else None
                builds.append(
                    {
                        "repository_id": repo_id,
                        "request_id": request_id,
                        "number": n,
                        "state": "passed" if n % 7 else "failed",
                        "event_type": "pull_request" if pull else "push",
                        "branch": f"branch-{n % 40}",
                        "tag": f"v{n}" if n % 100 == 1 else None,
                        "sha": uuid.uuid4().hex,
                        "message": f"Change number {n}\n\nWith a longer body.",
                        "pull_request_number": pull,
                    }
                )
            db.execute(sqlalchemy.insert(Build), builds)
            slugs.append(slug)
        db.execute(sqlalchemy.text("ANALYZE"))
    return slugs


async def timed(http: httpx.AsyncClient, path: str) -> tuple[float, float]:
    """(median, max) in ms of ROUNDS requests for path, after one to warm up."""
    (await http.get(path)).raise_for_status()
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        (await http.get(path)).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


async def measure(url: str, token: str, slug: str) -> dict[str, tuple[float, float]]:
    paths = [
        f"/{slug}/builds",
        f"/{slug}/builds?page={BUILDS // 25}",
        f"/{slug}/branches",
        f"/{slug}/pull_requests",
        "/",
        f"/api/repo/{slug}/builds?limit=25",
    ]
    headers = {"Authorization": f"token {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        return {path: await timed(http, path) for path in paths}


async def run(base: str) -> None:
    schema = f"rh_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(base)
    with admin.begin() as db:
        db.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    url = f"{base}?options=-csearch_path%3D{schema}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            settings = Settings(
                data_dir=Path(tmp), database_url=url, listen_port=port, poll_interval=3600
            )
            services = Services.create(settings)
            config = uvicorn.Config(
                create_app(services), host="127.0.0.1", port=port, log_level="warning"
            )
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
            try:
                engine = sqlalchemy.create_engine(url)
                slugs = await asyncio.to_thread(fill, engine)
                print(f"{REPOSITORIES} repositories × {BUILDS} builds stored")
                base_url = f"http://127.0.0.1:{port}"
                token = services.admin_token
                with_indexes = await measure(base_url, token, slugs[1])
                with engine.begin() as db:
                    for index in INDEXES:
                        db.execute(sqlalchemy.text(f"DROP INDEX {index}"))
                    db.execute(sqlalchemy.text("ANALYZE"))
                without = await measure(base_url, token, slugs[1])
                engine.dispose()
            finally:
                server.should_exit = True
                await task
    finally:
        with admin.begin() as db:
            db.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    print(f"{'page':44} {'with 0009 indexes':>20} {'without':>20}   (median / max ms)")
    for path, (median, worst) in with_indexes.items():
        other = without[path]
        print(f"{path:44} {median:9.1f} / {worst:7.1f} {other[0]:9.1f} / {other[1]:7.1f}")


def main() -> None:
    asyncio.run(run(sys.argv[1] if len(sys.argv) > 1 else BASE))


if __name__ == "__main__":
    main()
