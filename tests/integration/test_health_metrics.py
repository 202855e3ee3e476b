"""/readyz and /metrics of a running platform: ready only when the database is migrated and
the broker answers; metrics scraped after a real build count it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from roundhouse.broker import BrokerUnavailable, QueueInfo
from tests.conftest import GitRepo, Running

BUILD = "language: shell\nscript:\n  - echo measured\n"


def samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found[(name, frozenset(labels.items()))]


async def test_metrics_after_a_build(system: Running, git_repo: Callable[..., GitRepo]) -> None:
    repo = git_repo()
    repo.commit({".travis.yml": BUILD})
    slug = (await system.add_repo(repo))["slug"]
    build = await system.finished_build(await system.build_of(slug, await system.trigger(slug)))
    assert build["state"] == "passed"
    await system.log(build["jobs"][0]["id"])

    response = await system.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    queue = "builds.default"
    assert value(found, "roundhouse_jobs", state="passed", queue=queue) == 1
    assert value(found, "roundhouse_job_wait_seconds_count", queue=queue) == 1
    assert value(found, "roundhouse_job_run_seconds_count", queue=queue, state="passed") == 1
    assert value(found, "roundhouse_queue_depth", queue=queue) == 0
    assert value(found, "roundhouse_queue_consumers", queue=queue) == 1
    assert value(found, "roundhouse_broker_up") == 1
    assert value(found, "roundhouse_workers") == 1
    assert value(found, "roundhouse_worker_slots", kind="total") == 2
    assert value(found, "roundhouse_log_bytes") > len("measured")
    latency = "roundhouse_http_request_duration_seconds_count"
    assert value(found, latency, method="POST", route="/api/repos", status="201") == 1
    assert value(found, latency, method="GET", route="/api/build/{build_id}", status="200") >= 1
    assert (
        value(found, latency, method="POST", route="/api/repo/{slug}/requests", status="202") == 1
    )


async def test_ready_when_database_and_broker_answer(system: Running) -> None:
    response = await system.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_not_ready_when_the_database_is_behind(system: Running) -> None:
    async with system.instance.services.ctx.sessions() as session, session.begin():
        await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))

    response = await system.http.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "the database is at migration 0001, this version needs" in response.json()["reason"]


async def test_not_ready_when_the_broker_does_not_answer(
    system: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(queue: str) -> QueueInfo:
        raise BrokerUnavailable("cannot reach rabbitmq:5672")

    monkeypatch.setattr(system.instance.services.ctx.broker, "queue_info", unreachable)

    response = await system.http.get("/readyz")

    assert response.status_code == 503
    assert response.json()["reason"] == "the broker does not answer: cannot reach rabbitmq:5672"


async def test_metrics_without_the_broker_still_count_jobs(
    system: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(queue: str) -> QueueInfo:
        raise BrokerUnavailable("cannot reach rabbitmq:5672")

    monkeypatch.setattr(system.instance.services.ctx.broker, "queue_info", unreachable)

    found = samples((await system.http.get("/metrics")).text)

    assert value(found, "roundhouse_broker_up") == 0
    assert value(found, "roundhouse_log_bytes") == 0
    assert not [name for name, _ in found if name == "roundhouse_queue_depth"]
