"""The `checkout` stage: clone the repository into $TRAVIS_BUILD_DIR and check out the commit.

Follows Travis's git strategy (travis-internals.md 4.6); any failure errors the job (exit 2).
Where the worker keeps checkouts (ROUNDHOUSE_CHECKOUTS), a job copies the fresh checkout of
an earlier job of the same commit instead of cloning, and keeps its own for later jobs.
"""

from __future__ import annotations

import hashlib
from typing import Any

from roundhouse.script.shell import fold, quote, render_raw, word

DEFAULT_DEPTH = 50
STAGE = "checkout"
BUILD_DIR = '"$TRAVIS_BUILD_DIR"'


def _git_config(config: dict[str, Any]) -> dict[str, Any]:
    git = config.get("git")
    return git if isinstance(git, dict) else {}


def _depth(value: Any) -> int | None:
    """git.depth: a number, or false for a full clone."""
    if value is False:
        return None
    if value is None or value is True:
        return DEFAULT_DEPTH
    return int(value)


class Raw(str):
    """A bash word used as is, such as "$TRAVIS_BUILD_DIR" (expanded when the step runs)."""


def _display(parts: list[str]) -> str:
    """The `$ ` line text as bash: static runs quoted once, Raw parts left to expand."""
    pieces: list[str] = []
    static: list[str] = []
    for index, part in enumerate(parts):
        space = " " if index else ""
        if isinstance(part, Raw):
            pieces += [quote("".join(static) + space), part]
            static = []
        else:
            static.append(space + part)
    if static:
        pieces.append(quote("".join(static)))
    return "".join(pieces)


def _step(parts: list[str], *, retry: bool = False, timing: bool = True) -> list[str]:
    """One asserted git step; Raw parts expand at run time in both the log line and the command."""
    return render_raw(_display(parts), _command(parts, retry), STAGE, "assert", timing=timing)


def _command(parts: list[str], retry: bool) -> str:
    words = [p if isinstance(p, Raw) else word(p) for p in parts]
    return ("travis_retry " if retry else "") + " ".join(words)


def _clone_step(payload: Any, git: dict[str, Any], key: str | None) -> list[str]:
    """The clone, or a copy of the same clone that this worker kept (under key) from an
    earlier job."""
    parts = [*_clone_args(payload, git), Raw(BUILD_DIR)]
    if key is None:
        return _step(parts, retry=True)
    run = f"_rh_checkout_copy {key} || {{ {_command(parts, True)} && _rh_cloned=1; }}"
    return render_raw(_display(parts), run, STAGE, "assert")


def _kept_checkout_key(payload: Any, git: dict[str, Any]) -> str | None:
    """The name a worker keeps this job's fresh checkout under, for other jobs of the same
    commit (the jobs of a build matrix): everything that shapes the clone is in it. None
    where a copy could differ from a clone (a pull request's ref, a sparse checkout)."""
    commit = payload["commit"]
    sha = commit.get("sha")
    if not sha or _pull_ref(payload) or git.get("sparse_checkout"):
        return None
    shape = [
        str(payload["repository"]["clone_url"]),
        str(commit.get("tag") or commit.get("branch") or ""),
        str(sha),
        str(_depth(git.get("depth"))),
        "lfs-skip-smudge" if git.get("lfs_skip_smudge") else "",
    ]
    return hashlib.sha256("\0".join(shape).encode()).hexdigest()[:32]


def _clone_args(payload: Any, git: dict[str, Any]) -> list[str]:
    commit = payload["commit"]
    args = ["git", "clone"]
    url = str(payload["repository"]["clone_url"])
    depth = _depth(git.get("depth"))
    # git ignores --depth for a plain local path (with a warning), so do not ask for it.
    if depth is not None and not _is_local_path(url):
        args.append(f"--depth={depth}")
    ref = _pull_ref(payload)
    branch = commit.get("tag") or commit.get("branch")
    # A pull request's commit comes from its ref, so the clone does not pin a branch.
    if branch and not ref:
        args.append(f"--branch={branch}")
    if git.get("quiet"):
        args.append("--quiet")
    if git.get("sparse_checkout"):
        args.append("--no-checkout")
    args.append(url)
    return args


