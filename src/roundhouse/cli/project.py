"""A `.travis.yml` on disk and the git repository around it, for the offline commands
(lint, matrix, compile, run-local): the config text, its imports, and the current commit.

Imports from the same repository are read from the working tree (or with `git show` for
`path@ref`); imports from other repositories cannot be read offline and are reported.
"""

from __future__ import annotations

import subprocess
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from roundhouse.cli.common import fail

if TYPE_CHECKING:
    from roundhouse.travisyml import MatrixResult

DEFAULT_FILE = Path(".travis.yml")


class Project:
    """The config file, its repository root, and what git says about the checkout."""

    def __init__(self, file: Path | None, slug: str | None = None) -> None:
        self.path = (file or DEFAULT_FILE).resolve()
        if not self.path.is_file():
            fail(f"{file or DEFAULT_FILE} is not a file; pass the path of a .travis.yml", 2)
        self.slug = slug
        # Imports of other repositories, which only the platform can fetch.
        self.unresolved: list[str] = []

    def text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            fail(f"cannot read {self.path}: {error}", 2)

    def git(self, *args: str, strip: bool = True) -> str | None:
        """git's output, or None outside a repository or when git fails."""
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.path.parent,
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError:
            return None
        if done.returncode != 0:
            return None
        return done.stdout.strip() if strip else done.stdout

    @cached_property
    def root(self) -> Path:
        """The repository's top folder, or the config's folder outside git."""
        top = self.git("rev-parse", "--show-toplevel")
        return Path(top) if top else self.path.parent

    @cached_property
    def head(self) -> dict[str, str]:
        """Branch, sha and message of the checked-out commit (empty strings outside git)."""
        branch = self.git("rev-parse", "--abbrev-ref", "HEAD") or ""
        return {
            "branch": "" if branch == "HEAD" else branch,  # HEAD: a detached checkout
            "sha": self.git("rev-parse", "HEAD") or "",
            "message": self.git("log", "-1", "--format=%B") or "",
        }

    def import_fn(self, source: str, parent: str | None) -> str | None:
        """The text of an import (see travisyml.imports.ImportFn)."""
        repo, _, rest = source.rpartition(":")
        if repo and repo != self.slug:
            self.unresolved.append(source)
            return ""  # Importer: "already reported"; build() adds the message
        path, _, ref = rest.partition("@")
        relative = PurePosixPath(path)
        if path.startswith("./"):
            # `./x.yml` is relative to the importing file; other paths to the repository.
            if parent is None:
                importer = PurePosixPath(self.path.relative_to(self.root.resolve()).as_posix())
            else:
                importer = PurePosixPath(parent.rpartition(":")[2].partition("@")[0])
            relative = importer.parent / path
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError("the path leaves the repository")
        if ref:
            path_at_ref = target.relative_to(self.root.resolve()).as_posix()
            return self.git("show", f"{ref}:{path_at_ref}", strip=False)
        return target.read_text(encoding="utf-8") if target.is_file() else None

    def build(self, request: dict[str, Any], *, defaults: bool = True) -> MatrixResult:
        """build_matrix for this file, with imports read from the repository."""
        from roundhouse.travisyml import Message, build_matrix

        result = build_matrix(self.text(), request, defaults=defaults, import_fn=self.import_fn)
        for source in self.unresolved:
            result.messages.append(
                Message("warn", "import", "import_not_resolved", args={"source": source})
            )
        return result


def location(project: Project, line: int | None) -> str:
    """`path:line` (relative to the current folder when below it) for message prefixes."""
    try:
        shown = project.path.relative_to(Path.cwd())
    except ValueError:
        shown = project.path
    return f"{shown}:{line}" if line else str(shown)
