"""How the offline commands find a config's imports in its repository (cli/project.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from roundhouse.cli.project import Project
from tests.conftest import GitRepo


def test_imports_from_the_working_tree_and_from_refs(
    git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = git_repo()
    repo.commit({"ci/base.yml": "script: old\n"})
    repo.git("tag", "v1")
    repo.commit({"ci/base.yml": "script: new\n", "ci/python.yml": "python: '3.12'\n",
                 "sub/.travis.yml": "language: python\n"})  # fmt: skip
    project = Project(repo.path / "sub" / ".travis.yml", slug="acme/app")
    assert project.import_fn("ci/base.yml", None) == "script: new\n"
    assert project.import_fn("ci/base.yml@v1", None) == "script: old\n"
    assert project.import_fn("acme/app:ci/base.yml", None) == "script: new\n"
    # ./ is relative to the importing file: .travis.yml itself, or an imported file.
    assert project.import_fn("./missing.yml", None) is None
    assert project.import_fn("./python.yml", "ci/base.yml") == "python: '3.12'\n"
    assert project.import_fn("missing.yml", None) is None
    with pytest.raises(ValueError, match="leaves the repository"):
        project.import_fn("../../etc/passwd", None)
    assert project.import_fn("other/repo:x.yml", None) == ""
    assert project.unresolved == ["other/repo:x.yml"]


def test_head_of_the_checkout(git_repo: Callable[..., GitRepo]) -> None:
    repo = git_repo()
    sha = repo.commit({".travis.yml": "language: shell\n"}, message="first commit")
    head = Project(repo.path / ".travis.yml").head
    assert head == {"branch": "main", "sha": sha, "message": "first commit"}


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(typer.Exit) as raised:
        Project(tmp_path / "nope.yml")
    assert raised.value.exit_code == 2
