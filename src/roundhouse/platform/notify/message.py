"""What a notification says about a build: Travis's webhook payload, its status message
("Fixed", "Still Failing", …) and the `%{name}` template variables of chat messages.

Built once per notification from the database rows and the commit read from the mirror.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roundhouse.db.models import Build, Job
from roundhouse.platform.git import Commit

_VAR = re.compile(r"%\{([^}]*)\}")
# Travis's legacy numeric result: 0 passed, 1 did not; None while running or canceled.
_RESULTS = {"passed": 0, "failed": 1, "errored": 1}


def status_message(state: str, previous_state: str | None) -> str:
    """Travis's words for a build's outcome, which take the previous build into account."""
    if state == "passed":
        return "Fixed" if previous_state in ("failed", "errored") else "Passed"
    if state == "failed":
        if previous_state == "failed":
            return "Still Failing"
        return "Broken" if previous_state == "passed" else "Failed"
    return {"errored": "Errored", "canceled": "Canceled"}.get(state, "Pending")


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass(frozen=True)
class BuildMessage:
    """One build's facts, as every channel tells them."""

    build: Build
    jobs: list[Job]
    commit: Commit
    state: str
    previous_state: str | None
    build_url: str

    @property
    def slug(self) -> str:
        return self.build.repository.slug

    @property
    def status(self) -> str:
        return status_message(self.state, self.previous_state)

    @property
    def duration(self) -> int | None:
        started, finished = self.build.started_at, self.build.finished_at
        if started is None or finished is None:
            return None
        return int((finished - started).total_seconds())

    @property
    def branch(self) -> str:
        return self.build.tag or self.build.branch or ""

    def summary(self) -> str:
        """One line: `Build #12 (abc1234) of team/app@main by Ann Author passed in 42 s`."""
        duration = "" if self.duration is None else f" in {self.duration} s"
        return (
            f"Build #{self.build.number} ({self.build.sha[:7]}) of {self.slug}@{self.branch} "
            f"by {self.commit.author} {self.status.lower()}{duration}"
        )

    def template_vars(self) -> dict[str, str]:
        build, request = self.build, self.build.request
        subject = self.commit.message.splitlines()[0] if self.commit.message else ""
        duration = "" if self.duration is None else f"{self.duration} sec"
        return {
            "repository": self.slug,
            "repository_slug": self.slug,
            "repository_name": self.slug.split("/", 1)[-1],
            "build_number": str(build.number),
            "build_id": str(build.id),
            "build_url": self.build_url,
            "branch": self.branch,
            "commit": build.sha[:7],
            "commit_subject": subject,
            "commit_message": self.commit.message,
            "author": self.commit.author,
            "result": self.status.lower(),
            "duration": duration,
            "elapsed_time": duration,
            "message": self.summary(),
            "compare_url": "",
            "pull_request": str(request.pull_request_number is not None).lower(),
            "pull_request_number": str(request.pull_request_number or ""),
            "pull_request_url": "",
            "tag": build.tag or "",
        }

    def render(self, template: list[str]) -> str:
        """Template lines with `%{name}` replaced (an unknown name stays as written)."""
        values = self.template_vars()
        return "\n".join(
            _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), str(line)) for line in template
        )

    def payload(self) -> dict[str, Any]:
        """The JSON Travis posts to webhooks (the `payload` form field)."""
        build, request, commit = self.build, self.build.request, self.commit
        result = _RESULTS.get(self.state)
        owner, _, name = self.slug.partition("/")
        people = {
            "author_name": commit.author,
            "author_email": commit.author_email,
            "committer_name": commit.committer,
            "committer_email": commit.committer_email,
        }
        shared = {
            "commit": build.sha,
            "branch": build.branch,
            "message": build.message,
            "compare_url": None,
            "committed_at": commit.committed_at or None,
            **people,
        }
        return {
            "id": build.id,
            "number": str(build.number),
            "type": build.event_type,
            "state": self.state,
            "status": result,
            "result": result,
            "status_message": self.status,
            "result_message": self.status,
            "started_at": _time(build.started_at),
            "finished_at": _time(build.finished_at),
            "duration": self.duration,
            "build_url": self.build_url,
            "base_commit": build.sha,
            "head_commit": request.head_sha or build.sha,
            "pull_request": request.pull_request_number is not None,
            "pull_request_number": request.pull_request_number,
            "pull_request_title": request.pull_request_title,
            "tag": build.tag,
            **shared,
            "repository": {
                "id": build.repository_id,
                "name": name,
                "owner_name": owner,
                "url": build.repository.url,
            },
            "matrix": [
                {
                    "id": job.id,
                    "repository_id": job.repository_id,
                    "parent_id": build.id,
                    "number": job.number,
                    "state": job.state,
                    "config": job.config,
                    "status": _RESULTS.get(job.state),
                    "result": _RESULTS.get(job.state),
                    "allow_failure": job.allow_failure,
                    "started_at": _time(job.started_at),
                    "finished_at": _time(job.finished_at),
                    **shared,
                }
                for job in self.jobs
            ],
        }
