"""Generic webhooks in Travis's format: a form-encoded POST whose `payload` field is the
build's JSON, with `Travis-Repo-Slug` and a `Signature` header.

The signature is Travis's: base64 of an RSA PKCS#1 v1.5 SHA-1 signature of the `payload`
field's value. Travis signs with one key of its own; Roundhouse signs with the repository's
key (platform/keys.py), whose public half `GET /api/repo/{slug}/key` serves to receivers.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def signature(key: rsa.RSAPrivateKey, payload_json: str) -> str:
    signed = key.sign(payload_json.encode(), padding.PKCS1v15(), hashes.SHA1())
    return base64.b64encode(signed).decode()


def request(url: str, payload: dict[str, Any], slug: str, key: rsa.RSAPrivateKey) -> httpx.Request:
    payload_json = json.dumps(payload)
    return httpx.Request(
        "POST",
        url,
        content=urlencode({"payload": payload_json}).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Travis-Repo-Slug": slug,
            "Signature": signature(key, payload_json),
            "User-Agent": "Roundhouse",
        },
    )


def label(url: str, secret: bool) -> str:
    """The URL without what may be secret: query and credentials; for a secure URL, all but
    its scheme and host."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}"
    if parts.port:
        shown += f":{parts.port}"
    return f"webhook {shown if secret else shown + parts.path}"
