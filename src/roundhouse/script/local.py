"""Job payloads made without a platform, for `roundhouse compile` and `roundhouse run-local`.

The CLI passes one job's normalised config and what it knows of the repository checkout.
"""

from __future__ import annotations

from typing import Any

from roundhouse.protocol import PROTOCOL_VERSION, JobPayload
from roundhouse.script.secrets import secret_values

LOCAL_HARD_LIMIT = 50 * 60
LOCAL_LOG_SILENCE = 10 * 60


def local_payload(
    config: dict[str, Any],
    *,
    clone_url: str,
    slug: str = "local/repository",
    sha: str = "",
    branch: str = "main",
    message: str = "",
    build_number: int = 1,
    job_index: int = 1,
    env_vars: list[dict[str, Any]] | None = None,
    secrets: list[str] | None = None,
) -> JobPayload:
    """A complete JobPayload for one job of a local build (ids are the job's position).

    `secrets`: decrypted secure strings outside env vars, masked like secure vars.
    """
    payload: JobPayload = {
        "v": PROTOCOL_VERSION,
        "lease": "local",
        "queue": "local",
        "job": {
            "id": job_index,
            "number": f"{build_number}.{job_index}",
            "attempt": 1,
            "allow_failure": False,
            "stage_name": None,
            "name": None,
            "queued_at": None,
        },
        "build": {"id": build_number, "number": build_number, "event_type": "push"},
        "repository": {"id": 0, "slug": slug, "clone_url": clone_url, "private": False},
        "commit": {
            "sha": sha,
            "branch": branch,
            "ref": None,
            "tag": None,
            "message": message,
            "range": None,
            "pull_request": None,
        },
        "config": config,
        "env_vars": env_vars or [],
        "secrets": [],
        "script": "",
        "timeouts": {"hard_limit": LOCAL_HARD_LIMIT, "log_silence": LOCAL_LOG_SILENCE},
        "max_log_bytes": 4 * 1024 * 1024,
        "web_url": "",
    }
    payload["secrets"] = secret_values(payload, secrets or ())
    return payload