def _is_local_path(url: str) -> bool:
    """A path rather than a URL (`/srv/repo.git`, `../repo`); scp-like `host:path` is remote."""
    return "://" not in url and (url.startswith(("/", ".")) or ":" not in url)


def _pull_ref(payload: Any) -> str | None:
    commit = payload["commit"]
    ref = commit.get("ref") or ""
    # GitHub and Gitea keep pull requests under refs/pull/, GitLab under refs/merge-requests/.
    if commit.get("pull_request") and ref.startswith(("refs/pull/", "refs/merge-requests/")):
        return str(ref)
    return None


def _checkout_commit(payload: Any, git: dict[str, Any]) -> list[str]:
    """Fetch a pull request's ref, or check out the exact commit."""
    ref = _pull_ref(payload)
    if ref:
        return [
            *_step(["git", "fetch", "origin", f"+{ref}:"], retry=True),
            *_step(["git", "checkout", "-qf", "FETCH_HEAD"]),
        ]
    sha = payload["commit"].get("sha")
    if not sha:
        return []
    lines: list[str] = []
    sparse = git.get("sparse_checkout")
    if sparse:
        # The sparse file comes from the commit itself, as with Travis.
        lines += _step(["git", "config", "core.sparseCheckout", "true"], timing=False)
        show = f"git show {word(f'{sha}:{sparse}')} >> .git/info/sparse-checkout"
        lines += render_raw(quote(show), show, STAGE, "assert", timing=False)
    # A branch may have moved on since the build was requested: fetch a commit the shallow
    # clone does not contain before giving up (Travis would fail here). The first, quiet
    # checkout finds out whether it is there, so the usual case costs no extra git process.
    checkout = f"git checkout -qf {word(sha)}"
    fetch = (
        f"git fetch -q origin {word(sha)} 2>/dev/null || git fetch -q --unshallow origin"
        " 2>/dev/null"
    )
    run = f"{checkout} 2>/dev/null || {{ {fetch}; {checkout}; }}"
    return lines + render_raw(quote(checkout), run, STAGE, "assert")


def _submodules(git: dict[str, Any]) -> list[str]:
    if git.get("submodules") is False:
        return []
    args = ["git", "submodule", "update", "--init", "--recursive"]
    if git.get("quiet"):
        args.append("--quiet")
    if git.get("submodules_depth"):
        args.append(f"--depth={int(git['submodules_depth'])}")
    body = [fold("start", "git.submodule"), *_step(args, retry=True), fold("end", "git.submodule")]
    return ["if [[ -f .gitmodules ]]; then", *body, "fi"]


def render_checkout(payload: Any) -> list[str]:
    """Clone (or refresh an existing clone), enter it, check out the commit, submodules."""
    config = payload.get("config") or {}
    git = _git_config(config)
    if git.get("clone") is False:
        return [f"mkdir -p {BUILD_DIR} && cd {BUILD_DIR} || travis_terminate 2"]
    lines = [fold("start", "git.checkout"), "export GIT_ASKPASS=echo GIT_TERMINAL_PROMPT=0"]
    if git.get("lfs_skip_smudge"):
        lines.append("export GIT_LFS_SKIP_SMUDGE=1")
    key = _kept_checkout_key(payload, git)
    lines.append(f"if [[ ! -d {BUILD_DIR}/.git ]]; then")
    lines += _clone_step(payload, git, key)
    lines.append("else")
    # A reused directory (e.g. a kept workspace) is refreshed instead of cloned again.
    lines += _step(["git", "-C", Raw(BUILD_DIR), "fetch", "origin"], retry=True)
    lines += _step(["git", "-C", Raw(BUILD_DIR), "reset", "-q", "--hard"])
    lines.append("fi")
    lines += _step(["cd", Raw(BUILD_DIR)], timing=False)
    lines += _checkout_commit(payload, git)
    if key is not None:
        lines.append(f"_rh_checkout_keep {key}")
    lines.append(fold("end", "git.checkout"))
    lines += _submodules(git)
    return lines
