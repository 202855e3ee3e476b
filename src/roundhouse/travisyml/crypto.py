"""RSA key pairs of repositories and the `secure:` strings made with them.

A repository has one RSA key pair. `roundhouse encrypt` (like `travis encrypt`) encrypts
`NAME=value` with the public key, OAEP with SHA-1, and base64-encodes it; the platform
decrypts with the private key. Older `travis encrypt` versions used PKCS#1 v1.5, so
decryption tries OAEP first and then v1.5 (travis-internals.md 3.7).

Pure: keys come in and go out as PEM bytes.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# Travis's repository keys are 4096 bits; tests use 2048 because generation is 10x faster.
DEFAULT_KEY_BITS = 4096
# SHA-1 because that is what `travis encrypt` produces and what existing configs hold.
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
_OAEP_OVERHEAD = 2 * 20 + 2  # two SHA-1 digests and two marker bytes


class SecureError(ValueError):
    """A key or a secure string that cannot be used; the text is one sentence."""


def generate_private_key(bits: int = DEFAULT_KEY_BITS) -> bytes:
    """A new RSA private key as unencrypted PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem: bytes | str) -> rsa.RSAPrivateKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise SecureError(f"not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SecureError("the private key is not an RSA key")
    return key


def load_public_key(pem: bytes | str) -> rsa.RSAPublicKey:
    """A public key from PEM: `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo) or `BEGIN RSA PUBLIC
    KEY` (PKCS#1, what Travis's API serves)."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise SecureError(f"not a PEM public key ({error})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SecureError("the public key is not an RSA key")
    return key


def public_key_pem(private_pem: bytes | str) -> bytes:
    """The public half of a private key, as `BEGIN PUBLIC KEY` PEM."""
    public = load_private_key(private_pem).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def encrypt(public_pem: bytes | str, text: str) -> str:
    """`text` encrypted for the holder of the private key: base64, one line."""
    key = load_public_key(public_pem)
    data = text.encode()
    limit = key.key_size // 8 - _OAEP_OVERHEAD
    if len(data) > limit:
        raise SecureError(
            f"the value is {len(data)} bytes; a {key.key_size}-bit key encrypts at most {limit}"
            " (encrypt a file instead and keep its key in a secure variable)"
        )
    return base64.b64encode(key.encrypt(data, _OAEP)).decode()


def decrypt(key: rsa.RSAPrivateKey, secure: str) -> str:
    """The text of one `secure:` string; SecureError says why it cannot be read."""
    try:
        # YAML folding can leave spaces or newlines inside long base64 strings.
        data = base64.b64decode("".join(secure.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SecureError("it is not base64") from None
    if len(data) != key.key_size // 8:
        raise SecureError(f"it is {len(data)} bytes long, not {key.key_size // 8}")
    try:
        plain = key.decrypt(data, _OAEP)
    except ValueError:
        try:
            plain = key.decrypt(data, padding.PKCS1v15())
        except ValueError:
            raise SecureError("it was not encrypted with this repository's key") from None
    # OpenSSL answers a failed v1.5 decryption with pseudo-random bytes instead of an error
    # (implicit rejection, against timing attacks). Real values are text, so requiring
    # printable UTF-8 tells them apart from those bytes in all but rare cases.
    return _text(plain)


def _text(plain: bytes) -> str:
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        raise SecureError("it was not encrypted with this repository's key") from None
    if not text or any(not c.isprintable() and c not in "\t\n\r" for c in text):
        raise SecureError("it was not encrypted with this repository's key")
    return text
