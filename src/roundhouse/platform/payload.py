"""The job payload the scheduler publishes: ids, commit, config, compiled script, timeouts.

Secrets are resolved here and nowhere else (DESIGN.md, principle 5): the job's `secure:`
values and its repository settings variables (platform/env_vars.py) are decrypted into the
payload (never into the database), private ones listed in `secrets` for the worker to mask,
and what could not be decrypted or was withheld is said in `messages`, which the script
prints at the start of the log.
"""

from __future__ import annotations

from roundhouse.db.models import Build, Job, Repository
from roundhouse.platform.cache import cache_info
from roundhouse.platform.env_vars import JobEnv
from roundhouse.protocol import PROTOCOL_VERSION, JobPayload
from roundhouse.script import compile_script, secret_values
from roundhouse.settings import Settings
from roundhouse.travisyml.messages import Messages
from roundhouse.travisyml.secure import SecureValues


def build_payload(
    job: Job,
    build: Build,
    repository: Repository,
    settings: Settings,
    web_url: str,
    secure: SecureValues | None = None,
    env: JobEnv | None = None,
) -> JobPayload:
    """The payload of `job`; `secure` decrypts its secure values (platform/keys.py), without
    it they stay encrypted and the script reports them as unparsable; `env`: its settings
    variables."""
    env = env or JobEnv()
    request = build.request  # pull-request data and the ref to fetch
    msgs = Messages()
    config = job.config if secure is None else secure.apply(job.config, msgs)
    payload: JobPayload = {
        "v": PROTOCOL_VERSION,
        "lease": job.lease or "",
        "queue": job.queue,
        "job": {
            "id": job.id,
            "number": job.number,
            "attempt": job.attempt,
            "allow_failure": job.allow_failure,
            "stage_name": job.stage,
            "name": job.name,
            "queued_at": job.queued_at.isoformat() if job.queued_at else None,
        },
        "build": {"id": build.id, "number": build.number, "event_type": build.event_type},
        "repository": {
            "id": repository.id,
            "slug": repository.slug,
            "clone_url": repository.url,
            "private": repository.private,
        },
        "commit": {
            "sha": build.sha,
            "branch": build.branch or "",
            "ref": request.ref,
            "tag": build.tag,
            "message": build.message,
            "range": None,
            "pull_request": request.pull_request_number,
            "pull_request_head_branch": request.head_branch,
            "pull_request_head_sha": request.head_sha,
            "pull_request_head_slug": request.head_slug,
        },
        "config": config,
        "env_vars": env.env_vars,
        "secrets": [],
        "script": "",
        "timeouts": {
            "hard_limit": repository.hard_timeout or settings.hard_timeout,
            "log_silence": repository.log_timeout or settings.log_timeout,
        },
        "max_log_bytes": settings.max_log_bytes,
        "web_url": web_url,
    }
    notes = [*env.messages, *(str(message) for message in msgs.items)]
    if notes:
        payload["messages"] = notes
    payload["secrets"] = secret_values(payload, secure.values if secure else ())
    payload["script"] = compile_script(payload)
    cache = cache_info(job, build, settings.public_url)
    if cache is not None:
        payload["cache"] = cache
    return payload
