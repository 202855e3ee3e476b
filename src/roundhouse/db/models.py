"""SQLAlchemy models: the database is the only source of truth (DESIGN.md, principle 1).

One class per table; the state machine of a job lives in platform/hub.py, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite keeps no zone) and always hands back aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# Column.info of columns holding values encrypted with the instance key (platform/secrets.py):
# start-up checks their key ids, `roundhouse key rotate` re-encrypts them (platform/rekey.py).
SECRET: dict[str, Any] = {"secret": True}


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Administration and the code-host sync (platform/usersync.py): a sync holds a lease that
    # expires, so a crashed one never leaves the user "syncing" for ever.
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_started_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    synced_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_error: Mapped[str | None] = mapped_column(Text, default=None)
    # When the last sync ended, either way: the periodic sync waits sync_interval from it.
    sync_finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # argon2 hash of the local password; None: no password login (tokens or OAuth only).
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)


class Permission(Base):
    """A user's role on one repository: admin, push or pull (Travis's model)."""

    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("user_id", "repository_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(10))
    # Made by the code-host sync (platform/sync/): a later sync may change or remove it;
    # roles granted by hand are never touched by a sync.
    synced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class OwnerAdmin(Base):
    """A user who is admin of every repository of an owner (the slug's part before "/")."""

    __tablename__ = "owner_admins"
    __table_args__ = (UniqueConstraint("user_id", "owner"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(200))


class Identity(Base):
    """A forge account (OAuth login) linked to a user; `login` is the forge's login."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    login: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The OAuth access token of the last login, encrypted with the instance key: the code-host
    # sync calls the forge's API as this person. None: never stored, or refused by the forge.
    token_sealed: Mapped[str | None] = mapped_column(
        "access_token", Text, default=None, info=SECRET
    )
    # Its refresh token, where the forge gives one (GitLab, Gitea: their access tokens expire).
    refresh_sealed: Mapped[str | None] = mapped_column(
        "refresh_token", Text, default=None, info=SECRET
    )


class ForgeRepository(Base):
    """A repository a user can reach on a forge, as their last code-host sync found it; the
    ones not in Roundhouse yet are what they may activate (platform/sync/)."""

    __tablename__ = "forge_repositories"
    __table_args__ = (UniqueConstraint("user_id", "forge", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    forge: Mapped[str] = mapped_column(String(20))
    # The forge's API address, kept for the repository when it is activated (statuses).
    api_url: Mapped[str] = mapped_column(Text)
    forge_id: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(200), index=True)
    clone_url: Mapped[str] = mapped_column(Text)
    web_url: Mapped[str] = mapped_column(Text, default="")
    default_branch: Mapped[str | None] = mapped_column(String(200), default=None)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    # The user's role on it at the forge: admin, push or pull.
    role: Mapped[str] = mapped_column(String(10))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """Only the SHA-256 of a token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship(lazy="joined")


class Repository(Base):
    __tablename__ = "repositories"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    poll: Mapped[bool] = mapped_column(Boolean, default=True)
    # Encrypted with the instance key; read and written only through platform/repo_secrets.py.
    webhook_secret_sealed: Mapped[str | None] = mapped_column(
        "webhook_secret", Text, default=None, info=SECRET
    )
    default_branch: Mapped[str | None] = mapped_column(String(200), default=None)
    # Branch heads seen by the poller: {"main": "<sha>"}; a moved head requests a build.
    branch_heads: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_polled_at: Mapped[datetime | None] = mapped_column(default=None)
    poll_error: Mapped[str | None] = mapped_column(Text, default=None)
    next_build_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The code host the repository lives on ("github", "gitea", "gitlab"; None: plain git),
    # and how to reach its API for commit statuses (docs/forges.md).
    forge: Mapped[str | None] = mapped_column(String(20), default=None)
    forge_api_url: Mapped[str | None] = mapped_column(Text, default=None)
    forge_token_sealed: Mapped[str | None] = mapped_column(
        "forge_token", Text, default=None, info=SECRET
    )
    # Travis's repository settings of the same names.
    build_pushes: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    build_pull_requests: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    auto_cancel_pushes: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    auto_cancel_pull_requests: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Whether builds of pull requests from forks get the decrypted `secure:` values.
    secure_env_for_forks: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Jobs of this repository queued or running at once (Travis's setting of this name);
    # 0: no limit of its own.
    maximum_number_of_builds: Mapped[int] = mapped_column(
        Integer, default=0, server_default=text("0")
    )
    # The job time limits of this repository, in seconds; None: the instance's hard_timeout and
    # log_timeout settings.
    hard_timeout: Mapped[int | None] = mapped_column(Integer, default=None)
    log_timeout: Mapped[int | None] = mapped_column(Integer, default=None)


class RepositoryKey(Base):
    """A repository's RSA key pair for `secure:` values (platform/keys.py), made on first use.

    `private_key` is the PEM encrypted with the instance key (platform/secrets.py), never plain.
    """

    __tablename__ = "repository_keys"
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(100))
    private_key: Mapped[str] = mapped_column(Text, info=SECRET)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnvVar(Base):
    """A repository settings variable (Travis's Settings → Environment Variables).

    `value` is encrypted with the instance key, public or not; `branch`: only builds of that
    branch get it (None: every build). Private values never leave the platform except in job
    payloads (platform/env_vars.py).
    """

    __tablename__ = "env_vars"
    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text, info=SECRET)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    branch: Mapped[str | None] = mapped_column(String(250), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Request(Base):
    """Why something did or did not build: every trigger is recorded, accepted or not."""

    __tablename__ = "requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str | None] = mapped_column(String(250), default=None)
    tag: Mapped[str | None] = mapped_column(String(250), default=None)
    sha: Mapped[str | None] = mapped_column(String(64), default=None)
    message: Mapped[str] = mapped_column(Text, default="")
    config_override: Mapped[str | None] = mapped_column(Text, default=None)
    merge_mode: Mapped[str | None] = mapped_column(String(20), default=None)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    result: Mapped[str | None] = mapped_column(String(20), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    messages: Mapped[list[Any]] = mapped_column(default=list)
    build_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sender: Mapped[str | None] = mapped_column(String(200), default=None)
    # Pull requests: `branch` is the base branch, `ref` the git ref that is built
    # (the forge's merge ref, else the head ref; None when the head commit is built by sha).
    pull_request_number: Mapped[int | None] = mapped_column(Integer, default=None)
    pull_request_title: Mapped[str | None] = mapped_column(Text, default=None)
    head_branch: Mapped[str | None] = mapped_column(String(250), default=None)
    head_sha: Mapped[str | None] = mapped_column(String(64), default=None)
    head_slug: Mapped[str | None] = mapped_column(String(200), default=None)
    fork: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ref: Mapped[str | None] = mapped_column(String(250), default=None)
    repository: Mapped[Repository] = relationship(lazy="joined")


class WebhookDelivery(Base):
    """Delivery ids of accepted webhooks, so that a replayed delivery builds nothing twice."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("forge", "delivery_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    forge: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(200))
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Build(Base):
    __tablename__ = "builds"
    __table_args__ = (
        UniqueConstraint("repository_id", "number"),
        # The web UI's Branches and Pull requests tabs: the newest build of each.
        Index("ix_builds_repo_branch", "repository_id", "branch", "number"),
        Index("ix_builds_repo_pull_request", "repository_id", "pull_request_number", "number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="created")
    event_type: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str | None] = mapped_column(String(250), default=None)
    tag: Mapped[str | None] = mapped_column(String(250), default=None)
    sha: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    stages: Mapped[list[Any]] = mapped_column(default=list)
    fast_finish: Mapped[bool] = mapped_column(Boolean, default=False)
    messages: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # Copied from the request so that builds of one pull request are found without a join.
    pull_request_number: Mapped[int | None] = mapped_column(Integer, default=None)
    # The last failure to post a commit status to the forge (None once one succeeds).
    status_error: Mapped[str | None] = mapped_column(Text, default=None)
    # `notifications:` of the config, `if:` applied, secure values still encrypted
    # (platform/notify/); None or {}: Travis's default, email the commit's author and committer.
    notifications: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    repository: Mapped[Repository] = relationship(lazy="joined")
    request: Mapped[Request] = relationship(lazy="joined")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"), index=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str | None] = mapped_column(String(200), default=None)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    allow_failure: Mapped[bool] = mapped_column(Boolean, default=False)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    queue: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="created")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    # The attempt's lease: in its payload, named by every event about it. A worker holds it
    # from its granted claim on; its heartbeats renew it (lease_renewed_at, platform clock).
    lease: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_renewed_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the broker confirmed the payload of the current lease (None: not yet).
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    waiting_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    build: Mapped[Build] = relationship(lazy="joined")


class JobTransition(Base):
    """State history: one row per state a job attempt entered, with its time and worker."""

    __tablename__ = "job_transitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LogPart(Base):
    __tablename__ = "log_parts"
    __table_args__ = (UniqueConstraint("job_id", "attempt", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    final: Mapped[bool] = mapped_column(Boolean, default=False)


class Log(Base):
    """The aggregated log of a job's latest attempt, written when the attempt finishes."""

    __tablename__ = "logs"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    aggregated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Worker(Base):
    """The registry of workers, updated from heartbeats on reporting.workers."""

    __tablename__ = "workers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    version: Mapped[str] = mapped_column(String(50))
    protocol: Mapped[int] = mapped_column(Integer)
    queues: Mapped[list[Any]] = mapped_column(default=list)
    backend: Mapped[str] = mapped_column(String(20))
    capacity: Mapped[int] = mapped_column(Integer)
    busy: Mapped[int] = mapped_column(Integer, default=0)
    running: Mapped[list[Any]] = mapped_column(default=list)
    # The attempts it holds, [{"id", "attempt", "lease"}], from its latest heartbeat.
    leases: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    # Why this platform cannot work with it (e.g. its protocol version), or None.
    problem: Mapped[str | None] = mapped_column(Text, default=None)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationDelivery(Base):
    """One attempt to deliver a notification of a build (platform/notify/), and its outcome.

    `target` is for people to read: secrets (tokens, secure values) are never in it.
    """

    __tablename__ = "notification_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"), index=True)
    # The build's state the notification is about ("started", "passed", …).
    event: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Cron(Base):
    """A build of a branch's head every day, week or month (platform/crons.py)."""

    __tablename__ = "crons"
    __table_args__ = (UniqueConstraint("repository_id", "branch"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    branch: Mapped[str] = mapped_column(String(250))
    interval: Mapped[str] = mapped_column(String(10))
    dont_run_if_recent_build_exists: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_run_at: Mapped[datetime] = mapped_column()
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the last run did: the request it made, or why it made none.
    last_request_id: Mapped[int | None] = mapped_column(Integer, default=None)
    last_skip_reason: Mapped[str | None] = mapped_column(Text, default=None)
    repository: Mapped[Repository] = relationship(lazy="joined")
