"""Secure values in a config: every `{secure: "<base64>"}` node decrypted, or dropped.

Runs on a normalised config, the root one (`MatrixResult.config`, for messages on
`env.global`, `notifications.slack.rooms`, …) or one job's (`MatrixJob.config`, for its
payload). `build_matrix` itself leaves secure nodes encrypted, so nothing it prints or
stores holds a plain secret.

In the result, a secure env entry becomes `{"secure": "NAME=value"}`, the form the job
script exports as `NAME=[secure]` and masks (docs/script.md); a secure node anywhere else
(deploy keys, notification tokens) becomes its plain string, and is listed in
`SecureValues.values` so the worker masks it too.
"""

from __future__ import annotations

import copy
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from .crypto import SecureError, decrypt, load_private_key
from .messages import Messages

# Travis's stand-in for a value it could not decrypt; in an env entry it makes the job
# script say "We were unable to parse one of your secure environment variables."
UNDECRYPTABLE = "[unable to decrypt]"
FORK_REASON = "secure values are not available to pull requests from forks"
NO_KEY_REASON = "there is no repository key to decrypt them with"

_DROPPED = object()


def is_secure(node: Any) -> bool:
    return isinstance(node, dict) and len(node) == 1 and "secure" in node


class SecureValues:
    """Decrypts the secure nodes of configs with one repository's private key (PEM, or a
    key loaded already: the platform keeps loaded keys, as loading one checks it for ~1 s).

    With `drop=True` (a pull request from a fork) or without a key, secure nodes are removed
    instead, each place reported once. A key that is not a usable private key raises
    SecureError at construction: that is the caller's mistake, not the config's.
    """

    def __init__(
        self, private_key: bytes | str | rsa.RSAPrivateKey | None, *, drop: bool = False
    ) -> None:
        self.drop = drop or private_key is None
        self.reason = FORK_REASON if drop else NO_KEY_REASON
        self.key: rsa.RSAPrivateKey | None = None
        if isinstance(private_key, rsa.RSAPrivateKey):
            self.key = private_key
        elif private_key is not None and not self.drop:
            self.key = load_private_key(private_key)
        # Plain values decrypted outside env entries: the worker must mask these as well.
        self.values: list[str] = []
        # One RSA operation per distinct ciphertext, however many jobs share it.
        self._cache: dict[str, str | SecureError] = {}
        self._reported: set[tuple[str, str]] = set()

    def for_another_job(self) -> SecureValues:
        """The same key and decryptions, with reports and plain values of its own (the key
        and the cache are what costs: loading, and one RSA operation per ciphertext)."""
        other = copy.copy(self)
        other.values, other._reported = [], set()
        return other

    def apply(self, config: dict[str, Any], msgs: Messages, path: str = "") -> dict[str, Any]:
        """A copy of `config` with its secure nodes decrypted (or dropped)."""
        result = self._walk(config, path, msgs, in_env=False)
        return result if isinstance(result, dict) else {}

    def _walk(self, node: Any, path: str, msgs: Messages, *, in_env: bool) -> Any:
        if is_secure(node):
            return self._secure(node["secure"], path, msgs, in_env=in_env)
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                child = f"{path}.{key}" if path else str(key)
                # A job's env is a list; the root's is {global: [...], jobs: [[...]]}.
                result = self._walk(value, child, msgs, in_env=in_env or child == "env")
                if result is not _DROPPED:
                    out[key] = result
            return out
        if isinstance(node, list):
            items = [self._walk(item, path, msgs, in_env=in_env) for item in node]
            return [item for item in items if item is not _DROPPED]
        return node

    def _secure(self, ciphertext: Any, path: str, msgs: Messages, *, in_env: bool) -> Any:
        where = path or "root"
        if self.drop or self.key is None:
            level = "info" if self.reason == FORK_REASON else "warn"
            self._report(msgs, level, where, "secure_dropped", reason=self.reason)
            return _DROPPED
        plain = self._decrypt(ciphertext)
        if isinstance(plain, SecureError):
            self._report(msgs, "warn", where, "undecryptable", reason=str(plain))
            plain_text = UNDECRYPTABLE
        else:
            plain_text = plain
            if not in_env and plain not in self.values:
                self.values.append(plain)
        return {"secure": plain_text} if in_env else plain_text

    def _decrypt(self, ciphertext: Any) -> str | SecureError:
        if not isinstance(ciphertext, str):
            return SecureError("it is not a string")
        if ciphertext not in self._cache:
            assert self.key is not None
            try:
                self._cache[ciphertext] = decrypt(self.key, ciphertext)
            except SecureError as error:
                self._cache[ciphertext] = error
        return self._cache[ciphertext]

    def _report(self, msgs: Messages, level: str, where: str, code: str, **args: Any) -> None:
        if (where, code) not in self._reported:
            self._reported.add((where, code))
            msgs.add(level, where, code, **args)
