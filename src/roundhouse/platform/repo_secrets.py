"""The one way to read and write a repository's forge token and webhook secret.

Both are stored encrypted with the instance key (platform/secrets.py) in the columns
`forge_token` and `webhook_secret`; the model calls them `*_sealed` so that nobody takes the
stored text for the value.
"""

from __future__ import annotations

from typing import Literal

from roundhouse.db.models import Repository
from roundhouse.platform.secrets import AtRest

Field = Literal["forge_token", "webhook_secret"]
FIELDS: tuple[Field, ...] = ("forge_token", "webhook_secret")


def read(at_rest: AtRest, repository: Repository, name: Field) -> str | None:
    """The plain value, or None when it is not set; SecretsError when it cannot be decrypted."""
    return at_rest.open(getattr(repository, f"{name}_sealed"))


def write(at_rest: AtRest, repository: Repository, name: Field, value: str | None) -> None:
    """Set (encrypted) or clear (None or "") the value."""
    setattr(repository, f"{name}_sealed", at_rest.seal(value))


def is_set(repository: Repository, name: Field) -> bool:
    return getattr(repository, f"{name}_sealed") is not None
