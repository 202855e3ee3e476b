"""Test support for the script compiler: payloads, real git repositories, running scripts.

Scripts run under real bash against repositories made with real git in a temp directory.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roundhouse.protocol import PROTOCOL_VERSION, JobPayload
from roundhouse.script import compile_script

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Fold and time markers, which a log viewer hides.
MARKER = re.compile(r"travis_(?:fold|time):[^\r\n]*\r\x1b\[0K")


def git_env(home: Path) -> dict[str, str]:
    """An environment in which git commits work on a machine with no git configuration."""
    config = home / ".gitconfig"
    if not config.exists():
        home.mkdir(parents=True, exist_ok=True)
        config.write_text('[protocol "file"]\n\tallow = always\n[init]\n\tdefaultBranch = main\n')
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "LANG": "C.UTF-8",
    }


def git(repo: Path, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_repo(
    path: Path, env: dict[str, str], files: dict[str, str] | None = None, branch: str = "main"
) -> str:
    """A repository with one commit holding files; returns the commit sha."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", branch, str(path)], env=env, check=True)
    return commit(path, env, files or {"README": "hello\n"}, "First commit")


def commit(repo: Path, env: dict[str, str], files: dict[str, str], message: str) -> str:
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD", env=env)


def payload(
    config: dict[str, Any] | None = None,
    *,
    clone_url: str = "/nonexistent",
    sha: str = "",
    branch: str = "main",
    **overrides: Any,
) -> JobPayload:
    """A valid JobPayload; keyword overrides replace top-level fields or merge into dicts."""
    data: dict[str, Any] = {
        "v": PROTOCOL_VERSION,
        "lease": "lease-1",
        "queue": "builds.default",
        "job": {
            "id": 31,
            "number": "7.1",
            "attempt": 1,
            "allow_failure": False,
            "stage_name": None,
            "name": None,
            "queued_at": None,
        },
        "build": {"id": 17, "number": 7, "event_type": "push"},
        "repository": {"id": 3, "slug": "owner/name", "clone_url": clone_url, "private": False},
        "commit": {
            "sha": sha,
            "branch": branch,
            "ref": None,
            "tag": None,
            "message": "A commit",
            "range": None,
            "pull_request": None,
        },
        "config": {"language": "generic", "os": "linux", **(config or {})},
        "env_vars": [],
        "secrets": [],
        "script": "",
        "timeouts": {"hard_limit": 3000, "log_silence": 600},
        "max_log_bytes": 4_000_000,
        "web_url": "http://ci.example/owner/name/jobs/31",
    }
    for key, value in overrides.items():
        if isinstance(data.get(key), dict) and isinstance(value, dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data  # type: ignore[return-value]


@dataclass
class Run:
    """A finished script: its exit status, its raw output and the output without ANSI codes."""

    code: int
    raw: str

    @property
    def text(self) -> str:
        return ANSI.sub("", MARKER.sub("", self.raw)).replace("\r", "")

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


@dataclass
class Sandbox:
    """A temp directory holding a home, an origin repository and a job directory."""

    root: Path
    # Python jobs normally get a stub virtualenv: a real one takes seconds to create.
    stub_virtualenvs: tuple[str, ...] = ("python3", "python3.11")

    @property
    def home(self) -> Path:
        home = self.root / "home"
        for name in self.stub_virtualenvs:
            activate = home / "virtualenv" / name / "bin" / "activate"
            if not activate.exists():
                activate.parent.mkdir(parents=True)
                activate.write_text("# stub virtualenv for tests\n")
        return home

    @property
    def origin(self) -> Path:
        return self.root / "origin"

    @property
    def build_dir(self) -> Path:
        return self.root / "build" / "owner" / "name"

    @property
    def env(self) -> dict[str, str]:
        return git_env(self.home)

    def repo(self, files: dict[str, str] | None = None, branch: str = "main") -> str:
        return make_repo(self.origin, self.env, files, branch)

    def run(
        self, job: JobPayload, extra_env: dict[str, str] | None = None, timeout: float = 20
    ) -> Run:
        """Compile and run the job like the worker does: fresh directory, own process group."""
        job_dir = self.root / "job"
        job_dir.mkdir(exist_ok=True)
        script = self.root / "job.sh"
        script.write_text(compile_script(job))
        env = {
            **self.env,
            "TRAVIS_BUILD_DIR": str(self.build_dir),
            "ROUNDHOUSE_RETRY_DELAY": "0",
            **(extra_env or {}),
        }
        done = subprocess.run(
            ["bash", str(script)],
            cwd=job_dir,
            env=env,
            timeout=timeout,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            check=False,
        )
        return Run(done.returncode, done.stdout.decode(errors="replace"))

    def job(
        self,
        config: dict[str, Any] | None = None,
        files: dict[str, str] | None = None,
        **overrides: Any,
    ) -> JobPayload:
        """Make the origin repository (if files are given or none exists) and a payload for it."""
        sha = self.repo(files) if files is not None or not self.origin.exists() else ""
        return payload(config, clone_url=str(self.origin), sha=sha, **overrides)
