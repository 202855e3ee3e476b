"""The messages that travel between platform and workers (DESIGN.md, "Protocol").

Every message is a JSON object with "v": PROTOCOL_VERSION; these TypedDicts name the fields.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

# 2: state events carry the lease and a job runs only once its claim is granted (ClaimVerdict);
# heartbeats list the leases a worker holds.
PROTOCOL_VERSION = 2
# The versions this platform can serve; a worker speaking another one is told so.
SERVED_PROTOCOLS = frozenset({2})

JOB_STATES = ("created", "queued", "received", "started", "passed", "failed", "errored", "canceled")
FINISHED_STATES = frozenset({"passed", "failed", "errored", "canceled"})

# Queue and exchange names follow Travis's so that operators recognise them.
STATE_QUEUE = "reporting.jobs.builds"
LOG_QUEUE = "reporting.jobs.logs"
WORKER_QUEUE = "reporting.workers"
COMMAND_EXCHANGE = "worker.commands"
# Log parts stored by one platform process, for the live readers attached to the others.
LIVE_LOG_EXCHANGE = "platform.logs"
DEFAULT_QUEUE = "builds.default"
# What a worker is told when its heartbeat's token is not the platform's worker token.
TOKEN_REJECTED = (
    "the platform rejected this worker's token: copy it from `roundhouse workers token` on "
    "the platform"
)
# Workers beat this often; the platform counts a worker lost after three missed beats.
HEARTBEAT_SECONDS = 10.0

# `requeued`: the worker gives the attempt back unfinished (it was stopped); it runs again.
WorkerReportedState = Literal[
    "received", "started", "passed", "failed", "errored", "canceled", "requeued"
]


class JobInfo(TypedDict):
    id: int
    number: str  # "12.3": build number . job index
    attempt: int
    allow_failure: bool
    stage_name: str | None
    name: str | None
    queued_at: str | None


class BuildInfo(TypedDict):
    id: int
    number: int
    event_type: str  # push | pull_request | api | cron


class RepositoryInfo(TypedDict):
    id: int
    slug: str
    clone_url: str
    private: bool


class CommitInfo(TypedDict):
    sha: str
    branch: str
    ref: str | None
    tag: str | None
    message: str
    range: str | None
    pull_request: int | None  # the number; `branch` is then the base branch
    pull_request_head_branch: NotRequired[str | None]
    pull_request_head_sha: NotRequired[str | None]
    pull_request_head_slug: NotRequired[str | None]


class Timeouts(TypedDict):
    hard_limit: int  # seconds
    log_silence: int  # seconds without output


class CacheInfo(TypedDict):
    """Where the worker fetches and stores the job's build cache archive (worker/cache.py)."""

    fetch_url: str  # GET; the platform falls back to the default branch's archive
    store_url: str  # PUT
    token: str  # sent as "Authorization: token <token>"; valid while the attempt runs


class JobPayload(TypedDict):
    """Published to builds.<queue>; everything a worker needs to run one job attempt."""

    v: int
    lease: str
    queue: str
    job: JobInfo
    build: BuildInfo
    repository: RepositoryInfo
    commit: CommitInfo
    config: dict[str, Any]
    env_vars: list[dict[str, Any]]  # [{name, value, public}] from repository settings
    secrets: list[str]  # values the worker masks in the log before it leaves the machine
    script: str  # the compiled bash script
    timeouts: Timeouts
    max_log_bytes: int
    web_url: str
    # Whether a sandboxed job may reach the network; absent: the worker's sandbox_network.
    network: NotRequired[bool]
    # Present when the config caches directories; absent: the job runs without a cache.
    cache: NotRequired[CacheInfo]
    # Notes for the top of the log ("[warn] on env.global: unable to decrypt …").
    messages: NotRequired[list[str]]


class StateEvent(TypedDict):
    """Published to reporting.jobs.builds. `received` is the worker's claim on the attempt:
    it runs the job only once the hub grants it (ClaimVerdict)."""

    v: int
    job_id: int
    attempt: int
    lease: str
    state: WorkerReportedState
    worker: str
    at: str  # ISO 8601, UTC


class ClaimVerdict(TypedDict):
    """Broadcast on worker.commands: the hub's answer to a claim (a `received` event), and to
    any event about a lease that is no longer current (granted false: drop that attempt)."""

    v: int
    claim: int  # the job id
    lease: str
    worker: str
    granted: bool
    reason: str


class HeldLease(TypedDict):
    id: int
    attempt: int
    lease: str


class LogPart(TypedDict):
    """Published to reporting.jobs.logs; parts are keyed by (job_id, attempt, number)."""

    v: int
    job_id: int
    attempt: int
    number: int
    content: str
    final: bool


class Heartbeat(TypedDict):
    """Published to reporting.workers every few seconds."""

    v: int
    name: str
    version: str
    protocol: int
    queues: list[str]
    backend: str
    capacity: int
    busy: int
    running: list[int]
    leases: list[HeldLease]  # every attempt this worker holds; renews their leases
    draining: bool
    token: str  # the platform's worker token (`roundhouse workers token`)
    at: str
