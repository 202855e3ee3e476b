"""Code hosts ("forges"): one module per forge, each with the same functions (Forge below).

The webhook route (api/hooks.py) and the commit-status reporter (statuses.py) look a forge
up in FORGES by the name stored on the repository or given in the hook's URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from roundhouse.platform.forge import gitea, github, gitlab
from roundhouse.platform.forge.common import CommitStatus, ForgeEvent, RepositoryRef


class Forge(Protocol):
    NAME: str

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """Whether the delivery was made with the repository's webhook secret."""

    def delivery_id(self, headers: Mapping[str, str]) -> str | None:
        """The id that stays the same when the forge delivers the same event again."""

    def repository(self, payload: dict[str, Any]) -> RepositoryRef | None:
        """The repository the payload is about, or None when it names no single one."""

    def parse(self, headers: Mapping[str, str], payload: dict[str, Any]) -> ForgeEvent:
        """The event, or Malformed when a field the event needs is missing."""

    def default_api_url(self, repository_url: str) -> str | None:
        """The API address guessed from the clone URL, when none is set."""

    def status_request(self, api_url: str, token: str, status: CommitStatus) -> httpx.Request:
        """The forge's request that sets a commit status."""


FORGES: dict[str, Forge] = {github.NAME: github, gitea.NAME: gitea, gitlab.NAME: gitlab}
