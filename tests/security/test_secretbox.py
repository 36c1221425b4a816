"""Secrets at rest: encrypted, bound to their place, unreadable with another instance's key."""

from __future__ import annotations

import pytest

from mcphost.security.keys import KeyRing
from mcphost.security.secretbox import SecretDecryptionError


def test_a_secret_round_trips_and_is_not_stored_in_clear() -> None:
    box = KeyRing(b"k" * 48).secrets

    sealed = box.encrypt("hunter2-api-key", "server:1:env:API_KEY")

    assert "hunter2" not in sealed
    assert box.decrypt(sealed, "server:1:env:API_KEY") == "hunter2-api-key"
    assert box.encrypt("hunter2-api-key", "server:1:env:API_KEY") != sealed  # fresh nonce every time


@pytest.mark.parametrize("context", ["server:2:env:API_KEY", "server:1:env:OTHER"])
def test_a_secret_copied_elsewhere_does_not_decrypt(context: str) -> None:
    box = KeyRing(b"k" * 48).secrets
    sealed = box.encrypt("value", "server:1:env:API_KEY")

    with pytest.raises(SecretDecryptionError):
        box.decrypt(sealed, context)


def test_another_instance_key_cannot_decrypt_and_tampering_is_detected() -> None:
    sealed = KeyRing(b"k" * 48).secrets.encrypt("value", "ctx")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")

    with pytest.raises(SecretDecryptionError):
        KeyRing(b"z" * 48).secrets.decrypt(sealed, "ctx")
    with pytest.raises(SecretDecryptionError):
        KeyRing(b"k" * 48).secrets.decrypt(tampered, "ctx")
    with pytest.raises(SecretDecryptionError):
        KeyRing(b"k" * 48).secrets.decrypt("v0:abc", "ctx")
