"""Shared fixtures: temporary git repositories, database URLs (SQLite and PostgreSQL), and a
whole running Roundhouse (platform + local worker + HTTP server) on a free local port.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from roundhouse import tlsclient
from roundhouse.settings import Settings
from roundhouse.up import AllInOne
from tests.dbtemplates import PostgresTemplate, SqliteTemplate, schema_url

# Fixtures of the forge tests (fake forge API, repositories connected by webhook, OAuth, the
# repositories a sync lists) and of the notification tests (SMTP server, HTTP receivers).
pytest_plugins = ["tests.forges", "tests.oauth_provider", "tests.receivers", "tests.forge_repos"]

POSTGRES_BASE = os.environ.get(
    "ROUNDHOUSE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    """A real git repository in a temporary folder, committed to with the git CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        return subprocess.run(
            ["git", *args], cwd=self.path, env=env, check=True, capture_output=True, text=True
        ).stdout

    def commit(self, files: dict[str, str], message: str = "a commit") -> str:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    @property
    def url(self) -> str:
        return self.path.as_uri()


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[..., GitRepo]:
    def make(name: str = "", owner: str = "team") -> GitRepo:
        # Unique names: the PostgreSQL schema is shared by the whole test run.
        path = tmp_path / "repos" / owner / (name or f"project-{uuid.uuid4().hex[:8]}")
        path.mkdir(parents=True)
        return GitRepo(path)

    return make


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema for this test in the `test` database; dropped at the end.

    Per test, not per run: a platform that starts recovers every unfinished job it finds,
    so one test's leftovers would run in the next test's worker.
    """
    import sqlalchemy

    schema = f"rh_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(POSTGRES_BASE, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    except sqlalchemy.exc.OperationalError as error:
        pytest.fail(
            f"PostgreSQL at {POSTGRES_BASE} is not reachable (run `make services`): {error}"
        )
    yield schema_url(POSTGRES_BASE, schema)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def vhosts() -> Iterator[Any]:
    """RabbitMQ vhosts for this session's tests (tests/integration/broker/rabbitmq.py)."""
    from tests.integration.broker import rabbitmq

    try:
        rabbitmq.rabbitmqctl("await_startup")
    except (OSError, RuntimeError) as error:
        pytest.fail(f"RabbitMQ is not running (run `make services`): {error}")
    vhosts = rabbitmq.Vhosts()
    yield vhosts
    vhosts.delete_all()


@pytest.fixture
def vhost(vhosts: Any) -> str:
    """A RabbitMQ vhost of this test alone (deleted at the end of the session)."""
    name: str = vhosts.take()
    return name


@pytest.fixture
def amqp_url(vhost: str) -> str:
    from tests.integration.broker import rabbitmq

    return rabbitmq.url_of(vhost)


# For a module whose tests need not run on both databases: `pytestmark = SQLITE_ONLY`.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("database-template"))


@pytest.fixture(scope="session")
def postgres_template() -> PostgresTemplate:
    return PostgresTemplate(POSTGRES_BASE)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the newest migration (as the platform's first start leaves it), or an
    empty one for tests marked `empty_database`."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        target = tmp_path / "roundhouse.db"
        if empty:
            return f"sqlite:///{target}"
        return request.getfixturevalue("sqlite_template").copy_to(target)  # type: ignore[no-any-return]
    url: str = request.getfixturevalue("postgres_url")
    if empty:
        return url
    return request.getfixturevalue("postgres_template").fill(url)  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Api:
    """An authenticated HTTP client of a running platform, with the calls tests make."""

    http: httpx.AsyncClient

    async def add_repo(self, repo: GitRepo) -> dict[str, Any]:
        response = await self.http.post("/api/repos", json={"url": repo.url})
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def trigger(self, slug: str, branch: str = "main", **extra: Any) -> int:
        body = {"request": {"branch": branch, **extra}}
        response = await self.http.post(f"/api/repo/{slug}/requests", json=body)
        assert response.status_code == 202, response.text
        request_id: int = response.json()["request"]["id"]
        return request_id

    async def build_of(self, slug: str, request_id: int, timeout: float = 20) -> int:
        async def build_id() -> int | None:
            requests = (await self.http.get(f"/api/repo/{slug}/requests")).json()["requests"]
            found = next(r for r in requests if r["id"] == request_id)
            if found["state"] == "finished":
                assert found["build_id"] is not None, found
                return int(found["build_id"])
            return None

        return await wait_for(build_id, timeout, f"request {request_id} to make a build")

    async def build(self, build_id: int) -> dict[str, Any]:
        data: dict[str, Any] = (await self.http.get(f"/api/build/{build_id}")).json()
        return data

    async def finished_build(self, build_id: int, timeout: float = 30) -> dict[str, Any]:
        async def finished() -> dict[str, Any] | None:
            build = await self.build(build_id)
            return build if build["state"] in {"passed", "failed", "errored", "canceled"} else None

        return await wait_for(finished, timeout, f"build {build_id} to finish")

    async def job(self, job_id: int) -> dict[str, Any]:
        data: dict[str, Any] = (await self.http.get(f"/api/job/{job_id}")).json()
        return data

    async def log(self, job_id: int) -> str:
        return (await self.http.get(f"/api/job/{job_id}/log.txt")).text


@dataclass
class Running(Api):
    """A running Roundhouse (platform and local worker in this process)."""

    instance: AllInOne
    url: str
    token: str


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float, what: str, every: float = 0.05
) -> Any:
    """Poll check() every `every` seconds until it returns something truthy; fail with `what`
    after timeout. Checks that ask the platform a lot should poll less often: a poll of the
    API costs the test and the platform a few ms of CPU each, and at every 20 ms polls took a
    sixth of the whole suite's CPU."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(every)


@pytest.fixture
def settings_for(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        port = free_port()
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "listen_port": port,
            "poll_interval": 3600,
            "pool_size": 2,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def start_system(
    settings_for: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    servers: list[tuple[uvicorn.Server, asyncio.Task[None], Running]] = []

    async def start(**overrides: Any) -> Running:
        settings = settings_for(**overrides)
        instance = AllInOne.create(settings)
        config = uvicorn.Config(
            instance.app,
            host="127.0.0.1",
            port=settings.listen_port,
            log_level="warning",
            lifespan="on",
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await wait_for(lambda: _started(server, task), 30, "the server to start")
        url = f"http://127.0.0.1:{settings.listen_port}"
        token = instance.services.admin_token
        http = tlsclient.async_client(
            base_url=url, headers={"Authorization": f"token {token}"}, timeout=30
        )
        running = Running(http=http, instance=instance, url=url, token=token)
        servers.append((server, task, running))
        return running

    yield start
    for server, task, running in servers:
        await running.http.aclose()
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on a free local port for the block; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: _started(server, task), 10, "a local HTTP server to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()
    return bool(server.started)


@pytest.fixture
async def system(start_system: Callable[..., Awaitable[Running]]) -> Running:
    return await start_system()
