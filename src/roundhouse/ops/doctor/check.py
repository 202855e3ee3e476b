"""One doctor check's result: ok, warn or FAIL, what it saw in one line, the fix in one line.

Checks never raise: a check that cannot look says so as its own result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True)
class Check:
    name: str  # short and stable, e.g. "broker", "queue builds.trusty": for --json and tests
    status: Status
    saw: str  # what the check found, one line
    fix: str = ""  # what to do about it, one line; empty when there is nothing to do

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok(name: str, saw: str) -> Check:
    return Check(name, "ok", saw)


def warn(name: str, saw: str, fix: str) -> Check:
    return Check(name, "warn", saw, fix)


def fail(name: str, saw: str, fix: str) -> Check:
    return Check(name, "FAIL", saw, fix)


def plural(count: int, noun: str) -> str:
    """ "1 job", "2 jobs"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def failed(checks: list[Check]) -> bool:
    return any(check.status == "FAIL" for check in checks)


def render(checks: list[Check]) -> str:
    """The text report: a status column, what was seen, and the fix indented below."""
    lines = []
    for check in checks:
        lines.append(f"{check.status:4}  {check.name}: {check.saw}")
        if check.fix:
            lines.append(f"      fix: {check.fix}")
    counts = {status: sum(c.status == status for c in checks) for status in ("ok", "warn", "FAIL")}
    lines.append(f"{counts['ok']} ok, {counts['warn']} warn, {counts['FAIL']} FAIL")
    return "\n".join(lines)
