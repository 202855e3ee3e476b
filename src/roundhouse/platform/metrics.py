"""Prometheus metrics of the platform, served at /metrics (docs/operations.md).

Counts that the database knows (jobs by state and queue, log bytes, workers) and queue depths
are read when Prometheus scrapes, so every platform process reports the same truth and
nothing drifts after a restart. What only happens as events — how long jobs waited and ran,
how long API requests took — is observed in this process: Prometheus sums the processes.
Each Metrics has its own registry so that several platforms in one process (tests) do not
collide in prometheus_client's global one.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roundhouse.broker import Broker, BrokerError, QueueInfo
from roundhouse.db.models import Job, Log, LogPart, Worker
from roundhouse.platform.context import JobTimes, PlatformContext
from roundhouse.protocol import FINISHED_STATES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Job waits and runs: seconds to hours (hard_timeout defaults to 50 minutes).
BROKER_WAIT = 5  # seconds a scrape waits for queue depths
JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3000, 3600, 7200)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Gauge(
            "roundhouse_jobs",
            "Jobs by state and queue.",
            ["state", "queue"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "roundhouse_queue_depth",
            "Messages waiting in a broker queue.",
            ["queue"],
            registry=self.registry,
        )
        self.queue_consumers = Gauge(
            "roundhouse_queue_consumers",
            "Consumers able to take messages from a broker queue.",
            ["queue"],
            registry=self.registry,
        )
        self.broker_up = Gauge(
            "roundhouse_broker_up",
            "1 when the broker answered this scrape, else 0 (and no queue metrics).",
            registry=self.registry,
        )
        self.workers = Gauge(
            "roundhouse_workers", "Workers with a recent heartbeat.", registry=self.registry
        )
        self.worker_slots = Gauge(
            "roundhouse_worker_slots",
            "Job slots of live workers, busy or in all.",
            ["kind"],
            registry=self.registry,
        )
        self.log_bytes = Gauge(
            "roundhouse_log_bytes", "Bytes of stored job logs.", registry=self.registry
        )
        self.wait = Histogram(
            "roundhouse_job_wait_seconds",
            "Time from queued to started, observed when a job starts.",
            ["queue"],
            buckets=JOB_BUCKETS,
            registry=self.registry,
        )
        self.run = Histogram(
            "roundhouse_job_run_seconds",
            "Time from started to finished, observed when a job finishes.",
            ["queue", "state"],
            buckets=JOB_BUCKETS,
            registry=self.registry,
        )
        self.api = Histogram(
            "roundhouse_http_request_duration_seconds",
            "Time until an HTTP response starts, by route template.",
            ["method", "route", "status"],
            registry=self.registry,
        )

    def job_changed(self, job: JobTimes) -> None:
        """The hub applied a state event to job; observe its wait or run time."""
        if job.state == "started" and job.queued_at and job.started_at:
            seconds = (job.started_at - job.queued_at).total_seconds()
            self.wait.labels(job.queue).observe(max(seconds, 0))
        elif job.state in FINISHED_STATES and job.started_at and job.finished_at:
            seconds = (job.finished_at - job.started_at).total_seconds()
            self.run.labels(job.queue, job.state).observe(max(seconds, 0))

    async def scrape(self, ctx: PlatformContext, alive: list[Worker]) -> bytes:
        """Read the database and the broker, then render every metric."""
        async with ctx.sessions() as session:
            by_state = (
                await session.execute(
                    select(Job.state, Job.queue, func.count()).group_by(Job.state, Job.queue)
                )
            ).all()
            stored = await session.scalar(select(func.coalesce(func.sum(Log.size), 0)))
            streaming = await session.scalar(
                select(func.coalesce(func.sum(func.length(LogPart.content)), 0))
            )
        # The default queue always: a scrape then always tells whether the broker answers.
        queues = {queue for _, queue, _ in by_state} | {q for w in alive for q in w.queues}
        queues.add(ctx.settings.default_queue)
        try:
            infos = await asyncio.wait_for(_queue_infos(ctx.broker, sorted(queues)), BROKER_WAIT)
        except (BrokerError, TimeoutError):
            infos = None  # the database's numbers are still worth a scrape
        # Set everything after the awaits: a scrape never shows a half-updated family.
        self.jobs.clear()
        for state, queue, count in by_state:
            self.jobs.labels(state, queue).set(count)
        self.broker_up.set(infos is not None)
        self.queue_depth.clear()
        self.queue_consumers.clear()
        for info in infos or []:
            self.queue_depth.labels(info.name).set(info.depth)
            self.queue_consumers.labels(info.name).set(info.consumers)
        self.workers.set(len(alive))
        self.worker_slots.labels("busy").set(sum(w.busy for w in alive))
        self.worker_slots.labels("total").set(sum(w.capacity for w in alive))
        self.log_bytes.set(int(stored or 0) + int(streaming or 0))
        return generate_latest(self.registry)


async def _queue_infos(broker: Broker, names: list[str]) -> list[QueueInfo]:
    return [await broker.queue_info(name) for name in names]


class LatencyMiddleware:
    """ASGI middleware timing each HTTP request until its response starts.

    Until the start, not the end: a live log stream would otherwise count as one request
    lasting minutes. The route template (/api/build/{id}) keeps the label set small.
    """

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app, self.histogram = app, histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = route_template(scope)
                self.histogram.labels(scope["method"], route, str(message["status"])).observe(
                    time.perf_counter() - started
                )
            await send(message)

        await self.app(scope, receive, observing_send)


def route_template(scope: Scope) -> str:
    """/api/build/12 → /api/build/{build_id}, from the path parameters the router found.

    Built from the path rather than read from the route object: with included routers the
    route object may not know its prefix. Paths no route matched share one label.
    """
    params: dict[str, Any] = scope.get("path_params") or {}
    if "route" not in scope and not params:
        return "unmatched"
    path: str = scope["path"]
    for name, value in params.items():
        path = re.sub(rf"(?<=/){re.escape(str(value))}(?=/|$)", f"{{{name}}}", path, count=1)
    return path
