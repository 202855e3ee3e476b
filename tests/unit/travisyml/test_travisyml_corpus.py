"""Realistic configs (tests/corpus) using the documented features all lint cleanly: no internal
error, no error message, and a build with jobs for a push to main.

Imports are read the way `roundhouse lint` reads them (roundhouse.cli.project.Project).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roundhouse.cli.project import Project

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
FILES = sorted(CORPUS.glob("*.travis.yml"))


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 15


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_config_lints_cleanly(path: Path) -> None:
    result = Project(path).build({"type": "push", "branch": "main"})
    problems = [str(m) for m in result.messages if m.level in ("error", "alert")]
    assert problems == []
    assert result.accepted, result.reason
    assert result.jobs


def test_corpus_imports_are_merged() -> None:
    result = Project(CORPUS / "imports.travis.yml").build({"type": "push", "branch": "main"})
    assert [job.config["python"] for job in result.jobs] == ["3.11", "3.12"]
    assert result.jobs[0].config["deploy"][0]["provider"] == "script"
    assert result.config["notifications"]["email"][0]["on_success"] == "change"
    feature = Project(CORPUS / "imports.travis.yml").build({"type": "push", "branch": "dev"})
    assert "deploy" not in feature.jobs[0].config
