"""Encryption of secrets at rest (AES-256-GCM with a key derived from the instance key).

Each ciphertext is bound to where it belongs (e.g. ``server:<id>:env:API_KEY``) through the associated data,
so a value copied into another row or variable fails to decrypt instead of leaking there."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


class SecretDecryptionError(Exception):
    """The ciphertext was not made by this instance's key for this place (or it was altered)."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, context: str) -> str:
        version, _, payload = token.partition(":")
        if version != _VERSION:
            raise SecretDecryptionError(f"unknown secret format {version!r}")
        try:
            raw = base64.urlsafe_b64decode(payload)
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretDecryptionError("secret cannot be decrypted with this instance key") from exc
