"""Helpers of the integration tests: a Server-Sent Events reader and a finished build."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from tests.conftest import GitRepo, Running


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, decoded JSON data) for each event of an open streaming response."""
    event, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue  # a comment (keep-alive ping)
        if line.startswith("event:"):
            event = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data += line[len("data:") :].strip()
        elif not line and data:
            yield event, json.loads(data)
            event, data = "message", ""


async def finished_build_of(
    system: Running, git_repo: Callable[..., GitRepo], travis_yml: str
) -> dict[str, Any]:
    """Add a new repository with this .travis.yml, build main, and return the finished build."""
    repo = git_repo()
    repo.commit({".travis.yml": travis_yml})
    slug = (await system.add_repo(repo))["slug"]
    return await system.finished_build(await system.build_of(slug, await system.trigger(slug)))
