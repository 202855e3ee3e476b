"""The gatekeeper: turns a stored Request into a Build and its Jobs, or records why not.

It reads .travis.yml at the commit from the repository's mirror (no checkout) and never
raises on bad input: every outcome is written on the request for the requests page.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse import travisyml
from roundhouse.db.models import Build, Job, JobTransition, Repository, Request, utcnow
from roundhouse.platform.accounts import suspended_sender
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.git import GitError
from roundhouse.platform.imports import MirrorImports, Source
from roundhouse.platform.revisions import resolve
from roundhouse.platform.routing import route
from roundhouse.platform.scheduler import Scheduler
from roundhouse.platform.suspension import suspended_reason

log = logging.getLogger(__name__)
CONFIG_FILE = ".travis.yml"


class Rejected(Exception):
    """The request will not build; the message is the reason shown to people."""

    def __init__(self, reason: str, result: str = "rejected") -> None:
        super().__init__(reason)
        self.result = result


def request_data(request: Request, repository: Repository) -> dict[str, Any]:
    """What `if:` conditions and branch rules see about this request."""
    return {
        "type": request.event_type,
        "branch": request.branch,
        "tag": request.tag,
        "repo": repository.slug,
        "commit_message": request.message,
        "sender": request.sender,
        "fork": request.fork,
        "head_branch": request.head_branch,
        "head_repo": request.head_slug,
    }


def disabled(request: Request, repository: Repository) -> str | None:
    """Why the repository's settings turn this kind of request away, or None."""
    if request.event_type == "push" and not repository.build_pushes:
        return "Builds of pushes are turned off in the repository's settings (build_pushes)."
    if request.event_type == "pull_request" and not repository.build_pull_requests:
        return (
            "Builds of pull requests are turned off in the repository's settings "
            "(build_pull_requests)."
        )
    return None


