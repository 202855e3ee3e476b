"""Request-scoped helpers for routes: the services, the caller (API token or browser session),
and the one access layer every route goes through (RepoAccess, SignedIn, InstanceAdmin).

Private repositories answer 404 to whoever may not read them, so that their existence is not
revealed; a caller who may read but not write gets 401 (anonymous) or 403 (signed in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Build, Job, Repository, User
from roundhouse.platform.auth import user_for_token
from roundhouse.platform.roles import ADMIN, PULL, PUSH, Role, at_least, role_on
from roundhouse.platform.services import Services
from roundhouse.platform.sessions import CSRF_FIELD, CSRF_HEADER
from roundhouse.platform.suspension import suspended_owner

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(services)]


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


async def current_user(request: Request, svc: ServicesDep) -> User | None:
    """The caller by API token (401 for a token that is not valid), else by session cookie;
    None: anonymous. A suspended user's session counts as none. A write through the session
    cookie needs the page's CSRF token in a header."""
    token = token_of(request)
    signer = svc.ctx.session_signer
    if token:
        async with svc.ctx.sessions() as session, session.begin():
            user = await user_for_token(session, token)
            suspended = None if user is not None else await suspended_owner(session, token)
        if suspended is not None:
            raise HTTPException(
                403,
                f"The account {suspended} is suspended; an administrator can lift it with"
                f" `roundhouse users unsuspend {suspended}`.",
            )
        if user is None:
            # Refused rather than taken as anonymous: a script with a revoked token should
            # hear so, not quietly see less.
            raise HTTPException(401, "The API token is not valid: it was revoked.")
        return user
    browser = signer.read(request)
    if browser is None:
        return None
    async with svc.ctx.sessions() as session:
        user = await session.get(User, browser.user_id)
    if user is None or user.suspended:
        return None
    if request.method not in SAFE_METHODS and not signer.csrf_valid(
        request, await _csrf_sent(request)
    ):
        raise HTTPException(
            403,
            "The request lacks the page's CSRF token (the X-CSRF-Token header, or a form's"
            " csrf_token field); reload the page.",
        )
    return user


async def _csrf_sent(request: Request) -> str:
    """The CSRF token of a write: the X-CSRF-Token header (fetch), else the csrf_token field
    of an HTML form post (forms cannot set headers)."""
    header = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if header or not content_type.startswith(FORM_TYPES):
        return header
    # Starlette keeps the parsed form, so the route's Form() parameters read it again.
    field = (await request.form()).get(CSRF_FIELD, "")
    return field if isinstance(field, str) else ""


async def require_user(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise HTTPException(
            401,
            "Sign in, or send a valid API token: 'Authorization: token <TOKEN>'.",
        )
    return user


async def require_admin(user: Annotated[User, Depends(require_user)]) -> User:
    if not user.is_admin:
        raise HTTPException(403, f"{user.login} is not an administrator of this Roundhouse.")
    return user


async def require_csrf(
    request: Request, svc: ServicesDep, csrf_token: Annotated[str, Form()] = ""
) -> None:
    """Every HTML form POST: the hidden field must hold this browser's CSRF token."""
    if not svc.ctx.session_signer.csrf_valid(request, csrf_token):
        raise HTTPException(
            403, "The form's CSRF token is missing or stale; reload the page and submit again."
        )


SignedIn = Annotated[User, Depends(require_user)]
InstanceAdmin = Annotated[User, Depends(require_admin)]
MaybeUserDep = Annotated[User | None, Depends(current_user)]
CsrfChecked = Depends(require_csrf)
# The old name, for routes that only need somebody signed in.
UserDep = SignedIn


def denied(what: str, user: User | None, role: str | None, minimum: Role) -> HTTPException:
    if role is None:
        return HTTPException(404, f"{what} not found.")
    if user is None:
        return HTTPException(
            401, f"Sign in, or send an API token, to do this with {what} (needs {minimum})."
        )
    return HTTPException(
        403, f"{user.login} has {role} access to {what}; this needs {minimum} access."
    )


async def find_repository(
    session: AsyncSession, slug: str, user: User | None, minimum: Role = PULL
) -> Repository:
    """By slug ("owner/name", URL-encoded or not) or numeric id, once `user` has `minimum`."""
    query = select(Repository)
    query = (
        query.where(Repository.id == int(slug))
        if slug.isdigit()
        else query.where(Repository.slug == slug)
    )
    repo = await session.scalar(query)
    role = await role_on(session, user, repo) if repo is not None else None
    if repo is None or not at_least(role, minimum):
        raise denied(f"Repository {slug!r}", user, role, minimum)
    return repo


async def find_build(
    session: AsyncSession, build_id: int, user: User | None, minimum: Role = PULL
) -> Build:
    build = await session.get(Build, build_id)
    role = await role_on(session, user, build.repository) if build is not None else None
    if build is None or not at_least(role, minimum):
        raise denied(f"Build {build_id}", user, role, minimum)
    return build


async def find_job(
    session: AsyncSession, job_id: int, user: User | None, minimum: Role = PULL
) -> Job:
    job = await session.get(Job, job_id)
    role = await role_on(session, user, job.build.repository) if job is not None else None
    if job is None or not at_least(role, minimum):
        raise denied(f"Job {job_id}", user, role, minimum)
    return job


@dataclass
class Granted:
    """What RepoAccess found: the caller, their role, and the objects the path names."""

    user: User | None
    role: Role
    repository: Repository
    build: Build | None = None
    job: Job | None = None


class RepoAccess:
    """The dependency of every route about one repository: finds what the path names (job_id,
    build_id, repo_id, slug, or owner and name, in that order) and checks the caller's role."""

    def __init__(self, minimum: Role) -> None:
        self.minimum = minimum

    async def __call__(self, request: Request, svc: ServicesDep, user: MaybeUserDep) -> Granted:
        params = request.path_params
        async with svc.ctx.sessions() as session:
            build: Build | None = None
            job: Job | None = None
            if "job_id" in params:
                job = await find_job(session, _number(params["job_id"], "Job"), user, self.minimum)
                build = job.build
                repo = build.repository
            elif "build_id" in params:
                number = _number(params["build_id"], "Build")
                build = await find_build(session, number, user, self.minimum)
                repo = build.repository
            else:
                slug = params.get("slug") or params.get("repo_id")
                if slug is None:
                    slug = f"{params.get('owner')}/{params.get('name')}"
                repo = await find_repository(session, str(slug), user, self.minimum)
            role = await role_on(session, user, repo)
        assert role is not None  # the finders let only readers through
        return Granted(user, role, repo, build, job)


def _number(value: str, kind: str) -> int:
    if not str(value).isdigit():
        raise HTTPException(404, f"{kind} {value!r} not found.")
    return int(value)


CanPull = Annotated[Granted, Depends(RepoAccess(PULL))]
CanPush = Annotated[Granted, Depends(RepoAccess(PUSH))]
CanAdmin = Annotated[Granted, Depends(RepoAccess(ADMIN))]
