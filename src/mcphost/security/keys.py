"""Purpose-bound keys derived from the instance secret key, so one key never serves two uses."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mcphost.security.secretbox import SecretBox


def derive_key(secret_key: bytes, purpose: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(secret_key)


class KeyRing:
    """The keys one process uses, all derived from the instance key."""

    def __init__(self, secret_key: bytes) -> None:
        self.jwt = derive_key(secret_key, "mcphost/jwt/v1")
        self.token_hmac = derive_key(secret_key, "mcphost/token-hash/v1")
        self.encryption = derive_key(secret_key, "mcphost/encryption/v1")
        self.csrf = derive_key(secret_key, "mcphost/console-csrf/v1")
        self.request_state = derive_key(secret_key, "mcphost/gateway-request-state/v1")
        self.internal_calls = derive_key(secret_key, "mcphost/internal-call/v1")
        self.secrets = SecretBox(self.encryption)