class Gatekeeper:
    def __init__(self, ctx: PlatformContext, scheduler: Scheduler) -> None:
        self.ctx = ctx
        self.scheduler = scheduler

    async def handle(self, request_id: int) -> int | None:
        """Process one request; returns the new build's id, or None when none was made."""
        async with self.ctx.sessions() as session, session.begin():
            request = await session.get(Request, request_id)
            if request is None or request.state != "pending":
                return None
            try:
                build = await self._accept(session, request)
            except Rejected as rejected:
                request.state, request.result = "finished", rejected.result
                request.reason = str(rejected)
                build = None
            except GitError as error:
                request.state, request.result = "finished", "errored"
                request.reason = f"Could not read the repository: {error}"
                build = None
            except Exception:  # a bug must not lose the request: record it and go on
                log.exception("gatekeeper failed on request %s", request_id)
                request.state, request.result = "finished", "errored"
                request.reason = (
                    "Internal error while processing the request; see the platform log."
                )
                build = None
            repository_id = request.repository_id
        self.ctx.bus.publish(f"repo:{repository_id}")
        if build is not None:
            self.ctx.build_changed(build.id, build.state)
            if build.state == "created":  # an errored build (configuration errors) never runs
                await self.scheduler.schedule(build.id)
        # Once the build is on its way: the mirror's housekeeping, when due.
        mirror = self.ctx.mirrors.get(repository_id)
        if mirror is not None:
            await mirror.maintain()
        return None if build is None else build.id

    async def _accept(self, session: AsyncSession, request: Request) -> Build:
        repository = request.repository
        reason = disabled(request, repository) or await suspended_reason(session, request.sender)
        if reason:
            raise Rejected(reason)
        if await suspended_sender(session, request.sender, request.event_type, repository.forge):
            raise Rejected(f"The sender {request.sender} is suspended on this Roundhouse.")
        if not (request.sha or request.branch or request.pull_request_number):
            raise Rejected("The request names neither a branch nor a commit.")
        mirror = self.ctx.mirror(repository.id, repository.url)
        revision = await resolve(request, mirror)
        request.ref = revision.ref
        commit, config_file = await mirror.commit_and_file(revision.sha, CONFIG_FILE)
        request.sha = commit.sha
        if not request.message:
            # A pull request's merge commit says "Merge …"; people wrote the head's message.
            shown = await mirror.commit(request.head_sha) if request.head_sha else commit
            request.message = shown.message

        text = self._config_text(request, config_file, commit.sha)
        data = request_data(request, repository)
        if request.config_override is not None and request.merge_mode != "replace":
            # Travis's API: the request's config goes over .travis.yml (default deep_merge_append).
            data["config"], data["merge_mode"] = request.config_override, request.merge_mode
        if "import" in text:
            # Imports read git synchronously: keep that off the event loop.
            imports = MirrorImports(
                Source(repository.slug, CONFIG_FILE, commit.sha),
                await self._mirrors(session, repository),
            )
            result = await asyncio.to_thread(travisyml.build_matrix, text, data, import_fn=imports)
        else:
            result = travisyml.build_matrix(text, data)
        messages = [_message_json(m) for m in result.messages]
        request.messages = messages
        errors = [m for m in result.messages if m.level == "error"]
        if not result.accepted and not errors:
            raise Rejected(result.reason or "The configuration does not build this request.")
        build = await self._create_build(session, request, repository, result, messages)
        if errors or not result.jobs:
            # The build page shows the messages; nothing runs.
            build.state, build.finished_at = "errored", utcnow()
            request.state, request.result = "finished", "errored"
            request.reason = "; ".join(str(m) for m in errors) or "The configuration has no jobs."
            return build
        request.state, request.result = "finished", "accepted"
        return build

    def _config_text(self, request: Request, config_file: str | None, sha: str) -> str:
        """The .travis.yml at the commit, or the request's own config when it replaces it."""
        if request.config_override is not None and request.merge_mode == "replace":
            text: str | None = request.config_override
        else:
            text = config_file
            if text is None and request.config_override is not None:
                text = ""  # nothing to merge the request's config into
        if text is None:
            raise Rejected(f"No {CONFIG_FILE} found at commit {sha[:7]}.")
        limit = self.ctx.settings.max_config_bytes
        if len(text.encode()) > limit:
            raise Rejected(f"{CONFIG_FILE} is larger than max_config_bytes ({limit} bytes).")
        return text

    async def _mirrors(
        self, session: AsyncSession, importer: Repository
    ) -> dict[str, tuple[Path, str]]:
        """The mirrors of the repositories `importer` may import from: itself, public ones, and
        for a private importer the private ones of its owner (Travis's rule); the others are
        left out, so importing one reads as a file that does not exist."""
        rows = await session.execute(
            select(Repository.id, Repository.slug, Repository.url, Repository.private)
        )
        return {
            slug: (self.ctx.mirror(rid, url).path, url)
            for rid, slug, url, private in rows
            if may_import(importer, slug, private)
        }

    async def _create_build(
        self,
        session: AsyncSession,
        request: Request,
        repository: Repository,
        result: travisyml.MatrixResult,
        messages: list[dict[str, Any]],
    ) -> Build:
        # One statement: platform processes building one repository at once get a number each.
        following = await session.scalar(
            update(Repository)
            .where(Repository.id == repository.id)
            .values(next_build_number=Repository.next_build_number + 1)
            .returning(Repository.next_build_number)
        )
        assert following is not None
        number = following - 1
        build = Build(
            repository_id=repository.id,
            request_id=request.id,
            number=number,
            event_type=request.event_type,
            branch=request.branch,
            tag=request.tag,
            sha=request.sha or "",
            message=request.message,
            stages=list(result.stages),
            fast_finish=result.fast_finish,
            messages=messages,
            pull_request_number=request.pull_request_number,
            notifications=result.notifications,
        )
        session.add(build)
        await session.flush()
        request.build_id = build.id
        jobs = []
        for index, matrix_job in enumerate(result.jobs, start=1):
            jobs.append(
                Job(
                    build_id=build.id,
                    repository_id=repository.id,
                    number=f"{number}.{index}",
                    stage=matrix_job.stage,
                    name=matrix_job.name,
                    allow_failure=matrix_job.allow_failure,
                    config=matrix_job.config,
                    queue=route(matrix_job.config, repository.slug, self.ctx.settings),
                )
            )
        session.add_all(jobs)
        await session.flush()
        session.add_all(JobTransition(job_id=j.id, attempt=1, state="created") for j in jobs)
        return build


def _message_json(message: travisyml.Message) -> dict[str, Any]:
    return {
        "level": message.level,
        "key": message.key,
        "code": message.code,
        "text": str(message),
        "line": message.line,
    }


def may_import(importer: Repository, slug: str, private: bool) -> bool:
    if slug == importer.slug or not private:
        return True
    return importer.private and slug.split("/", 1)[0] == importer.slug.split("/", 1)[0]
