"""Values to mask (secret_values) and payloads for local runs (local_payload).

The local payload is compiled and run like a worker would, against a real repository.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from script_support import Sandbox, payload

from roundhouse.script import compile_script, local_payload, secret_values


def test_secret_values_cover_private_settings_and_secure_config() -> None:
    job = payload(
        {"env": ["PLAIN=visible", {"secure": 'TOKEN="tok en/1"'}]},
        env_vars=[
            {"name": "PUBLIC", "value": "everyone", "public": True},
            {"name": "API_KEY", "value": "k3y-v4lue", "public": False},
            {"name": "SHORT", "value": "ab", "public": False},
        ],
    )
    values = secret_values(job)
    assert "k3y-v4lue" in values
    assert "tok en/1" in values
    assert '"tok en/1"' in values
    assert quote("tok en/1", safe="") in values
    assert "visible" not in values
    assert "everyone" not in values
    assert "ab" not in values
    assert values == sorted(values, key=lambda v: (-len(v), v))


def test_base64_forms_are_found_inside_longer_encodings() -> None:
    values = secret_values(payload({}, env_vars=[{"name": "K", "value": "sup3r-secret"}]))
    for prefix in (b"", b"x", b"xy", b"Authorization: Basic "):
        encoded = base64.b64encode(prefix + b"sup3r-secret" + b"!").decode()
        assert any(v in encoded for v in values), prefix


def test_local_payload_runs(sandbox: Sandbox) -> None:
    sha = sandbox.repo({"f": "local"})
    job = local_payload(
        {"language": "shell", "env": [{"secure": "S=hush-hush"}], "script": ["cat f"]},
        clone_url=str(sandbox.origin),
        slug="me/project",
        sha=sha,
        branch="main",
    )
    assert job["secrets"] and "hush-hush" in job["secrets"]
    assert "#!/bin/bash" in compile_script(job)
    run = sandbox.run(job)
    assert "local" in run.lines
    assert run.code == 0
