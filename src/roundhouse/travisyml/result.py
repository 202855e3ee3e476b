"""The public result of `build_matrix`: MatrixResult and MatrixJob, and their JSON shape.

The JSON is exactly what `roundhouse matrix --json` prints (see INTERFACE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import keys as K
from .messages import Message

# Keys first in a job's config, in this order; others follow as they came.
_KEY_ORDER: tuple[str, ...] = (
    "name", "language", "os", "dist", "arch", *[k for k in K.EXPAND_KEYS if k not in
    ("os", "arch")], "env", *K.PHASES,
)  # fmt: skip
_RANK = {key: i for i, key in enumerate(_KEY_ORDER)}


def ordered(config: dict[str, Any]) -> dict[str, Any]:
    """The config with well-known keys first, so printed jobs read alike."""
    keys = sorted(config, key=lambda k: (_RANK.get(k, len(_RANK)), list(config).index(k)))
    return {k: config[k] for k in keys}


@dataclass
class MatrixJob:
    """One job of the build. `config` holds neither `stage` nor `allow_failure`."""

    number: int
    stage: str | None
    name: str | None
    allow_failure: bool
    config: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "stage": self.stage,
            "name": self.name,
            "allow_failure": self.allow_failure,
            "config": self.config,
        }


@dataclass
class MatrixResult:
    """The build a request would get, or why it gets none."""

    accepted: bool
    reason: str | None = None
    stages: list[str] = field(default_factory=list)
    fast_finish: bool = False
    jobs: list[MatrixJob] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    # Normalised root config (for the gatekeeper and lint); not part of the JSON.
    config: dict[str, Any] = field(default_factory=dict)
    # Notifications whose `if:` holds, each type a list of targets (for the hub).
    notifications: dict[str, Any] = field(default_factory=dict)
    # Stage conditions kept for display: name -> condition.
    stage_conditions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "reason": self.reason,
            "stages": list(self.stages),
            "fast_finish": self.fast_finish,
            "jobs": [job.to_json() for job in self.jobs],
            "messages": [
                {"level": m.level, "key": m.key, "code": m.code, "text": m.text}
                for m in self.messages
            ],
        }

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.level == "error"]
