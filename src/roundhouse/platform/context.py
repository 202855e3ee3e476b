"""What every platform service shares: settings, database sessions, broker, live events.

Built once by app.py (or by tests) and handed to each service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Protocol

from roundhouse.broker import Broker
from roundhouse.db.session import SessionFactory
from roundhouse.platform.events import EventBus
from roundhouse.platform.git import Mirror
from roundhouse.platform.secrets import AtRest
from roundhouse.platform.sessions import SessionSigner
from roundhouse.settings import Settings


class JobTimes(Protocol):
    """What job listeners see of a job the hub just changed."""

    state: str
    queue: str
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass
class PlatformContext:
    settings: Settings
    sessions: SessionFactory
    broker: Broker
    bus: EventBus = field(default_factory=EventBus)
    mirrors: dict[int, Mirror] = field(default_factory=dict)
    # Told (build id, new state) after a build's state changed: commit statuses listen here.
    build_listeners: list[Callable[[int, str], None]] = field(default_factory=list)
    # Told each job's new state and times after the hub applied an event: metrics listen here.
    job_listeners: list[Callable[[JobTimes], None]] = field(default_factory=list)

    @cached_property
    def at_rest(self) -> AtRest:
        """The instance key, read (or made) on first use; Services.start asks for it at once."""
        return AtRest.from_settings(self.settings)

    @cached_property
    def session_signer(self) -> SessionSigner:
        secure = self.settings.public_url.startswith("https://")
        key = self.at_rest.derive("session cookies")
        return SessionSigner(key, self.settings.session_max_age, secure)

    def mirror(self, repository_id: int, url: str) -> Mirror:
        mirror = self.mirrors.get(repository_id)
        if mirror is None or mirror.url != url:
            path = Path(self.settings.data_dir) / "mirrors" / f"{repository_id}.git"
            mirror = self.mirrors[repository_id] = Mirror(path, url)
        return mirror

    def build_changed(self, build_id: int, state: str) -> None:
        for listener in self.build_listeners:
            listener(build_id, state)

    def web_url(self, path: str) -> str:
        return f"{self.settings.public_url}{path}"
