"""Condition-driven filters: per-job `if`, `jobs.exclude`, `jobs.allow_failures`, stage `if`.

Also the equality rules those entries use to match a job (env compared without globals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import cond
from .env import EnvVar
from .messages import Messages

if TYPE_CHECKING:
    from .matrix import Row

_LITERALS = {"true": True, "false": False}


class Conditions:
    """Evaluates conditions for one request and records what was skipped and why."""

    def __init__(
        self,
        request: dict[str, Any],
        settings: dict[str, str],
        msgs: Messages,
        version: str = "v1",
    ) -> None:
        self.request = request
        self.settings = settings
        self.msgs = msgs
        self.version = version
        self._reported: set[tuple[str, str]] = set()

    def check(self, expr: Any, data: dict[str, Any], key: str) -> bool | None:
        """True/False, or None for an invalid condition (reported once, as an error)."""
        text = cond.text_of(expr)
        literal = _LITERALS.get(text.strip().lower())
        if literal is not None:
            return literal
        outcome = cond.evaluate(text, data, self.version)
        if outcome.value is not None:
            return outcome.value
        marker = (key, text)
        if marker not in self._reported:
            self._reported.add(marker)
            if outcome.unavailable:
                self.msgs.add("warn", key, "conditions_unavailable", condition=text)
            else:
                self.msgs.add("error", key, "invalid_condition", condition=text, message=None)
        # Without the conditions module a condition cannot be judged; keep what it guards.
        return True if outcome.unavailable else None

    def job_data(self, row: Row) -> dict[str, Any]:
        return cond.condition_data(self.request, self.settings, row.full_env(), row.config)

    def filter_jobs(self, rows: list[Row]) -> list[Row]:
        """Drop jobs whose own `if` does not hold."""
        kept: list[Row] = []
        for number, row in enumerate(rows, start=1):
            expr = row.config.get("if")
            if expr is None:
                kept.append(row)
                continue
            result = self.check(expr, self.job_data(row), "jobs.include.if")
            if result:
                kept.append(row)
            elif result is False:
                self.msgs.add("info", "jobs.include", "skip_job", number=number,
                              condition=cond.text_of(expr))  # fmt: skip
        return kept

    def apply_exclude(self, rows: list[Row], entries: list[dict[str, Any]]) -> list[Row]:
        """Rows that no `jobs.exclude` entry (whose `if` holds) matches."""
        if not entries:
            return rows
        hits = self._matches(rows, entries, "jobs.exclude", "skip_exclude")
        return [row for row, hit in zip(rows, hits, strict=True) if not hit]

    def apply_allow_failures(self, rows: list[Row], entries: list[dict[str, Any]]) -> list[bool]:
        """Per row: does an allow_failures entry match it."""
        if not entries:
            return [False] * len(rows)
        return self._matches(rows, entries, "jobs.allow_failures", "skip_allow_failure")

    def _matches(
        self, rows: list[Row], entries: list[dict[str, Any]], key: str, skip_code: str
    ) -> list[bool]:
        hits = [False] * len(rows)
        for number, entry in enumerate(entries, start=1):
            evaluated, held = False, False
            for i, row in enumerate(rows):
                if not entry_matches(entry, row, self.request):
                    continue
                if "if" in entry:
                    result = self.check(entry["if"], self.job_data(row), f"{key}.if")
                    evaluated = True
                    if not result:
                        continue
                    held = True
                hits[i] = True
            if evaluated and not held and ("if" in entry) and self._valid(key, entry["if"]):
                self.msgs.add("info", key, skip_code, number=number,
                              condition=cond.text_of(entry["if"]))  # fmt: skip
        return hits

    def _valid(self, key: str, expr: Any) -> bool:
        return (f"{key}.if", cond.text_of(expr)) not in self._reported

    def stage_data(self, config: dict[str, Any]) -> dict[str, Any]:
        """Stage and notification conditions see env.global and the first env.jobs entry."""
        env = config.get("env") or {}
        jobs = env.get("jobs") or []
        vars_: list[EnvVar] = [*(env.get("global") or []), *(jobs[0] if jobs else [])]
        return cond.condition_data(self.request, self.settings, vars_, config)


def _strip(env: list[EnvVar], global_env: list[EnvVar]) -> list[EnvVar]:
    return [var for var in env if var not in global_env]


def entry_matches(entry: dict[str, Any], row: Row, request: dict[str, Any]) -> bool:
    """Every key of the entry (but `if`) equals the job's value; an empty entry matches none."""
    keys = [k for k in entry if k != "if"]
    if not keys:
        return "if" in entry
    for key in keys:
        value = entry[key]
        if key == "env":
            if _strip(value or [], row.global_env) != _strip(row.env, row.global_env):
                return False
        elif key == "branch":
            # Deprecated form: the request's branch, not a job attribute.
            branches = value if isinstance(value, list) else [value]
            if request.get("branch") not in [str(b) for b in branches]:
                return False
        elif key == "stage":
            stage = row.config.get("stage") or "test"
            if str(value).lower() != str(stage).lower():
                return False
        elif key not in row.config or row.config[key] != value:
            return False
    return True
