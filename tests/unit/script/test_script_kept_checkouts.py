"""Kept checkouts: a job copies an earlier job's fresh checkout of the same commit instead of
cloning, and what it gets is what a clone gives. Compiled scripts run in bash on real git."""

from __future__ import annotations

import shutil
from pathlib import Path

from script_support import Run, Sandbox, commit, git, payload

from roundhouse.worker.backends import keptcheckouts

COPIED = "Copied from an earlier clone of the same commit on this worker."
STATE = [
    "git rev-parse HEAD",
    "git rev-parse --abbrev-ref HEAD",
    "git rev-parse --is-shallow-repository",
    "git remote get-url origin",
    "git status --porcelain | wc -l",
    "cat f",
]


def kept(sandbox: Sandbox) -> Path:
    return sandbox.root / "checkouts"


def run_in_fresh_dir(sandbox: Sandbox, config: dict[str, object], sha: str, **extra: object) -> Run:
    shutil.rmtree(sandbox.build_dir, ignore_errors=True)
    job = payload(config, clone_url=f"file://{sandbox.origin}", sha=sha, **extra)
    return sandbox.run(job, {"ROUNDHOUSE_CHECKOUTS": str(kept(sandbox))})


def test_the_second_job_of_a_commit_copies_the_first_one_s_checkout(sandbox: Sandbox) -> None:
    sandbox.repo({"f": "zero\n"})
    sha = commit(sandbox.origin, sandbox.env, {"f": "one\n"}, "Second")
    kept(sandbox).mkdir()
    config = {"git": {"depth": 1}, "script": STATE}

    first = run_in_fresh_dir(sandbox, config, sha)
    second = run_in_fresh_dir(sandbox, config, sha)

    assert first.code == second.code == 0
    assert COPIED not in first.lines and "Cloning into" in first.raw
    assert COPIED in second.lines and "Cloning into" not in second.raw
    clone = f"$ git clone --depth=1 --branch=main file://{sandbox.origin} {sandbox.build_dir}"
    assert clone in first.lines and clone in second.lines
    # What a fresh clone gives: the commit (detached, as on Travis), shallow, origin, a clean
    # tree, the commit's files.
    expected = [sha, "HEAD", "true", f"file://{sandbox.origin}", "0", "one"]
    for run in (first, second):
        assert all(line in run.lines for line in expected), run.raw
    assert len(list(kept(sandbox).iterdir())) == 1


def test_another_commit_or_depth_clones_again(sandbox: Sandbox) -> None:
    first_sha = sandbox.repo({"f": "one\n"})
    kept(sandbox).mkdir()
    run_in_fresh_dir(sandbox, {"script": ["true"]}, first_sha)
    second_sha = commit(sandbox.origin, sandbox.env, {"f": "two\n"}, "Second")

    other_commit = run_in_fresh_dir(sandbox, {"script": ["cat f"]}, second_sha)
    other_depth = run_in_fresh_dir(sandbox, {"git": {"depth": 1}, "script": ["cat f"]}, first_sha)

    assert COPIED not in other_commit.lines and "two" in other_commit.lines
    assert COPIED not in other_depth.lines and "one" in other_depth.lines
    assert len(list(kept(sandbox).iterdir())) == 3


def test_a_kept_checkout_is_not_changed_by_the_job_that_copied_it(sandbox: Sandbox) -> None:
    sha = sandbox.repo({"f": "one\n"})
    kept(sandbox).mkdir()
    run_in_fresh_dir(sandbox, {"script": ["echo changed > f", "touch new"]}, sha)
    run_in_fresh_dir(sandbox, {"script": ["echo changed > f", "touch new"]}, sha)

    third = run_in_fresh_dir(sandbox, {"script": ["cat f", "ls new || echo no-new"]}, sha)

    assert COPIED in third.lines
    assert "one" in third.lines and "no-new" in third.lines


def test_a_checkout_dropped_by_the_worker_means_a_clone(sandbox: Sandbox) -> None:
    sha = sandbox.repo({"f": "one\n"})
    kept(sandbox).mkdir()
    run_in_fresh_dir(sandbox, {"script": ["true"]}, sha)
    keptcheckouts.prune(kept(sandbox), keep=0)

    run = run_in_fresh_dir(sandbox, {"script": ["cat f"]}, sha)

    assert run.code == 0
    assert COPIED not in run.lines and "one" in run.lines


def test_pull_requests_and_jobs_without_the_variable_keep_nothing(sandbox: Sandbox) -> None:
    sandbox.repo({"f": "base"})
    head = commit(sandbox.origin, sandbox.env, {"f": "feature"}, "Feature")
    git(sandbox.origin, "update-ref", "refs/pull/5/head", head, env=sandbox.env)
    kept(sandbox).mkdir()
    pull = {"ref": "refs/pull/5/head", "pull_request": 5}

    run_in_fresh_dir(sandbox, {"script": ["cat f"]}, head, commit=pull)
    shutil.rmtree(sandbox.build_dir)
    without = sandbox.run(payload({"script": ["cat f"]}, clone_url=str(sandbox.origin), sha=head))

    assert without.code == 0
    assert list(kept(sandbox).iterdir()) == []
