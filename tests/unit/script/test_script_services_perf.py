"""Services that the machine lacks. (The script's own overhead is measured by bench/script.py,
not by a timed test.)
"""

from __future__ import annotations

from script_support import Sandbox, payload


def test_missing_service_is_reported_and_the_job_goes_on(sandbox: Sandbox) -> None:
    run = sandbox.run(
        payload({"git": {"clone": False}, "services": ["no-such-db"], "script": ["true"]})
    )
    assert "The service no-such-db is not available on this machine." in run.lines
    assert "travis_fold:start:services\r\x1b[0K" in run.raw
    assert run.code == 0
