"""Repository key pairs for `secure:` values: made on first use, the private half encrypted.

Each repository has one RSA key pair (travisyml/crypto.py). It is made when somebody first
asks for the public key (`GET /api/repo/{slug}/key`, which `roundhouse encrypt --repo` calls),
in a thread because a 4096-bit key takes about a second. A repository without a key cannot
have secure values yet, so queueing a job never has to make one.

The private key is stored encrypted with the instance key (platform/secrets.py) and decrypted
only while a job payload is built (platform/payload.py); plain values never reach the database.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from roundhouse.db.models import Build, Repository, RepositoryKey
from roundhouse.platform.context import PlatformContext
from roundhouse.platform.secrets import AtRest, SecretsError
from roundhouse.travisyml.crypto import generate_private_key, load_public_key, public_key_pem
from roundhouse.travisyml.secure import SecureValues

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublicKey:
    pem: str
    fingerprint: str


def fingerprint(public_pem: str | bytes) -> str:
    """`SHA256:<base64>` of the key's DER SubjectPublicKeyInfo, to compare keys by eye."""
    der = load_public_key(public_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


class RepositoryKeys:
    """Finds or makes the key pair of a repository; one generation at a time per repository."""

    def __init__(self, ctx: PlatformContext) -> None:
        self.ctx = ctx
        self._locks: dict[int, asyncio.Lock] = {}

    async def public_key(self, repository_id: int) -> PublicKey:
        found = await self._stored(repository_id)
        if found is not None:
            return found
        # Two requests at once must not make two keys: the second waits and reads the first's.
        async with self._locks.setdefault(repository_id, asyncio.Lock()):
            found = await self._stored(repository_id)
            if found is not None:
                return found
            return await self._create(repository_id)

    async def _stored(self, repository_id: int) -> PublicKey | None:
        async with self.ctx.sessions() as session:
            row = await session.get(RepositoryKey, repository_id)
            return None if row is None else PublicKey(row.public_key, row.fingerprint)

    async def _create(self, repository_id: int) -> PublicKey:
        bits = self.ctx.settings.repository_key_bits
        private_pem = await asyncio.to_thread(generate_private_key, bits)
        public = public_key_pem(private_pem).decode()
        key = PublicKey(public, fingerprint(public))
        row = RepositoryKey(
            repository_id=repository_id,
            public_key=key.pem,
            fingerprint=key.fingerprint,
            private_key=self.ctx.at_rest.encrypt(private_pem),
        )
        try:
            async with self.ctx.sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:
            # Another platform process stored its key first; everybody uses that one.
            found = await self._stored(repository_id)
            if found is None:
                raise
            return found
        log.info("made a %d-bit key for repository %d (%s)", bits, repository_id, key.fingerprint)
        return key


def _load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    # The validation that loading does by default takes about a second for 4096 bits. It can
    # be skipped: this key was made here, and the instance key's HMAC proves it unchanged.
    key = serialization.load_pem_private_key(
        pem, password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


async def private_key(
    session: AsyncSession, at_rest: AtRest, repository_id: int
) -> rsa.RSAPrivateKey | None:
    """The repository's private key, or None before it has one; SecretsError when its row
    cannot be decrypted."""
    row = await session.get(RepositoryKey, repository_id)
    return None if row is None else _load_private_key(at_rest.decrypt(row.private_key))


async def secure_values(
    session: AsyncSession, at_rest: AtRest, build: Build, repository: Repository
) -> SecureValues:
    """What decrypts the secure values of one job of `build`: with the repository's private key,
    or dropping them (a pull request from a fork, unless the repository allows it).

    One per job: a SecureValues reports each problem once, and each job's log needs its own.
    """
    if build.request.fork and not repository.secure_env_for_forks:
        return SecureValues(None, drop=True)
    try:
        return SecureValues(await private_key(session, at_rest, repository.id))
    except SecretsError as error:
        # Start-up refuses a wrong instance key (check_instance_key), so this is a damaged
        # row: the job runs without its secure values and its log says why.
        log.error("the key of repository %s cannot be used: %s", repository.slug, error)
        values = SecureValues(None)
        values.reason = f"the repository key cannot be decrypted ({error})"
        return values
