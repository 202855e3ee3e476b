"""Which requests build: `[skip ci]` markers, `branches.only/except`, the root `if:`.

Each rule returns the reason a request is rejected, or None when it may build.
"""

from __future__ import annotations

import re
from typing import Any

from .filters import Conditions

# `[skip ci]`, `[ci skip]`, `[skip travis]`, `[travis skip]`, `[skip travis-ci]`, … any case.
_SKIP = re.compile(
    r"\[\s*(?:skip\s+(?:ci|travis|travis-ci|travisci)|(?:ci|travis|travis-ci|travisci)\s+skip)\s*\]",
    re.IGNORECASE,
)


def skip_marker(message: Any) -> str | None:
    """The `[skip ci]`-style marker in a commit message, if any."""
    if not isinstance(message, str):
        return None
    match = _SKIP.search(message)
    return match.group(0) if match else None


def _pattern_matches(pattern: str, branch: str) -> bool:
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        try:
            return re.search(pattern[1:-1], branch) is not None
        except re.error:
            return False
    return pattern == branch


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if item is not None]


def branch_allowed(branches: Any, branch: str | None) -> bool:
    """Travis's safelist/blocklist; `gh-pages` builds only when listed in `only`."""
    if branch is None:
        return True
    if isinstance(branches, (list, str)):
        branches = {"only": branches}
    if not isinstance(branches, dict):
        branches = {}
    only = _names(branches.get("only"))
    excepted = _names(branches.get("except", branches.get("exclude")))
    if only:
        return any(_pattern_matches(p, branch) for p in only)
    if any(_pattern_matches(p, branch) for p in excepted):
        return False
    return branch != "gh-pages"


def rejection(
    config: dict[str, Any], request: dict[str, Any], conditions: Conditions
) -> str | None:
    """Why this request would not build, or None."""
    kind = request.get("type") or "push"
    if kind in ("push", "pull_request"):
        marker = skip_marker(request.get("commit_message"))
        if marker:
            conditions.msgs.add("info", "root", "skip_ci", marker=marker)
            return f"the commit message contains {marker}"
    branch = request.get("tag") or request.get("branch")
    if kind != "api" and not branch_allowed(config.get("branches"), branch):
        conditions.msgs.add("info", "branches", "skip_branch", branch=branch)
        return f"branch {branch!r} is not in the branches safelist"
    if config.get("if") is not None:
        data = conditions.stage_data(config)
        if not conditions.check(config["if"], data, "if"):
            text = str(config["if"])
            conditions.msgs.add("info", "if", "skip_root", condition=text)
            return f"the root condition does not match: {text}"
    return None
