"""The job payload and secure values: decrypted into the payload's config, listed for masking,
problems noted for the top of the log, and dropped for pull requests from forks.
"""

from __future__ import annotations

from typing import Any

import pytest

from roundhouse.db.models import Build, Job, Repository, Request
from roundhouse.platform.payload import build_payload
from roundhouse.settings import Settings
from roundhouse.travisyml.crypto import encrypt, generate_private_key, public_key_pem
from roundhouse.travisyml.secure import SecureValues


@pytest.fixture(scope="module")
def private_pem() -> bytes:
    return generate_private_key(2048)


def payload_for(config: dict[str, Any], secure: SecureValues) -> Any:
    repository = Repository(id=1, slug="team/app", url="file:///app", private=False)
    request = Request(id=1, repository_id=1, event_type="push", ref=None)
    build = Build(
        id=1, number=1, event_type="push", branch="main", tag=None, sha="a" * 40, message="m"
    )
    build.request = request
    job = Job(
        id=1, number="1.1", attempt=1, allow_failure=False, stage=None, name=None, config=config
    )
    job.queue, job.lease, job.queued_at = "builds.default", "lease", None
    return build_payload(job, build, repository, Settings(), "http://x/team/app/jobs/1", secure)


def test_secure_values_are_decrypted_into_the_payload_and_listed_for_masking(
    private_pem: bytes,
) -> None:
    public = public_key_pem(private_pem)
    config = {
        "language": "shell",
        "env": [{"secure": encrypt(public, "TOKEN=s3cr3t-value")}, {"secure": "bm9wZQ=="}],
        "deploy": [{"provider": "script", "api_key": {"secure": encrypt(public, "deploy-key")}}],
        "script": ["true"],
    }
    payload = payload_for(config, SecureValues(private_pem))

    assert payload["config"]["env"][0] == {"secure": "TOKEN=s3cr3t-value"}
    assert payload["config"]["deploy"][0]["api_key"] == "deploy-key"
    assert {"s3cr3t-value", "deploy-key"} <= set(payload["secrets"])
    assert payload["messages"] == [
        "[warn] on env: unable to decrypt a secure value: it is 4 bytes long, not 256"
    ]
    assert "[warn] on env: unable to decrypt" in payload["script"]
    assert "s3cr3t-value" not in str(config)  # the job's stored config is left encrypted


def test_a_fork_pull_request_gets_no_secure_values(private_pem: bytes) -> None:
    config = {"env": [{"secure": encrypt(public_key_pem(private_pem), "TOKEN=s3cr3t-value")}]}
    payload = payload_for(config, SecureValues(None, drop=True))

    assert payload["config"]["env"] == []
    assert payload["secrets"] == []
    assert payload["messages"] == [
        "[info] on env: dropping secure values:"
        " secure values are not available to pull requests from forks"
    ]
    assert "export TRAVIS_SECURE_ENV_VARS='false'" in payload["script"]
