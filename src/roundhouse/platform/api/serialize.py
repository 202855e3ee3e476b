"""Resource shapes of the API (after Travis API v3); the web pages render these same dicts.

One function per resource, so the UI and the API never disagree about what a build is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from roundhouse.db.models import (
    ApiToken,
    Build,
    Cron,
    Identity,
    Job,
    JobTransition,
    Repository,
    Request,
    User,
    Worker,
)
from roundhouse.protocol import FINISHED_STATES


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def repository(
    repo: Repository, public_url: str, last_build: Build | None = None
) -> dict[str, Any]:
    return {
        "@type": "repository",
        "id": repo.id,
        "slug": repo.slug,
        "owner": repo.slug.split("/", 1)[0],
        "name": repo.slug.split("/", 1)[-1],
        "url": repo.url,
        "private": repo.private,
        "active": repo.active,
        "poll": repo.poll,
        "last_polled_at": _time(repo.last_polled_at),
        "poll_error": repo.poll_error,
        "forge": repo.forge,
        "web_url": f"{public_url}/{repo.slug}",
        "last_build": build(last_build, public_url) if last_build else None,
    }


def build(b: Build, public_url: str, jobs: list[Job] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@type": "build",
        "id": b.id,
        "number": b.number,
        "state": b.state,
        "event_type": b.event_type,
        "repository": {"id": b.repository_id, "slug": b.repository.slug},
        "branch": b.branch,
        "tag": b.tag,
        "commit": {"sha": b.sha, "message": b.message},
        "pull_request_number": b.pull_request_number,
        "pull_request_title": b.request.pull_request_title,
        "pull_request": pull_request(b.request),
        "status_error": b.status_error,
        "stages": b.stages,
        "fast_finish": b.fast_finish,
        "messages": b.messages,
        "request_id": b.request_id,
        "created_at": _time(b.created_at),
        "started_at": _time(b.started_at),
        "finished_at": _time(b.finished_at),
        "duration": _duration(b.started_at, b.finished_at),
        "web_url": f"{public_url}/{b.repository.slug}/builds/{b.id}",
    }
    if jobs is not None:
        data["jobs"] = [job(j, public_url, b) for j in jobs]
    return data


def job(
    j: Job, public_url: str, b: Build | None = None, history: list[JobTransition] | None = None
) -> dict[str, Any]:
    b = b or j.build
    data: dict[str, Any] = {
        "@type": "job",
        "id": j.id,
        "number": j.number,
        "state": j.state,
        "attempt": j.attempt,
        "build_id": j.build_id,
        "stage": j.stage,
        "name": j.name,
        "allow_failure": j.allow_failure,
        "queue": j.queue,
        "worker": j.worker,
        "waiting_reason": j.waiting_reason,
        "config": j.config,
        "created_at": _time(j.created_at),
        "queued_at": _time(j.queued_at),
        "received_at": _time(j.received_at),
        "started_at": _time(j.started_at),
        "finished_at": _time(j.finished_at),
        "duration": _duration(j.started_at, j.finished_at),
        "web_url": f"{public_url}/{b.repository.slug}/jobs/{j.id}",
    }
    if history is not None:
        data["history"] = [
            {"attempt": t.attempt, "state": t.state, "worker": t.worker, "at": _time(t.at)}
            for t in history
        ]
        data["attempts"] = attempts(j, history)
    return data


def attempts(j: Job, history: list[JobTransition]) -> list[dict[str, Any]]:
    """One entry per attempt: its worker, the last state it reached (`lost` for an earlier
    attempt that never finished), and when it was received and ended."""
    found: dict[int, dict[str, Any]] = {}
    for t in history:
        entry = found.setdefault(
            t.attempt,
            {"attempt": t.attempt, "worker": None, "state": t.state, "received_at": None},
        )
        entry["state"] = t.state
        entry["worker"] = t.worker or entry["worker"]
        if t.state == "received":
            entry["received_at"] = _time(t.at)
        entry["ended_at"] = _time(t.at)
    for entry in found.values():
        if entry["attempt"] < j.attempt and entry["state"] not in FINISHED_STATES:
            entry["state"] = "lost"
    return [found[n] for n in sorted(found)]


def pull_request(r: Request) -> dict[str, Any] | None:
    """The pull request a request or build is about (`branch` is then its base branch)."""
    if r.pull_request_number is None:
        return None
    return {
        "number": r.pull_request_number,
        "title": r.pull_request_title,
        "head_branch": r.head_branch,
        "head_sha": r.head_sha,
        "head_slug": r.head_slug,
        "fork": r.fork,
        "ref": r.ref,
    }


def request(r: Request) -> dict[str, Any]:
    return {
        "@type": "request",
        "id": r.id,
        "event_type": r.event_type,
        "branch": r.branch,
        "tag": r.tag,
        "commit": {"sha": r.sha, "message": r.message},
        "sender": r.sender,
        "pull_request": pull_request(r),
        "state": r.state,
        "result": r.result,
        "reason": r.reason,
        "messages": r.messages,
        "build_id": r.build_id,
        "created_at": _time(r.created_at),
    }


def worker(w: Worker, alive: bool) -> dict[str, Any]:
    return {
        "@type": "worker",
        "name": w.name,
        "version": w.version,
        "protocol": w.protocol,
        "queues": w.queues,
        "backend": w.backend,
        "capacity": w.capacity,
        "busy": w.busy,
        "running": w.running,
        "leases": w.leases or [],
        "alive": alive,
        "problem": w.problem,
        "first_seen": _time(w.first_seen),
        "last_seen": _time(w.last_seen),
    }


def cron(c: Cron) -> dict[str, Any]:
    return {
        "@type": "cron",
        "id": c.id,
        "repository": {"id": c.repository_id, "slug": c.repository.slug},
        "branch": c.branch,
        "interval": c.interval,
        "dont_run_if_recent_build_exists": c.dont_run_if_recent_build_exists,
        "created_at": _time(c.created_at),
        "next_run_at": _time(c.next_run_at),
        "last_run_at": _time(c.last_run_at),
        "last_request_id": c.last_request_id,
        "last_skip_reason": c.last_skip_reason,
    }


def user_json(user: User, identities: list[Identity] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@type": "user",
        "id": user.id,
        "login": user.login,
        "name": user.name,
        "email": user.email,
        "admin": user.is_admin,
        "suspended": user.suspended,
        "password_set": user.password_hash is not None,
        "created_at": _time(user.created_at),
    }
    if identities is not None:
        data["identities"] = [{"provider": i.provider, "login": i.login} for i in identities]
    return data


def token_json(row: ApiToken) -> dict[str, Any]:
    return {
        "@type": "token",
        "id": row.id,
        "name": row.name,
        "created_at": _time(row.created_at),
        "last_used_at": _time(row.last_used_at),
    }
