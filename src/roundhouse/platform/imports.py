"""`import:` sources of a `.travis.yml`, read from the platform's git mirrors.

travisyml calls an import function synchronously, so this one runs git directly (blocking):
the gatekeeper calls build_matrix in a thread when the config imports anything.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from roundhouse.platform.git import GIT_ENV

GIT_TIMEOUT = 60


@dataclass(frozen=True)
class Source:
    """One parsed `import:` source: `[owner/name:]path[@ref]`."""

    slug: str
    path: str
    ref: str | None

    @classmethod
    def parse(cls, text: str, importer: Source) -> Source | None:
        repo, _, rest = text.rpartition(":")
        path, _, ref = rest.partition("@")
        slug = repo or importer.slug
        if path.startswith("./"):
            # Relative to the importing file, in the importing file's repository.
            if repo:
                return None
            path = str(PurePosixPath(importer.path).parent / path)
        normal = PurePosixPath(path)
        parts = [part for part in normal.parts if part not in ("", ".")]
        if not parts or ".." in parts or normal.is_absolute():
            return None
        inherited = importer.ref if slug == importer.slug else None
        return cls(slug, "/".join(parts), ref or inherited)


@dataclass
class MirrorImports:
    """An ImportFn for travisyml over bare mirrors: slug → (mirror path, clone URL)."""

    root: Source  # the .travis.yml itself, at the build's commit
    mirrors: dict[str, tuple[Path, str]]
    _fetched: dict[str, str] = field(default_factory=dict)  # mirror@ref → sha

    def __call__(self, text: str, parent: str | None) -> str | None:
        importer = self.root if parent is None else Source.parse(parent, self.root)
        source = Source.parse(text, importer or self.root)
        if source is None or source.slug not in self.mirrors:
            return None
        mirror, url = self.mirrors[source.slug]
        revision: str | None = source.ref or "HEAD"
        if source.slug != self.root.slug or source.ref != self.root.ref:
            revision = self._fetch(mirror, url, source.ref)
        if revision is None:
            return None
        return self._git(mirror, "show", f"{revision}:{source.path}")

    def _fetch(self, mirror: Path, url: str, ref: str | None) -> str | None:
        """Fetch ref (a branch, tag or sha; the default branch when None) and name it."""
        wanted = ref or "HEAD"
        key = f"{mirror}@{wanted}"
        if key not in self._fetched:
            if not (mirror / "HEAD").exists():
                self._git(mirror.parent, "init", "--bare", "--quiet", str(mirror))
            if self._git(mirror, "fetch", "--quiet", "--no-tags", url, wanted) is None:
                return None
            sha = self._git(mirror, "rev-parse", "FETCH_HEAD")
            if not sha:
                return None
            self._fetched[key] = sha.strip()
        return self._fetched[key]

    @staticmethod
    def _git(cwd: Path, *args: str) -> str | None:
        cwd.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                env={**os.environ, **GIT_ENV},
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
        return done.stdout.decode(errors="replace") if done.returncode == 0 else None
