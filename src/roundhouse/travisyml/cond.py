"""Bridge to the conditions language (`conditions.py`): lazy import, one call, no raising.

Builds the data a condition sees (request + job attributes + env) and reports outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .env import EnvVar, pairs

# Request keys a condition can read; anything else in the request is ignored.
REQUEST_KEYS = (
    "type", "branch", "tag", "repo", "sender", "fork", "head_repo", "head_branch",
    "commit_message", "draft", "sudo", "os", "dist", "group", "language", "arch",
)  # fmt: skip
JOB_KEYS = ("os", "dist", "group", "language", "arch", "sudo")


@dataclass
class Outcome:
    """Result of one condition: `value` is None when the condition could not be evaluated."""

    value: bool | None
    error: str | None = None
    unavailable: bool = False


def _evaluator() -> Callable[..., bool] | None:
    try:
        from . import conditions
    except ImportError:
        return None
    evaluate: Callable[..., bool] | None = getattr(conditions, "evaluate", None)
    return evaluate


def available() -> bool:
    return _evaluator() is not None


def text_of(expr: Any) -> str:
    """A condition as text; YAML booleans (`if: false`) become "true"/"false"."""
    if isinstance(expr, bool):
        return "true" if expr else "false"
    return "" if expr is None else str(expr)


def evaluate(expr: Any, data: dict[str, Any], version: str = "v1") -> Outcome:
    """Evaluate `expr` (a YAML scalar) against request data; never raises."""
    if isinstance(expr, bool):
        return Outcome(expr)
    text = text_of(expr)
    evaluate_fn = _evaluator()
    if evaluate_fn is None:
        return Outcome(None, unavailable=True)
    try:
        return Outcome(bool(evaluate_fn(text, data, version)))
    except ValueError as exc:  # ConditionError is a ValueError
        return Outcome(None, error=str(exc) or None)
    except Exception as exc:  # a bug there must not break a whole build request
        return Outcome(None, error=f"{type(exc).__name__}: {exc}")


def condition_data(
    request: dict[str, Any],
    settings: dict[str, str],
    env: list[EnvVar],
    job: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a condition sees: request values, the job's os/dist/…, and env (config wins)."""
    data: dict[str, Any] = {k: request.get(k) for k in REQUEST_KEYS if k in request}
    if job:
        for key in JOB_KEYS:
            value = job.get(key)
            if value is not None and not isinstance(value, (list, dict)):
                data[key] = value
    merged = dict(settings)
    merged.update(pairs(env))
    data["env"] = merged
    return data


def validate(text: str, version: str = "v1") -> str | None:
    """Why a condition is unusable (parse or dry-run error), or None; None if unavailable."""
    try:
        from . import conditions
    except ImportError:
        return None
    validate_fn: Callable[..., str | None] | None = getattr(conditions, "validate", None)
    if validate_fn is None:
        return None
    try:
        return validate_fn(text, version)
    except Exception as exc:  # never let a bug there break validation
        return f"{type(exc).__name__}: {exc}"
